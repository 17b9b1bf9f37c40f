"""Toss's webhooks through the queue, over HTTP: the route stores and queues an event without asking the
gateway, the worker acts on it once (duplicated messages, events in any order, a forged deposit, the gateway
down), and payout and seller events are trusted only with Toss's HMAC-SHA256 signature."""

import json
import os
from types import SimpleNamespace

import pytest

from chalicelib import config, errors
from chalicelib.adapters import fake_payments, secrets
from chalicelib.adapters.toss import webhook_signature, webhook_signature_valid
from chalicelib.services import webhooks
from chalicelib.store import webhook_events
from tests.support.courses import make_course
from tests.support.jobs import take_queue_messages
from tests.support.webhooks import awaiting_deposit, deliver, take_messages

SENT_AT = "2026-12-02T12:19:21+09:00"


@pytest.fixture
def gateway_calls(monkeypatch):
    """Every call the stage's fake gateway answers, by method name."""
    calls = []
    for name in ("get_payment", "confirm", "cancel", "partial_cancel"):
        original = getattr(fake_payments.FakePayments, name)
        monkeypatch.setattr(fake_payments.FakePayments, name,
                            lambda self, *args, _name=name, _original=original: (calls.append(_name),
                                                                                 _original(self, *args))[1])
    return calls


@pytest.fixture
def learner_awaiting_deposit(api):
    instructor, learner = api.token_for(roles=["instructor"]), api.token_for(roles=["learner"])
    checkout = awaiting_deposit(api, learner, make_course(api, instructor, amount=20_000))
    return learner, checkout


def outcome_of(body):
    return webhook_events.get(webhooks.event_key(body)).outcome


def checkout_of(api, learner, checkout):
    return api.get(f"/checkouts/{checkout['checkout_id']}", token=learner).json_body


def test_the_route_only_stores_and_queues_and_the_worker_pays_once_whatever_the_order_and_duplicates(
        api, functions, gateway_calls, learner_awaiting_deposit):
    learner, checkout = learner_awaiting_deposit
    take_messages()  # what earlier tests left on the queue is theirs
    waiting = {"eventType": "PAYMENT_STATUS_CHANGED", "createdAt": "2026-12-02T10:00:00.000",
               "data": {"orderId": checkout["checkout_id"], "status": "WAITING_FOR_DEPOSIT"}}
    callback = fake_payments.FakePayments().deposit(checkout["payment"]["virtual_account_payment_key"])
    gateway_calls.clear()  # (the confirm that issued the account asked it)
    for event in (waiting, callback):
        answer = api.post("/webhooks/toss", event)
        assert answer.status_code == 200 and answer.json_body == {"received": True}
    assert gateway_calls == []  # answered without asking the gateway anything
    assert outcome_of(waiting) is None and outcome_of(callback) is None  # stored, not processed yet
    assert checkout_of(api, learner, checkout)["status"] == "awaiting_deposit"
    stored = webhook_events.get(webhooks.event_key(callback))
    assert callback["secret"] not in stored.body and stored.secret_digest  # the secret is never stored

    first, second = take_messages()
    assert deliver(functions, [second, second, first]) == []  # the deposit first, twice, then the older event
    paid = checkout_of(api, learner, checkout)
    assert paid["status"] == "paid" and len(paid["orders"]) == 1
    assert (outcome_of(callback), outcome_of(waiting)) == ("paid", "unchanged")
    assert "get_payment" in gateway_calls  # the worker believed the gateway, not the event
    assert deliver(functions, [first, second]) == []  # redelivered later: nothing more
    assert len(api.get("/orders", token=learner).json_body["items"]) == 1
    assert outcome_of(callback) == "paid"


def test_a_forged_deposit_changes_nothing_and_a_gateway_down_is_retried_by_sqs(
        api, functions, monkeypatch, learner_awaiting_deposit):
    learner, checkout = learner_awaiting_deposit
    take_messages()
    callback = fake_payments.FakePayments().deposit(checkout["payment"]["virtual_account_payment_key"])
    forged = {**callback, "secret": "guessed", "transactionKey": "forged"}
    assert api.post("/webhooks/toss", forged).status_code == 200
    assert deliver(functions, take_messages()) == []
    assert outcome_of(forged) == "forged" and checkout_of(api, learner, checkout)["status"] == "awaiting_deposit"

    def unreachable(self, order_id):
        raise errors.PaymentGatewayError("The payment provider did not answer; try again")

    assert api.post("/webhooks/toss", callback).status_code == 200
    queued = take_messages()
    with monkeypatch.context() as patch:
        patch.setattr(fake_payments.FakePayments, "get_payment", unreachable)
        assert deliver(functions, queued) == [queued[0]["MessageId"]]  # SQS delivers it again
    assert outcome_of(callback) is None and checkout_of(api, learner, checkout)["status"] == "awaiting_deposit"
    assert deliver(functions, queued) == []
    assert outcome_of(callback) == "paid" and checkout_of(api, learner, checkout)["status"] == "paid"


def _signed(event, key, sent_at=SENT_AT):
    raw = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
    return raw, {"tosspayments-webhook-signature": webhook_signature(raw, sent_at, key),
                 "tosspayments-webhook-transmission-time": sent_at}


def test_toss_signatures_are_hmac_sha256_over_the_payload_and_the_transmission_time():
    key, payload = "a" * 64, b'{"eventType":"payout.changed"}'
    signature = webhook_signature(payload, SENT_AT, key)
    assert signature.startswith("v1:")
    assert webhook_signature_valid(payload, SENT_AT, signature, key)
    assert webhook_signature_valid(payload, SENT_AT, f"v1:{'A' * 44},{signature}", key)  # Toss sends two
    assert not webhook_signature_valid(payload, "2026-12-02T12:19:22+09:00", signature, key)
    assert not webhook_signature_valid(payload + b" ", SENT_AT, signature, key)
    assert not webhook_signature_valid(payload, SENT_AT, signature, "b" * 64)
    assert not webhook_signature_valid(payload, SENT_AT, "v2:" + signature[3:], key)
    assert not webhook_signature_valid(payload, SENT_AT, "v1:not base64!", key)


def test_payout_and_seller_events_count_only_with_a_valid_signature(api, functions, monkeypatch):
    key = secrets.parameter(config.toss_webhook_key_parameter())
    take_messages()
    payout = SimpleNamespace(instructor_id="I1", period="2026-W49", payout_id="P1", status="in_transit",
                             amount=SimpleNamespace(currency="KRW"))
    monkeypatch.setattr(webhooks.payout_store, "by_id",
                        lambda instructor_id, payout_id: payout if (instructor_id, payout_id) == ("I1", "P1") else None)
    event = {"eventType": "payout.changed", "createdAt": "2026-12-02T12:15:20+09:00", "version": "2022-11-16",
             "eventId": "E1", "entityType": "payout",
             "entityBody": {"id": "FPA1", "refPayoutId": "P1", "status": "COMPLETED",
                            "amount": {"currency": "KRW", "value": 40_000}, "metadata": {"instructorId": "I1"}}}

    raw, headers = _signed(event, "not-the-stage-key")
    unsigned = {**event, "eventId": "E2"}
    for body, sent in ((raw, headers), (json.dumps(unsigned).encode(), {})):
        answer = api.call("POST", "/webhooks/toss", raw=body, headers=sent)
        assert answer.status_code == 200 and answer.json_body == {"received": True}  # a forger learns nothing
    assert outcome_of(event) == outcome_of(unsigned) == "forged"
    assert take_messages() == []  # never queued

    seller = {"eventType": "seller.changed", "createdAt": SENT_AT, "eventId": "E3", "entityType": "seller",
              "entityBody": {"id": "S1", "status": "APPROVED"}}
    other = {**event, "eventId": "E4", "entityBody": {**event["entityBody"], "refPayoutId": "P-unknown"}}
    for body in (event, seller, other):
        raw, headers = _signed(body, key)
        assert api.call("POST", "/webhooks/toss", raw=raw, headers=headers).status_code == 200
    assert deliver(functions, take_messages()) == []
    assert (outcome_of(event), outcome_of(seller), outcome_of(other)) == ("payout_redriven", "ignored",
                                                                          "unknown_payout")
    redriven = [json.loads(m["Body"]) for m in take_queue_messages(os.environ["PAYOUT_QUEUE"])]
    assert redriven == [{"instructor_id": "I1", "period": "2026-W49", "currency": "KRW"}]  # the payout worker asks
