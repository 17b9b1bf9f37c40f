"""Wallet top-ups: money coming in through the payment gateway.

Table `<prefix>topups`
    hash key  topup_id              a ULID; also the `orderId` the payment gateway sees
    GSI pending (KEYS_ONLY)         hash pending_shard, range created_at; sparse: only pending
                                    top-ups carry `pending_shard`, which is removed on any transition
    attributes owner_id, amount, currency, status (pending|confirmed|declined|expired), gateway,
               payment_key (set at checkout by the fake gateway, or at confirmation), created_at,
               updated_at, decline_reason

Access patterns
    create at checkout ........................ PutItem if topup_id is new (in a transaction with the
                                                idempotency record)
    read one (owner checked by the service) ... GetItem
    confirm / decline ......................... Update status from pending, in the transaction that
                                                posts the ledger transfer (confirm)
    pending ones older than T (expiry job) .... Query GSI pending per shard, created_at < T
                                                (no scan; the index holds only pending top-ups)
"""

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import UpdateError
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib import errors
from chalicelib.store.base import table_meta
from chalicelib.store.transactions import UnitOfWork, condition_failed

PENDING, CONFIRMED, DECLINED, EXPIRED = "pending", "confirmed", "declined", "expired"
PENDING_SHARDS = 4


class PendingTopups(GlobalSecondaryIndex):
    class Meta:
        index_name = "pending"
        projection = KeysOnlyProjection()

    pending_shard = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class TopupItem(Model):
    Meta = table_meta("topups")

    topup_id = UnicodeAttribute(hash_key=True)
    owner_id = UnicodeAttribute()
    amount = NumberAttribute()
    currency = UnicodeAttribute()
    status = UnicodeAttribute()
    gateway = UnicodeAttribute()
    payment_key = UnicodeAttribute(null=True)
    decline_reason = UnicodeAttribute(null=True)
    pending_shard = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    pending = PendingTopups()


def pending_shard_of(topup_id: str) -> str:
    return str(zlib.crc32(topup_id.encode()) % PENDING_SHARDS)


@dataclass(frozen=True)
class TopupRecord:
    """A top-up as stored (amount in minor units of `currency`)."""

    topup_id: str
    owner_id: str
    amount: int
    currency: str
    status: str
    gateway: str
    payment_key: str | None
    created_at: datetime
    updated_at: datetime
    decline_reason: str | None = None


def new_topup(topup_id: str, owner_id: str, amount: int, currency: str, gateway: str,
              payment_key: str | None, now: datetime) -> TopupRecord:
    return TopupRecord(topup_id, owner_id, amount, currency, PENDING, gateway, payment_key, now, now)


def add_create(uow: UnitOfWork, topup: TopupRecord) -> None:
    """Create a pending top-up (in the pending index) in the caller's unit of work; its id is new."""
    uow.put(
        TopupItem(
            topup.topup_id, owner_id=topup.owner_id, amount=topup.amount, currency=topup.currency,
            status=topup.status, gateway=topup.gateway, payment_key=topup.payment_key,
            pending_shard=pending_shard_of(topup.topup_id), created_at=topup.created_at, updated_at=topup.updated_at,
        ),
        condition=TopupItem.topup_id.does_not_exist(),
        on_fail=lambda: errors.Conflict("a top-up with this id exists"),
    )


def get(topup_id: str) -> TopupRecord | None:
    """A top-up, read consistently."""
    try:
        item = TopupItem.get(topup_id, consistent_read=True)
    except TopupItem.DoesNotExist:
        return None
    return TopupRecord(item.topup_id, item.owner_id, int(item.amount), item.currency, item.status, item.gateway,
                       item.payment_key, item.created_at, item.updated_at, item.decline_reason)


class NotPending(errors.Conflict):
    """The top-up left `pending` while this request ran (a concurrent confirm, decline or expiry)."""


def add_transition(uow: UnitOfWork, topup_id: str, to_status: str, now: datetime, *,
                   from_statuses: tuple[str, ...] = (PENDING,), payment_key: str | None = None,
                   decline_reason: str | None = None) -> None:
    """Move a top-up out of `from_statuses` (and out of the pending index), or cancel the transaction."""
    actions = [TopupItem.status.set(to_status), TopupItem.updated_at.set(now), TopupItem.pending_shard.remove()]
    if payment_key is not None:
        actions.append(TopupItem.payment_key.set(payment_key))
    if decline_reason is not None:
        actions.append(TopupItem.decline_reason.set(decline_reason))
    uow.update(TopupItem(topup_id), actions=actions, condition=TopupItem.status.is_in(*from_statuses),
               on_fail=lambda: NotPending(f"top-up {topup_id} is no longer pending"))


def expire(topup_id: str, now: datetime) -> bool:
    """Pending -> expired on its own; False if it had already moved on (a retried or concurrent job)."""
    try:
        TopupItem(topup_id).update(
            actions=[TopupItem.status.set(EXPIRED), TopupItem.updated_at.set(now), TopupItem.pending_shard.remove()],
            condition=TopupItem.status == PENDING,
        )
    except UpdateError as error:
        if not condition_failed(error):
            raise
        return False
    return True


def pending_created_before(cutoff: datetime) -> Iterator[str]:
    """Ids of pending top-ups created before `cutoff`, oldest first per shard, through the pending index."""
    for shard in range(PENDING_SHARDS):
        for key in TopupItem.pending.query(str(shard), TopupItem.created_at < cutoff, page_size=200):
            yield key.topup_id
