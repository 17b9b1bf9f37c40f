"""Checkout: buying a cart of courses through the payment gateway, part of it from the wallet.

Holds are two-phase transfers. Creating a checkout is ONE transaction: the pending checkout, its seats
(each session's booked count, under the purchase's condition), its coupon redemptions and its wallet
part (wallet -> the checkout's held account, `checkout_hold:<id>`). Then exactly one of:
- paid (confirm): the gateway captures `amount_due` (with the checkout id as its idempotency key), then
  ONE transaction moves the checkout pending -> paid and writes one order per item with its
  enrollment (the held seats become bookings), the dashboard's counts and the ledger's
  `checkout:<id>` (gateway clearing and the held wallet part -> each instructor's pending share and
  platform revenue). A cart of `MAX_ITEMS` items takes at most 77 of a transaction's 100 items;
- failed (declined), expired (the expiry job) or cancelled: the seats, the coupon redemptions and the
  held wallet part (`checkout_void:<id>`) are given back in one transaction.
Each ending is conditional on the status the checkout was read in, so a hold is posted or voided
once, whoever races (confirms, retries, the expiry job).

Never paid but not enrolled: when the gateway captured but the checkout can no longer be paid (it
expired meanwhile, the learner enrolled elsewhere, a course was withdrawn), the payment is cancelled at
the gateway and the checkout ends `cancelled` with its `cancel_reason` (answered 200: the body says
so). A confirm that crashed after the gateway answered is retried with any key: the gateway's confirm
is idempotent by the checkout id, and the checkout's status decides the rest.
"""

import itertools
import logging
from dataclasses import dataclass, replace
from datetime import datetime

from chalicelib import clock, config, errors, ids
from chalicelib.adapters.payments import PaymentGateway
from chalicelib.adapters.stage import payment_gateway
from chalicelib.domain import checkout as cart
from chalicelib.domain import fees, pricing
from chalicelib.domain.courses import owned_by
from chalicelib.money import Money
from chalicelib.roles import ADMINS, Caller
from chalicelib.services import ledger, orders, stats
from chalicelib.services.course_access import course_on_sale
from chalicelib.store import checkouts, coupons, courses, daily_stats, enrollments
from chalicelib.store import orders as order_store
from chalicelib.store.checkouts import CheckoutLine, CheckoutRecord
from chalicelib.store.idempotency import NO_RECEIPT, Receipt
from chalicelib.store.orders import Order
from chalicelib.store.transactions import UnitOfWork, retry_on_contention

log = logging.getLogger("classpay.checkout")


@dataclass(frozen=True)
class Payment:
    """What the client hands the gateway's payment widget (the fake gateway's key included)."""

    gateway: str
    order_id: str
    amount: Money
    order_name: str
    customer_key: str
    payment_key: str | None


@dataclass(frozen=True)
class Checkout:
    record: CheckoutRecord
    payment: Payment | None  # None when nothing is left to pay through the gateway
    orders: tuple[Order, ...] = ()


def _view(record: CheckoutRecord, paid_orders: tuple[Order, ...] = ()) -> Checkout:
    payment = None
    if record.amount_due.amount:
        payment = Payment(record.gateway, record.checkout_id, record.amount_due,
                          cart.order_name([line.course_title for line in record.items]), record.learner_id,
                          record.payment_key if record.gateway == "fake" else None)
    return Checkout(record, payment, paid_orders)


# --- creating a checkout: its holds ------------------------------------------------------------------

def create_checkout(learner_id: str, items: list[tuple[str, str | None]], coupon_code: str | None,
                    wallet_amount: Money | None, *, receipt: Receipt = NO_RECEIPT,
                    gateway: PaymentGateway | None = None) -> Checkout:
    """A pending checkout of `items` ((course_id, session_id or None), 1..10, no course twice) holding its
    seats and its wallet part, and what the gateway needs to collect the rest."""
    duplicate = cart.duplicate_at([course_id for course_id, _ in items])
    if duplicate is not None:
        raise errors.ValidationFailed.on(f"items[{duplicate}].course_id", "this course is in the cart already")
    currency = config.wallet_currency()
    on_sale = [course_on_sale(course_id) for course_id, _ in items]
    for course in on_sale:
        if owned_by(course, learner_id):
            raise errors.Forbidden("Instructors cannot buy their own course")
        if course.price.currency != currency:
            raise errors.Unprocessable(f"This course is sold in {course.price.currency}; wallets hold {currency}")
    for course in on_sale:
        enrollment = enrollments.get_enrollment(learner_id, course.course_id)
        if enrollment is not None and enrollment.grants_access:
            raise errors.AlreadyEnrolled(f"You are already enrolled in course {course.course_id}")
    now = clock.now()
    code = pricing.coupon_code(coupon_code) if coupon_code else None
    lines = _priced(on_sale, code, now)
    total = cart.cart_total(lines)
    wallet = wallet_amount or Money.zero(currency)
    if wallet.currency != currency:
        raise errors.ValidationFailed.on("wallet_amount.currency", f"wallets hold {currency} only")
    if wallet.amount > total.amount:
        raise errors.ValidationFailed.on("wallet_amount.amount", f"at most the total, {total.amount} {currency}")
    due = cart.amount_due(total, wallet)
    checkout_id = ids.new_id()
    gateway = gateway or payment_gateway()
    payment_key = gateway.checkout(checkout_id, due).payment_key if due.amount else None
    record = CheckoutRecord(
        checkout_id=checkout_id, learner_id=learner_id, status=cart.PENDING, total=total, wallet_amount=wallet,
        amount_due=due, coupon_code=code, gateway=gateway.name, payment_key=payment_key,
        items=tuple(
            CheckoutLine(course.course_id, session_id, course.instructor_id, course.title,
                         course.instructor_timezone, line.price, line.discount, line.total, wallet_part,
                         code is not None and line.discount.amount > 0, ids.new_id(), ids.new_id())
            for course, (_, session_id), line, wallet_part in zip(
                on_sale, items, lines, cart.wallet_parts(lines, wallet), strict=True)),
        expires_at=cart.expires_at(now, config.checkout_expiry_minutes()), created_at=now, updated_at=now,
    )
    tries = itertools.count()

    def attempt() -> Checkout:
        if next(tries):  # a retry after contention: a session may have filled up meanwhile
            for line in record.items:
                if line.session_id:
                    orders.refuse_a_seat_no_longer_free(line.course_id, line.session_id, clock.to_rfc3339(now))
        return _commit_holds(record, receipt)

    return retry_on_contention(attempt)


def _priced(on_sale: list, code: str | None, now: datetime) -> list[cart.Line]:
    prices = [course.price for course in on_sale]
    if code is None:
        return [cart.Line(price, Money.zero(price.currency)) for price in prices]
    discounts = cart.coupon_discounts(
        prices, [orders.coupon_discount(course.course_id, course.price, code, now) for course in on_sale])
    if discounts is None:
        raise errors.ValidationFailed.on("coupon_code", orders.COUPON_REFUSED)
    return [cart.Line(price, discount) for price, discount in zip(prices, discounts, strict=True)]


def _commit_holds(record: CheckoutRecord, receipt: Receipt) -> Checkout:
    now_iso = clock.to_rfc3339(record.created_at)
    uow = UnitOfWork()
    # Added in the order their refusals should win: sold out, coupon, funds.
    checkouts.add_create(uow, record)
    for line in record.items:
        if line.session_id:
            courses.add_take_seat(uow, line.course_id, line.session_id, now_iso,
                                  on_fail=lambda line=line: orders.seat_problem(line.course_id, line.session_id,
                                                                                now_iso))
    for line in record.items:
        if line.coupon_applied:
            coupons.add_redeem(uow, line.course_id, record.coupon_code, now_iso,
                               on_fail=lambda: errors.ValidationFailed.on("coupon_code", orders.COUPON_RAN_OUT))
    if record.wallet_amount.amount:
        ledger.add_transfer(uow, ledger.checkout_hold_transfer(record.checkout_id, record.learner_id,
                                                               record.wallet_amount), now=record.created_at)
    created = _view(record)
    receipt.record_result(uow, created)
    uow.commit()
    return created


def _add_release(uow: UnitOfWork, record: CheckoutRecord) -> None:
    """Give back what a pending checkout holds: its seats, its coupon redemptions, its wallet part."""
    for line in record.items:
        if line.session_id:
            courses.add_release_seat(uow, line.course_id, line.session_id)
        if line.coupon_applied:
            coupons.add_give_back(uow, line.course_id, record.coupon_code)
    if record.wallet_amount.amount:
        ledger.add_transfer(uow, ledger.checkout_void_transfer(record.checkout_id, record.learner_id,
                                                               record.wallet_amount))


# --- reading ---------------------------------------------------------------------------------------------

def _owned(learner_id: str, checkout_id: str) -> CheckoutRecord:
    record = checkouts.get(checkout_id)
    if record is None or record.learner_id != learner_id:
        raise errors.NotFound("No such checkout")
    return record


def checkout_of(caller: Caller, checkout_id: str) -> Checkout:
    """The caller's own checkout (admins may read any), with its orders once paid."""
    record = checkouts.get(checkout_id)
    if record is None or (record.learner_id != caller.user_id and not caller.is_in(ADMINS)):
        raise errors.NotFound("No such checkout")
    return _current(record)


def _current(record: CheckoutRecord) -> Checkout:
    if record.status != cart.PAID:
        return _view(record)
    return _view(record, tuple(order_store.get(line.order_id) or _order(record, line, record.updated_at)
                               for line in record.items))


# --- confirming ------------------------------------------------------------------------------------------

def confirm_checkout(learner_id: str, checkout_id: str, payment_key: str | None, amount: Money, *,
                     receipt: Receipt = NO_RECEIPT, gateway: PaymentGateway | None = None) -> Checkout:
    """Capture `amount_due` at the gateway (none when it is 0), then pay the checkout in one transaction.
    Raises `PaymentDeclined` (the checkout failed, its holds released), `PaymentGatewayError` (still
    pending: retry), `ValidationFailed`, `Conflict`, `NotFound`. A checkout that cannot be paid once the
    gateway captured answers `cancelled`, the payment cancelled at the gateway."""
    record = _owned(learner_id, checkout_id)
    settled = _settled(record)
    if settled is not None:
        return settled
    if amount != record.amount_due:
        raise errors.ValidationFailed.on("amount", f"must be the amount due, {record.amount_due.amount} "
                                                   f"{record.amount_due.currency}")
    if not record.amount_due.amount:
        if record.status == cart.EXPIRED:
            raise errors.Conflict("This checkout expired before it was confirmed; start a new one")
        return _pay(record, None, receipt, gateway)
    if not payment_key:
        raise errors.ValidationFailed.on("payment_key", "required when an amount is due")
    gateway = gateway or payment_gateway()
    try:
        confirmation = gateway.confirm(payment_key, checkout_id, record.amount_due)
    except errors.PaymentDeclined as declined:
        if record.status == cart.PENDING:
            _end(record, cart.FAILED, receipt, failure_reason=declined.detail, error=declined)
        raise
    if confirmation.amount != record.amount_due or confirmation.order_id != checkout_id:
        log.error("gateway confirmed a different payment for checkout %s: %s, expected %s",
                  checkout_id, confirmation.amount, record.amount_due)
        return _cancel(record, confirmation.payment_key, "amount_mismatch", receipt, gateway)
    if record.status == cart.EXPIRED:
        return _cancel(record, confirmation.payment_key, "expired", receipt, gateway)
    return _pay(record, confirmation.payment_key, receipt, gateway)


def _settled(record: CheckoutRecord) -> Checkout | None:
    """A checkout that has ended answers as it ended; pending and expired ones go on to the gateway (an
    expired checkout's payment may have been captured: it is cancelled there)."""
    if record.status in (cart.PAID, cart.CANCELLED):
        return _current(record)
    if record.status == cart.FAILED:
        raise errors.PaymentDeclined(f"This checkout's payment was declined ({record.failure_reason or 'by the gateway'})")
    return None


def _order(record: CheckoutRecord, line: CheckoutLine, now: datetime) -> Order:
    fee, instructor_share = fees.split_sale(line.total, config.platform_fee_bps())
    return Order(
        order_id=line.order_id, learner_id=record.learner_id, instructor_id=line.instructor_id,
        course_id=line.course_id, course_title=line.course_title, session_id=line.session_id,
        enrollment_id=line.enrollment_id, status=order_store.PAID, price=line.price, discount=line.discount,
        total=line.total, platform_fee=fee, instructor_share=instructor_share,
        coupon_code=record.coupon_code if line.coupon_applied else None, created_at=now,
        checkout_id=record.checkout_id,
    )


def _pay(record: CheckoutRecord, payment_key: str | None, receipt: Receipt,
         gateway: PaymentGateway | None) -> Checkout:
    try:
        return retry_on_contention(lambda: _commit_paid(record, payment_key, receipt))
    except checkouts.StatusChanged:
        current = checkouts.get(record.checkout_id)
        settled = _settled(current)
        if settled is not None:
            return settled
        if payment_key is None:
            raise errors.Conflict("This checkout expired before it was confirmed; start a new one") from None
        return _cancel(current, payment_key, "expired", receipt, gateway or payment_gateway())
    except (errors.AlreadyEnrolled, errors.NotFound) as refused:
        if payment_key is None:
            _end(record, cart.CANCELLED, receipt, cancel_reason=_reason(refused), error=refused)
        return _cancel(record, payment_key, _reason(refused), receipt, gateway or payment_gateway())


def _reason(refused: errors.DomainError) -> str:
    return "already_enrolled" if isinstance(refused, errors.AlreadyEnrolled) else "course_withdrawn"


def _commit_paid(record: CheckoutRecord, payment_key: str | None, receipt: Receipt) -> Checkout:
    now = clock.now()
    paid_orders = [_order(record, line, now) for line in record.items]
    uow = UnitOfWork()
    checkouts.add_transition(uow, record.checkout_id, cart.PENDING, cart.PAID, now, payment_key=payment_key)
    for order in paid_orders:
        orders.add_paid_order(uow, order)
    transfer = ledger.checkout_post_transfer(record.checkout_id, paid_orders, record.amount_due,
                                             record.wallet_amount)
    if transfer:  # coupons may make a cart free
        ledger.add_transfer(uow, transfer, now=now)
    _add_sales_counts(uow, record, paid_orders, now)
    paid = _view(replace(record, status=cart.PAID, payment_key=payment_key or record.payment_key, updated_at=now),
                 tuple(paid_orders))
    receipt.record_result(uow, paid)
    uow.commit()
    return paid


def _add_sales_counts(uow: UnitOfWork, record: CheckoutRecord, paid_orders: list[Order], now: datetime) -> None:
    """The dashboard's counts of each sale, on each course's day and (summed) on each instructor's day: an
    instructor's day is one item, written once in the transaction however many of their courses it holds."""
    currency = record.total.currency
    by_instructor: dict[tuple[str, str], dict[str, int]] = {}
    for order, line in zip(paid_orders, record.items, strict=True):
        day = stats.day_in(now, stats.zone(line.instructor_timezone))
        counts = {"gross": order.total.amount, "fee": order.platform_fee.amount,
                  "net": order.instructor_share.amount, "orders": 1, "enrollments": 1}
        counts = {name: value for name, value in counts.items() if value}
        daily_stats.add_scope_counts(uow, daily_stats.course_scope(order.course_id), day, counts, currency)
        summed = by_instructor.setdefault((order.instructor_id, day), {})
        for name, value in counts.items():
            summed[name] = summed.get(name, 0) + value
    for (instructor_id, day), counts in by_instructor.items():
        daily_stats.add_scope_counts(uow, daily_stats.instructor_scope(instructor_id), day, counts, currency)


# --- ending without payment --------------------------------------------------------------------------

def _end(record: CheckoutRecord, to_status: str, receipt: Receipt, *, now: datetime | None = None,
         cancel_reason: str | None = None, failure_reason: str | None = None,
         payment_key: str | None = None, error: errors.DomainError | None = None) -> Checkout:
    """End a checkout that will not be paid, from the status it was read in, releasing its holds if it still
    had them (a pending one), with the idempotency record: the result, or `error` (then raised). Raises
    `StatusChanged` when another request moved it first."""
    def attempt() -> Checkout:
        moment = now or clock.now()
        uow = UnitOfWork()
        checkouts.add_transition(uow, record.checkout_id, record.status, to_status, moment, payment_key=payment_key,
                                 cancel_reason=cancel_reason, failure_reason=failure_reason)
        if record.status == cart.PENDING:
            _add_release(uow, record)
        ended = _view(replace(record, status=to_status, updated_at=moment, cancel_reason=cancel_reason,
                              failure_reason=failure_reason, payment_key=payment_key or record.payment_key))
        if error is not None:
            receipt.record_failure(uow, error)
        else:
            receipt.record_result(uow, ended)
        uow.commit()
        return ended

    ended = retry_on_contention(attempt)
    if error is not None:
        raise error
    return ended


def _cancel(record: CheckoutRecord, payment_key: str, reason: str, receipt: Receipt,
            gateway: PaymentGateway) -> Checkout:
    """Give a captured payment back at the gateway, then end the checkout `cancelled` (a failed cancel
    raises `PaymentGatewayError` and changes nothing here: the retry cancels)."""
    gateway.cancel(payment_key, record.checkout_id, f"The purchase could not be completed ({reason})")
    try:
        return _end(record, cart.CANCELLED, receipt, cancel_reason=reason, payment_key=payment_key)
    except checkouts.StatusChanged:
        current = checkouts.get(record.checkout_id)
        settled = _settled(current)
        if settled is not None:
            return settled
        return _end(current, cart.CANCELLED, receipt, cancel_reason=reason, payment_key=payment_key)


# --- the expiry job ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ExpiryResult:
    expired: int
    settled_meanwhile: int


def expire_due(now: datetime | None = None) -> ExpiryResult:
    """Pending checkouts whose time ran out become `expired`, their holds released; each once, however
    often the job runs or races a confirm (the transition's condition decides)."""
    now = now or clock.now()
    expired = settled = 0
    for checkout_id in list(checkouts.pending_expired_by(now)):
        record = checkouts.get(checkout_id)
        if record is None or record.status != cart.PENDING or record.expires_at > now:
            settled += 1
            continue
        try:
            _end(record, cart.EXPIRED, NO_RECEIPT, now=now)
            expired += 1
        except checkouts.StatusChanged:
            settled += 1
    log.info("checkout expiry: %d expired, %d settled meanwhile", expired, settled)
    return ExpiryResult(expired, settled)
