"""Input an attacker sends on purpose: every such request is a 4xx problem naming the field.

Bytes that are not UTF-8, cursors the API did not issue to this caller for this list, dates outside the
range the product accepts: each answers its exact status with a problem document naming `body`, `cursor`
or the date's field, never a 500 and never another caller's items.
"""

import base64
import json
import os
import re
from urllib.parse import quote

import boto3
import pytest

from chalicelib import errors
from chalicelib.api import pagination
from chalicelib.api.routing import ENDPOINTS
from chalicelib.api.schemas import PageQuery
from tests.support.courses import make_course
from tests.support.learning import enroll
from tests.support.money import buy, confirm, funded_learner, new_key, start_topup

PROBLEM = "application/problem+json"
SOME_ID = "01J00000000000000000000000"


def assert_problem(response, status, field):
    assert response.status_code == status, (response.status_code, response.body)
    assert response.headers["Content-Type"] == PROBLEM
    assert field in [e["field"] for e in response.json_body["errors"]], response.json_body


@pytest.fixture(scope="module")
def everyone_token(api):
    """A caller in every group (learner, instructor, admin): every route's role check lets it through."""
    email, _ = api.sign_up(("learner", "instructor"), "Every Role")
    boto3.client("cognito-idp").admin_add_user_to_group(
        UserPoolId=os.environ["USER_POOL_ID"], Username=email, GroupName="admins")
    return api.log_in(email)["access_token"]


# --- bodies: strict UTF-8 -------------------------------------------------------------------------

NOT_UTF8 = (
    b'{"email": "\xff\xfe@classpay.test", "password": "x"}',  # bytes that never start a character
    b'{"title": "\xc3\x28"}',  # a lead byte without its continuation
    b'{"title": "\xed\xa0\x80"}',  # a UTF-16 surrogate encoded as UTF-8 (CESU), which UTF-8 forbids
    b'{"rating": 4.0, "text": "\xe0\x80\xaf"}',  # an overlong encoding, after a field that needs a second pass
    b'\xef\xbb\xbf\xff',  # a byte-order mark, then garbage
)


@pytest.mark.parametrize("raw", NOT_UTF8)
@pytest.mark.parametrize("path", ["/auth/login", "/instructor/courses", "/orders"])
def test_a_body_that_is_not_utf8_is_400_naming_the_body(api, everyone_token, path, raw):
    headers = {"Idempotency-Key": new_key()} if path == "/orders" else {}
    response = api.post(path, raw=raw, token=everyone_token, headers=headers)
    assert_problem(response, 400, "body")
    assert response.json_body["code"] == "MALFORMED_REQUEST"


def test_every_route_with_a_body_refuses_bytes_that_are_not_utf8(api, everyone_token):
    """Each declared route that takes a body, with a caller its policy admits: 400 naming `body`."""
    with_body = [e for e in ENDPOINTS if e.body is not None]
    assert len(with_body) > 20
    for endpoint in with_body:
        path = re.sub(r"\{[^}]+\}", SOME_ID, endpoint.path)
        headers = {"Idempotency-Key": new_key()} if endpoint.idempotent else {}
        response = api.call(endpoint.method, path, raw=b'{"a": "\x80"}', token=everyone_token, headers=headers)
        assert response.status_code == 400, (endpoint.method, endpoint.path, response.body)
        assert [e["field"] for e in response.json_body["errors"]] == ["body"], (endpoint.path, response.body)


def test_json_nested_too_deeply_is_400_naming_the_body(api, everyone_token):
    """A whole number written as 4.0 makes the body decode a second time, untyped: deep nesting there is 400."""
    deep = b'{"rating": 4.0, "text": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    response = api.post(f"/courses/{SOME_ID}/reviews", raw=deep, token=everyone_token)
    assert_problem(response, 400, "body")
    array = b"[" * 100_000 + b"]" * 100_000
    assert_problem(api.post("/auth/login", raw=array), 422, "body")


# --- cursors: opaque and authenticated ------------------------------------------------------------

def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _page(api, path, token=None):
    response = api.get(path, token=token)
    assert response.status_code == 200, response.body
    return response.json_body


def _edited(cursor: str) -> list[str]:
    """The same cursor with one character of its position, then of its tag, changed; and its tag moved."""
    position, tag = cursor.split(".")
    flip = {"A": "B"}.get(position[0], "A")
    return [flip + position[1:] + "." + tag, position + "." + ("A" if tag[0] != "A" else "B") + tag[1:],
            position + "." + tag[::-1], position, position + "." + tag + "."]


def _forged(owner_attribute: str, owner: str) -> list[str]:
    """Cursors a client could make: the positions the API used to accept unsigned, wrong value types, JSON
    nested too deeply, bad base64, and each of those with a tag-shaped suffix."""
    positions = [
        _b64(json.dumps({owner_attribute: {"S": owner}, "created_at": {"S": "2030-01-01"}}).encode()),
        _b64(json.dumps({owner_attribute: {"S": owner}, "order_id": {"N": ["x"]}}).encode()),
        _b64(json.dumps({owner_attribute: {"S": 5}, "sort": {"M": {"a": {"L": []}}}}).encode()),
        _b64(b"[" * 3000 + b"]" * 3000)[:1990],
        _b64(b"\xff\xfe not json"),
        "%%%", "a" * 2048, "!!!.bad", "e30",
    ]
    return positions + [p + "." + "A" * 43 for p in positions if len(p) < 2000]


def test_a_catalog_cursor_works_only_for_its_sort_filter_and_query(api):
    instructor = api.token_for(roles=["instructor"])
    for n in range(3):
        make_course(api, instructor, title=f"Cursor course {n}", category="design", amount=10_000 + n)
    newest = _page(api, "/courses?sort=newest&limit=1")
    cursor = newest["next_cursor"]
    assert cursor and "." in cursor
    # the same list goes on (sort=newest again, another page size)
    assert api.get(f"/courses?sort=newest&limit=2&cursor={cursor}").status_code == 200
    for other in ("sort=price_asc", "sort=popular", "sort=newest&category=design", "q=cursor",
                  "sort=newest&q=course"):
        assert_problem(api.get(f"/courses?{other}&cursor={cursor}"), 422, "cursor")
    design = _page(api, "/courses?sort=price_asc&category=design&limit=1")["next_cursor"]
    assert_problem(api.get(f"/courses?sort=price_asc&category=programming&cursor={design}"), 422, "cursor")
    assert_problem(api.get(f"/courses?sort=price_desc&category=design&cursor={design}"), 422, "cursor")
    search = _page(api, "/courses?q=cursor&limit=1")["next_cursor"]
    assert_problem(api.get(f"/courses?q=course&cursor={search}"), 422, "cursor")
    assert api.get(f"/courses?q=cursor&cursor={search}").status_code == 200


def test_a_cursor_edited_or_forged_is_422_naming_cursor_on_orders_and_wallet(api):
    learner = funded_learner(api, 100_000)
    confirm(api, learner, start_topup(api, learner, 5_000))
    entries = _page(api, "/wallet/entries?limit=1", token=learner)
    assert entries["next_cursor"]
    instructor = api.token_for(roles=["instructor"])
    for n in range(2):
        assert buy(api, learner, make_course(api, instructor, title=f"Bought {n}", amount=1_000)).status_code == 201
    orders = _page(api, "/orders?limit=1", token=learner)
    assert orders["next_cursor"]
    me = api.get("/me", token=learner).json_body["user_id"]
    for path, cursor, owner in (("/wallet/entries", entries["next_cursor"], "book"),
                                ("/orders", orders["next_cursor"], "learner_id")):
        for bad in _edited(cursor) + _forged(owner, me):
            assert_problem(api.get(f"{path}?cursor={quote(bad)}", token=learner), 422, "cursor")
        assert api.get(f"{path}?cursor={cursor}", token=learner).status_code == 200


def test_a_cursor_of_another_caller_or_list_is_refused_and_shows_nothing(api):
    owner = funded_learner(api, 100_000)
    confirm(api, owner, start_topup(api, owner, 5_000))
    stolen = _page(api, "/wallet/entries?limit=1", token=owner)["next_cursor"]
    thief = funded_learner(api, 20_000)
    answer = api.get(f"/wallet/entries?cursor={stolen}", token=thief)
    assert_problem(answer, 422, "cursor")
    assert "items" not in answer.json_body
    # nor on another list of the owner's own
    assert_problem(api.get(f"/orders?cursor={stolen}", token=owner), 422, "cursor")
    assert_problem(api.get(f"/me/enrollments?cursor={stolen}", token=owner), 422, "cursor")


def test_a_reviews_cursor_is_for_its_course_only(api):
    instructor = api.token_for(roles=["instructor"])
    course, other = make_course(api, instructor, title="Reviewed"), make_course(api, instructor, title="Other")
    for text in ("one", "two"):
        learner = api.token_for()
        enroll(api, learner, course)
        assert api.post(f"/courses/{course}/reviews", {"rating": 5, "text": text}, token=learner).status_code == 201
    cursor = _page(api, f"/courses/{course}/reviews?limit=1")["next_cursor"]
    assert_problem(api.get(f"/courses/{other}/reviews?cursor={cursor}"), 422, "cursor")
    assert [r["text"] for r in _page(api, f"/courses/{course}/reviews?cursor={cursor}")["items"]] == ["one"]


def test_every_paginated_route_refuses_cursors_it_did_not_issue(api, everyone_token):
    paginated = [e for e in ENDPOINTS if e.query is not None and "cursor" in e.query.__struct_fields__]
    assert len(paginated) >= 10
    for endpoint in paginated:
        path = re.sub(r"\{[^}]+\}", SOME_ID, endpoint.path)
        for bad in _forged("learner_id", "someone"):
            response = api.get(f"{path}?cursor={quote(bad)}", token=everyone_token)
            assert response.status_code == 422, (endpoint.path, bad[:40], response.body)
            assert [e["field"] for e in response.json_body["errors"]] == ["cursor"], (endpoint.path, response.body)


# --- the sealing itself -----------------------------------------------------------------------------

KEY = b"k" * 32
SCOPE = pagination.scope("GET", "/orders", {}, PageQuery(), "user-1")


def test_a_sealed_cursor_opens_to_its_position_in_its_own_scope_only():
    token = pagination.seal_cursor("eyJhIjp7IlMiOiJiIn19", SCOPE, key=KEY)
    assert pagination.open_cursor(token, SCOPE, key=KEY) == "eyJhIjp7IlMiOiJiIn19"
    assert pagination.seal_cursor(None, SCOPE, key=KEY) is None
    others = [pagination.scope("GET", "/orders", {}, PageQuery(), "user-2"),
              pagination.scope("GET", "/orders", {}, PageQuery(), None),
              pagination.scope("GET", "/wallet/entries", {}, PageQuery(), "user-1"),
              pagination.scope("GET", "/orders", {"course_id": "c"}, PageQuery(), "user-1")]
    for other in others:
        with pytest.raises(errors.ValidationFailed) as refused:
            pagination.open_cursor(token, other, key=KEY)
        assert refused.value.errors[0].field == "cursor"
    with pytest.raises(errors.ValidationFailed):  # sealed under a key since rotated: stale
        pagination.open_cursor(token, SCOPE, key=b"another key")


def test_the_scope_ignores_page_size_and_cursor_but_not_filters():
    from chalicelib.api.catalog import CatalogQuery

    assert (pagination.scope("GET", "/courses", {}, CatalogQuery(limit=5, cursor="x"), None)
            == pagination.scope("GET", "/courses", {}, CatalogQuery(limit=50), None))
    assert (pagination.scope("GET", "/courses", {}, CatalogQuery(sort="newest"), None)
            != pagination.scope("GET", "/courses", {}, CatalogQuery(sort="price_asc"), None))
    assert (pagination.scope("GET", "/courses", {}, CatalogQuery(category="data"), None)
            != pagination.scope("GET", "/courses", {}, CatalogQuery(), None))


# --- dates: one parser, one range -------------------------------------------------------------------

OUT_OF_RANGE = ("9999-12-31T23:59:59-12:00", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00+01:00",
                "0001-01-01T00:00:00Z", "1999-12-31T23:59:59Z", "2100-01-01T00:00:01Z", "2100-01-01T09:00:01+09:00")
MALFORMED_MOMENTS = ("2030-02-30T00:00:00Z", "2030-01-01T25:00:00Z", "2030-01-01", "2030-01-01T00:00:00",
                     "2030-01-01T00:00:00+24:00", "+12030-01-01T00:00:00Z", "", "now")


@pytest.fixture(scope="module")
def studio(api):
    instructor = api.token_for(roles=["instructor"])
    return instructor, make_course(api, instructor, title="Dated")


@pytest.mark.parametrize("moment", OUT_OF_RANGE + MALFORMED_MOMENTS)
def test_a_date_time_out_of_range_or_malformed_is_422_naming_its_field(api, studio, everyone_token, moment):
    instructor, course_id = studio
    session = api.post(f"/instructor/courses/{course_id}/sessions",
                       {"starts_at": moment, "duration_minutes": 600, "capacity": 3}, token=instructor)
    assert_problem(session, 422, "starts_at")
    coupon = api.post(f"/instructor/courses/{course_id}/coupons", {"code": "EDGE10", "kind": "percent", "value": 10,
                                                                   "max_redemptions": 5, "expires_at": moment},
                      token=instructor)
    assert_problem(coupon, 422, "expires_at")
    draft = make_course(api, instructor, title="Later", publish=False)
    assert_problem(api.post(f"/instructor/courses/{draft}/publish", {"publish_at": moment}, token=instructor),
                   422, "publish_at")
    for job in ("settlement", "payouts", "session_reminders", "scheduled_publishing", "topup_expiry"):
        assert_problem(api.post(f"/admin/jobs/{job}/run", {"now": moment}, token=everyone_token), 422, "now")


def test_the_ends_of_the_range_are_accepted(api, studio):
    instructor, course_id = studio
    for moment in ("2099-12-31T23:59:59-00:00", "2100-01-01T09:00:00+09:00", "2100-01-01T00:00:00Z"):
        session = api.post(f"/instructor/courses/{course_id}/sessions",
                           {"starts_at": moment, "duration_minutes": 600, "capacity": 3}, token=instructor)
        assert session.status_code == 201, session.body
    draft = make_course(api, instructor, title="Far", publish=False)
    published = api.post(f"/instructor/courses/{draft}/publish", {"publish_at": "2100-01-01T09:00:00+09:00"},
                         token=instructor)
    assert published.status_code == 200, published.body


@pytest.mark.parametrize(("query", "field"), [
    ("from=9999-01-01&to=9999-12-31", "from"), ("from=2026-01-01&to=9999-12-31", "to"),
    ("to=9999-12-31", "to"), ("from=0001-01-01", "from"), ("from=1999-12-31&to=2000-01-05", "from"),
    ("from=2099-12-31&to=2100-01-02", "to"), ("from=2026-02-30", "from"), ("to=99999-01-01", "to"),
])
def test_a_dashboard_range_out_of_range_is_422_naming_the_end(api, studio, query, field):
    instructor, _ = studio
    for path in ("/instructor/dashboard", "/instructor/dashboard.csv"):
        assert_problem(api.get(f"{path}?{query}", token=instructor), 422, field)


def test_a_dashboard_at_the_ends_of_the_range_answers(api, studio):
    instructor, _ = studio
    for query in ("from=2000-01-01&to=2000-01-31&granularity=week", "from=2099-12-01&to=2100-01-01&granularity=month",
                  "to=2000-01-01"):
        response = api.get(f"/instructor/dashboard?{query}", token=instructor)
        assert response.status_code == 200, (query, response.body)


def test_the_range_check_names_nested_and_renamed_fields():
    from datetime import UTC, date, datetime, timedelta, timezone

    import msgspec

    from chalicelib.api.routing import within_range

    class Inner(msgspec.Struct):
        at: datetime

    class Outer(msgspec.Struct):
        first: date = msgspec.field(name="from")
        inner: list[Inner] = []

    ok = Outer(date(2000, 1, 1), [Inner(datetime(2100, 1, 1, tzinfo=UTC))])
    assert within_range(ok) is ok
    far = datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-12)))
    for bad, field in ((Outer(date(9999, 12, 31)), "from"), (Outer(date(2001, 1, 1), [ok.inner[0], Inner(far)]),
                                                             "inner[1].at")):
        with pytest.raises(errors.ValidationFailed) as refused:
            within_range(bad)
        assert refused.value.errors[0].field == field


def test_the_accepted_range_is_computed_without_overflow():
    from datetime import UTC, date, datetime, timedelta, timezone

    from chalicelib.clock import accepted

    def at(*fields, hours=0):
        return datetime(*fields, tzinfo=timezone(timedelta(hours=hours)))

    assert accepted(at(2000, 1, 1)) and accepted(at(2100, 1, 1)) and accepted(at(2100, 1, 1, 9, hours=9))
    assert accepted(datetime(2050, 6, 1)) and accepted(date(2000, 1, 1)) and accepted(date(2100, 1, 1))
    for refused in (at(9999, 12, 31, 23, 59, 59, hours=-12), at(1, 1, 1, hours=1), datetime.max.replace(tzinfo=UTC),
                    at(1999, 12, 31, 23, 59, 59), at(2100, 1, 1, 0, 0, 1), at(2000, 1, 1, 8, hours=9),
                    date(1999, 12, 31), date(2100, 1, 2), date.max, date.min):
        assert not accepted(refused), refused
