"""Checkouts: a learner's cart paid through the payment gateway (and maybe partly from the wallet).

Table `<prefix>checkouts`
    hash key  checkout_id           a ULID; also the `orderId` the payment gateway sees
    GSI expiring (KEYS_ONLY)        hash pending_shard, range expires_at (RFC 3339 UTC); sparse: only
                                    checkouts that hold (pending, awaiting_deposit) carry `pending_shard`,
                                    removed on any other transition
    attributes learner_id, status (pending|awaiting_deposit|paid|failed|expired|cancelled), currency, total,
               wallet_amount, amount_due, coupon_code, gateway, payment_key (the fake gateway's, at
               creation; the one confirmed with, once paid), virtual_account_payment_key (the fake
               gateway's, at creation), items (each: course_id, session_id,
               instructor_id, course_title, instructor_timezone, price, discount, total, wallet_part,
               coupon_applied, order_id, enrollment_id: the ids the orders get once paid), created_at,
               updated_at, expires_at (a virtual account's due date once issued), cancel_reason,
               failure_reason, confirm_started_at (set before the gateway is asked to confirm: the recovery job
               asks the gateway about these), virtual_account (bank, account_number, due_date),
               deposit_secret (the virtual account's `secret` its deposit webhook must carry; never
               returned to clients nor logged)

Access patterns
    create (with its holds) ................... PutItem if checkout_id is new, in the transaction that
                                                takes the seats and holds the wallet part
    read one (owner checked by the service) ... GetItem, consistent
    confirm started ........................... UpdateItem, if still pending
    virtual account issued .................... Update pending -> awaiting_deposit, in a transaction
    pay / fail / expire / cancel .............. Update status from the status it was read in, in the
                                                transaction that posts or voids the holds
    holding ones past expires_at (expiry job),
    and those whose confirm started (recovery)  Query GSI expiring per shard, expires_at < a cutoff
"""

import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.exceptions import UpdateError
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib import clock, errors
from chalicelib.domain.checkout import AWAITING_DEPOSIT, PENDING, VirtualAccount
from chalicelib.money import Money
from chalicelib.store.base import table_meta
from chalicelib.store.transactions import Contention, UnitOfWork, condition_failed

PENDING_SHARDS = 4


class ExpiringCheckouts(GlobalSecondaryIndex):
    class Meta:
        index_name = "expiring"
        projection = KeysOnlyProjection()

    pending_shard = UnicodeAttribute(hash_key=True)
    expires_at = UnicodeAttribute(range_key=True)


class CheckoutLineMap(MapAttribute):
    course_id = UnicodeAttribute()
    session_id = UnicodeAttribute(null=True)
    instructor_id = UnicodeAttribute()
    course_title = UnicodeAttribute()
    instructor_timezone = UnicodeAttribute(null=True)
    price = NumberAttribute()
    discount = NumberAttribute()
    total = NumberAttribute()
    wallet_part = NumberAttribute()
    coupon_applied = BooleanAttribute()
    order_id = UnicodeAttribute()
    enrollment_id = UnicodeAttribute()


class VirtualAccountMap(MapAttribute):
    bank = UnicodeAttribute()
    account_number = UnicodeAttribute()
    due_date = UTCDateTimeAttribute()


class CheckoutItem(Model):
    Meta = table_meta("checkouts")

    checkout_id = UnicodeAttribute(hash_key=True)
    learner_id = UnicodeAttribute()
    status = UnicodeAttribute()
    currency = UnicodeAttribute()
    total = NumberAttribute()
    wallet_amount = NumberAttribute()
    amount_due = NumberAttribute()
    coupon_code = UnicodeAttribute(null=True)
    gateway = UnicodeAttribute()
    payment_key = UnicodeAttribute(null=True)
    virtual_account_payment_key = UnicodeAttribute(null=True)
    items = ListAttribute(of=CheckoutLineMap)
    pending_shard = UnicodeAttribute(null=True)
    expires_at = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    cancel_reason = UnicodeAttribute(null=True)
    failure_reason = UnicodeAttribute(null=True)
    confirm_started_at = UTCDateTimeAttribute(null=True)
    virtual_account = VirtualAccountMap(null=True)
    deposit_secret = UnicodeAttribute(null=True)
    expiring = ExpiringCheckouts()


@dataclass(frozen=True)
class CheckoutLine:
    course_id: str
    session_id: str | None
    instructor_id: str
    course_title: str
    instructor_timezone: str | None
    price: Money
    discount: Money
    total: Money
    wallet_part: Money
    coupon_applied: bool
    order_id: str
    enrollment_id: str


@dataclass(frozen=True)
class CheckoutRecord:
    checkout_id: str
    learner_id: str
    status: str
    total: Money
    wallet_amount: Money
    amount_due: Money
    coupon_code: str | None
    gateway: str
    payment_key: str | None
    items: tuple[CheckoutLine, ...]
    expires_at: datetime
    created_at: datetime
    updated_at: datetime
    virtual_account_payment_key: str | None = None
    cancel_reason: str | None = None
    failure_reason: str | None = None
    confirm_started_at: datetime | None = None
    virtual_account: VirtualAccount | None = None
    deposit_secret: str | None = field(default=None, repr=False)


def pending_shard_of(checkout_id: str) -> str:
    return str(zlib.crc32(checkout_id.encode()) % PENDING_SHARDS)


def _to_line(item: CheckoutLineMap, currency: str) -> CheckoutLine:
    money = lambda amount: Money(int(amount), currency)  # noqa: E731
    return CheckoutLine(item.course_id, item.session_id, item.instructor_id, item.course_title,
                        item.instructor_timezone, money(item.price), money(item.discount), money(item.total),
                        money(item.wallet_part), bool(item.coupon_applied), item.order_id, item.enrollment_id)


def _to_record(item: CheckoutItem) -> CheckoutRecord:
    account = item.virtual_account
    money = lambda amount: Money(int(amount), item.currency)  # noqa: E731
    return CheckoutRecord(
        item.checkout_id, item.learner_id, item.status, money(item.total), money(item.wallet_amount),
        money(item.amount_due), item.coupon_code, item.gateway, item.payment_key,
        tuple(_to_line(line, item.currency) for line in item.items), datetime.fromisoformat(item.expires_at),
        item.created_at, item.updated_at, item.virtual_account_payment_key, item.cancel_reason, item.failure_reason,
        item.confirm_started_at,
        account and VirtualAccount(account.bank, account.account_number, account.due_date), item.deposit_secret,
    )


def _line_map(line: CheckoutLine) -> CheckoutLineMap:
    return CheckoutLineMap(
        course_id=line.course_id, session_id=line.session_id, instructor_id=line.instructor_id,
        course_title=line.course_title, instructor_timezone=line.instructor_timezone, price=line.price.amount,
        discount=line.discount.amount, total=line.total.amount, wallet_part=line.wallet_part.amount,
        coupon_applied=line.coupon_applied, order_id=line.order_id, enrollment_id=line.enrollment_id,
    )


def add_create(uow: UnitOfWork, checkout: CheckoutRecord) -> None:
    """Create a pending checkout (in the expiring index) in the caller's unit of work; its id is new."""
    uow.put(
        CheckoutItem(
            checkout.checkout_id, learner_id=checkout.learner_id, status=checkout.status,
            currency=checkout.total.currency, total=checkout.total.amount,
            wallet_amount=checkout.wallet_amount.amount, amount_due=checkout.amount_due.amount,
            coupon_code=checkout.coupon_code, gateway=checkout.gateway, payment_key=checkout.payment_key,
            virtual_account_payment_key=checkout.virtual_account_payment_key,
            items=[_line_map(line) for line in checkout.items], pending_shard=pending_shard_of(checkout.checkout_id),
            expires_at=clock.to_rfc3339(checkout.expires_at), created_at=checkout.created_at,
            updated_at=checkout.updated_at,
        ),
        condition=CheckoutItem.checkout_id.does_not_exist(),
        on_fail=lambda: errors.Conflict("a checkout with this id exists"),
    )


def get(checkout_id: str) -> CheckoutRecord | None:
    """A checkout, read consistently."""
    try:
        return _to_record(CheckoutItem.get(checkout_id, consistent_read=True))
    except CheckoutItem.DoesNotExist:
        return None


class StatusChanged(errors.Conflict):
    """The checkout left the status it was read in while this request ran (a concurrent confirm or expiry)."""


def add_transition(uow: UnitOfWork, checkout_id: str, from_status: str, to_status: str, now: datetime, *,
                   payment_key: str | None = None, cancel_reason: str | None = None,
                   failure_reason: str | None = None) -> None:
    """Move a checkout from `from_status` to `to_status` (out of the expiring index), or cancel the transaction."""
    actions = [CheckoutItem.status.set(to_status), CheckoutItem.updated_at.set(now),
               CheckoutItem.pending_shard.remove()]
    if payment_key is not None:
        actions.append(CheckoutItem.payment_key.set(payment_key))
    if cancel_reason is not None:
        actions.append(CheckoutItem.cancel_reason.set(cancel_reason[:200]))
    if failure_reason is not None:
        actions.append(CheckoutItem.failure_reason.set(failure_reason[:200]))
    uow.update(CheckoutItem(checkout_id), actions=actions, condition=CheckoutItem.status == from_status,
               on_fail=lambda: StatusChanged(f"checkout {checkout_id} is no longer {from_status}"))


def mark_confirm_started(checkout_id: str, now: datetime) -> None:
    """Note that the gateway is being asked to confirm this pending checkout (the first time counts); a checkout
    that is no longer pending is left as it is. Raises `Contention` while a transaction holds the item."""
    try:
        CheckoutItem(checkout_id).update(
            actions=[CheckoutItem.confirm_started_at.set(now)],
            condition=(CheckoutItem.status == PENDING) & CheckoutItem.confirm_started_at.does_not_exist())
    except UpdateError as error:
        if error.cause_response_code == "TransactionConflictException":
            raise Contention(f"checkout {checkout_id} is in a transaction") from None
        if not condition_failed(error):
            raise


def add_await_deposit(uow: UnitOfWork, checkout_id: str, payment_key: str, account: VirtualAccount, secret: str,
                      now: datetime) -> None:
    """A pending checkout's virtual account was issued: it becomes `awaiting_deposit`, holding until the
    account's due date (its place in the expiring index moves there)."""
    actions = [CheckoutItem.status.set(AWAITING_DEPOSIT), CheckoutItem.updated_at.set(now),
               CheckoutItem.payment_key.set(payment_key), CheckoutItem.deposit_secret.set(secret),
               CheckoutItem.expires_at.set(clock.to_rfc3339(account.due_date)),
               CheckoutItem.virtual_account.set(VirtualAccountMap(bank=account.bank,
                                                                  account_number=account.account_number,
                                                                  due_date=account.due_date))]
    uow.update(CheckoutItem(checkout_id), actions=actions, condition=CheckoutItem.status == PENDING,
               on_fail=lambda: StatusChanged(f"checkout {checkout_id} is no longer pending"))


def pending_expired_by(now: datetime) -> Iterator[str]:
    """Ids of holding checkouts whose time runs out before `now`, through the expiring index (which may lag the
    table by a moment: the transition's own condition decides)."""
    return _holding(CheckoutItem.expires_at < clock.to_rfc3339(now))


def holding() -> Iterator[str]:
    """Ids of every checkout that still holds (pending or awaiting a deposit), through the expiring index."""
    return _holding(None)


def _holding(range_condition) -> Iterator[str]:
    for shard in range(PENDING_SHARDS):
        for key in CheckoutItem.expiring.query(str(shard), range_condition, page_size=200):
            yield key.checkout_id

