"""Net revenue: what an instructor's ledger received over a period; co-instructors' parts of a sale."""

from collections.abc import Mapping, Sequence

from chalicelib.money import Money


def net_revenue(counts: Mapping[str, int]) -> int:
    """The instructor's shares of sales (`net`) minus the instructor's parts of refunds (`refund_net`), in
    minor units, from a period's counts (the dashboard's aggregates)."""
    return counts["net"] - counts["refund_net"]


# --- co-instructors' revenue splits -----------------------------------------------------------------
# A course's owner may share its instructor share with co-instructors, in basis points of it. The parties are
# (instructor id, bps) pairs, the owner first; an order keeps the split it was sold under.

SPLIT_BASIS_POINTS = 10_000
MAX_PARTIES = 5  # Udemy's and Thinkific's co-instructor shares are typically 2 or 3 parties


def split_problem(owner_id: str, shares: Sequence[tuple[str, int]]) -> tuple[str, str] | None:
    """Why `shares` is no split of the owner's course, as (the field, what is wrong), or None: 1 to
    `MAX_PARTIES` parties, each once, each with 1..10000 bps, summing to 10000, the owner among them."""
    if not 1 <= len(shares) <= MAX_PARTIES:
        return "shares", f"1 to {MAX_PARTIES} parties"
    seen: set[str] = set()
    for index, (party, bps) in enumerate(shares):
        if party in seen:
            return f"shares[{index}].instructor_id", "each instructor appears once"
        seen.add(party)
        if not 0 < bps <= SPLIT_BASIS_POINTS:
            return f"shares[{index}].bps", f"1 to {SPLIT_BASIS_POINTS} basis points"
    if owner_id not in seen:
        return "shares", "the course's owner keeps a share"
    if sum(bps for _, bps in shares) != SPLIT_BASIS_POINTS:
        return "shares", f"the basis points sum to {SPLIT_BASIS_POINTS}"
    return None


def party_shares(share: Money, shares: Sequence[tuple[str, int]], owner_id: str) -> list[Money]:
    """Each party's part of an order's instructor `share`, in the order of `shares`: each co-instructor's exact
    part rounded down, the owner the rest (the remainders), so the parts sum exactly to `share`."""
    parts = [Money(share.amount * bps // SPLIT_BASIS_POINTS, share.currency) for _, bps in shares]
    owner = next(index for index, (party, _) in enumerate(shares) if party == owner_id)
    parts[owner] = share - sum((part for index, part in enumerate(parts) if index != owner), Money.zero(share.currency))
    return parts


def parties_back(parts: Sequence[Money], back_before: Sequence[Money], share_back: Money, owner: int) -> list[Money]:
    """What each party gives back of a refund's `share_back`, for parties whose parts of the order's share are
    `parts` and who gave back `back_before` so far. In proportion over the running total, by the rule of
    `party_shares` (once the refunds took S of the share, a co-instructor gave back their exact part of S
    rounded down), kept within what is left of each party; units the bounds leave over go to (or come from)
    the owner first, then the others in order. Sums exactly to `share_back`; the last refund returns exactly
    what is left of each party."""
    total, given = sum(parts, Money.zero(share_back.currency)), sum(back_before, Money.zero(share_back.currency))
    if not total.amount:
        return [Money.zero(share_back.currency) for _ in parts]
    after = given + share_back
    left = [part - before for part, before in zip(parts, back_before, strict=True)]
    targets = [Money(after.amount * part.amount // total.amount, share_back.currency) for part in parts]
    targets[owner] = after - sum((t for i, t in enumerate(targets) if i != owner), Money.zero(share_back.currency))
    back = [Money(max(0, min((target - before).amount, room.amount)), share_back.currency)
            for target, before, room in zip(targets, back_before, left, strict=True)]
    order = [owner, *(index for index in range(len(parts)) if index != owner)]
    missing = (share_back - sum(back, Money.zero(share_back.currency))).amount
    for index in order:  # too little: from those with room left; too much: back from those who gave
        step = min(missing, (left[index] - back[index]).amount) if missing > 0 else max(missing, -back[index].amount)
        back[index] = Money(back[index].amount + step, share_back.currency)
        missing -= step
    return back


# A checkout pays every order of its cart in ONE DynamoDB transaction (at most 100 items) with one ledger transfer
# of at most 16 legs (services/ledger.py): gateway clearing, the held wallet part, platform revenue, VAT payable and
# one pending account per party. So one cart's sales are shared by at most 12 instructors, owners and
# co-instructors together; each co-instructor's part of a course also adds their view of its dashboard day, so
# at most 12 such (course, co-instructor) parts too (77 + 1 items for 10 courses of 10 owners, 3 per further party,
# 1 per part: within 100).
MAX_CART_PARTIES = 12


def cart_parties_problem(splits: Sequence[tuple[str, Sequence[tuple[str, int]]]]) -> str | None:
    """Why a cart of courses, given as (owner, revenue split) each, cannot be paid in one transaction, or None."""
    parties = {owner for owner, _ in splits} | {party for _, shares in splits for party, _ in shares}
    co_parts = sum(sum(1 for party, _ in shares if party != owner) for owner, shares in splits)
    if len(parties) > MAX_CART_PARTIES or co_parts > MAX_CART_PARTIES:
        return (f"the sales of one checkout are shared by at most {MAX_CART_PARTIES} instructors (owners and "
                "co-instructors): buy some of these courses in another checkout")
    return None
