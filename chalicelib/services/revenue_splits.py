"""Co-instructors' revenue splits: the owner of a course shares its instructor share with co-instructors.

`PUT` (the course's owner only) sets the split of sales from then on; each order records the split it was
sold under (`Order.shares`), so a change never touches earlier sales. `GET` shows the current split to the
owner and the co-instructors; to anyone else the course is not found (404). The rules of a split and each
party's part are in `domain/revenue.py`; what each party's money does after the sale (refunds, settlement,
payouts, statements, dashboard) is per party in their own services.
"""

from dataclasses import dataclass

from chalicelib import clock, errors
from chalicelib.domain.courses import owned_by
from chalicelib.domain.revenue import SPLIT_BASIS_POINTS, party_shares, split_problem
from chalicelib.money import Money
from chalicelib.roles import INSTRUCTORS, Caller
from chalicelib.services.course_access import own_course
from chalicelib.store import courses, users
from chalicelib.store.orders import PartyShare


@dataclass(frozen=True)
class RevenueSplit:
    course_id: str
    owner_id: str
    shares: tuple[tuple[str, int], ...]  # (instructor id, bps), the owner first


def _split_of(course: courses.Course) -> RevenueSplit:
    return RevenueSplit(course.course_id, course.instructor_id,
                        course.revenue_split or ((course.instructor_id, SPLIT_BASIS_POINTS),))


def revenue_split(caller: Caller, course_id: str) -> RevenueSplit:
    """The course's current split, for its owner and its co-instructors."""
    course = courses.get_course(course_id)
    if course is None or not (owned_by(course, caller.user_id)
                              or caller.user_id in {party for party, _ in course.revenue_split}):
        raise errors.NotFound(f"No course {course_id} in your studio")
    return _split_of(course)


def set_revenue_split(caller: Caller, course_id: str, shares: list[tuple[str, int]]) -> RevenueSplit:
    """Set the split of the course's sales from now on (its owner only): the owner keeps a share, the
    basis points sum to 10000, and each co-instructor is an existing user with the instructor role."""
    course = own_course(caller, course_id)
    problem = split_problem(course.instructor_id, shares)
    if problem is not None:
        raise errors.ValidationFailed.on(*problem)
    for index, (party, _) in enumerate(shares):
        if party == course.instructor_id:
            continue
        profile = users.get_profile(party)
        if profile is None or INSTRUCTORS not in profile.groups:
            raise errors.ValidationFailed.on(f"shares[{index}].instructor_id", "no instructor with this id")
    owner_first = sorted(shares, key=lambda share: share[0] != course.instructor_id)
    saved = courses.write_revenue_split(
        course, owner_first, clock.now(),
        on_fail=lambda: errors.NotFound(f"No course {course_id} in your studio"))
    return _split_of(saved)


def order_shares(course: courses.Course, instructor_share: Money) -> tuple[PartyShare, ...]:
    """The split a sale of `course` is made under, each party's part of `instructor_share` (remainders to the
    owner); () when the owner has it all (the order then reads as all the course's instructor's)."""
    if len(course.revenue_split) < 2:
        return ()
    parts = party_shares(instructor_share, course.revenue_split, course.instructor_id)
    return tuple(PartyShare(party, bps, part) for (party, bps), part in zip(course.revenue_split, parts, strict=True))
