"""The platform's fee on a sale, in basis points of what the learner paid."""

from chalicelib.money import Money

BASIS_POINTS = 10_000  # 100%


def platform_fee(total: Money, fee_bps: int) -> Money:
    """The platform's part of a sale of `total`: `fee_bps`/10000 of it, rounded half up to the minor unit
    (the two-part case of `domain.splitting.split`)."""
    return total.share(fee_bps)


def split_sale(total: Money, fee_bps: int) -> tuple[Money, Money]:
    """What a sale of `total` gives (the platform's fee, the instructor's share); they sum to `total`."""
    fee = platform_fee(total, fee_bps)
    return fee, total - fee
