"""Net revenue: what an instructor's ledger received over a period."""

from collections.abc import Mapping


def net_revenue(counts: Mapping[str, int]) -> int:
    """The instructor's shares of sales (`net`) minus the instructor's parts of refunds (`refund_net`), in
    minor units, from a period's counts (the dashboard's aggregates)."""
    return counts["net"] - counts["refund_net"]
