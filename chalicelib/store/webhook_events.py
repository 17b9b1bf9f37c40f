"""Webhook events: every event a payment gateway sends, stored as it arrived (secrets left out).

Table `<prefix>webhook_events`
    hash key  event_key     `toss:<sha256 of the body's canonical JSON>` (Toss's payment events carry no
                            id of their own; the gateway's retries of an event repeat its body, so a
                            retry is the same key)
    attributes event_type (`eventType`, or `DEPOSIT_CALLBACK` for a deposit callback, which has none),
               order_id, body (JSON, `secret` removed), secret_digest (SHA-256 of a deposit callback's
               `secret`, hex: what the worker compares, the secret itself is never stored), received_at,
               times_received (deliveries so far; each delivery's number travels in its queue message),
               outcome (what processing of the latest processed delivery did: paid, unchanged, forged, ...),
               processed_delivery (that delivery's number: a message for it or an earlier one does nothing),
               processed_at, expires_at (TTL: kept 90 days, beyond the gateway's retries over about four days)

Items written before `secret_digest` and `processed_delivery` lack them: they were processed in the request
that stored them, and no queue message names them; no backfill.

Access patterns
    receive an event .................... UpdateItem (creates it, counts the deliveries), returning the count
    record what processing did .......... UpdateItem outcome, if no later delivery's is recorded
    read one (the worker, tests) ........ GetItem, consistent
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import UpdateError
from pynamodb.models import Model

from chalicelib.store.base import table_meta
from chalicelib.store.transactions import condition_failed

KEEP = timedelta(days=90)


class WebhookEventItem(Model):
    Meta = table_meta("webhook_events")

    event_key = UnicodeAttribute(hash_key=True)
    event_type = UnicodeAttribute()
    order_id = UnicodeAttribute(null=True)
    body = UnicodeAttribute()
    secret_digest = UnicodeAttribute(null=True)
    received_at = UTCDateTimeAttribute()
    times_received = NumberAttribute()
    outcome = UnicodeAttribute(null=True)
    processed_delivery = NumberAttribute(null=True)
    processed_at = UTCDateTimeAttribute(null=True)
    expires_at = TTLAttribute()


@dataclass(frozen=True)
class WebhookEvent:
    event_key: str
    event_type: str
    order_id: str | None
    times_received: int
    outcome: str | None
    body: str = ""
    secret_digest: str | None = None
    processed_delivery: int = 0


def receive(event_key: str, event_type: str, order_id: str | None, body: str, now: datetime,
            secret_digest: str | None = None) -> int:
    """Store an event, or count one more delivery of it (the first delivery's time and body stay); this
    delivery's number."""
    item = WebhookEventItem(event_key)
    item.update(actions=[
        WebhookEventItem.event_type.set(event_type),
        WebhookEventItem.order_id.set(order_id) if order_id else WebhookEventItem.order_id.remove(),
        WebhookEventItem.body.set(WebhookEventItem.body | body),
        WebhookEventItem.secret_digest.set(secret_digest) if secret_digest else WebhookEventItem.secret_digest.remove(),
        WebhookEventItem.received_at.set(WebhookEventItem.received_at | now),
        WebhookEventItem.times_received.add(1),
        WebhookEventItem.expires_at.set(now + KEEP),
    ])
    return int(item.times_received)


def record_outcome(event_key: str, delivery: int, outcome: str, now: datetime) -> str:
    """Record what processing `delivery` did, unless a later delivery's outcome is recorded already (workers
    racing: the later delivery's stays). Returns `outcome`."""
    try:
        WebhookEventItem(event_key).update(
            actions=[WebhookEventItem.outcome.set(outcome), WebhookEventItem.processed_delivery.set(delivery),
                     WebhookEventItem.processed_at.set(now)],
            condition=(WebhookEventItem.processed_delivery.does_not_exist()
                       | (WebhookEventItem.processed_delivery < delivery)))
    except UpdateError as error:
        if not condition_failed(error):
            raise
    return outcome


def get(event_key: str) -> WebhookEvent | None:
    try:
        item = WebhookEventItem.get(event_key, consistent_read=True)
    except WebhookEventItem.DoesNotExist:
        return None
    return WebhookEvent(item.event_key, item.event_type, item.order_id, int(item.times_received), item.outcome,
                        item.body, item.secret_digest, int(item.processed_delivery or 0))
