"""Splitting an amount into parts: the one rounding rule for money that is divided.

`split(total, weights)` gives each part its exact share `total * weight / sum(weights)` rounded down
to the minor unit, then hands the units left over, one each, to the parts with the largest
remainders (ties: the earlier part). The parts always sum exactly to the total, and each is within
one minor unit of its exact share. With two parts this is rounding half up:
`split(total, [bps, 10000 - bps])[0] == total.share(bps)` for any total of zero or more, which is how
the platform fee is taken (`domain/fees.py`). A negative total splits as its opposite, negated.
"""

from collections.abc import Sequence

from chalicelib.money import Money


def split(total: Money, weights: Sequence[int]) -> list[Money]:
    """`total` divided in proportion to `weights` (integers, none negative, not all zero), largest remainder."""
    if not weights or any(weight < 0 for weight in weights) or sum(weights) == 0:
        raise ValueError(f"weights must be integers of zero or more, not all zero: {list(weights)}")
    if total.amount < 0:
        return [-part for part in split(-total, weights)]
    whole = sum(weights)
    floors = [total.amount * weight // whole for weight in weights]
    remainders = [total.amount * weight % whole for weight in weights]
    left_over = total.amount - sum(floors)
    # Largest remainder first; among equal remainders, the earlier part first.
    for index in sorted(range(len(weights)), key=lambda i: -remainders[i])[:left_over]:
        floors[index] += 1
    return [Money(amount, total.currency) for amount in floors]
