"""The wallet through the API: balance, top-ups, confirmation with the fake gateway, every error."""

import threading

import pytest

from chalicelib.adapters.fake_payments import FakePayments
from chalicelib.services import wallet as wallet_service
from tests.support.money import balance, confirm, dynamodb_fails, krw, new_key, start_topup


@pytest.fixture(scope="module")
def learner(api):
    return api.token_for(roles=["learner"])


def _problem(response, status, code, field=None):
    assert response.status_code == status, response.body
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json_body["code"] == code
    if field is not None:
        assert field in [e["field"] for e in response.json_body["errors"]], response.json_body


# --- happy paths -----------------------------------------------------------------------------------

def test_a_new_learners_wallet_is_empty_in_krw(api):
    token = api.token_for()
    response = api.get("/wallet", token=token)
    assert response.status_code == 200
    assert response.json_body == {"balance": krw(0)}


def test_a_top_up_starts_pending_with_the_fake_gateways_payment_key(api, learner):
    topup = start_topup(api, learner, 15_000)
    assert topup["status"] == "pending"
    assert topup["amount"] == krw(15_000)
    assert topup["checkout"]["gateway"] == "fake"
    assert topup["checkout"]["payment_key"].startswith("fake_")
    assert api.get(f"/wallet/topups/{topup['topup_id']}", token=learner).json_body["status"] == "pending"


def test_confirming_a_top_up_credits_the_wallet_and_records_a_ledger_entry(api):
    token = api.token_for()
    topup = start_topup(api, token, 12_000)
    response = confirm(api, token, topup)
    assert response.status_code == 200
    assert response.json_body["status"] == "confirmed"
    assert balance(api, token) == 12_000
    entries = api.get("/wallet/entries", token=token).json_body
    assert [(e["kind"], e["amount"]) for e in entries["items"]] == [("topup", krw(12_000))]
    assert entries["items"][0]["transfer_id"] == f"topup:{topup['topup_id']}"


def test_confirming_a_confirmed_top_up_again_with_a_new_key_credits_nothing_more(api):
    token = api.token_for()
    topup = start_topup(api, token, 7_000)
    assert confirm(api, token, topup).status_code == 200
    again = confirm(api, token, topup)
    assert again.status_code == 200 and again.json_body["status"] == "confirmed"
    assert balance(api, token) == 7_000


def test_wallet_entries_are_paginated_newest_first(api):
    token = api.token_for()
    for amount in (1_000, 2_000, 3_000):
        assert confirm(api, token, start_topup(api, token, amount)).status_code == 200
    first = api.get("/wallet/entries?limit=2", token=token).json_body
    assert [e["amount"]["amount"] for e in first["items"]] == [3_000, 2_000]
    rest = api.get(f"/wallet/entries?limit=2&cursor={first['next_cursor']}", token=token).json_body
    assert [e["amount"]["amount"] for e in rest["items"]] == [1_000]
    assert rest["next_cursor"] is None


# --- errors ------------------------------------------------------------------------------------------

def test_a_declined_payment_marks_the_top_up_declined_and_credits_nothing(api):
    token = api.token_for()
    topup = start_topup(api, token)
    _problem(confirm(api, token, topup, payment_key="decline"), 402, "PAYMENT_DECLINED")
    assert api.get(f"/wallet/topups/{topup['topup_id']}", token=token).json_body["status"] == "declined"
    _problem(confirm(api, token, topup), 402, "PAYMENT_DECLINED")  # declined is final
    assert balance(api, token) == 0


def test_a_payment_key_the_gateway_never_issued_is_declined(api):
    token = api.token_for()
    topup = start_topup(api, token)
    _problem(confirm(api, token, topup, payment_key="fake_0000"), 402, "PAYMENT_DECLINED")
    assert balance(api, token) == 0


def test_another_learners_top_up_is_not_found(api, learner):
    topup = start_topup(api, learner)
    other = api.token_for()
    _problem(api.get(f"/wallet/topups/{topup['topup_id']}", token=other), 404, "NOT_FOUND")
    _problem(confirm(api, other, topup), 404, "NOT_FOUND")
    _problem(api.get("/wallet/topups/01NOSUCHTOPUP0000000000000", token=learner), 404, "NOT_FOUND")
    assert balance(api, other) == 0


@pytest.mark.parametrize(("amount", "field"), [
    (krw(999), "amount.amount"),
    (krw(2_000_001), "amount.amount"),
    ({"amount": 5_000, "currency": "USD"}, "amount.currency"),
    ({"amount": 5_000, "currency": "EUR"}, "amount.currency"),
    ({"amount": 5_000.5, "currency": "KRW"}, "amount.amount"),
    ({"amount": -5_000, "currency": "KRW"}, "amount.amount"),
    ({"amount": 5_000}, "amount.currency"),
])
def test_a_top_up_outside_the_limits_or_currency_is_refused_naming_the_field(api, learner, amount, field):
    response = api.post("/wallet/topups", {"amount": amount}, token=learner, headers={"Idempotency-Key": new_key()})
    _problem(response, 422, "VALIDATION_FAILED", field)


def test_a_confirm_body_must_carry_a_well_formed_payment_key(api, learner):
    topup = start_topup(api, learner)
    for body, field in (({}, "payment_key"), ({"payment_key": ""}, "payment_key"),
                        ({"payment_key": "a b"}, "payment_key"), ({"payment_key": "k", "x": 1}, "x")):
        response = api.post(f"/wallet/topups/{topup['topup_id']}/confirm", body, token=learner,
                            headers={"Idempotency-Key": new_key()})
        _problem(response, 422, "VALIDATION_FAILED", field)


def test_wallet_routes_are_for_learners_only(api):
    instructor = api.token_for(roles=["instructor"])
    _problem(api.get("/wallet", token=instructor), 403, "FORBIDDEN")
    _problem(api.post("/wallet/topups", {"amount": krw(5_000)}, token=instructor,
                      headers={"Idempotency-Key": new_key()}), 403, "FORBIDDEN")
    assert api.get("/wallet").status_code == 401


def test_an_expired_top_up_the_gateway_never_captured_cannot_be_confirmed(api):
    from chalicelib import clock
    from chalicelib.store import topups

    token = api.token_for()
    topup = start_topup(api, token)
    assert topups.expire(topup["topup_id"], clock.now())
    _problem(confirm(api, token, topup, payment_key="decline"), 409, "CONFLICT")
    assert balance(api, token) == 0
    assert api.get(f"/wallet/topups/{topup['topup_id']}", token=token).json_body["status"] == "expired"


def test_a_payment_the_gateway_captured_is_credited_even_after_its_top_up_expired(api):
    """The first confirm's commit failed, the learner came back after the expiry job ran: the
    gateway answers that it captured the payment, so the wallet is credited (once)."""
    from chalicelib import clock
    from chalicelib.store import topups

    token = api.token_for()
    topup = start_topup(api, token, amount=12_000)
    assert topups.expire(topup["topup_id"], clock.now())
    first = confirm(api, token, topup)
    assert first.status_code == 200, first.body
    assert first.json_body["status"] == "confirmed"
    assert confirm(api, token, topup).status_code == 200  # a new key: answered, not credited again
    assert balance(api, token) == 12_000


def test_a_gateway_outage_leaves_the_top_up_pending_and_a_retry_with_the_same_key_credits_it(api, monkeypatch):
    class DownGateway(FakePayments):
        def confirm(self, payment_key, order_id, amount):
            from chalicelib import errors

            raise errors.PaymentGatewayError("down")

    token = api.token_for()
    topup = start_topup(api, token)
    key = new_key()
    monkeypatch.setattr(wallet_service, "payment_gateway", DownGateway)
    _problem(confirm(api, token, topup, key=key), 502, "PAYMENT_GATEWAY_ERROR")
    assert api.get(f"/wallet/topups/{topup['topup_id']}", token=token).json_body["status"] == "pending"
    monkeypatch.undo()
    assert confirm(api, token, topup, key=key).status_code == 200
    assert balance(api, token) == 10_000


# --- Idempotency-Key ---------------------------------------------------------------------------------

def test_money_routes_require_an_idempotency_key(api, learner):
    _problem(api.post("/wallet/topups", {"amount": krw(5_000)}, token=learner), 400, "IDEMPOTENCY_KEY_REQUIRED")
    topup = start_topup(api, learner)
    response = api.post(f"/wallet/topups/{topup['topup_id']}/confirm",
                        {"payment_key": topup["checkout"]["payment_key"]}, token=learner)
    _problem(response, 400, "IDEMPOTENCY_KEY_REQUIRED")


@pytest.mark.parametrize("key", ["x" * 256, "has space", "semi;colon", "ünïcode"])
def test_a_malformed_idempotency_key_is_refused_naming_the_header(api, learner, key):
    response = api.post("/wallet/topups", {"amount": krw(5_000)}, token=learner, headers={"Idempotency-Key": key})
    _problem(response, 422, "VALIDATION_FAILED", "Idempotency-Key")


def test_the_same_key_and_body_replay_the_first_response_with_its_status(api):
    token = api.token_for()
    key = new_key()
    first = api.post("/wallet/topups", {"amount": krw(5_000)}, token=token, headers={"idempotency-key": key})
    again = api.post("/wallet/topups", {"amount": krw(5_000)}, token=token, headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 201
    assert again.json_body == first.json_body
    assert again.headers["Idempotent-Replayed"] == "true"
    confirm_key = new_key()
    confirmed = confirm(api, token, first.json_body, key=confirm_key)
    replayed = confirm(api, token, first.json_body, key=confirm_key)
    assert confirmed.status_code == replayed.status_code == 200
    assert replayed.json_body == confirmed.json_body
    assert balance(api, token) == 5_000


def test_a_declined_confirm_is_replayed_as_the_same_402(api):
    token = api.token_for()
    topup = start_topup(api, token)
    key = new_key()
    first = confirm(api, token, topup, payment_key="decline", key=key)
    again = confirm(api, token, topup, payment_key="decline", key=key)
    assert first.status_code == again.status_code == 402
    assert again.json_body == first.json_body and again.headers["Idempotent-Replayed"] == "true"


def test_the_same_key_with_another_body_or_route_is_refused(api):
    token = api.token_for()
    key = new_key()
    topup = start_topup(api, token, 5_000, key=key)
    other_body = api.post("/wallet/topups", {"amount": krw(6_000)}, token=token, headers={"Idempotency-Key": key})
    _problem(other_body, 422, "IDEMPOTENCY_KEY_REUSED")
    _problem(confirm(api, token, topup, key=key), 422, "IDEMPOTENCY_KEY_REUSED")
    assert balance(api, token) == 0


def test_keys_are_scoped_to_the_caller(api):
    key = new_key()
    first, second = api.token_for(), api.token_for()
    one = start_topup(api, first, 5_000, key=key)
    two = start_topup(api, second, 5_000, key=key)
    assert one["topup_id"] != two["topup_id"]


def test_the_same_key_while_the_first_request_runs_is_409_then_replays(api, monkeypatch):
    entered, release = threading.Event(), threading.Event()

    class SlowGateway(FakePayments):
        def confirm(self, payment_key, order_id, amount):
            entered.set()
            assert release.wait(10)
            return super().confirm(payment_key, order_id, amount)

    token = api.token_for()
    topup = start_topup(api, token)
    key = new_key()
    monkeypatch.setattr(wallet_service, "payment_gateway", SlowGateway)
    results = {}
    first = threading.Thread(target=lambda: results.setdefault("first", confirm(api, token, topup, key=key)))
    first.start()
    assert entered.wait(10)
    _problem(confirm(api, token, topup, key=key), 409, "IDEMPOTENCY_IN_PROGRESS")
    release.set()
    first.join(10)
    assert results["first"].status_code == 200
    replay = confirm(api, token, topup, key=key)
    assert replay.status_code == 200 and replay.headers["Idempotent-Replayed"] == "true"
    assert balance(api, token) == 10_000


def test_the_api_document_declares_the_idempotency_key_header_on_money_routes(api):
    document = api.get("/openapi.json").json_body
    for path in ("/wallet/topups", "/wallet/topups/{topup_id}/confirm"):
        operation = document["paths"][path]["post"]
        header = [p for p in operation["parameters"] if p["in"] == "header"]
        assert header and header[0]["name"] == "Idempotency-Key" and header[0]["required"] is True
        assert "IDEMPOTENCY_KEY_REUSED" in operation["responses"]["422"]["description"]
        assert "IDEMPOTENCY_IN_PROGRESS" in operation["responses"]["409"]["description"]
        assert "IDEMPOTENCY_KEY_REQUIRED" in operation["responses"]["400"]["description"]
    assert "402" in document["paths"]["/wallet/topups/{topup_id}/confirm"]["post"]["responses"]


@pytest.mark.parametrize("outcome", ["confirmed", "declined", "held"])
def test_an_idempotency_record_is_kept_at_least_24_hours_after_its_claim(api, outcome):
    """Completed with the effect (a credit), completed with a refusal (a decline), or still held (its
    request died and could not give it back): DynamoDB's TTL may delete it no sooner than 24 h after."""
    from datetime import timedelta

    from chalicelib import clock
    from chalicelib.store.idempotency import COMPLETED, IN_PROGRESS, IdempotencyItem, scope_key

    token = api.token_for()
    user_id = api.get("/me", token=token).json_body["user_id"]
    topup = start_topup(api, token, 7_000)
    key = new_key("retention")
    before = clock.now()
    if outcome == "held":
        with dynamodb_fails("TransactWriteItems"), dynamodb_fails("DeleteItem"):
            assert confirm(api, token, topup, key=key).status_code == 500
    else:
        answered = confirm(api, token, topup, key=key, payment_key="decline" if outcome == "declined" else None)
        assert answered.status_code == (200 if outcome == "confirmed" else 402), answered.body
    assert balance(api, token) == (7_000 if outcome == "confirmed" else 0)
    record = IdempotencyItem.get(scope_key(user_id, key), consistent_read=True)
    assert record.state == (IN_PROGRESS if outcome == "held" else COMPLETED)
    assert before - timedelta(seconds=1) <= record.created_at <= clock.now()
    assert record.expires_at - record.created_at >= timedelta(hours=24)
    assert record.expires_at >= before + timedelta(hours=24) - timedelta(seconds=1)
    stored = record.serialize()["expires_at"]  # DynamoDB's TTL reads epoch seconds in a Number
    assert list(stored) == ["N"] and int(stored["N"]) == int(record.expires_at.timestamp())
