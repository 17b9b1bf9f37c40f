"""Payout amounts: an instructor's available balance is paid out whole, once it reaches the minimum."""

from chalicelib.money import Money


def is_payable(available: Money, minimum: int) -> bool:
    """Whether an available balance is paid this period (less stays available until next time)."""
    return available.amount >= minimum


def payout_amount(available: Money, minimum: int) -> Money | None:
    """What a payout pays from an available balance: all of it, or None below the minimum."""
    return available if is_payable(available, minimum) else None
