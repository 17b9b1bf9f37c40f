"""Webhook events: every event a payment gateway sends, stored as it arrived (secrets left out).

Table `<prefix>webhook_events`
    hash key  event_key     `toss:<sha256 of the body's canonical JSON>` (Toss's payment events carry no
                            id of their own; the gateway's retries of an event repeat its body, so a
                            retry is the same key)
    attributes event_type (`eventType`, or `DEPOSIT_CALLBACK` for a deposit callback, which has none),
               order_id, body (JSON, `secret` removed), received_at, times_received, outcome (what
               processing did: paid, unchanged, forged, ...), processed_at, expires_at (TTL: kept 90 days,
               beyond the gateway's retries over about four days)

Access patterns
    receive an event .................... UpdateItem (creates it, counts the deliveries)
    record what processing did .......... UpdateItem outcome
    read one (tests, support) ........... GetItem
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.models import Model

from chalicelib.store.base import table_meta

KEEP = timedelta(days=90)


class WebhookEventItem(Model):
    Meta = table_meta("webhook_events")

    event_key = UnicodeAttribute(hash_key=True)
    event_type = UnicodeAttribute()
    order_id = UnicodeAttribute(null=True)
    body = UnicodeAttribute()
    received_at = UTCDateTimeAttribute()
    times_received = NumberAttribute()
    outcome = UnicodeAttribute(null=True)
    processed_at = UTCDateTimeAttribute(null=True)
    expires_at = TTLAttribute()


@dataclass(frozen=True)
class WebhookEvent:
    event_key: str
    event_type: str
    order_id: str | None
    times_received: int
    outcome: str | None


def receive(event_key: str, event_type: str, order_id: str | None, body: str, now: datetime) -> None:
    """Store an event, or count one more delivery of it (the first delivery's time and body stay)."""
    WebhookEventItem(event_key).update(actions=[
        WebhookEventItem.event_type.set(event_type),
        WebhookEventItem.order_id.set(order_id) if order_id else WebhookEventItem.order_id.remove(),
        WebhookEventItem.body.set(WebhookEventItem.body | body),
        WebhookEventItem.received_at.set(WebhookEventItem.received_at | now),
        WebhookEventItem.times_received.add(1),
        WebhookEventItem.expires_at.set(now + KEEP),
    ])


def record_outcome(event_key: str, outcome: str, now: datetime) -> None:
    WebhookEventItem(event_key).update(actions=[WebhookEventItem.outcome.set(outcome),
                                                WebhookEventItem.processed_at.set(now)])


def get(event_key: str) -> WebhookEvent | None:
    try:
        item = WebhookEventItem.get(event_key, consistent_read=True)
    except WebhookEventItem.DoesNotExist:
        return None
    return WebhookEvent(item.event_key, item.event_type, item.order_id, int(item.times_received), item.outcome)
