"""VAT in the platform's fee: the fee a sale pays the platform is VAT-inclusive, so part of it is owed
to the tax office.

Basis: 부가가치세법 (the VAT act) article 30: the rate is 10%; article 29(7): a price that includes the
tax is a supply value of 100/110 of it, so the VAT in it is 10/110 = 1/11 of it. The rate is stage
configuration (`VAT_RATE_BPS`, default 1000 = 10%).

Rounding: the supply value is the first part of `domain.splitting.split(fee, [10000, rate_bps])` (rounded
half up, the one rounding rule for divided money) and the VAT the rest, so revenue + VAT == fee exactly.
A refund's part of the fee gives VAT back by the same largest-remainder rule over the running total
(`vat_back`): once an order's refunds gave back F of the fee, they gave back exactly
`split(F, [fee - vat, vat])[1]` of its VAT, so the last refund returns exactly what is left of it.
"""

from chalicelib.domain.refunds import in_proportion
from chalicelib.domain.splitting import split
from chalicelib.money import Money

BASIS_POINTS = 10_000


def vat_in(fee: Money, rate_bps: int) -> Money:
    """The VAT inside a VAT-inclusive `fee` at `rate_bps` (1000: 10%, so 1/11 of it)."""
    return split(fee, [BASIS_POINTS, rate_bps])[1]


def vat_back(fee: Money, vat: Money, fee_back_before: Money, vat_back_before: Money, fee_back: Money) -> Money:
    """The VAT part of a refund's `fee_back`, for an order whose fee `fee` held `vat` (zero for orders sold
    before VAT was recorded: their refunds give back revenue only, as their purchase posted)."""
    return in_proportion(vat, fee - vat, vat_back_before, fee_back_before, fee_back)
