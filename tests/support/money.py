"""Helpers for the money tests: funded learners, admin tokens, top-ups, and DynamoDB faults."""

import contextlib
import itertools
import uuid

from botocore.exceptions import EndpointConnectionError

from chalicelib.store.instrumentation import on_dynamodb
from tests.support.courses import STUDIO, make_course

_keys = itertools.count()


def new_key(prefix="key"):
    return f"{prefix}-{next(_keys)}-{uuid.uuid4().hex[:12]}"


def krw(amount):
    return {"amount": amount, "currency": "KRW"}


def admin_token(api):
    return api.admin_token()


def start_topup(api, token, amount=10_000, key=None):
    response = api.post("/wallet/topups", {"amount": krw(amount)}, token=token,
                        headers={"Idempotency-Key": key or new_key("topup")})
    assert response.status_code == 201, response.body
    return response.json_body


def confirm(api, token, topup, payment_key=None, key=None):
    return api.post(
        f"/wallet/topups/{topup['topup_id']}/confirm",
        {"payment_key": payment_key or topup["checkout"]["payment_key"]},
        token=token, headers={"Idempotency-Key": key or new_key("confirm")},
    )


def balance(api, token):
    response = api.get("/wallet", token=token)
    assert response.status_code == 200, response.body
    return response.json_body["balance"]["amount"]


def funded_learner(api, amount=50_000):
    token = api.token_for(roles=["learner"])
    topup = start_topup(api, token, amount)
    assert confirm(api, token, topup).status_code == 200
    return token


def assert_reconciled(api, admin):
    response = api.get("/admin/reconciliation", token=admin)
    assert response.status_code == 200, response.body
    assert response.json_body["violations"] == []
    assert response.json_body["ok"] is True
    return response.json_body


class InjectedFault(EndpointConnectionError):
    pass


@contextlib.contextmanager
def dynamodb_fails(operation, when="before", times=1):
    """The next `times` calls of a DynamoDB `operation` fail: `before` it reaches DynamoDB (nothing
    written), or `after` DynamoDB did it (the answer is lost on the way back)."""
    remaining = [times]

    def fail(**_kwargs):
        if remaining[0] > 0:
            remaining[0] -= 1
            raise InjectedFault(endpoint_url=f"injected fault {when} {operation}")

    with on_dynamodb(f"{when}-call.dynamodb.{operation}", fail):
        yield remaining


def buy(api, token, course_id, key=None, **extra):
    return api.post("/orders", {"course_id": course_id, **extra}, token=token,
                    headers={"Idempotency-Key": key or new_key("order")})


def refund(api, token, order_id, key=None, **extra):
    return api.post(f"/orders/{order_id}/refund", {"reason": "changed my mind", **extra}, token=token,
                    headers={"Idempotency-Key": key or new_key("refund")})


def course_with_session(api, instructor, capacity, starts_at, amount=50_000):
    course_id = make_course(api, instructor, amount=amount)
    session = api.post(f"{STUDIO}/{course_id}/sessions",
                       {"starts_at": starts_at, "duration_minutes": 60, "capacity": capacity}, token=instructor)
    assert session.status_code == 201, session.body
    return course_id, session.json_body["session_id"]


@contextlib.contextmanager
def dynamodb_calls():
    """The DynamoDB operations attempted while inside, in order (e.g. ["PutItem", "GetItem", ...]),
    recorded before any `before-call` fault handler runs."""
    calls = []

    def record(event_name, **_kwargs):
        calls.append(event_name.rsplit(".", 1)[-1])

    with on_dynamodb("provide-client-params.dynamodb", record):
        yield calls


@contextlib.contextmanager
def dynamodb_fails_nth(operation, nth=1, when="before"):
    """Only the `nth` call (1-based) of a DynamoDB `operation` fails, once, `before` or `after` it
    reached DynamoDB. Yields a list that holds True once the fault was injected."""
    seen, injected = [0], []

    def fail(**_kwargs):
        seen[0] += 1
        if seen[0] == nth:
            injected.append(True)
            raise InjectedFault(endpoint_url=f"injected fault {when} {operation} #{nth}")

    with on_dynamodb(f"{when}-call.dynamodb.{operation}", fail):
        yield injected


def assert_problem(response, statuses=(409, 500, 502, 503, 504)):
    """A failed money request: a problem document with a stable code, never a success."""
    assert response.status_code in statuses, (response.status_code, response.body)
    assert response.headers["Content-Type"].startswith("application/problem+json"), response.headers
    assert response.json_body["code"], response.json_body
    return response.json_body


def retry_until(send, status, attempts=5):
    """Send the same request (same Idempotency-Key) until it answers `status`; every answer before it
    must be a problem document. Returns (the answer, the answers before it)."""
    failures = []
    for _ in range(attempts):
        response = send()
        if response.status_code == status:
            return response, failures
        assert_problem(response)
        failures.append(response)
    raise AssertionError(f"no {status} after {attempts} attempts: {[(r.status_code, r.json_body) for r in failures]}")


RELEASE = ("DeleteItem", 1)  # giving the key back, only after a failure (with the failed transaction)


def fault_cases(steps):
    """pytest params (operation, nth, when) for every DynamoDB call of a money request, `steps` in the
    order the request makes them, before and after each, plus the key's release after a failed commit."""
    import pytest

    counted = {}
    cases = []
    for operation in [*steps, RELEASE[0]]:
        counted[operation] = counted.get(operation, 0) + 1
        for when in ("before", "after"):
            cases.append(pytest.param(operation, counted[operation], when,
                                      id=f"{operation}#{counted[operation]}-{when}"))
    return cases


@contextlib.contextmanager
def fault_at(operation, nth, when):
    """The fault of one `fault_cases` case. The release only runs after a failure: the transaction
    fails before DynamoDB, then so does giving the key back (`before`) or its answer is lost (`after`)."""
    with contextlib.ExitStack() as stack:
        if (operation, nth) == RELEASE:
            stack.enter_context(dynamodb_fails_nth("TransactWriteItems", 1, "before"))
        injected = stack.enter_context(dynamodb_fails_nth(operation, nth, when))
        yield injected


def fails_with_the_fault(send, operation, nth, when):
    """Send once with the fault of one `fault_cases` case: the answer must be a 500 problem document,
    never a success. Returns whether the request committed anyway (its answer lost after the commit)."""
    with fault_at(operation, nth, when) as injected:
        failed = send()
    assert injected == [True]
    assert assert_problem(failed)["code"] == "INTERNAL" and failed.status_code == 500
    return when == "after" and operation == "TransactWriteItems"


def retry_after_the_fault(send, status, operation, nth, when, monkeypatch):
    """Retry with the same key until `status`. Only a key whose release failed before reaching DynamoDB
    stays held, and only until its lease runs out; every other fault leaves the key free at once."""
    from datetime import timedelta

    from chalicelib import clock, config

    if (operation, nth, when) == (*RELEASE, "before"):
        held = send()
        assert held.status_code == 409 and held.json_body["code"] == "IDEMPOTENCY_IN_PROGRESS", held.body
        later = clock.now() + timedelta(seconds=config.idempotency_lease_seconds() + 1)
        monkeypatch.setattr(clock, "now", lambda: later)
    response, failures = retry_until(send, status, attempts=3)
    assert failures == [], [(r.status_code, r.json_body) for r in failures]
    return response
