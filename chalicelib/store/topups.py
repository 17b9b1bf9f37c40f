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
from datetime import datetime

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import UpdateError
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib import errors
from chalicelib.store.base import table_meta
from chalicelib.store.transactions import UnitOfWork

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


def new_item(topup_id: str, owner_id: str, amount: int, currency: str, gateway: str,
             payment_key: str | None, now: datetime) -> TopupItem:
    return TopupItem(
        topup_id, owner_id=owner_id, amount=amount, currency=currency, status=PENDING, gateway=gateway,
        payment_key=payment_key, pending_shard=pending_shard_of(topup_id), created_at=now, updated_at=now,
    )


def add_create(uow: UnitOfWork, item: TopupItem) -> None:
    uow.put(item, condition=TopupItem.topup_id.does_not_exist(),
            on_fail=lambda: errors.Conflict("a top-up with this id exists"))


def get(topup_id: str) -> TopupItem | None:
    try:
        return TopupItem.get(topup_id, consistent_read=True)
    except TopupItem.DoesNotExist:
        return None


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
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise
        return False
    return True


def pending_created_before(cutoff: datetime) -> Iterator[str]:
    """Ids of pending top-ups created before `cutoff`, oldest first per shard, through the pending index."""
    for shard in range(PENDING_SHARDS):
        for key in TopupItem.pending.query(str(shard), TopupItem.created_at < cutoff, page_size=200):
            yield key.topup_id
