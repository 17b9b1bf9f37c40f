"""The API document and the API agree: the API takes what the document allows (3.0 is an integer, white space
means the same to both) and the document declares what the API answers (its refusals, a purchase's negative
amount in the wallet's history, a certificate as a PDF)."""

from chalicelib.api.openapi import document
from tests.support.courses import STUDIO, make_course
from tests.support.learning import complete_all, enroll


def test_a_whole_number_written_with_a_decimal_point_is_that_integer(api):
    """JSON has one number type; JSON Schema's `integer` includes 3.0. 3.5 is still refused, naming the field."""
    instructor = api.token_for(roles=["instructor"])
    course_id = make_course(api, instructor)
    learner = api.token_for()
    enroll(api, learner, course_id)
    review = api.post(f"/courses/{course_id}/reviews", raw=b'{"rating": 4.0, "text": "Good"}', token=learner)
    assert review.status_code == 201, review.body
    assert review.json_body["rating"] == 4
    half = api.call("PATCH", f"/courses/{course_id}/reviews/mine", raw=b'{"rating": 3.5}', token=learner)
    assert half.status_code == 422 and half.json_body["errors"][0]["field"] == "rating"


def test_the_document_says_an_empty_change_is_refused(api):
    """`PATCH` of a review or a session with `{}` is refused (422); the document now says so (minProperties)."""
    schemas = document()["components"]["schemas"]
    assert schemas["ReviewChanges"]["minProperties"] == 1 and schemas["SessionChanges"]["minProperties"] == 1
    instructor = api.token_for(roles=["instructor"])
    course_id = make_course(api, instructor)
    session = api.post(f"{STUDIO}/{course_id}/sessions", {"starts_at": "2099-01-01T10:00:00Z",
                                                          "duration_minutes": 60, "capacity": 7}, token=instructor)
    empty = api.call("PATCH", f"{STUDIO}/{course_id}/sessions/{session.json_body['session_id']}", body={},
                     token=instructor)
    assert empty.status_code == 422 and empty.json_body["errors"][0]["field"] == "body"


def test_the_document_states_what_signup_and_search_accept(api):
    """An email the identity provider refuses, a password its policy refuses: the document says so, and the
    API refuses them as input errors naming the field. A search without a word of two letters finds nothing."""
    from jsonschema import Draft202012Validator

    spec = document()
    ref = spec["paths"]["/auth/signup"]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    signup = Draft202012Validator(spec["components"]["schemas"][ref.rsplit("/", 1)[-1]])
    assert signup.is_valid({"email": "ab@classpay.test", "password": "Classpay-test-1", "name": "A"})
    for body, field in (({"email": "a@b.c", "password": "Classpay-test-1", "name": "A"}, "email"),
                        ({"email": "ab@classpay.test", "password": "alllowercase1", "name": "A"}, "password")):
        # the document refuses it on that field (so a generated client or fuzzer knows) ...
        assert {error.path[0] for error in signup.iter_errors(body)} == {field}, body
        # ... and so does the API
        response = api.post("/auth/signup", body)
        assert response.status_code == 422 and response.json_body["errors"][0]["field"] == field
    search = next(p for p in spec["paths"]["/courses"]["get"]["parameters"] if p["name"] == "q")
    assert "two or more characters" in str(search["schema"])  # the one-letter rule is stated, not a surprise
    one_letter = api.get("/courses?q=a")
    assert one_letter.status_code == 200 and one_letter.json_body == {"items": [], "next_cursor": None}


def test_white_space_means_the_same_to_the_document_and_to_the_api(api):
    """`\\S` is a different class in Python and in JSON Schema's regex dialect: a title of \\x1c was valid to
    the document and refused by the API. The pattern is now spelled out; both refuse it, both take Korean."""
    instructor = api.token_for(roles=["instructor"])
    for title, status in (("\x1c", 422), ("\ufeff", 422), ("파이썬", 201)):
        response = api.post(STUDIO, {"title": title, "category": "programming",
                                     "price": {"amount": 1000, "currency": "KRW"}}, token=instructor)
        assert response.status_code == status, (title, response.body)


def test_the_gateways_own_refusals_are_documented_on_every_protected_route():
    """As problem documents: API Gateway answers them so, and so do chalice local and the test client."""
    for methods in document()["paths"].values():
        for operation in methods.values():
            if "security" in operation:
                for status in ("401", "403"):
                    assert list(operation["responses"][status]["content"]) == ["application/problem+json"]


def _answer_schema(path, method="get", status="200", media_type="application/json"):
    """A validator for what the document says `method path` answers with `status` in `media_type`."""
    from jsonschema import Draft202012Validator

    spec = document()
    schema = spec["paths"][path][method]["responses"][status]["content"][media_type]["schema"]
    return Draft202012Validator({**schema, "components": spec["components"]})


def test_a_purchase_in_the_wallets_history_is_negative_and_the_document_says_so(api):
    """`GET /wallet/entries` showed a purchase as `{"amount": -30000}` while the document said every amount
    is at least 0 (MoneyBody). Money going out of the wallet is negative, and the document now says it may be."""
    learner = api.token_for()
    enroll(api, learner, make_course(api, api.token_for(roles=["instructor"]), amount=30_000))
    entries = api.get("/wallet/entries", token=learner)
    assert entries.status_code == 200, entries.body
    assert sorted((e["kind"], e["amount"]["amount"]) for e in entries.json_body["items"]) == [
        ("purchase", -30_000), ("topup", 30_000)]
    assert list(_answer_schema("/wallet/entries").iter_errors(entries.json_body)) == []


def test_a_certificate_as_a_pdf_is_a_documented_answer(api):
    """`?format=pdf` answers 200 `application/pdf`; the document declared only `application/json` for 200."""
    course_id = make_course(api, api.token_for(roles=["instructor"]), lessons=1)
    learner = api.token_for()
    enroll(api, learner, course_id)
    complete_all(api, learner, course_id)
    verification_id = api.get(f"/me/certificates/{course_id}", token=learner).json_body["verification_id"]
    for path, route, token in ((f"/me/certificates/{course_id}", "/me/certificates/{course_id}", learner),
                               (f"/certificates/{verification_id}", "/certificates/{verification_id}", None)):
        pdf = api.call("GET", f"{path}?format=pdf", token=token, headers={"Accept": "application/pdf"})
        assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf", pdf.headers
        assert pdf.body.startswith(b"%PDF")
        content = document()["paths"][route]["get"]["responses"]["200"]["content"]
        assert set(content) == {"application/json", "application/pdf"}, route
        as_json = api.get(path, token=token)
        assert list(_answer_schema(route).iter_errors(as_json.json_body)) == [], route
