"""Checkout: a cart of courses paid through the payment gateway, part of it from the wallet.

The checkout service is imported inside the views, as the other money routes' services (with the ledger,
the orders and the payment adapters it would weigh on every cold start).
"""

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import msgspec

from chalicelib import errors
from chalicelib.api.orders import PURCHASE_REFUSALS, CouponCode, Id, OrderOut
from chalicelib.api.routing import ADMIN, LEARNER, ApiBlueprint, Call
from chalicelib.api.schemas import Input, MoneyBody, Timestamp
from chalicelib.api.wallet import PaymentKey

if TYPE_CHECKING:
    from chalicelib.services.checkout import Checkout

checkouts_api = ApiBlueprint(__name__, tag="checkout")

CheckoutStatus = StrEnum("CheckoutStatus", ["pending", "awaiting_deposit", "paid", "failed", "expired", "cancelled"])
MAX_ITEMS = 10  # domain/checkout.py's MAX_ITEMS, declared in the schema so the API document says it


class CartItem(Input):
    course_id: Id
    session_id: Id | None = None


class CheckoutRequest(Input):
    items: Annotated[list[CartItem], msgspec.Meta(min_length=1, max_length=MAX_ITEMS)]
    coupon_code: CouponCode | None = None
    wallet_amount: MoneyBody | None = None


class CheckoutConfirmRequest(Input):
    amount: MoneyBody
    payment_key: PaymentKey | None = None  # left out when nothing is due


class CartItemOut(msgspec.Struct):
    course_id: str
    session_id: str | None
    price: MoneyBody
    discount: MoneyBody
    total: MoneyBody


class GatewayPayment(msgspec.Struct):
    """What the client hands the gateway's payment widget; the keys with the fake gateway only (confirming with
    `virtual_account_payment_key` issues a virtual account)."""

    gateway: str
    order_id: str
    amount: MoneyBody
    order_name: str
    customer_key: str
    payment_key: str | None = None
    virtual_account_payment_key: str | None = None


class VirtualAccountOut(msgspec.Struct):
    """Where to deposit the amount due, by when (the bank's code as Toss gives it)."""

    bank: str
    account_number: str
    due_date: Timestamp


class CheckoutOut(msgspec.Struct):
    checkout_id: str
    status: CheckoutStatus
    items: list[CartItemOut]
    total: MoneyBody
    wallet_amount: MoneyBody
    amount_due: MoneyBody
    expires_at: Timestamp
    payment: GatewayPayment | None  # None when the wallet and coupons cover the total
    orders: list[OrderOut]  # once paid
    cancel_reason: str | None = None
    failure_reason: str | None = None
    virtual_account: VirtualAccountOut | None = None  # once issued (awaiting_deposit, and after)

    @classmethod
    def of(cls, checkout: "Checkout") -> "CheckoutOut":
        record, payment = checkout.record, checkout.payment
        return cls(
            checkout_id=record.checkout_id, status=record.status,
            items=[CartItemOut(line.course_id, line.session_id, MoneyBody.of(line.price), MoneyBody.of(line.discount),
                               MoneyBody.of(line.total)) for line in record.items],
            total=MoneyBody.of(record.total), wallet_amount=MoneyBody.of(record.wallet_amount),
            amount_due=MoneyBody.of(record.amount_due), expires_at=record.expires_at,
            payment=payment and GatewayPayment(payment.gateway, payment.order_id, MoneyBody.of(payment.amount),
                                               payment.order_name, payment.customer_key, payment.payment_key,
                                               payment.virtual_account_payment_key),
            orders=[OrderOut.of(order) for order in checkout.orders],
            cancel_reason=record.cancel_reason, failure_reason=record.failure_reason,
            virtual_account=record.virtual_account and VirtualAccountOut(
                record.virtual_account.bank, record.virtual_account.account_number, record.virtual_account.due_date),
        )


@checkouts_api.endpoint(
    "POST", "/checkouts", policy=LEARNER, body=CheckoutRequest, response=CheckoutOut, status=201, idempotent=True,
    summary="Start a checkout of 1 to 10 courses (and seats): holds the seats and the wallet part until paid",
    errors=PURCHASE_REFUSALS,
)
def create_checkout(call: Call):
    from chalicelib.services import checkout
    body: CheckoutRequest = call.body
    created = checkout.create_checkout(
        call.caller.user_id, [(item.course_id, item.session_id) for item in body.items], body.coupon_code,
        body.wallet_amount.to_money() if body.wallet_amount else None, receipt=call.receipt(CheckoutOut.of))
    return CheckoutOut.of(created)


@checkouts_api.endpoint("GET", "/checkouts/{checkout_id}", policy=LEARNER | ADMIN, response=CheckoutOut,
                        summary="One of your checkouts, with its orders once paid", errors=(errors.NotFound,))
def get_checkout(call: Call, checkout_id: str):
    from chalicelib.services import checkout
    return CheckoutOut.of(checkout.checkout_of(call.caller, checkout_id))


@checkouts_api.endpoint(
    "POST", "/checkouts/{checkout_id}/confirm", policy=LEARNER, body=CheckoutConfirmRequest, response=CheckoutOut,
    idempotent=True,
    summary="Confirm the gateway's payment of the amount due: paid (orders, enrollments), awaiting_deposit (a "
            "virtual account issued), or cancelled at the gateway when the checkout can no longer be paid",
    errors=(errors.NotFound, errors.PaymentDeclined, errors.PaymentGatewayError, errors.Conflict),
)
def confirm_checkout(call: Call, checkout_id: str):
    from chalicelib.services import checkout
    body: CheckoutConfirmRequest = call.body
    confirmed = checkout.confirm_checkout(call.caller.user_id, checkout_id, body.payment_key, body.amount.to_money(),
                                          receipt=call.receipt(CheckoutOut.of))
    return CheckoutOut.of(confirmed)
