"""Buying courses and refunds (learners), coupons and balance (instructors).

The orders service is imported inside the views: with the ledger and the order models it would add
13 ms to every cold start (measured after `import app`), for the money routes alone.
"""

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import msgspec

from chalicelib import errors
from chalicelib.api.payouts import PayoutAccountInput  # a bank account, as payouts take one
from chalicelib.api.routing import ADMIN, INSTRUCTOR, LEARNER, ApiBlueprint, Call
from chalicelib.api.schemas import AwareDateTime, Input, MoneyBody, Page, PageQuery, Timestamp

if TYPE_CHECKING:
    from chalicelib.domain.refunds import Quote
    from chalicelib.store.coupons import Coupon
    from chalicelib.store.orders import Order, RefundPart

orders_api = ApiBlueprint(__name__, tag="orders")

Id = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
CouponCode = Annotated[str, msgspec.Meta(min_length=3, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]
CouponKind = StrEnum("CouponKind", ["percent", "fixed"])
OrderStatus = StrEnum("OrderStatus", ["paid", "refunded"])
RefundRule = StrEnum("RefundRule", ["withdrawal", "pro_rata", "live_session", "admin", "none"])
# where a refund's money went; bank_account: a virtual-account payment's part, to the `refund_account` given
RefundDestination = StrEnum("RefundDestination", ["wallet", "card", "card_and_wallet", "bank_account",
                                                  "bank_account_and_wallet"])
RefundStatus = StrEnum("RefundStatus", ["pending", "done"])  # pending: the PG has not cancelled its card part yet


class OrderRequest(Input):
    course_id: Id
    session_id: Id | None = None
    coupon_code: CouponCode | None = None


class RefundRequest(Input):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    amount: MoneyBody | None = None  # a part: up to what the quote allows (admins: up to what is left)
    # where the part paid by virtual account goes (required for those orders; stored encrypted, never shown)
    refund_account: PayoutAccountInput | None = None


class RefundOut(msgspec.Struct):
    """The latest refund of the order (every refund is in `refunds`)."""

    refund_id: str
    amount: MoneyBody
    reason: str
    refunded_at: Timestamp


class RefundPartOut(msgspec.Struct):
    refund_id: str
    amount: MoneyBody
    created_at: Timestamp
    to: RefundDestination
    rule: RefundRule
    to_wallet: MoneyBody  # the parts of `amount` by where they went
    to_card: MoneyBody
    status: RefundStatus

    @classmethod
    def of(cls, part: "RefundPart") -> "RefundPartOut":
        return cls(part.refund_id, MoneyBody.of(part.amount), part.created_at, part.to, part.rule,
                   MoneyBody.of(part.wallet_part), MoneyBody.of(part.card_part), part.status)


class RefundQuoteOut(msgspec.Struct):
    allowed: bool
    refundable: MoneyBody
    rule: RefundRule
    basis: str
    reason: str | None = None

    @classmethod
    def of(cls, quote: "Quote") -> "RefundQuoteOut":
        return cls(quote.allowed, MoneyBody.of(quote.refundable), quote.rule, quote.basis, quote.reason)


class OrderOut(msgspec.Struct):
    """A receipt. The platform fee is the marketplace's business, not shown to learners."""

    order_id: str
    course_id: str
    course_title: str
    session_id: str | None
    status: OrderStatus
    price: MoneyBody
    discount: MoneyBody
    total: MoneyBody
    coupon_code: str | None
    enrollment_id: str
    created_at: Timestamp
    refunded: MoneyBody  # the sum of `refunds`
    refunds: list[RefundPartOut]
    refund: RefundOut | None = None  # the latest refund, as before refunds came in parts

    @classmethod
    def of(cls, order: "Order") -> "OrderOut":
        latest = order.latest_refund
        refund = None
        if latest is not None:
            refund = RefundOut(latest.refund_id, MoneyBody.of(latest.amount), latest.reason, latest.created_at)
        return cls(order.order_id, order.course_id, order.course_title, order.session_id, order.status,
                   MoneyBody.of(order.price), MoneyBody.of(order.discount), MoneyBody.of(order.total),
                   order.coupon_code, order.enrollment_id, order.created_at, MoneyBody.of(order.refunded),
                   [RefundPartOut.of(part) for part in order.refunds], refund)


class NewCoupon(Input):
    code: CouponCode
    kind: CouponKind
    value: Annotated[int, msgspec.Meta(ge=1, le=10_000_000_000)]
    max_redemptions: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]
    expires_at: AwareDateTime


class CouponOut(msgspec.Struct):
    code: str
    kind: CouponKind
    value: int
    currency: str
    max_redemptions: int
    redemptions: int
    expires_at: Timestamp

    @classmethod
    def of(cls, coupon: "Coupon") -> "CouponOut":
        return cls(coupon.code, coupon.kind, coupon.value, coupon.currency, coupon.max_redemptions,
                   coupon.redemptions, coupon.expires_at)


class BalanceOut(msgspec.Struct):
    pending: MoneyBody
    available: MoneyBody
    in_transit: MoneyBody
    paid_out: MoneyBody
    owed: MoneyBody  # what clawbacks left the instructor owing; repaid from earnings before any payout


# What buying refuses with, from the wallet (POST /orders) or through a checkout (POST /checkouts).
PURCHASE_REFUSALS = (errors.NotFound, errors.Forbidden, errors.InsufficientFunds, errors.AlreadyEnrolled,
                     errors.SoldOut, errors.Conflict, errors.Unprocessable)


@orders_api.endpoint(
    "POST", "/orders", policy=LEARNER, body=OrderRequest, response=OrderOut, status=201, idempotent=True,
    summary="Buy a published course (and a seat with `session_id`) from the wallet",
    errors=PURCHASE_REFUSALS,
)
def buy(call: Call):
    from chalicelib.services import orders
    body: OrderRequest = call.body
    order = orders.buy_course(call.caller.user_id, body.course_id, body.session_id, body.coupon_code,
                              receipt=call.receipt(OrderOut.of))
    return OrderOut.of(order)


@orders_api.endpoint("GET", "/orders", policy=LEARNER, query=PageQuery, response=Page[OrderOut],
                     summary="Your orders, newest first")
def my_orders(call: Call):
    from chalicelib.services import orders
    items, next_cursor = orders.orders_of(call.caller.user_id, call.query.limit, call.query.cursor)
    return Page(items=[OrderOut.of(o) for o in items], next_cursor=next_cursor)


@orders_api.endpoint("GET", "/orders/{order_id}", policy=LEARNER | ADMIN, response=OrderOut,
                     summary="A receipt of one of your orders", errors=(errors.NotFound,))
def get_order(call: Call, order_id: str):
    from chalicelib.services import orders
    return OrderOut.of(orders.order_of(call.caller, order_id))


@orders_api.endpoint("GET", "/orders/{order_id}/refund-quote", policy=LEARNER | ADMIN, response=RefundQuoteOut,
                     summary="What the refund policy gives back of your order now, and by which rule",
                     errors=(errors.NotFound,))
def refund_quote(call: Call, order_id: str):
    from chalicelib.services import orders
    return RefundQuoteOut.of(orders.refund_quote(call.caller, order_id))


@orders_api.endpoint(
    "POST", "/orders/{order_id}/refund", policy=LEARNER | ADMIN, body=RefundRequest, response=OrderOut,
    idempotent=True, summary="Refund what the refund quote allows, or `amount` of it, in parts, to the wallet and the "
                             "card it was paid with, or to `refund_account` for a virtual-account payment (admins: "
                             "beyond the policy, up to what is left)",
    errors=(errors.NotFound, errors.RefundNotAllowed, errors.Conflict),
)
def refund(call: Call, order_id: str):
    from chalicelib.services import orders, refund_accounts
    body: RefundRequest = call.body
    account = body.refund_account and refund_accounts.GivenAccount(
        body.refund_account.bank_code, body.refund_account.account_number, body.refund_account.holder_name)
    refunded = orders.refund_order(call.caller, order_id, body.reason,
                                   body.amount.to_money() if body.amount else None, account,
                                   receipt=call.receipt(OrderOut.of))
    return OrderOut.of(refunded)


@orders_api.endpoint(
    "POST", "/instructor/courses/{course_id}/coupons", policy=INSTRUCTOR, body=NewCoupon, response=CouponOut,
    status=201, summary="Create a coupon for your course (percent or fixed amount)",
    errors=(errors.NotFound, errors.Conflict),
)
def create_coupon(call: Call, course_id: str):
    from chalicelib.services import orders
    body: NewCoupon = call.body
    coupon = orders.create_coupon(call.caller, course_id, body.code, body.kind, body.value, body.max_redemptions,
                                  body.expires_at)
    return CouponOut.of(coupon)


@orders_api.endpoint("GET", "/instructor/courses/{course_id}/coupons", policy=INSTRUCTOR, response=list[CouponOut],
                     summary="Your course's coupons and how often each was redeemed", errors=(errors.NotFound,))
def list_coupons(call: Call, course_id: str):
    from chalicelib.services import orders
    return [CouponOut.of(c) for c in orders.coupons_of(call.caller, course_id)]


@orders_api.endpoint("GET", "/instructor/balance", policy=INSTRUCTOR, response=BalanceOut,
                     summary="Your money: pending (refundable sales), available, in transit, paid out and owed")
def balance(call: Call):
    from chalicelib.services import orders
    money = orders.instructor_balance(call.caller.user_id)
    return BalanceOut(**{name: MoneyBody.of(amount) for name, amount in money.items()})
