"""Buying a course from the wallet, and refunding it.

A purchase is ONE transaction: the order, the enrollment, the seat, the
coupon redemption, the course's sales count, the ledger transfer (wallet ->
instructor pending + platform revenue) and the idempotency record. Each write
carries the condition that makes it safe (not enrolled yet, seats left, coupon
not exhausted, wallet not below zero), so "paid but not enrolled" and "charged
twice" cannot happen: either everything is written or nothing is. A refund is
the reverse in proportion, also one transaction, and an order may be refunded
in parts.

Refund policy (`domain/refunds.py`, settings per stage): withdrawal, pro rata,
live sessions; the quote and the refund use the same rule. Admins refund
beyond it, up to what is left. A refund of a settled sale is a clawback: taken
from the instructor's available balance, the rest owed (repaid at payout,
services/payouts.py).

Refund to the tender. A refund of an order a checkout paid goes back to the
card and the wallet in proportion to what each paid (`refunds.tender_split`).
Its effects come in this order, so that a crash at any step neither refunds
twice nor loses a refund:
1. ONE transaction writes the refund `pending` on the order (in the
   `refunds_pending` index), the order's refunded total, the enrollment's end
   with the last one, and the whole ledger reversal: the wallet part to the
   wallet, the card part to `refunds_in_transit` (what we owe cards back).
   A crash before it: nothing happened (the request's retry starts over).
2. The PG cancels the card part (`partial_cancel`, `cancelAmount`) under the
   refund's own idempotency key, `refund-<refund_id>`. A crash, timeout or
   refusal here leaves the refund pending: the `refund_retry` job calls the
   PG again under the same key, which gives nothing back twice.
3. ONE transaction marks the refund `done`, if it is still pending, and moves
   its card part from in transit to gateway clearing (`refund_sent:<id>`, an
   id posted once). A crash before it: the job's PG call answers as the first
   did, and this step runs once, whoever races (the job twice, the request).
So `refunds_in_transit` always equals the card parts of pending refunds
(reconciliation checks it). The idempotency record of the request is in step
1: a replay answers the refund as it was written (`pending`); the order shows
its current status.
"""

import itertools
import logging
from dataclasses import dataclass, replace
from datetime import datetime

from chalicelib import clock, config, errors, ids, metrics
from chalicelib.adapters.stage import payment_gateway
from chalicelib.domain import fees, pricing, refunds, revenue, settlement, vat
from chalicelib.domain.courses import owned_by
from chalicelib.money import Money
from chalicelib.roles import ADMINS, Caller
from chalicelib.services import ledger, refund_accounts, revenue_splits, stats
from chalicelib.services.course_access import course_on_sale, own_course
from chalicelib.store import checkouts, coupons, courses, enrollments
from chalicelib.store import orders as store
from chalicelib.store.idempotency import NO_RECEIPT, Receipt
from chalicelib.store.orders import Order
from chalicelib.store.transactions import Contention, UnitOfWork, retry_on_contention

log = logging.getLogger("classpay.orders")

def coupon_discount(course_id: str, price: Money, code: str, now: datetime) -> Money | None:
    """The discount the course's coupon `code` (as stored) gives on `price`, or None when the course has no
    usable coupon of that code (checked again, atomically, when it is redeemed)."""
    coupon = coupons.get(course_id, code)
    if coupon is None or not pricing.coupon_usable(
            expires_at=datetime.fromisoformat(coupon.expires_at), redemptions=coupon.redemptions,
            max_redemptions=coupon.max_redemptions, now=now):
        return None
    if coupon.kind == coupons.PERCENT:
        return pricing.percent_off(price, coupon.value)
    if coupon.currency != price.currency:
        raise errors.ValidationFailed.on("coupon_code", "this coupon is in another currency")
    return pricing.amount_off(price, Money(coupon.value, coupon.currency))


COUPON_REFUSED = "no such coupon for this course, or it has expired or run out"
COUPON_RAN_OUT = "this coupon has just run out or expired"


def _price_with_coupon(course_id: str, price: Money, code: str | None, now: datetime) -> tuple[Money, str | None]:
    """The discount a coupon gives on `price`."""
    if not code:
        return Money.zero(price.currency), None
    code = pricing.coupon_code(code)
    discount = coupon_discount(course_id, price, code, now)
    if discount is None:
        raise errors.ValidationFailed.on("coupon_code", COUPON_REFUSED)
    return discount, code


def _seat_refusal(session: courses.LiveSession | None, session_id: str, now_iso: str) -> errors.DomainError | None:
    if session is None:
        return errors.NotFound(f"No live session {session_id} in this course")
    if session.starts_at <= now_iso:
        return errors.Conflict("This live session has already started")
    if session.seats_left <= 0:
        return errors.SoldOut()
    return None


def seat_problem(course_id: str, session_id: str, now_iso: str) -> errors.DomainError:
    """Why the seat's condition failed (a read that still shows a seat was behind the write: sold out)."""
    return _seat_refusal(courses.get_session(course_id, session_id), session_id, now_iso) or errors.SoldOut()


def buy_course(learner_id: str, course_id: str, session_id: str | None, coupon_code: str | None,
               *, receipt: Receipt = NO_RECEIPT) -> Order:
    """Buy a published course (and a seat in one of its live sessions) with the wallet."""
    course = course_on_sale(course_id)
    if owned_by(course, learner_id):
        raise errors.Forbidden("Instructors cannot buy their own course")
    price = course.price
    if price.currency != config.wallet_currency():
        raise errors.Unprocessable(f"This course is sold in {price.currency}; wallets hold {config.wallet_currency()}")
    now = clock.now()
    discount, code = _price_with_coupon(course_id, price, coupon_code, now)
    total = price - discount
    fee, instructor_share = fees.split_sale(total, config.platform_fee_bps())
    order = Order(
        order_id=ids.new_id(), learner_id=learner_id, instructor_id=course.instructor_id, course_id=course_id,
        course_title=course.title, session_id=session_id, enrollment_id=ids.new_id(), status=store.PAID,
        price=price, discount=discount, total=total, platform_fee=fee, instructor_share=instructor_share,
        coupon_code=code, created_at=now, vat=vat.vat_in(fee, config.vat_rate_bps()),
        shares=revenue_splits.order_shares(course, instructor_share),
    )
    tz = stats.zone(course.instructor_timezone)  # the instructor's, copied onto the course: no profile read
    tries = itertools.count()

    def attempt() -> Order:
        if next(tries) and order.session_id:  # a retry after contention: the seats may be gone meanwhile
            refuse_a_seat_no_longer_free(order.course_id, order.session_id, clock.to_rfc3339(now))
        return _commit_purchase(order, receipt, tz)

    return retry_on_contention(attempt)


def refuse_a_seat_no_longer_free(course_id: str, session_id: str, now_iso: str) -> None:
    """Before retrying a purchase that lost a TransactionConflict: a session that filled up (or started)
    meanwhile answers SOLD_OUT (or its reason) at once, as the transaction's condition would. Without this
    read, buyers of a sold-out session kept retrying transactions that could only fail, contending for the
    session's items with each other until the retry budget ran out, and were answered 409 CONFLICT ("try
    again") instead of SOLD_OUT (200 buyers for 50 seats, bench/launch_day.py). A consistent read: a seat
    a refund has just freed is still offered."""
    refusal = _seat_refusal(courses.get_session(course_id, session_id, consistent=True), session_id, now_iso)
    if refusal is not None:
        raise refusal


def add_paid_order(uow: UnitOfWork, order: Order) -> None:
    """A paid order with its enrollment and the course's sales count: refused if the learner is enrolled
    already (`AlreadyEnrolled`), then if the course is no longer for sale (`NotFound`)."""
    now_iso = clock.to_rfc3339(order.created_at)
    enrollments.add_enroll(uow, enrollments.Enrollment(
        enrollment_id=order.enrollment_id, learner_id=order.learner_id, course_id=order.course_id,
        instructor_id=order.instructor_id, order_id=order.order_id, session_id=order.session_id,
        status=enrollments.ACTIVE, enrolled_at=now_iso, completed_lessons=frozenset(), progress_percent=0,
        last_lesson_id=None, completed_at=None,
    ))
    courses.add_count_enrollment(uow, order.course_id, +1,
                                 on_fail=lambda: errors.NotFound(f"No course {order.course_id} for sale"))
    settles_at = clock.to_rfc3339(settlement.settles_at(order.created_at, config.settlement_hold_days()))
    store.add_create(uow, order, settles_at)


def _commit_purchase(order: Order, receipt: Receipt, tz) -> Order:
    now_iso = clock.to_rfc3339(order.created_at)
    uow = UnitOfWork()
    # Added in the order their refusals should win: already enrolled, then unlisted, sold out, coupon, funds.
    add_paid_order(uow, order)
    if order.session_id:
        courses.add_take_seat(uow, order.course_id, order.session_id, now_iso,
                              on_fail=lambda: seat_problem(order.course_id, order.session_id, now_iso))
    if order.coupon_code:
        coupons.add_redeem(uow, order.course_id, order.coupon_code, now_iso,
                           on_fail=lambda: errors.ValidationFailed.on("coupon_code", COUPON_RAN_OUT))
    transfer = ledger.purchase_transfer(order)
    if transfer:  # a 100% coupon moves no money
        ledger.add_transfer(uow, transfer, now=order.created_at)
    stats.add_counts(uow, stats.sale_counts(order), order.created_at, order.total.currency, {order.instructor_id: tz})
    receipt.record_result(uow, order)
    uow.commit()
    metrics.emit(metrics.ORDERS_PAID)
    metrics.emit(metrics.ORDER_REVENUE, order.total.amount, unit="None", Currency=order.total.currency)
    return order


# --- reading orders ---------------------------------------------------------------------------------

def order_of(caller: Caller, order_id: str) -> Order:
    """A receipt: the caller's own order (admins may read any)."""
    order = store.get(order_id)
    if order is None or (order.learner_id != caller.user_id and not caller.is_in(ADMINS)):
        raise errors.NotFound("No such order")
    return order


def orders_of(learner_id: str, limit: int, cursor: str | None) -> tuple[list[Order], str | None]:
    return store.of_learner(learner_id, limit, cursor)


# --- refunds ----------------------------------------------------------------------------------------

def _refund_policy() -> refunds.RefundPolicy:
    return refunds.RefundPolicy(config.refund_window_days(), config.refund_progress_limit_percent(),
                                config.refund_pro_rata())


def _studied(enrollment: enrollments.Enrollment | None) -> frozenset[str]:
    """Lessons completed or opened. Opened lessons are not kept one by one: the last one opened counts."""
    if enrollment is None:
        return frozenset()
    return enrollment.completed_lessons | ({enrollment.last_lesson_id} if enrollment.last_lesson_id else set())


def _usage(order: Order, enrollment: enrollments.Enrollment | None) -> refunds.Usage:
    course = courses.get_course(order.course_id)
    session = courses.get_session(order.course_id, order.session_id) if order.session_id else None
    return refunds.Usage(
        purchased_at=order.created_at, progress_percent=enrollment.progress_percent if enrollment else 0,
        lessons_studied=len(_studied(enrollment)), lesson_count=course.lesson_count if course else 0,
        session_starts_at=datetime.fromisoformat(session.starts_at) if session else None,
    )


def _quote(order: Order, enrollment: enrollments.Enrollment | None, now: datetime) -> refunds.Quote:
    if order.status != store.PAID:
        nothing = Money.zero(order.total.currency)
        return refunds.Quote(False, nothing, refunds.NO_RULE, refunds.BASIS[refunds.NO_RULE], refunds.ALREADY_REFUNDED)
    return _refund_policy().quote(paid=order.total, refunded=order.refunded, usage=_usage(order, enrollment), now=now)


def refund_quote(caller: Caller, order_id: str) -> refunds.Quote:
    """What the order's learner may have back now under the policy (admins see the same)."""
    order = order_of(caller, order_id)
    return _quote(order, enrollments.get_enrollment(order.learner_id, order.course_id), clock.now())


def refund_order(caller: Caller, order_id: str, reason: str, amount: Money | None = None,
                 refund_account: refund_accounts.GivenAccount | None = None, *, receipt: Receipt = NO_RECEIPT) -> Order:
    """Refund (part of) an order to where it was paid from: the reverse transfer in proportion and, with the
    last refund, the enrollment ended and the seat released. The coupon redemption is kept. A card part is
    then cancelled at the PG; when the PG fails the refund is answered `pending` (the retry job sends it).

    A learner refunds what the quote allows, or `amount` up to it; taking all of it is the last refund
    (a withdrawal from the course). Admins refund beyond the policy, up to what is left; theirs is the
    last when nothing is left. Where the money goes is recorded per refund (`to`: the wallet). A virtual-account
    payment's part goes to `refund_account` (required then: 422 naming it; services/refund_accounts.py)."""
    order = order_of(caller, order_id)
    now = clock.now()
    enrollment = None
    if caller.is_in(ADMINS):
        if order.status != store.PAID and not order.refundable_left.amount:
            raise errors.RefundNotAllowed(f"This order cannot be refunded: {refunds.ALREADY_REFUNDED}")
        limit, rule = order.refundable_left, refunds.ADMIN
    else:
        enrollment = enrollments.get_enrollment(order.learner_id, order.course_id)
        quote = _quote(order, enrollment, now)
        if not quote.allowed:
            raise errors.RefundNotAllowed(f"This order cannot be refunded: {quote.reason}")
        limit, rule = quote.refundable, quote.rule
    if amount is not None and (amount.currency != limit.currency or not 0 < amount.amount <= limit.amount):
        raise errors.ValidationFailed.on("amount", f"at most {limit.amount} {limit.currency} may be refunded now"
                                         if limit.amount else "nothing is refundable now")
    refund_amount = amount if amount is not None else limit
    last = refund_amount == limit if rule != refunds.ADMIN else refund_amount == order.refundable_left
    to_bank = _card_part(order, refund_amount)[1] in (store.BANK_ACCOUNT, store.BANK_ACCOUNT_AND_WALLET)
    sealed = refund_accounts.seal(order.learner_id, refund_account) if to_bank else None
    refunded = retry_on_contention(lambda: _commit_refund(
        order, refund_amount, reason, caller.user_id, now, receipt, rule=rule, last=last, usage_as_read=enrollment,
        progress_below=_refund_policy().progress_limit_percent if rule == refunds.WITHDRAWAL else None,
        refund_account=sealed))
    part = refunded.latest_refund
    return (_send_to_card(refunded, part) or refunded) if part.pending else refunded


def unrefunded_shares(order: Order) -> dict[str, Money]:
    """Each party's part of an order's instructor share that no refund has taken back (what settlement
    releases), by instructor."""
    return {party.instructor_id: party.amount - back for party, back in zip(order.parties, order.party_back(),
                                                                            strict=True)}


def _refund_part(order: Order, amount: Money, reason: str, refunded_by: str, now: datetime, rule: str) -> store.RefundPart:
    number = len(order.refunds) + 1  # the first keeps the id an order's one refund always had
    transfer_id = f"refund:{order.order_id}" if number == 1 else f"refund:{order.order_id}:{number}"
    fee_back, share_back = refunds.reversal(order.total, order.platform_fee, order.fee_back, order.refunded, amount)
    vat_back = vat.vat_back(order.platform_fee, order.platform_vat, order.fee_back, order.vat_back, fee_back)
    parties = order.parties
    shares_back = tuple((party.instructor_id, back) for party, back in zip(parties, revenue.parties_back(
        [party.amount for party in parties], order.party_back(), share_back, order.owner_index), strict=True))
    to_card, to = _card_part(order, amount)
    if not to_card.amount:
        return store.RefundPart(ids.new_id(), transfer_id, amount, fee_back, share_back, reason, refunded_by, now,
                                store.WALLET, rule, vat_back=vat_back, shares_back=shares_back)
    return store.RefundPart(ids.new_id(), transfer_id, amount, fee_back, share_back, reason, refunded_by, now,
                            to, rule, to_card,
                            store.REFUND_PENDING, vat_back, shares_back)


def _card_part(order: Order, amount: Money) -> tuple[Money, str]:
    """What of a refund of `amount` goes back through the PG, and where the refund goes (its `to`): none, to the
    wallet, for an order bought from the wallet; for a checkout's, in proportion to what the PG part paid of the
    order (the checkout item's total minus its wallet part), to the card or, for a virtual-account payment, to
    the learner's bank account."""
    record = checkouts.get(order.checkout_id) if order.checkout_id else None
    tender = _gateway_tender(record) if record is not None else refunds.WALLET
    if tender == refunds.WALLET:
        return Money.zero(amount.currency), store.WALLET
    line = next(line for line in record.items if line.order_id == order.order_id)
    part = refunds.tender_split(line.total - line.wallet_part, line.wallet_part, order.card_back, order.refunded,
                                amount)[0]
    if tender == refunds.VIRTUAL_ACCOUNT:
        return part, store.BANK_ACCOUNT if part == amount else store.BANK_ACCOUNT_AND_WALLET
    return part, store.CARD if part == amount else store.CARD_AND_WALLET


def _gateway_tender(record: checkouts.CheckoutRecord) -> str:
    """How a checkout's gateway part was paid, so where the refunds of that part go: a card or easy pay by a PG
    cancel; a virtual account by a PG cancel to the learner's `refund_account` (`refundReceiveAccount`)."""
    if not record.amount_due.amount:
        return refunds.WALLET
    return refunds.VIRTUAL_ACCOUNT if record.virtual_account is not None else refunds.CARD


def _clawback_owed(order: Order, part: store.RefundPart) -> dict[str, Money]:
    """What of a settled sale's refund each party's available balance does not cover (it becomes owed)."""
    owed = {}
    for party, back in order.parts_back(part):
        if order.settled_at and back.amount:
            available = ledger.balance_of(ledger.instructor_available(party, back.currency), consistent=True)
            owed[party] = refunds.clawback(back, available)[1]
    return owed


def _refund_refused(account: ledger.Account) -> Exception:
    if account.kind == ledger.AccountKind.INSTRUCTOR_AVAILABLE:
        return Contention("the instructor's available balance changed since it was read")  # read it again
    return errors.RefundNotAllowed("The instructor's balance no longer covers this refund")


def _commit_refund(order: Order, amount: Money, reason: str, refunded_by: str, now: datetime,
                   receipt: Receipt, *, progress_below: int | None, rule: str = refunds.ADMIN, last: bool = True,
                   usage_as_read: enrollments.Enrollment | None = None,
                   refund_account: store.RefundAccount | None = None) -> Order:
    part = _refund_part(order, amount, reason, refunded_by, now, rule)
    owed = _clawback_owed(order, part)
    ends = last and order.status == store.PAID
    uow = UnitOfWork()
    store.add_refund(uow, order, part, last=last, refund_account=refund_account)
    if ends:
        enrollments.add_end(uow, order.learner_id, order.course_id, now, progress_below=progress_below)
        courses.add_count_enrollment(uow, order.course_id, -1,
                                     on_fail=lambda: errors.Conflict("Course counters disagree"))
        if order.session_id:
            courses.add_release_seat(uow, order.course_id, order.session_id)
    elif usage_as_read is not None:  # a learner's part: the quote holds only for what was studied when it was read
        enrollments.add_unchanged_usage(uow, usage_as_read)
    transfer = ledger.refund_transfer(order, part, owed)
    if transfer:  # a free order's refund moves no money
        ledger.add_transfer(uow, transfer, now=now, on_insufficient=_refund_refused)
    stats.add_counts(uow, stats.refund_counts(order, part), now, amount.currency)
    refunded = replace(order, status=store.REFUNDED if last else order.status, refunds=(*order.refunds, part))
    receipt.record_result(uow, refunded)
    uow.commit()
    metrics.emit(metrics.REFUNDS)
    metrics.emit(metrics.REFUNDED_AMOUNT, amount.amount, unit="None", Currency=amount.currency)
    return refunded


def _send_to_card(order: Order, part: store.RefundPart) -> Order | None:
    """Cancel a pending refund's card part at the PG under the refund's idempotency key, then mark it done
    (see the module). None when the PG did not answer or refused: the refund stays pending."""
    record = checkouts.get(order.checkout_id)
    to_bank = part.to in (store.BANK_ACCOUNT, store.BANK_ACCOUNT_AND_WALLET)
    try:
        payment_gateway().partial_cancel(record.payment_key, record.checkout_id, part.card_part,
                                         f"Refund of order {order.order_id}: {part.reason}", f"refund-{part.refund_id}",
                                         refund_accounts.for_gateway(order.learner_id, order.order_id) if to_bank else None)
    except errors.PaymentGatewayError as failed:
        log.warning("refund %s of order %s stays pending: %s", part.refund_id, order.order_id, failed.detail)
        return None
    return retry_on_contention(lambda: _commit_sent(order.order_id, part.refund_id))


def _commit_sent(order_id: str, refund_id: str) -> Order:
    """The refund done and its card part out of transit, once: a refund no longer pending is left as it is."""
    order = store.get(order_id, consistent=True)
    part = next(part for part in order.refunds if part.refund_id == refund_id)
    if not part.pending:
        return order
    uow = UnitOfWork()
    store.add_refund_done(uow, order, refund_id)
    ledger.add_transfer(uow, ledger.refund_sent_transfer(order, part))
    uow.commit()
    done = replace(part, status=store.REFUND_DONE)
    return replace(order, refunds=tuple(done if each.refund_id == refund_id else each for each in order.refunds))


@dataclass(frozen=True)
class RefundRetryResult:
    done: int
    still_pending: int


def send_pending_refunds() -> RefundRetryResult:
    """The refund_retry job: each pending refund's card part cancelled at the PG again (under its own key, so
    never twice) and marked done; what the PG still refuses stays pending for the next run."""
    done = still_pending = 0
    for order_id in list(store.with_pending_refunds()):
        order = store.get(order_id, consistent=True)
        for part in order.pending_refunds if order else ():
            sent = _send_to_card(order, part)
            if sent is None:
                still_pending += 1
            else:
                order, done = sent, done + 1
    if done or still_pending:
        log.info("refund retry: %d done, %d still pending", done, still_pending)
    return RefundRetryResult(done, still_pending)


# --- coupons ----------------------------------------------------------------------------------------

def create_coupon(caller: Caller, course_id: str, code: str, kind: str, value: int, max_redemptions: int,
                  expires_at: datetime) -> coupons.Coupon:
    course = own_course(caller, course_id)
    if kind == coupons.PERCENT and not pricing.is_valid_percent(value):
        raise errors.ValidationFailed.on("value", "a percent coupon takes 1 to 100")
    if expires_at <= clock.now():
        raise errors.ValidationFailed.on("expires_at", "must be in the future")
    return coupons.create(coupons.Coupon(
        course_id=course_id, code=pricing.coupon_code(code), kind=kind, value=value, currency=course.price.currency,
        max_redemptions=max_redemptions, redemptions=0, expires_at=clock.to_rfc3339(expires_at),
        created_at=clock.now(),
    ))


def coupons_of(caller: Caller, course_id: str) -> list[coupons.Coupon]:
    own_course(caller, course_id)
    return coupons.of_course(course_id)


# --- instructor balance -----------------------------------------------------------------------------

def instructor_balance(instructor_id: str) -> dict[str, Money]:
    currency = config.wallet_currency()
    return {
        "pending": ledger.balance_of(ledger.instructor_pending(instructor_id, currency)),
        "available": ledger.balance_of(ledger.instructor_available(instructor_id, currency)),
        "in_transit": ledger.balance_of(ledger.instructor_in_transit(instructor_id, currency)),
        "paid_out": ledger.balance_of(ledger.instructor_paid_out(instructor_id, currency)),
        # a receivable: its ledger balance is never above zero; shown as the amount owed
        "owed": -ledger.balance_of(ledger.instructor_owed(instructor_id, currency)),
    }
