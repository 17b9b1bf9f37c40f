"""Payouts: an instructor's available balance sent to their bank account, one per instructor and period.

Table `<prefix>payouts`
    hash key   instructor_id
    range key  period            ISO week in Korea, e.g. `2030-W02`: the key IS the "one payout per
                                 instructor and period" guard (created with a condition on it)
    LSI by_payout_id             instructor_id, payout_id     an instructor's payout by its id
    GSI in_transit (KEYS_ONLY)   in_transit ("in_transit"), transit_key (`<instructor_id>#<period>`);
                                 sparse: only payouts sent and not yet known paid or failed carry
                                 `in_transit`, removed when the outcome is recorded
    attributes payout_id (ULID), status (in_transit|paid|failed), amount, currency, created_at,
               updated_at, paid_at, failed_at, failure_reason, gateway_reference,
               from_seq / seal_seq (the ledger seals that bound its statement: the entries of the
               instructor's available account after `from_seq` and before `seal_seq`),
               bank_code, account_last4, holder_name, account_ciphertext (the account it went to)

Access patterns
    create (inside the payout transaction) .... Put if (instructor_id, period) is new
    an instructor's payouts, newest first ..... Query instructor_id, descending
    one payout of an instructor by id ......... Query LSI by_payout_id (instructor_id, payout_id)
    the period's payout of an instructor ...... GetItem (instructor_id, period)
    record the outcome ........................ Update status in_transit -> paid|failed, in the
                                                transaction that posts its ledger transfer
    payouts still in transit (weekly job) ..... Query GSI in_transit (no scan)
    an instructor's payouts in transit ........ Query GSI in_transit, transit_key begins_with instructor
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from pynamodb.attributes import BinaryAttribute, NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection, LocalSecondaryIndex
from pynamodb.models import Model

from chalicelib import errors
from chalicelib.money import Money
from chalicelib.store.base import table_meta
from chalicelib.store.cursors import decode_cursor, encode_cursor
from chalicelib.store.transactions import UnitOfWork

IN_TRANSIT, PAID, FAILED = "in_transit", "paid", "failed"


class ByPayoutId(LocalSecondaryIndex):
    class Meta:
        index_name = "by_payout_id"
        projection = AllProjection()

    instructor_id = UnicodeAttribute(hash_key=True)
    payout_id = UnicodeAttribute(range_key=True)


class InTransit(GlobalSecondaryIndex):
    class Meta:
        index_name = "in_transit"
        projection = KeysOnlyProjection()

    in_transit = UnicodeAttribute(hash_key=True)
    transit_key = UnicodeAttribute(range_key=True)


class PayoutItem(Model):
    Meta = table_meta("payouts")

    instructor_id = UnicodeAttribute(hash_key=True)
    period = UnicodeAttribute(range_key=True)
    payout_id = UnicodeAttribute()
    status = UnicodeAttribute()
    amount = NumberAttribute()
    currency = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    paid_at = UTCDateTimeAttribute(null=True)
    failed_at = UTCDateTimeAttribute(null=True)
    failure_reason = UnicodeAttribute(null=True)
    gateway_reference = UnicodeAttribute(null=True)
    from_seq = UnicodeAttribute(null=True)
    seal_seq = UnicodeAttribute()
    bank_code = UnicodeAttribute()
    account_last4 = UnicodeAttribute()
    holder_name = UnicodeAttribute()
    account_ciphertext = BinaryAttribute(legacy_encoding=False)
    in_transit = UnicodeAttribute(null=True)
    transit_key = UnicodeAttribute(null=True)

    by_payout_id = ByPayoutId()
    in_transit_index = InTransit()


@dataclass(frozen=True)
class Payout:
    instructor_id: str
    period: str
    payout_id: str
    status: str
    amount: Money
    created_at: datetime
    updated_at: datetime
    from_seq: str | None
    seal_seq: str
    bank_code: str
    account_last4: str
    holder_name: str
    account_ciphertext: bytes
    paid_at: datetime | None = None
    failed_at: datetime | None = None
    failure_reason: str | None = None
    gateway_reference: str | None = None


def to_payout(item: PayoutItem) -> Payout:
    return Payout(
        item.instructor_id, item.period, item.payout_id, item.status, Money(int(item.amount), item.currency),
        item.created_at, item.updated_at, item.from_seq, item.seal_seq, item.bank_code, item.account_last4,
        item.holder_name, bytes(item.account_ciphertext), item.paid_at, item.failed_at, item.failure_reason,
        item.gateway_reference,
    )


# --- reads -----------------------------------------------------------------------------------------

def get(instructor_id: str, period: str) -> Payout | None:
    try:
        return to_payout(PayoutItem.get(instructor_id, period, consistent_read=True))
    except PayoutItem.DoesNotExist:
        return None


def latest(instructor_id: str) -> Payout | None:
    for item in PayoutItem.query(instructor_id, scan_index_forward=False, limit=1, consistent_read=True):
        return to_payout(item)
    return None


def by_id(instructor_id: str, payout_id: str) -> Payout | None:
    for item in PayoutItem.by_payout_id.query(instructor_id, PayoutItem.payout_id == payout_id):
        return to_payout(item)
    return None


def of_instructor(instructor_id: str, limit: int, cursor: str | None) -> tuple[list[Payout], str | None]:
    """An instructor's payouts, newest period first; (payouts, the next page's cursor)."""
    result = PayoutItem.query(instructor_id, scan_index_forward=False, limit=limit,
                              last_evaluated_key=decode_cursor(cursor, partition={"instructor_id": instructor_id}))
    return [to_payout(item) for item in result], encode_cursor(result.last_evaluated_key)


def in_transit_periods(instructor_id: str) -> list[str]:
    """Periods of an instructor's payouts still in transit (from the index: may lag a moment)."""
    return [key.transit_key.rsplit("#", 1)[1] for key in PayoutItem.in_transit_index.query(
        IN_TRANSIT, PayoutItem.transit_key.startswith(f"{instructor_id}#"))]


def in_transit_keys(page_size: int = 1000) -> Iterator[tuple[str, str]]:
    """(instructor_id, period) of every payout still in transit."""
    for key in PayoutItem.in_transit_index.query(IN_TRANSIT, page_size=page_size):
        instructor_id, period = key.transit_key.rsplit("#", 1)
        yield instructor_id, period


# --- writes that ride in the payout transactions ---------------------------------------------------

def add_create(uow: UnitOfWork, payout: Payout) -> None:
    uow.put(
        PayoutItem(
            payout.instructor_id, payout.period, payout_id=payout.payout_id, status=IN_TRANSIT,
            amount=payout.amount.amount, currency=payout.amount.currency, created_at=payout.created_at,
            updated_at=payout.created_at, from_seq=payout.from_seq, seal_seq=payout.seal_seq,
            bank_code=payout.bank_code, account_last4=payout.account_last4, holder_name=payout.holder_name,
            account_ciphertext=payout.account_ciphertext, in_transit=IN_TRANSIT,
            transit_key=f"{payout.instructor_id}#{payout.period}",
        ),
        condition=PayoutItem.period.does_not_exist(),
        on_fail=lambda: errors.Conflict(f"The payout of {payout.period} exists already"),
    )


def add_outcome(uow: UnitOfWork, payout: Payout, status: str, now: datetime, reference: str | None = None,
                reason: str | None = None) -> None:
    """Record that the bank paid (`paid`) or refused (`failed`) a payout that is still in transit."""
    actions = [PayoutItem.status.set(status), PayoutItem.updated_at.set(now), PayoutItem.in_transit.remove(),
               PayoutItem.transit_key.remove()]
    if status == PAID:
        actions.append(PayoutItem.paid_at.set(now))
    else:
        actions += [PayoutItem.failed_at.set(now), PayoutItem.failure_reason.set(reason or "refused by the bank")]
    if reference:
        actions.append(PayoutItem.gateway_reference.set(reference))
    uow.update(
        PayoutItem(payout.instructor_id, payout.period), actions=actions,
        condition=PayoutItem.status == IN_TRANSIT,
        on_fail=lambda: errors.Conflict(f"The payout {payout.payout_id} is no longer in transit"),
    )
