"""Payouts: an instructor's available balance sent to their bank account, one per instructor and period.

Table `<prefix>payouts`
    hash key   instructor_id
    range key  period            ISO week in Korea, e.g. `2030-W02`: the key IS the "one payout per
                                 instructor and period" guard (created with a condition on it)
    LSI by_payout_id             instructor_id, payout_id     an instructor's payout by its id
    GSI in_transit (KEYS_ONLY)   in_transit ("in_transit"), transit_key (`<instructor_id>#<period>`);
                                 sparse: only payouts sent and not yet known paid or failed carry
                                 `in_transit`, removed when the outcome is recorded
    attributes payout_id (ULID), status (held|in_transit|paid|failed), amount (the gross), currency, created_at,
               updated_at, paid_at, failed_at, failure_reason, gateway_reference,
               from_seq / seal_seq (the ledger seals that bound its statement: the entries of the
               instructor's available account after `from_seq` and before `seal_seq`),
               bank_code, account_last4, holder_name, account_ciphertext (the account it went to),
               hold_reason (`tax_profile_missing` while held), tax_kind, tax_number_masked, income_tax,
               local_income_tax (the withholding: a payout written before withholding has none of these,
               and reads as nothing withheld, net == gross)

A held payout (no tax profile yet) moves no money and has no seal: the payout transaction that pays it later
replaces it, keeping its payout id (an instructor has at most one held payout: the first period it waits in).

Item kind 2, in the same table: the monthly withholding report's rows (services/tax_report.py)
    hash key   instructor_id = `withholding#<YYYY-MM>`   the month (Asia/Seoul) the withholding was posted
    range key  period = `<instructor_id>#<period>`       a payout's withholding, or `...#returned`: its
                                                         reversal when the bank refused it (negative)
    attributes payee_id, holder_name, tax_kind, tax_number_masked, gross, income_tax, local_income_tax,
               currency, payout_id, posted_at
    written in the transaction that posts the withholding to the ledger, so a month's rows sum to the
    tax payable accounts' entries of the month; read with one Query per month (no index, no scan). The
    month is one partition: payouts are written by the payout workers at their bounded concurrency.

Access patterns
    create (inside the payout transaction) .... Put if (instructor_id, period) is new
    an instructor's payouts, newest first ..... Query instructor_id, descending
    one payout of an instructor by id ......... Query LSI by_payout_id (instructor_id, payout_id)
    the period's payout of an instructor ...... GetItem (instructor_id, period)
    pay a held payout ......................... Put if status is held (its row replaced whole)
    a month's withholding rows ................ Query `withholding#<YYYY-MM>`
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
from chalicelib.domain.withholding import Withholding
from chalicelib.money import Money
from chalicelib.store.base import table_meta
from chalicelib.store.cursors import decode_cursor, encode_cursor
from chalicelib.store.transactions import UnitOfWork

HELD, IN_TRANSIT, PAID, FAILED = "held", "in_transit", "paid", "failed"
TAX_PROFILE_MISSING = "tax_profile_missing"
ROW_PREFIX = "withholding#"


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
    seal_seq = UnicodeAttribute(null=True)
    bank_code = UnicodeAttribute()
    account_last4 = UnicodeAttribute()
    holder_name = UnicodeAttribute()
    account_ciphertext = BinaryAttribute(legacy_encoding=False)
    in_transit = UnicodeAttribute(null=True)
    transit_key = UnicodeAttribute(null=True)
    hold_reason = UnicodeAttribute(null=True)
    tax_kind = UnicodeAttribute(null=True)
    tax_number_masked = UnicodeAttribute(null=True)
    income_tax = NumberAttribute(null=True)
    local_income_tax = NumberAttribute(null=True)

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
    seal_seq: str | None  # None while held
    bank_code: str
    account_last4: str
    holder_name: str
    account_ciphertext: bytes
    paid_at: datetime | None = None
    failed_at: datetime | None = None
    failure_reason: str | None = None
    gateway_reference: str | None = None
    hold_reason: str | None = None
    tax_kind: str | None = None  # None: written before withholding (nothing withheld)
    tax_number_masked: str | None = None
    income_tax: int = 0
    local_income_tax: int = 0

    @property
    def withholding(self) -> Withholding:
        """The gross (`amount`), what was withheld from it and the net the bank was sent."""
        currency = self.amount.currency
        return Withholding(self.amount, Money(self.income_tax, currency), Money(self.local_income_tax, currency))


def to_payout(item: PayoutItem) -> Payout:
    return Payout(
        item.instructor_id, item.period, item.payout_id, item.status, Money(int(item.amount), item.currency),
        item.created_at, item.updated_at, item.from_seq, item.seal_seq, item.bank_code, item.account_last4,
        item.holder_name, bytes(item.account_ciphertext), item.paid_at, item.failed_at, item.failure_reason,
        item.gateway_reference, item.hold_reason, item.tax_kind, item.tax_number_masked, int(item.income_tax or 0),
        int(item.local_income_tax or 0),
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


def every_payout_of(instructor_id: str) -> Iterator[Payout]:
    """All of an instructor's payouts, page by page (reconciliation)."""
    for item in PayoutItem.query(instructor_id, consistent_read=True, page_size=100):
        yield to_payout(item)


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
    """A payout held or in transit: new for its period, or paying the period's held payout."""
    in_transit = payout.status == IN_TRANSIT
    uow.put(
        PayoutItem(
            payout.instructor_id, payout.period, payout_id=payout.payout_id, status=payout.status,
            amount=payout.amount.amount, currency=payout.amount.currency, created_at=payout.created_at,
            updated_at=payout.created_at, from_seq=payout.from_seq, seal_seq=payout.seal_seq,
            bank_code=payout.bank_code, account_last4=payout.account_last4, holder_name=payout.holder_name,
            account_ciphertext=payout.account_ciphertext, in_transit=IN_TRANSIT if in_transit else None,
            transit_key=f"{payout.instructor_id}#{payout.period}" if in_transit else None,
            hold_reason=payout.hold_reason, tax_kind=payout.tax_kind, tax_number_masked=payout.tax_number_masked,
            income_tax=payout.income_tax if in_transit else None,
            local_income_tax=payout.local_income_tax if in_transit else None,
        ),
        condition=PayoutItem.period.does_not_exist() | (PayoutItem.status == HELD) if in_transit
        else PayoutItem.period.does_not_exist(),
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


# --- the monthly withholding report's rows ---------------------------------------------------------

class WithholdingRowItem(Model):
    Meta = table_meta("payouts")

    month_key = UnicodeAttribute(hash_key=True, attr_name="instructor_id")
    row_key = UnicodeAttribute(range_key=True, attr_name="period")
    payee_id = UnicodeAttribute()
    holder_name = UnicodeAttribute()
    tax_kind = UnicodeAttribute()
    tax_number_masked = UnicodeAttribute()
    gross = NumberAttribute()
    income_tax = NumberAttribute()
    local_income_tax = NumberAttribute()
    currency = UnicodeAttribute()
    payout_id = UnicodeAttribute()
    posted_at = UTCDateTimeAttribute()


@dataclass(frozen=True)
class WithholdingRow:
    instructor_id: str
    holder_name: str
    tax_kind: str
    tax_number_masked: str
    withholding: Withholding  # negative for a refused payout's reversal
    payout_id: str
    posted_at: datetime


def add_withholding_row(uow: UnitOfWork, month: str, payout: Payout, posted_at: datetime, returned: bool) -> None:
    """The payout's withholding in `month`'s report (`returned`: its reversal, negative), in the transaction
    that posts it to the ledger. Written once (a retry of the transaction finds it and cancels)."""
    sign = -1 if returned else 1
    uow.put(
        WithholdingRowItem(
            f"{ROW_PREFIX}{month}", f"{payout.instructor_id}#{payout.period}" + ("#returned" if returned else ""),
            payee_id=payout.instructor_id, holder_name=payout.holder_name, tax_kind=payout.tax_kind,
            tax_number_masked=payout.tax_number_masked, gross=sign * payout.amount.amount,
            income_tax=sign * payout.income_tax, local_income_tax=sign * payout.local_income_tax,
            currency=payout.amount.currency, payout_id=payout.payout_id, posted_at=posted_at,
        ),
        condition=WithholdingRowItem.row_key.does_not_exist(),
        on_fail=lambda: errors.Conflict(f"The withholding of payout {payout.payout_id} is recorded already"),
    )


def withholding_rows(month: str) -> Iterator[WithholdingRow]:
    """Every withholding row of a month (`YYYY-MM`), page by page, read consistently."""
    for item in WithholdingRowItem.query(f"{ROW_PREFIX}{month}", consistent_read=True, page_size=500):
        currency = item.currency
        yield WithholdingRow(
            item.payee_id, item.holder_name, item.tax_kind, item.tax_number_masked,
            Withholding(Money(int(item.gross), currency), Money(int(item.income_tax), currency),
                        Money(int(item.local_income_tax), currency)),
            item.payout_id, item.posted_at)
