"""Settlement dates: when the instructor's share of a sale moves from pending to available."""

from datetime import datetime, timedelta


def settles_at(purchased_at: datetime, hold_days: int) -> datetime:
    """When a sale becomes available to the instructor: `hold_days` after its purchase (the hold is at least
    the refund window, so a sale settles only once a learner can no longer refund it)."""
    return purchased_at + timedelta(days=hold_days)

