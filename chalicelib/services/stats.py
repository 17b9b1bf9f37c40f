"""Counting events into the dashboard's daily aggregates, on the instructor's calendar.

Sales and refunds count per party of the order's revenue split (`sale_counts`, `refund_counts`): the course's
day gets the course's whole figures; each party's own day (and a co-instructor's day of the course) gets the
sale's figures with `net`/`refund_net` their own part, so each party's net revenue is what their ledger
received (reconciliation checks it).

Each use case that changes a dashboard figure (purchase, refund, completion, review,
question, first instructor answer) calls `add_event` with its own UnitOfWork, so the
count commits or fails with the event. The day is the event's calendar day in the
instructor's time zone (their profile's `timezone`, else `DASHBOARD_TIMEZONE`, Asia/Seoul).
"""

from collections.abc import Mapping
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chalicelib import config
from chalicelib.store import daily_stats, users

if TYPE_CHECKING:  # the orders' models stay off the cold start (tests/test_conventions.py)
    from chalicelib.store.orders import Order, RefundPart
from chalicelib.store.transactions import UnitOfWork


def zone(name: str | None) -> tzinfo:
    """The named zone, or the default one (an unknown name stored earlier falls back to the default)."""
    try:
        return ZoneInfo(name or config.default_timezone())
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(config.default_timezone())


def zone_of(instructor_id: str) -> tzinfo:
    profile = users.get_profile(instructor_id)
    return zone(profile.timezone if profile else None)


def day_in(moment: datetime, tz: tzinfo) -> str:
    return moment.astimezone(tz).date().isoformat()


def add_event(uow: UnitOfWork, *, course_id: str, instructor_id: str, at: datetime, currency: str | None = None,
              tz: tzinfo | None = None, **counts: int) -> None:
    """Count an event on the course's and the instructor's day (two small updates in `uow`). `tz`: the
    instructor's zone when the caller has it at hand (a purchase, from the course); else the profile's."""
    daily_stats.add_counts(uow, course_id=course_id, instructor_id=instructor_id,
                           day=day_in(at, tz or zone_of(instructor_id)), counts=counts, currency=currency)


# (scope, the instructor on whose calendar it is counted, counts)
ScopeCounts = tuple[str, str, dict[str, int]]


def _per_party(order: "Order", counts: dict[str, int], net_name: str, whole: int,
               parts: list[tuple[str, int]]) -> list[ScopeCounts]:
    rows = [(daily_stats.course_scope(order.course_id), order.instructor_id, {**counts, net_name: whole})]
    for party, amount in parts:
        rows.append((daily_stats.instructor_scope(party), party, {**counts, net_name: amount}))
        if party != order.instructor_id:  # a co-instructor's view of the course: its figures, their part
            rows.append((daily_stats.course_party_scope(order.course_id, party), party, {**counts, net_name: amount}))
    return rows


def sale_counts(order: "Order") -> list[ScopeCounts]:
    """The dashboard counts of a sale, for the course and for each party of its revenue split."""
    counts = {"gross": order.total.amount, "fee": order.platform_fee.amount, "orders": 1, "enrollments": 1}
    return _per_party(order, counts, "net", order.instructor_share.amount,
                      [(party.instructor_id, party.amount.amount) for party in order.parties])


def refund_counts(order: "Order", part: "RefundPart") -> list[ScopeCounts]:
    """The dashboard counts of a refund, for the course and for each party (their part of `share_back`)."""
    counts = {"refunds": 1, "refunded": part.amount.amount, "refund_fee": part.fee_back.amount}
    return _per_party(order, counts, "refund_net", part.share_back.amount,
                      [(party, amount.amount) for party, amount in order.parts_back(part)])


def add_counts(uow: UnitOfWork, rows: list[ScopeCounts], at: datetime, currency: str,
               zones: Mapping[str, tzinfo] | None = None) -> None:
    """Count `rows` on each scope's day in its instructor's zone (`zones` when the caller has them at hand,
    else the profile's), one update per scope and day however many rows fall on it."""
    zones = dict(zones or {})
    merged: dict[tuple[str, str], dict[str, int]] = {}
    for scope, instructor_id, counts in rows:
        if instructor_id not in zones:
            zones[instructor_id] = zone_of(instructor_id)
        summed = merged.setdefault((scope, day_in(at, zones[instructor_id])), {})
        for name, value in counts.items():
            summed[name] = summed.get(name, 0) + value
    for (scope, day), counts in merged.items():
        moves = {name: value for name, value in counts.items() if value}
        if moves:
            daily_stats.add_scope_counts(uow, scope, day, moves, currency)
