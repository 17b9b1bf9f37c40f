"""A checkout's cart: what each item costs, how the coupon applies, and how it is paid.

A cart holds 1 to `MAX_ITEMS` courses, each at most once. Coupons belong to one course (a code is
unique per course): the checkout's coupon discounts each item whose course has a usable coupon of
that code, by that coupon's rule (`domain/pricing.py`), and no other item; a code that none of the
cart's courses has is refused. The learner may pay part of the total from the wallet
(`wallet_amount`, at most the total); the rest (`amount_due`) is paid through the payment gateway.
For receipts and refunds to where the money came from, the wallet part is split over the items in
proportion to their totals, by the one rounding rule for divided money (`domain/splitting.py`).

A pending checkout holds its seats and its wallet part until it is paid, declined or expired; its
time to pay is the gateway's 30 minutes for the payer's authentication plus 10 to confirm. Paid by virtual
account (가상계좌), it is `awaiting_deposit` once the account is issued, and holds them until the deposit or
the account's due date.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib.domain.splitting import split
from chalicelib.money import Money

MAX_ITEMS = 10
ORDER_NAME_LENGTH = 100  # Toss's `orderName` limit

PENDING, PAID, FAILED, EXPIRED, CANCELLED = "pending", "paid", "failed", "expired", "cancelled"
AWAITING_DEPOSIT = "awaiting_deposit"
HOLDING = (PENDING, AWAITING_DEPOSIT)  # the statuses whose checkout still holds its seats and wallet part


@dataclass(frozen=True)
class VirtualAccount:
    """Where the payer deposits: the bank's code, the account number and the due date."""

    bank: str
    account_number: str
    due_date: datetime


@dataclass(frozen=True)
class Line:
    """One item's price and the coupon's discount on it."""

    price: Money
    discount: Money

    @property
    def total(self) -> Money:
        return self.price - self.discount


def duplicate_at(course_ids: Sequence[str]) -> int | None:
    """The index of the first item whose course an earlier item already has, or None."""
    seen: set[str] = set()
    for index, course_id in enumerate(course_ids):
        if course_id in seen:
            return index
        seen.add(course_id)
    return None


def coupon_discounts(prices: Sequence[Money], discounts: Sequence[Money | None]) -> list[Money] | None:
    """Each item's discount, given the coupon's discount on the items whose course has the coupon (None for the
    others, which get none); None when the coupon applies to no item at all (the caller refuses it)."""
    if all(discount is None for discount in discounts):
        return None
    return [discount if discount is not None else Money.zero(price.currency)
            for price, discount in zip(prices, discounts, strict=True)]


def cart_total(lines: Sequence[Line]) -> Money:
    return sum((line.total for line in lines[1:]), lines[0].total)


def amount_due(total: Money, wallet_amount: Money) -> Money:
    """What the payment gateway collects: the total less the wallet part (which is at most the total)."""
    if not 0 <= wallet_amount.amount <= total.amount:
        raise ValueError(f"a wallet part of {wallet_amount.amount} on a total of {total.amount}")
    return total - wallet_amount


def wallet_parts(lines: Sequence[Line], wallet_amount: Money) -> list[Money]:
    """The wallet part of each item: `wallet_amount` in proportion to the items' totals (largest remainder;
    all zero when the cart is free)."""
    totals = [line.total.amount for line in lines]
    if not any(totals):
        return [Money.zero(wallet_amount.currency) for _ in lines]
    return split(wallet_amount, totals)


def expires_at(created_at: datetime, minutes: int) -> datetime:
    return created_at + timedelta(minutes=minutes)


def order_name(titles: Sequence[str]) -> str:
    """The name the payer sees at the gateway: the first course's title, and how many more
    ("파이썬 입문 외 2건"), within the gateway's length."""
    more = f" 외 {len(titles) - 1}건" if len(titles) > 1 else ""
    first = titles[0]
    if len(first) + len(more) > ORDER_NAME_LENGTH:
        first = first[:ORDER_NAME_LENGTH - len(more) - 1] + "…"
    return first + more
