"""Refunds: when a learner may refund an order, and how a refund is taken back.

The policy: a learner refunds an order in full within the refund window after purchase (7 days by
default) and while below the progress limit (10% of lessons completed); admins may refund outside
it, and partially.

A refund is taken back in proportion to how the sale was split: the platform gives back its fee's
share of the refunded amount, rounded DOWN to the minor unit, and the instructor the rest. (Not
`domain.splitting.split`: past refunds were computed this way and their figures are the contract.)
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib.money import Money

ALREADY_REFUNDED = "the order has already been refunded"


@dataclass(frozen=True)
class RefundPolicy:
    window_days: int
    progress_limit_percent: int

    def refusal(self, *, purchased_at: datetime, progress_percent: int | None, now: datetime) -> str | None:
        """Why a learner may not refund a paid order under the policy, or None. `progress_percent`: None
        when the learner has no enrollment left to have progressed in."""
        if now - purchased_at > timedelta(days=self.window_days):
            return f"refunds are possible for {self.window_days} days after purchase"
        if progress_percent is not None and progress_percent >= self.progress_limit_percent:
            return f"refunds are possible below {self.progress_limit_percent}% of lessons completed"
        return None


def refund_split(total: Money, platform_fee: Money, amount: Money) -> tuple[Money, Money]:
    """How a refund of `amount` of a sale of `total` (which paid `platform_fee`) is taken back:
    (the platform's fee share, the instructor's share)."""
    if not total.amount:
        return Money.zero(amount.currency), amount
    fee_back = Money(platform_fee.amount * amount.amount // total.amount, amount.currency)
    return fee_back, amount - fee_back


def unrefunded_share(total: Money, platform_fee: Money, instructor_share: Money, refunded: Money | None) -> Money:
    """The instructor's share of a sale that no refund has taken back (what settlement releases)."""
    if refunded is None:
        return instructor_share
    return instructor_share - refund_split(total, platform_fee, refunded)[1]
