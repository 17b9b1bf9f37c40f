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

Virtual accounts: confirming with a virtual-account payment issues the account; the checkout becomes
`awaiting_deposit` (holding until the account's due date, its `expires_at`) and its `deposit_secret` is
kept. The deposit arrives as the gateway's webhook (`services/webhooks.py`), which `settle_with_gateway`
trusts only once the gateway reads the payment `DONE` with that secret; it pays the checkout with the same
transaction as a confirm. The due date passing closes the account at the gateway and releases the holds.

Recovery: the gateway may have captured a confirm whose answer was lost (a crash, a timeout). A confirm
marks the checkout (`confirm_started_at`) before asking the gateway; the expiry and recovery jobs ask the
gateway about marked checkouts and complete them (paid) or cancel them at the gateway.
"""

import hmac
import itertools
import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from chalicelib import clock, config, errors, ids
from chalicelib.adapters.payments import CANCELED, DONE, WAITING_FOR_DEPOSIT, Confirmation, PaymentGateway
from chalicelib.adapters.stage import payment_gateway
from chalicelib.domain import checkout as cart
from chalicelib.domain import fees, pricing, revenue, vat
from chalicelib.domain.courses import owned_by
from chalicelib.money import Money
from chalicelib.roles import ADMINS, Caller
from chalicelib.services import ledger, orders, revenue_splits, stats
from chalicelib.services.course_access import course_on_sale
from chalicelib.store import checkouts, coupons, courses, enrollments
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
    virtual_account_payment_key: str | None = None


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
                          record.payment_key if record.gateway == "fake" else None,
                          record.virtual_account_payment_key if record.gateway == "fake" else None)
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
    problem = revenue.cart_parties_problem([(course.instructor_id, course.revenue_split) for course in on_sale])
    if problem is not None:
        raise errors.ValidationFailed.on("items", problem)
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
    keys = gateway.checkout(checkout_id, due) if due.amount else None
    record = CheckoutRecord(
        checkout_id=checkout_id, learner_id=learner_id, status=cart.PENDING, total=total, wallet_amount=wallet,
        amount_due=due, coupon_code=code, gateway=gateway.name, payment_key=keys and keys.payment_key,
        virtual_account_payment_key=keys and keys.virtual_account_payment_key,
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
    if record.status == cart.PENDING:
        retry_on_contention(lambda: checkouts.mark_confirm_started(checkout_id, clock.now()))
    try:
        confirmation = gateway.confirm(payment_key, checkout_id, record.amount_due)
    except errors.PaymentDeclined as declined:
        if record.status == cart.PENDING:
            _end(record, cart.FAILED, receipt, failure_reason=declined.detail, error=declined)
        if record.status == cart.EXPIRED and _cancelled_at_gateway(gateway, checkout_id):
            # A late capture of this expired checkout was cancelled by an earlier try that crashed before
            # recording it: the gateway now refuses the cancelled payment; record the cancel it already made.
            return _end(record, cart.CANCELLED, receipt, cancel_reason="expired", payment_key=payment_key)
        raise
    if confirmation.amount != record.amount_due or confirmation.order_id != checkout_id:
        log.error("gateway confirmed a different payment for checkout %s: %s, expected %s",
                  checkout_id, confirmation.amount, record.amount_due)
        return _cancel(record, confirmation.payment_key, "amount_mismatch", receipt, gateway)
    if record.status == cart.EXPIRED:
        return _cancel(record, confirmation.payment_key, "expired", receipt, gateway)
    if confirmation.status == WAITING_FOR_DEPOSIT:
        return _await_deposit(record, confirmation, receipt, gateway)
    return _pay(record, confirmation.payment_key, receipt, gateway)


def _cancelled_at_gateway(gateway: PaymentGateway, checkout_id: str) -> bool:
    payment = gateway.get_payment(checkout_id)
    return payment is not None and payment.status == CANCELED


def _settled(record: CheckoutRecord) -> Checkout | None:
    """A checkout that has ended answers as it ended; pending and expired ones go on to the gateway (an
    expired checkout's payment may have been captured: it is cancelled there)."""
    if record.status in (cart.PAID, cart.CANCELLED, cart.AWAITING_DEPOSIT):
        return _current(record)
    if record.status == cart.FAILED:
        raise errors.PaymentDeclined(f"This checkout's payment was declined ({record.failure_reason or 'by the gateway'})")
    return None


def _order(record: CheckoutRecord, line: CheckoutLine, now: datetime, course: courses.Course | None) -> Order:
    """The order of a paid line, under its course's revenue split at payment (a course gone: all the owner's;
    the purchase's transaction refuses a course no longer for sale)."""
    fee, instructor_share = fees.split_sale(line.total, config.platform_fee_bps())
    return Order(
        order_id=line.order_id, learner_id=record.learner_id, instructor_id=line.instructor_id,
        course_id=line.course_id, course_title=line.course_title, session_id=line.session_id,
        enrollment_id=line.enrollment_id, status=order_store.PAID, price=line.price, discount=line.discount,
        total=line.total, platform_fee=fee, instructor_share=instructor_share,
        coupon_code=record.coupon_code if line.coupon_applied else None, created_at=now,
        checkout_id=record.checkout_id, vat=vat.vat_in(fee, config.vat_rate_bps()),
        shares=revenue_splits.order_shares(course, instructor_share) if course else (),
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
    sold = courses.batch_get_courses(line.course_id for line in record.items)  # their revenue splits
    paid_orders = [_order(record, line, now, sold.get(line.course_id)) for line in record.items]
    uow = UnitOfWork()
    checkouts.add_transition(uow, record.checkout_id, record.status, cart.PAID, now, payment_key=payment_key)
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
    zones = {line.instructor_id: stats.zone(line.instructor_timezone) for line in record.items}
    stats.add_counts(uow, [row for order in paid_orders for row in stats.sale_counts(order)], now,
                     record.total.currency, zones)


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
        if record.status in cart.HOLDING:
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


def _await_deposit(record: CheckoutRecord, confirmation: Confirmation, receipt: Receipt,
                   gateway: PaymentGateway) -> Checkout:
    """The gateway issued a virtual account: the checkout awaits its deposit, holding until its due date."""
    account = confirmation.virtual_account

    def attempt() -> Checkout:
        now = clock.now()
        uow = UnitOfWork()
        checkouts.add_await_deposit(uow, record.checkout_id, confirmation.payment_key, account,
                                    confirmation.secret or "", now)
        awaiting = _view(replace(record, status=cart.AWAITING_DEPOSIT, payment_key=confirmation.payment_key,
                                 virtual_account=account, expires_at=account.due_date, updated_at=now))
        receipt.record_result(uow, awaiting)
        uow.commit()
        return awaiting

    try:
        return retry_on_contention(attempt)
    except checkouts.StatusChanged:
        current = checkouts.get(record.checkout_id)
        settled = _settled(current)
        if settled is not None:
            return settled
        return _cancel(current, confirmation.payment_key, "expired", receipt, gateway)


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


# --- settling with what the gateway says: the expiry and recovery jobs, the webhooks ------------------

RECOVERY_GRACE = timedelta(minutes=2)  # a confirm younger than this may still be answering its client


def settle_with_gateway(record: CheckoutRecord, now: datetime, gateway: PaymentGateway | None = None, *,
                        secret: str | None = None) -> str:
    """Ask the gateway about a holding checkout's payment and act on its answer alone: captured (`DONE`) pays
    the checkout (or cancels the payment when the amount differs, or when the checkout expired meanwhile);
    a virtual account past its due date is closed and the checkout expired; anything else
    changes nothing. `secret`, from a deposit webhook, must be the checkout's. Returns what happened."""
    # An expired checkout whose virtual account took a deposit anyway (closing it at the gateway failed)
    late_deposit = record.status == cart.EXPIRED and record.virtual_account is not None
    if (record.status not in cart.HOLDING and not late_deposit) or not record.amount_due.amount:
        return "unchanged"
    if secret is not None and not _secret_matches(record, secret):
        return "forged"
    gateway = gateway or payment_gateway()
    payment = gateway.get_payment(record.checkout_id)
    if payment is None or payment.status not in (DONE, WAITING_FOR_DEPOSIT):
        return "unchanged"
    if record.deposit_secret and not _secret_matches(record, payment.secret):
        log.error("gateway reported checkout %s's payment with another secret", record.checkout_id)
        return "forged"
    try:
        if late_deposit:
            if payment.status != DONE:
                return "unchanged"
            return _cancel(record, payment.payment_key, "expired", NO_RECEIPT, gateway).record.status
        if payment.status == WAITING_FOR_DEPOSIT:
            if record.expires_at > now:
                return "unchanged"
            # Expire first, on the condition that it still awaits the deposit: a deposit whose webhook paid it
            # meanwhile wins (StatusChanged below), and the account is closed only for a checkout that ended.
            _end(record, cart.EXPIRED, NO_RECEIPT, now=now)
            try:
                gateway.cancel(payment.payment_key, record.checkout_id, "The deposit's due date passed")
            except errors.PaymentGatewayError:
                # The gateway closes an account at its due date itself; a deposit that lands anyway is
                # cancelled when its webhook arrives (late_deposit above).
                log.warning("could not close checkout %s's virtual account; left to its due date", record.checkout_id)
            return cart.EXPIRED
        if payment.amount != record.amount_due:
            return _cancel(record, payment.payment_key, "amount_mismatch", NO_RECEIPT, gateway).record.status
        # Captured while the checkout still held everything: paid, even past its time (the learner paid for
        # what is still held); one that expired meanwhile is cancelled at the gateway by `_pay`.
        return _pay(record, payment.payment_key, NO_RECEIPT, gateway).record.status
    except checkouts.StatusChanged:
        return "unchanged"  # settled meanwhile by whoever raced this


def _secret_matches(record: CheckoutRecord, secret: str | None) -> bool:
    return bool(record.deposit_secret and secret) and hmac.compare_digest(record.deposit_secret, secret)


@dataclass(frozen=True)
class ExpiryResult:
    expired: int
    settled_meanwhile: int


def expire_due(now: datetime | None = None) -> ExpiryResult:
    """Holding checkouts whose time ran out become `expired`, their holds released; each once, however
    often the job runs or races a confirm (the transition's condition decides). One whose confirm started,
    or that awaits a deposit, is settled with the gateway first (captured: paid or cancelled there)."""
    now = now or clock.now()
    expired = settled = 0
    for checkout_id in list(checkouts.pending_expired_by(now)):
        record = checkouts.get(checkout_id)
        if record is None or record.status not in cart.HOLDING or record.expires_at > now:
            settled += 1
            continue
        if record.confirm_started_at is not None:
            outcome = settle_with_gateway(record, now)
            if outcome != "unchanged":
                expired += outcome == cart.EXPIRED
                settled += outcome != cart.EXPIRED
                continue
        try:
            _end(record, cart.EXPIRED, NO_RECEIPT, now=now)
            expired += 1
        except checkouts.StatusChanged:
            settled += 1
    log.info("checkout expiry: %d expired, %d settled meanwhile", expired, settled)
    return ExpiryResult(expired, settled)


@dataclass(frozen=True)
class RecoveryResult:
    asked: int
    paid: int
    cancelled: int
    expired: int


def recover_confirms(now: datetime | None = None) -> RecoveryResult:
    """Holding checkouts whose confirm started more than `RECOVERY_GRACE` ago (an answer lost, a deposit
    webhook that never came): the gateway is asked, and what it captured is paid or cancelled. Idempotent:
    each ending is conditional on the status read."""
    now = now or clock.now()
    outcomes: list[str] = []
    for checkout_id in list(checkouts.holding()):
        record = checkouts.get(checkout_id)
        if record is None or record.confirm_started_at is None or record.confirm_started_at > now - RECOVERY_GRACE:
            continue
        outcomes.append(settle_with_gateway(record, now))
    result = RecoveryResult(len(outcomes), outcomes.count(cart.PAID), outcomes.count(cart.CANCELLED),
                            outcomes.count(cart.EXPIRED))
    log.info("checkout recovery: %s", result)
    return result
