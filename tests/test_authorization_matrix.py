"""Every route of the app x every kind of caller: who gets in, and what they learn when they may not.

One table, one row per route (a route of the app without a row fails
`test_every_route_of_the_app_has_a_row`). Callers: anonymous, a learner with a
pending top-up, another learner, a learner enrolled by a real purchase (with a
booked session, a review, a question and a certificate), a learner whose
purchase was refunded, the course's instructor (paid out once: the enrolled
learner's sale settled and went through the weekly payout job and its worker),
another instructor and an admin (in the `admins` group only). The spec's rules: no token 401; a caller
without the route's role 403; someone else's object through an owner's route
404. Every cell names the exact status; the world is built once and no row
changes what another row sees (deletes hit spare objects, the learner's
confirm is declined, the refunded learner spent the refund elsewhere).
"""

import functools
import itertools
import os
import sys
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from tests.support.courses import STUDIO, make_course
from tests.support.learning import enroll, refund, upload
from tests.support.money import new_key, start_topup
from tests.support.payouts import run_payouts, set_tax_profile, settle

ROLES = ("anonymous", "learner", "other_learner", "enrolled", "refunded", "owner", "other_instructor", "admin")
LEARNERS = ("learner", "other_learner", "enrolled", "refunded")
INSTRUCTORS = ("owner", "other_instructor")
PRICE = 30_000
_unique = itertools.count()


def everyone(status):
    return dict.fromkeys(ROLES, status)


def signed_in(status=200, **cells):
    return {**everyone(status), "anonymous": 401, **cells}


def learners_only(status=200, **cells):
    return {**signed_in(403), **dict.fromkeys(LEARNERS, status), **cells}


def instructors_only(owner=200, other_instructor=None, **cells):
    return {**signed_in(403), "owner": owner,
            "other_instructor": owner if other_instructor is None else other_instructor, **cells}


def admins_only(status=200):
    return {**signed_in(403), "admin": status}


def _in(days):
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


def _signup_body(_world):
    return {"email": f"matrix{next(_unique)}-{os.getpid()}@classpay.test", "password": "Classpay-test-1",
            "name": "Matrix", "roles": ["learner"]}


# (method, path) -> (body or body(world) or None, extra headers?, {role: status})
MATRIX = {
    # --- public -----------------------------------------------------------------------------------
    ("GET", "/health"): (None, everyone(200)),
    ("GET", "/openapi.json"): (None, everyone(200)),
    ("GET", "/docs"): (None, everyone(200)),
    ("GET", "/docs/redoc.js"): (None, everyone(200)),
    ("POST", "/auth/signup"): (_signup_body, everyone(202)),
    ("POST", "/auth/login"): (lambda w: {"email": w.emails["other_learner"], "password": "Classpay-test-1"},
                              everyone(200)),
    ("POST", "/auth/refresh"): (lambda w: {"refresh_token": w.refresh_token}, everyone(200)),
    ("GET", "/courses"): (None, everyone(200)),
    ("GET", "/courses/{course_id}"): (None, everyone(200)),
    ("GET", "/instructors/{instructor_id}"): (None, everyone(200)),
    ("GET", "/courses/{course_id}/reviews"): (None, everyone(200)),
    ("POST", "/webhooks/toss"): ({"eventType": "PAYMENT_STATUS_CHANGED", "data": {"orderId": "nothing"}},
                                 everyone(200)),
    ("GET", "/certificates/{verification_id}"): (None, everyone(200)),
    # --- signed in --------------------------------------------------------------------------------
    ("GET", "/me"): (None, signed_in(200)),
    ("GET", "/courses/{course_id}/lessons/{lesson_id}/content"): (
        None, signed_in(403, enrolled=200, owner=200, admin=200)),
    ("GET", "/courses/{course_id}/questions"): (None, signed_in(403, enrolled=200, owner=200, admin=200)),
    ("GET", "/questions/{question_id}"): (None, signed_in(403, enrolled=200, owner=200, admin=200)),
    ("POST", "/questions/{question_id}/answers"): (
        {"body": "An answer"}, signed_in(403, enrolled=201, owner=201, admin=403)),
    # --- learner: own records ---------------------------------------------------------------------
    ("GET", "/wallet"): (None, learners_only(200)),
    ("GET", "/wallet/entries"): (None, learners_only(200)),
    ("POST", "/wallet/topups"): ({"amount": {"amount": 10_000, "currency": "KRW"}}, learners_only(201)),
    ("GET", "/wallet/topups/{topup_id}"): (None, learners_only(404, learner=200)),
    ("POST", "/wallet/topups/{topup_id}/confirm"): ({"payment_key": "decline"}, learners_only(404, learner=402)),
    ("POST", "/orders"): (lambda w: {"course_id": w.ids["course_id"]},
                          learners_only(402, enrolled=409)),
    ("GET", "/orders"): (None, learners_only(200)),
    ("POST", "/checkouts"): (lambda w: {"items": [{"course_id": w.ids["course_id"]}]},
                             learners_only(201, enrolled=409)),
    ("GET", "/checkouts/{checkout_id}"): (None, learners_only(404, learner=200, admin=200)),
    ("POST", "/checkouts/{checkout_id}/confirm"): (
        {"payment_key": "decline", "amount": {"amount": PRICE, "currency": "KRW"}}, learners_only(404, learner=402)),
    ("GET", "/orders/{order_id}"): (None, learners_only(404, enrolled=200, admin=200)),
    ("GET", "/orders/{order_id}/refund-quote"): (None, learners_only(404, enrolled=200, admin=200)),
    ("POST", "/orders/{refunded_order_id}/refund"): (
        {"reason": "again"}, learners_only(404, refunded=422, admin=422)),
    ("GET", "/me/enrollments"): (None, learners_only(200)),
    ("GET", "/me/enrollments/{course_id}"): (None, learners_only(404, enrolled=200, refunded=200)),
    ("PUT", "/me/enrollments/{course_id}/lessons/{lesson_id}/progress"): (
        {"completed": True, "position_seconds": 10}, learners_only(404, enrolled=200, refunded=403)),
    ("GET", "/me/sessions"): (None, learners_only(200)),
    ("GET", "/me/certificates/{course_id}"): (None, learners_only(404, enrolled=200, refunded=403)),
    ("POST", "/courses/{course_id}/reviews"): (
        {"rating": 5, "text": "Again"}, learners_only(403, enrolled=409)),
    ("GET", "/courses/{course_id}/reviews/mine"): (None, learners_only(404, enrolled=200)),
    ("PATCH", "/courses/{course_id}/reviews/mine"): ({"rating": 4}, learners_only(404, enrolled=200)),
    ("POST", "/courses/{course_id}/questions"): (
        {"title": "How?", "body": "How does it work?"}, learners_only(403, enrolled=201)),
    # --- instructor: own courses ------------------------------------------------------------------
    ("GET", "/instructor/courses"): (None, instructors_only(200)),
    ("POST", "/instructor/courses"): (
        {"title": "Another", "category": "programming", "price": {"amount": 10_000, "currency": "KRW"}},
        instructors_only(201)),
    ("GET", "/instructor/courses/{course_id}"): (None, instructors_only(200, 404)),
    ("PATCH", "/instructor/courses/{course_id}"): ({"description": "Better"}, instructors_only(200, 404)),
    # the split (co-instructors read it too: tests/test_revenue_splits.py); the owner keeps everything here
    ("GET", "/instructor/courses/{course_id}/revenue-split"): (None, instructors_only(200, 404)),
    ("PUT", "/instructor/courses/{course_id}/revenue-split"): (
        lambda w: {"shares": [{"instructor_id": w.ids["instructor_id"], "bps": 10_000}]}, instructors_only(200, 404)),
    ("POST", "/instructor/courses/{course_id}/sections"): ({"title": "More"}, instructors_only(201, 404)),
    ("PATCH", "/instructor/courses/{course_id}/sections/{section_id}"): (
        {"title": "Basics"}, instructors_only(200, 404)),
    ("DELETE", "/instructor/courses/{course_id}/sections/{spare_section_id}"): (None, instructors_only(409, 404)),
    ("POST", "/instructor/courses/{course_id}/sections/{section_id}/lessons"): (
        {"title": "Extra", "kind": "document"}, instructors_only(201, 404)),
    ("PATCH", "/instructor/courses/{course_id}/lessons/{lesson_id}"): (
        {"title": "Lesson 0"}, instructors_only(200, 404)),
    ("DELETE", "/instructor/courses/{course_id}/lessons/{spare_lesson_id}"): (None, instructors_only(409, 404)),
    ("POST", "/instructor/courses/{course_id}/lessons/{lesson_id}/upload-url"): (
        {"content_type": "video/mp4", "size_bytes": 10}, instructors_only(200, 404)),
    # the world's upload was completed: nothing is waiting (the owner's 200 is in tests/test_learning.py)
    ("POST", "/instructor/courses/{course_id}/lessons/{lesson_id}/upload-complete"): (None, instructors_only(409, 404)),
    ("POST", "/instructor/courses/{course_id}/publish"): ({}, instructors_only(200, 404)),  # already published
    ("POST", "/instructor/courses/{course_id}/sessions"): (
        lambda w: {"starts_at": _in(20), "duration_minutes": 30, "capacity": 5}, instructors_only(201, 404)),
    ("PATCH", "/instructor/courses/{course_id}/sessions/{session_id}"): (
        {"capacity": 10}, instructors_only(200, 404)),
    ("POST", "/instructor/courses/{course_id}/coupons"): (
        lambda w: {"code": "MATRIX10", "kind": "percent", "value": 10, "max_redemptions": 5,
                   "expires_at": _in(30)}, instructors_only(201, 404)),
    ("GET", "/instructor/courses/{course_id}/coupons"): (None, instructors_only(200, 404)),
    ("POST", "/courses/{course_id}/reviews/{review_id}/reply"): ({"text": "Thanks"}, instructors_only(201, 404)),
    ("GET", "/instructor/balance"): (None, instructors_only(200)),
    ("GET", "/instructor/questions/unanswered"): (None, instructors_only(200)),
    ("PUT", "/instructor/profile"): ({"name": "Ina"}, instructors_only(200)),
    ("PUT", "/instructor/payout-account"): (
        {"bank_code": "088", "account_number": "110-123-456789", "holder_name": "Ina"}, instructors_only(200)),
    ("GET", "/instructor/payout-account"): (None, instructors_only(200)),
    ("GET", "/instructor/payouts"): (None, instructors_only(200)),
    ("PUT", "/instructor/tax-profile"): (
        {"kind": "business", "business_registration_number": "123-45-67891"}, instructors_only(200)),
    ("GET", "/instructor/tax-profile"): (None, instructors_only(200)),
    ("GET", "/instructor/payouts/{payout_id}"): (None, instructors_only(200, 404)),  # the owner's payout
    ("GET", "/instructor/dashboard"): (None, instructors_only(200)),
    ("PUT", "/instructor/timezone"): ({"timezone": "Asia/Seoul"}, instructors_only(200)),
    ("GET", "/instructor/dashboard.csv"): (None, instructors_only(200)),
    ("GET", "/instructor/dashboard.png"): (None, instructors_only(200), {"Accept": "image/png"}),
    ("GET", "/instructor/courses/{course_id}/enrollments"): (None, instructors_only(200, 404)),
    # --- admin ------------------------------------------------------------------------------------
    ("GET", "/admin/reconciliation"): (None, admins_only(200)),
    ("GET", "/admin/reconciliation/runs"): (None, admins_only(200)),
    ("POST", "/admin/jobs/{job_name}/run"): ({}, admins_only(200)),
    ("POST", "/admin/gateway/deposits"): ({"payment_key": "fakeva_nothing"}, admins_only(404)),
    ("GET", "/admin/tax/withholding?month=2030-01"): (None, admins_only(200)),
    ("GET", "/admin/tax/withholding.csv?month=2030-01"): (None, admins_only(200)),
}

# A row's path may name which object of a kind it uses; the app's route has the plain parameter.
_ALIASES = {"{refunded_order_id}": "{order_id}", "{spare_section_id}": "{section_id}",
            "{spare_lesson_id}": "{lesson_id}"}


def _route_of(path):
    path = path.split("?")[0]  # a row may carry the query its route needs
    for alias, parameter in _ALIASES.items():
        path = path.replace(alias, parameter)
    return path


class World:
    def __init__(self):
        self.tokens: dict[str, str | None] = {"anonymous": None}
        self.emails: dict[str, str] = {}
        self.ids: dict[str, str] = {}
        self.refresh_token = ""

    def path(self, template):
        return template.format(**self.ids)


def _sign_up(api, world, role, roles):
    email, user_id = api.sign_up(roles=roles, name=role.replace("_", " ").title())
    world.emails[role] = email
    world.tokens[role] = api.log_in(email)["access_token"]
    return user_id


@pytest.fixture(scope="module")
def world(api, functions):
    world = World()
    for role in LEARNERS:
        _sign_up(api, world, role, ["learner"])
    world.ids["instructor_id"] = _sign_up(api, world, "owner", ["instructor"])
    _sign_up(api, world, "other_instructor", ["instructor"])
    admin_email, _ = api.sign_up(roles=["learner"], name="Admin")
    cognito = boto3.client("cognito-idp")
    cognito.admin_add_user_to_group(UserPoolId=os.environ["USER_POOL_ID"], Username=admin_email, GroupName="admins")
    cognito.admin_remove_user_from_group(UserPoolId=os.environ["USER_POOL_ID"], Username=admin_email,
                                         GroupName="learners")
    world.tokens["admin"] = api.log_in(admin_email)["access_token"]
    world.refresh_token = api.log_in(world.emails["other_learner"])["refresh_token"]

    owner, tokens = world.tokens["owner"], world.tokens
    course_id = make_course(api, owner, title="Matrix course", amount=PRICE, publish=False)
    studio = api.get(f"{STUDIO}/{course_id}", token=owner).json_body
    section_id = studio["sections"][0]["section_id"]
    lesson_id = studio["sections"][0]["lessons"][0]["lesson_id"]
    upload(api, owner, course_id, lesson_id)
    # Spare objects for the deletes, so that no row takes away what another row reads.
    spare_section = api.post(f"{STUDIO}/{course_id}/sections", {"title": "Spare"}, token=owner)
    assert spare_section.status_code == 201, spare_section.body
    spare_section_id = spare_section.json_body["section_id"]
    spare_lesson = api.post(f"{STUDIO}/{course_id}/sections/{spare_section_id}/lessons",
                            {"title": "Spare", "kind": "document"}, token=owner)
    assert spare_lesson.status_code == 201, spare_lesson.body
    session = api.post(f"{STUDIO}/{course_id}/sessions",
                       {"starts_at": _in(10), "duration_minutes": 60, "capacity": 10}, token=owner)
    assert session.status_code == 201, session.body
    assert api.post(f"{STUDIO}/{course_id}/publish", token=owner).status_code == 200
    elsewhere = make_course(api, tokens["other_instructor"], title="Elsewhere", amount=PRICE)

    enrolled = enroll(api, tokens["enrolled"], course_id, session.json_body["session_id"])
    for lesson in (lesson_id, spare_lesson.json_body["lesson_id"]):
        progress = api.call("PUT", f"/me/enrollments/{course_id}/lessons/{lesson}/progress",
                            body={"completed": True, "position_seconds": 300}, token=tokens["enrolled"])
        assert progress.status_code == 200, progress.body
    review = api.post(f"/courses/{course_id}/reviews", {"rating": 5, "text": "Great"}, token=tokens["enrolled"])
    assert review.status_code == 201, review.body
    question = api.post(f"/courses/{course_id}/questions", {"title": "Q", "body": "Why?"}, token=tokens["enrolled"])
    assert question.status_code == 201, question.body
    certificate = api.get(f"/me/certificates/{course_id}", token=tokens["enrolled"])
    assert certificate.status_code == 200, certificate.body

    refunded = enroll(api, tokens["refunded"], course_id)
    refund(api, tokens["refunded"], refunded)
    spent = api.post("/orders", {"course_id": elsewhere}, token=tokens["refunded"],
                     headers={"Idempotency-Key": new_key()})
    assert spent.status_code == 201, spent.body  # the refund is spent: this learner cannot buy again

    topup = start_topup(api, tokens["learner"], 10_000)
    checkout = api.post("/checkouts", {"items": [{"course_id": course_id}]}, token=tokens["learner"],
                        headers={"Idempotency-Key": new_key()})
    assert checkout.status_code == 201, checkout.body
    for instructor in INSTRUCTORS:  # so that reading the payout account has one to show, and payouts go there
        account = api.call("PUT", "/instructor/payout-account", token=tokens[instructor],
                           body={"bank_code": "004", "account_number": "123456-78-901234", "holder_name": "Matrix"})
        assert account.status_code == 200, account.body
        assert set_tax_profile(api, tokens[instructor]).status_code == 200  # payouts wait without one
    # A real payout for the owner: the enrolled learner's sale settles after the hold, then the weekly job's
    # message is delivered to its worker (the other instructor's sale to the refunded learner is paid too).
    with pytest.MonkeyPatch.context() as patch:
        settle(functions, patch)
        _fan_out, _messages, failed = run_payouts(functions, patch)
    assert failed == [], failed
    payouts = api.get("/instructor/payouts", token=owner)
    assert payouts.status_code == 200, payouts.body
    (payout,) = payouts.json_body["items"]
    assert payout["status"] == "paid" and payout["amount"]["amount"] == PRICE * 80 // 100, payout
    world.ids.update(
        course_id=course_id, section_id=section_id, lesson_id=lesson_id,
        session_id=session.json_body["session_id"], order_id=enrolled.order_id, refunded_order_id=refunded.order_id,
        topup_id=topup["topup_id"], checkout_id=checkout.json_body["checkout_id"], review_id=review.json_body["review_id"],
        question_id=question.json_body["question_id"], verification_id=certificate.json_body["verification_id"],
        job_name="topup_expiry", spare_section_id=spare_section_id, payout_id=payout["payout_id"],
        spare_lesson_id=spare_lesson.json_body["lesson_id"],
    )
    return world


def test_every_route_of_the_app_has_a_row(chalice_app):
    routes = {(method, path) for path, methods in chalice_app.routes.items() for method in methods
              if method != "OPTIONS"}
    rows = {(method, _route_of(path)) for method, path in MATRIX}
    assert routes - rows == set(), "routes without a row in the authorization matrix"
    assert rows - routes == set(), "rows for routes the app does not have"


def test_every_row_names_every_caller():
    for key, (_body, expected, *_headers) in MATRIX.items():
        assert set(expected) == set(ROLES), key


@functools.cache
def modules_missing_on(function: str) -> tuple[str, ...]:
    """The top-level modules of the other functions' own layers (infra/function_layers.py): on Lambda, `function`
    cannot import them."""
    import importlib.metadata

    from infra.function_layers import FUNCTION_LAYERS, normalised

    providers = importlib.metadata.packages_distributions()
    missing = set()
    for layer in FUNCTION_LAYERS:
        if layer.function != function:
            missing |= {module for module, names in providers.items()
                        if {normalised(name) for name in names} & layer.distributions()}
    return tuple(sorted(missing))


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "path"), list(MATRIX), ids=[f"{m} {p}" for m, p in MATRIX])
def test_each_caller_gets_the_status_the_spec_names(api, world, method, path, role, monkeypatch):
    """Each request runs as on Lambda: without the packages of layers its function does not load (no Pillow
    but for the drawn routes, never cryptography)."""
    from infra.template.functions import DRAWING_FUNCTION, drawing_paths

    body, expected, *extra_headers = MATRIX[(method, path)]
    if callable(body):
        body = body(world)
    headers = {"Idempotency-Key": new_key("matrix"), **(extra_headers[0] if extra_headers else {})}
    function = DRAWING_FUNCTION if path in drawing_paths() else "APIHandler"
    with monkeypatch.context() as lambda_image:
        for module in modules_missing_on(function):
            lambda_image.setitem(sys.modules, module, None)  # `import` raises ImportError, as on Lambda
        response = api.call(method, world.path(path), body=body, token=world.tokens[role], headers=headers)
    assert response.status_code == expected[role], (role, response.body)
    if response.status_code >= 400:  # the gateway's own 401 (no token) included
        assert response.headers["Content-Type"] == "application/problem+json", response.headers
