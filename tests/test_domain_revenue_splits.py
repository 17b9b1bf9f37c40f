"""Co-instructors' revenue splits: the split's rules, each party's part of a sale (remainders to the owner),
and each party's part of refunds, exact per order under Hypothesis."""

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.revenue import MAX_PARTIES, cart_parties_problem, parties_back, party_shares, split_problem
from chalicelib.money import Money


def krw(amount):
    return Money(amount, "KRW")


def test_a_split_names_its_problem_field():
    assert split_problem("owner", [("owner", 7000), ("co", 3000)]) is None
    assert split_problem("owner", [("owner", 10_000)]) is None
    assert split_problem("owner", [("owner", 7000), ("co", 2000)]) == ("shares", "the basis points sum to 10000")
    assert split_problem("owner", [("co", 10_000)]) == ("shares", "the course's owner keeps a share")
    assert split_problem("owner", [("owner", 10_000), ("co", 0)])[0] == "shares[1].bps"
    assert split_problem("owner", [("owner", 5000), ("owner", 5000)])[0] == "shares[1].instructor_id"
    assert split_problem("owner", [])[0] == "shares"
    assert split_problem("owner", [(f"p{i}", 1) for i in range(MAX_PARTIES + 1)])[0] == "shares"


def test_a_70_30_split_gives_the_remainder_to_the_owner():
    assert party_shares(krw(8_001), [("owner", 7000), ("co", 3000)], "owner") == [krw(5_601), krw(2_400)]
    assert party_shares(krw(8_001), [("co", 3000), ("owner", 7000)], "owner") == [krw(2_400), krw(5_601)]


splits = st.lists(st.integers(1, 10_000), min_size=1, max_size=MAX_PARTIES).filter(
    lambda weights: sum(weights) <= 10_000).map(
    lambda weights: [("owner", 10_000 - sum(weights[1:]))] + [(f"co{i}", bps) for i, bps in enumerate(weights[1:])]
    ).filter(lambda shares: shares[0][1] > 0)


@given(st.integers(0, 10**9), splits)
def test_the_parties_parts_sum_exactly_to_the_share_and_co_instructors_never_get_more_than_their_exact_part(
        share, shares):
    parts = party_shares(krw(share), shares, "owner")
    assert sum(part.amount for part in parts) == share and min(part.amount for part in parts) >= 0
    for part, (_, bps) in zip(parts[1:], shares[1:], strict=True):
        assert part.amount * 10_000 <= share * bps


@given(st.integers(0, 10**9), splits, st.lists(st.integers(1, 10**9), max_size=6), st.booleans())
def test_refunds_take_each_partys_part_back_exactly_and_the_last_returns_the_rest(share, shares, asks, finish):
    share = krw(share)
    parts = party_shares(share, shares, "owner")
    back, taken = [krw(0)] * len(parts), krw(0)
    for ask in [*asks, None] if finish else asks:  # None: the rest
        amount = share - taken if ask is None else krw(min(ask, (share - taken).amount))
        given = parties_back(parts, back, amount, 0)
        assert sum(g.amount for g in given) == amount.amount and min(g.amount for g in given) >= 0
        back, taken = [b + g for b, g in zip(back, given, strict=True)], taken + amount
        assert all(b <= part for b, part in zip(back, parts, strict=True))
    if finish:
        assert back == parts


def test_a_cart_is_shared_by_at_most_12_instructors_so_its_checkout_fits_one_transaction():
    alone = [(f"owner{i}", ()) for i in range(10)]
    assert cart_parties_problem(alone) is None  # 10 courses of 10 instructors, as before splits
    shared = [(f"owner{i}", ((f"owner{i}", 5000), (f"co{i}", 5000))) for i in range(6)]
    assert cart_parties_problem(shared) is None  # 12 instructors
    assert "at most 12 instructors" in cart_parties_problem([*shared, ("owner6", ())])
    team = (("owner", 6000), ("co1", 1000), ("co2", 1000), ("co3", 1000), ("co4", 1000))
    assert cart_parties_problem([("owner", team)] * 3) is None  # 5 instructors, 12 co-instructor parts
    assert cart_parties_problem([("owner", team)] * 4) is not None  # 16 parts: their dashboard days too many
