"""The payment gateway's webhooks: every event stored, verified, and acted on at most once in effect.

Toss's payment events (`PAYMENT_STATUS_CHANGED`, and the deposit callback `DEPOSIT_CALLBACK`, which has
no `eventType`: `{createdAt, secret, orderId, status, transactionKey}`) carry no signature, so nothing in an
event is believed: the checkout it names is settled with what the gateway answers when asked
(`checkout.settle_with_gateway`, the same payment transaction as a confirm), and a deposit callback must
carry the virtual account's `secret`. Duplicates, events in any order and forged ones end in one effect or
none: every ending is conditional on the checkout's status. Other events (payouts, sellers) are stored and
not acted on.

Events are processed in the request that delivers them (the gateway waits for the answer; a queue is not
used yet), idempotently; an event whose processing failed (the gateway unreachable) is left to the
recovery job, which asks the gateway about every checkout whose confirm started.
"""

import hashlib
import json
import logging
from typing import Any

from chalicelib import clock, errors
from chalicelib.adapters.payments import DepositSimulator
from chalicelib.adapters.stage import payment_gateway
from chalicelib.services import checkout
from chalicelib.store import checkouts, webhook_events

log = logging.getLogger("classpay.webhooks")

DEPOSIT_CALLBACK = "DEPOSIT_CALLBACK"
PAYMENT_EVENTS = frozenset({"PAYMENT_STATUS_CHANGED", DEPOSIT_CALLBACK})
MAX_ORDER_ID = 64  # our order ids are ULIDs; anything longer names nothing of ours


def event_key(body: dict[str, Any]) -> str:
    """The stored event's key: a digest of the body's canonical JSON (the gateway's retries repeat it)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return "toss:" + hashlib.sha256(canonical.encode()).hexdigest()


def receive_toss(body: dict[str, Any]) -> str:
    """Store a Toss event, then act on it; returns what processing did (for logs and the event's record)."""
    now = clock.now()
    event_type = str(body.get("eventType") or (DEPOSIT_CALLBACK if "secret" in body else "UNKNOWN"))[:64]
    data = body.get("data") if isinstance(body.get("data"), dict) else body
    order_id = data.get("orderId")
    order_id = order_id if isinstance(order_id, str) and 0 < len(order_id) <= MAX_ORDER_ID else None
    key = event_key(body)
    kept = {name: value for name, value in body.items() if name != "secret"}  # the secret is never stored
    webhook_events.receive(key, event_type, order_id, json.dumps(kept, ensure_ascii=False, default=str), now)
    try:
        outcome = _process(event_type, order_id, body.get("secret"), now)
    except errors.PaymentGatewayError:
        outcome = "gateway_unreachable"  # the recovery job asks again
    webhook_events.record_outcome(key, outcome, now)
    log.info("toss webhook %s for order %s: %s", event_type, order_id, outcome)
    return outcome


def _process(event_type: str, order_id: str | None, secret: Any, now) -> str:
    if event_type not in PAYMENT_EVENTS:
        return "ignored"
    record = checkouts.get(order_id) if order_id else None
    if record is None:
        return "unknown_order"
    if event_type == DEPOSIT_CALLBACK:
        if not isinstance(secret, str):
            return "forged"
        return checkout.settle_with_gateway(record, now, secret=secret)
    return checkout.settle_with_gateway(record, now)


def simulate_deposit(payment_key: str, times: int) -> list[str]:
    """The stage's gateway, if it can simulate one (the fake), marks the virtual account paid and its deposit
    webhook is delivered `times` times, through the same function as `POST /webhooks/toss`. Raises `NotFound`
    where the gateway cannot (a real one), or for a key naming no virtual account."""
    gateway = payment_gateway()
    if not isinstance(gateway, DepositSimulator):
        raise errors.NotFound("This stage's payment gateway takes real deposits only")
    body = gateway.deposit(payment_key)
    return [receive_toss(body) for _ in range(times)]
