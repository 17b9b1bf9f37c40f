"""The payment gateway's webhooks: every event stored, verified, and acted on at most once in effect.

`POST /webhooks/toss` only stores the event and hands its key and delivery number to the `WEBHOOK_QUEUE`
(`receive_toss`): it answers 200 at once, without asking the gateway anything (Toss waits for the answer and
retries a non-200 seven times over about four days). The queue's worker (`handle_messages`, app.py's
`webhook_worker`) then acts on each delivery (`process_event`), once: a message for a delivery already
processed (SQS delivers at least once) does nothing. A new delivery of the same body is processed again: what
an event may do is conditional on the checkout's status, so the effect is still one, and a forged or early
copy of a body never keeps the true, later delivery from being acted on. A failure to reach the gateway fails
the message, which SQS delivers again (then its dead-letter queue); the `checkout_recovery` job still asks the
gateway about every checkout whose confirm started, so a lost event never leaves a paid checkout unpaid.

Toss's payment events (`PAYMENT_STATUS_CHANGED`, and the deposit callback `DEPOSIT_CALLBACK`, which has no
`eventType`: `{createdAt, secret, orderId, status, transactionKey}`) carry no signature, so nothing in them is
believed: the checkout an event names is settled with what the gateway answers when asked
(`checkout.settle_with_gateway`, the same payment transaction as a confirm), and a deposit callback must carry
the virtual account's `secret` (only its SHA-256 digest is stored, and compared). Duplicates, events in any
order and forged ones end in one effect or none: every ending is conditional on the checkout's status.

Payout and seller events (`payout.changed`, `seller.changed`) are signed by Toss with the merchant's security
key (`toss.webhook_signature_valid`), checked in the request: a missing or wrong signature is stored as
`forged` and never queued. It is still answered 200: a forger learns nothing from the answer, and the event is
kept for whoever investigates. A verified `payout.changed` names one of our payouts (`refPayoutId`, with the
instructor in its `metadata`); when it reports a final state and the payout is still in transit, the payout
worker is asked to finish it (`payouts.redrive`): it asks the payout provider, idempotently, and records what
the provider answers, never what the event says. A `seller.changed` is stored
and not acted on: a seller is registered again, idempotently, before each payout. Other events are stored and
ignored.
"""

import hashlib
import hmac
import json
import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from chalicelib import clock, config, errors
from chalicelib.adapters import secrets
from chalicelib.adapters.payments import DepositSimulator
from chalicelib.adapters.stage import payment_gateway
from chalicelib.adapters.toss import webhook_signature_valid
from chalicelib.adapters.toss_payouts import TOSS_FAILED, TOSS_PAID
from chalicelib.aws import client, queue_url
from chalicelib.services import checkout, payouts
from chalicelib.services.queue_messages import work_batch
from chalicelib.store import checkouts, webhook_events
from chalicelib.store import payouts as payout_store

log = logging.getLogger("classpay.webhooks")

DEPOSIT_CALLBACK = "DEPOSIT_CALLBACK"
PAYMENT_EVENTS = frozenset({"PAYMENT_STATUS_CHANGED", DEPOSIT_CALLBACK})
PAYOUT_CHANGED, SELLER_CHANGED = "payout.changed", "seller.changed"
SIGNED_EVENTS = frozenset({PAYOUT_CHANGED, SELLER_CHANGED})
SIGNATURE_HEADER = "tosspayments-webhook-signature"
TRANSMISSION_TIME_HEADER = "tosspayments-webhook-transmission-time"
MAX_ORDER_ID = 64  # our order ids are ULIDs; anything longer names nothing of ours
QUEUED, FORGED, IGNORED, DUPLICATE = "queued", "forged", "ignored", "duplicate"
TOSS_FINAL = TOSS_PAID | TOSS_FAILED  # a payout's statuses after which the provider's answer is final


def event_key(body: dict[str, Any]) -> str:
    """The stored event's key: a digest of the body's canonical JSON (the gateway's retries repeat it)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return "toss:" + hashlib.sha256(canonical.encode()).hexdigest()


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _event_type(body: dict[str, Any]) -> str:
    return str(body.get("eventType") or (DEPOSIT_CALLBACK if "secret" in body else "UNKNOWN"))[:64]


def _signed_by_toss(raw_body: bytes, headers: dict[str, str]) -> bool:
    names = {name.lower(): value for name, value in headers.items()}
    signature, sent_at = names.get(SIGNATURE_HEADER), names.get(TRANSMISSION_TIME_HEADER)
    if not signature or not sent_at:
        return False
    return webhook_signature_valid(raw_body, sent_at, signature, secrets.parameter(config.toss_webhook_key_parameter()))


def _store(body: dict[str, Any], now: datetime) -> tuple[str, int]:
    """Store one delivery of an event (a repeated body counts one more delivery of the same event); the
    event's key and this delivery's number."""
    data = body.get("data") if isinstance(body.get("data"), dict) else body
    order_id = data.get("orderId")
    order_id = order_id if isinstance(order_id, str) and 0 < len(order_id) <= MAX_ORDER_ID else None
    key = event_key(body)
    secret = body.get("secret")
    kept = {name: value for name, value in body.items() if name != "secret"}  # the secret is never stored
    delivery = webhook_events.receive(key, _event_type(body), order_id,
                                      json.dumps(kept, ensure_ascii=False, default=str), now,
                                      secret_digest=_digest(secret) if isinstance(secret, str) else None)
    return key, delivery


def receive_toss(body: dict[str, Any], raw_body: bytes = b"", headers: dict[str, str] | None = None) -> str:
    """Store a Toss event and queue it for the worker; a forged signed event or one of a kind we do not act on
    is recorded as such and not queued. Returns `queued`, `forged` or `ignored`. Raises when the queue refuses
    the message (the route then fails and Toss delivers the event again)."""
    now = clock.now()
    event_type = _event_type(body)
    key, delivery = _store(body, now)
    if event_type in SIGNED_EVENTS and not _signed_by_toss(raw_body, headers or {}):
        log.warning("toss webhook %s with a missing or wrong signature: stored as forged", event_type)
        return webhook_events.record_outcome(key, delivery, FORGED, now)
    if event_type not in PAYMENT_EVENTS | SIGNED_EVENTS:
        return webhook_events.record_outcome(key, delivery, IGNORED, now)
    message = json.dumps({"event_key": key, "delivery": delivery})
    client("sqs").send_message(QueueUrl=queue_url(config.webhook_queue()), MessageBody=message)
    return QUEUED


def process_event(key: str, delivery: int) -> str:
    """The worker's part: act on one delivery of a stored event, once. A delivery already processed (a
    duplicate message) does nothing and answers `duplicate`. Raises `PaymentGatewayError` when the gateway
    cannot be asked (the message is delivered again)."""
    event = webhook_events.get(key)
    if event is None:
        return "unknown_event"  # a message naming nothing stored: nothing to act on
    if event.processed_delivery >= delivery:
        return DUPLICATE
    now = clock.now()
    if event.event_type in PAYMENT_EVENTS:
        outcome = _settle_payment(event, now)
    elif event.event_type == PAYOUT_CHANGED:
        outcome = _payout_changed(json.loads(event.body))
    else:
        outcome = IGNORED  # seller.changed: see the module
    log.info("toss webhook %s for order %s: %s", event.event_type, event.order_id, outcome)
    return webhook_events.record_outcome(key, delivery, outcome, now)


def _settle_payment(event: webhook_events.WebhookEvent, now: datetime) -> str:
    record = checkouts.get(event.order_id) if event.order_id else None
    if record is None:
        return "unknown_order"
    if event.event_type != DEPOSIT_CALLBACK:
        return checkout.settle_with_gateway(record, now)
    # The callback's secret was stored as its digest: compare digests, and settle with the checkout's own
    # secret when they match ("" when not: the checkout's comparison then calls the event forged).
    matches = bool(record.deposit_secret and event.secret_digest) and hmac.compare_digest(
        _digest(record.deposit_secret), event.secret_digest)
    return checkout.settle_with_gateway(record, now, secret=record.deposit_secret if matches else "")


def _payout_changed(body: dict[str, Any]) -> str:
    """A payout's final state reported: the payout worker is asked to finish it now, by asking the provider
    (a message on `PAYOUT_QUEUE`: that worker holds what talking to the provider needs). Nothing else is
    taken from the event."""
    entity = body.get("entityBody") if isinstance(body.get("entityBody"), dict) else {}
    metadata = entity.get("metadata") if isinstance(entity.get("metadata"), dict) else {}
    instructor_id, payout_id = metadata.get("instructorId"), entity.get("refPayoutId")
    if not isinstance(instructor_id, str) or not isinstance(payout_id, str):
        return "unknown_payout"
    payout = payout_store.by_id(instructor_id, payout_id)
    if payout is None:
        return "unknown_payout"
    if payout.status != payout_store.IN_TRANSIT or entity.get("status") not in TOSS_FINAL:
        return "unchanged"
    payouts.redrive(payout)
    return "payout_redriven"


def _event_message(body: dict) -> dict:
    return {"key": str(body["event_key"]), "delivery": int(body["delivery"])}


def handle_messages(records: Iterable[dict]) -> dict:
    """The `WEBHOOK_QUEUE` worker: each SQS record `{messageId, body: {event_key, delivery}}` processed; the ids to
    deliver again, as `batchItemFailures` (the gateway unreachable; after its retries a message goes to the
    dead-letter queue, and `checkout_recovery` settles the checkout with the gateway anyway)."""
    return work_batch(records, read=_event_message, handle=process_event, log=log, what="webhook",
                      later={errors.PaymentGatewayError: logging.WARNING})


def simulate_deposit(payment_key: str, times: int) -> list[str]:
    """The stage's gateway, if it can simulate one (the fake), marks the virtual account paid and its deposit
    webhook is delivered `times` times: each delivery stored as `POST /webhooks/toss` stores it, then processed
    at once by the queue worker's own function (so the admin sees the outcomes: `paid`, then `unchanged`),
    without a message. Raises `NotFound` where the gateway cannot (a real one), or for a key naming no virtual
    account."""
    gateway = payment_gateway()
    if not isinstance(gateway, DepositSimulator):
        raise errors.NotFound("This stage's payment gateway takes real deposits only")
    body = gateway.deposit(payment_key)
    return [process_event(*_store(body, clock.now())) for _ in range(times)]
