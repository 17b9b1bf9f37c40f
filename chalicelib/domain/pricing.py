"""Prices and coupons: what a learner pays for a course.

A coupon takes a percent (1 to 100) or a fixed amount off the course's price; the discount never
exceeds the price, so a 100% coupon makes the course free and never negative. A coupon is usable
before it expires and while it has redemptions left.
"""

from datetime import datetime

from chalicelib.money import Money

MAX_PERCENT = 100


def coupon_code(text: str) -> str:
    """The code as it is stored and compared: codes are case-insensitive and blanks around them ignored."""
    return text.strip().upper()


def is_valid_percent(percent: int) -> bool:
    return 1 <= percent <= MAX_PERCENT


def coupon_usable(*, expires_at: datetime, redemptions: int, max_redemptions: int, now: datetime) -> bool:
    """Whether a coupon may be redeemed at `now` (checked again, atomically, when it is redeemed)."""
    return now < expires_at and redemptions < max_redemptions


def percent_off(price: Money, percent: int) -> Money:
    """The discount of a percent coupon, rounded half up to the minor unit (a fee-like share of the price)."""
    if not is_valid_percent(percent):
        raise ValueError(f"a percent coupon takes 1 to {MAX_PERCENT}, not {percent}")
    return price.share(percent * 100)


def amount_off(price: Money, amount: Money) -> Money:
    """The discount of a fixed-amount coupon: its amount, at most the price."""
    if amount.currency != price.currency:
        raise ValueError(f"a {amount.currency} coupon on a {price.currency} price")
    return Money(min(amount.amount, price.amount), price.currency)
