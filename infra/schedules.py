"""EventBridge schedule expressions, as `make run`'s local clock reads them from the app itself.

The app declares its schedules once (`@app.schedule(Rate(...))` / `Cron(...)` in `app.py`);
EventBridge runs them when deployed, and `infra/local.py` runs the same expressions locally:
`schedules(app)` lists each scheduled function with its parsed expression.

Supported: `rate(N minute|minutes|hour|hours|day|days)` and `cron(min hour day-of-month month
day-of-week year)` with `*`, `?`, numbers, names (JAN-DEC, SUN-SAT), lists, ranges and steps, in
UTC as EventBridge reads them (day-of-week 1 = SUN). Not supported: `L`, `W`, `#` (nothing in the
app uses them; parsing one raises).
"""

import re
from dataclasses import dataclass
from datetime import datetime

_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\(([^)]*)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
_MONTHS = {name: n for n, name in enumerate(
    ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), start=1)}
_DAYS = {name: n for n, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), start=1)}
# (low, high, names) per cron field
_FIELDS = ((0, 59, {}), (0, 23, {}), (1, 31, {}), (1, 12, _MONTHS), (1, 7, _DAYS), (1970, 2199, {}))


class UnsupportedSchedule(ValueError):
    pass


@dataclass(frozen=True)
class Rate:
    seconds: int

    def is_due(self, last_run: float | None, monotonic_now: float) -> bool:
        return last_run is None or monotonic_now - last_run >= self.seconds


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    days_of_month: frozenset[int] | None  # None: `?` or `*` (any)
    months: frozenset[int]
    days_of_week: frozenset[int] | None
    years: frozenset[int]

    def matches(self, moment: datetime) -> bool:
        """Whether the schedule fires in `moment`'s minute (`moment` in UTC)."""
        day_of_week = (moment.weekday() + 1) % 7 + 1  # Python: Monday 0; EventBridge: Sunday 1
        return (moment.minute in self.minutes and moment.hour in self.hours and moment.month in self.months
                and moment.year in self.years
                and (self.days_of_month is None or moment.day in self.days_of_month)
                and (self.days_of_week is None or day_of_week in self.days_of_week))


def _values(text: str, low: int, high: int, names: dict[str, int]) -> frozenset[int] | None:
    if text in ("*", "?"):
        return None
    values: set[int] = set()
    for part in text.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            step = int(step_text)
        if part in ("*", ""):
            start, end = low, high
        elif "-" in part:
            first, last = part.split("-", 1)
            start, end = _number(first, names), _number(last, names)
        else:
            start = _number(part, names)
            end = high if step != 1 else start
        if not low <= start <= end <= high or step < 1:
            raise UnsupportedSchedule(f"{text!r} is outside {low}-{high}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def _number(text: str, names: dict[str, int]) -> int:
    if text.upper() in names:
        return names[text.upper()]
    if not text.isdigit():
        raise UnsupportedSchedule(f"{text!r} is not supported here (L, W and # are not)")
    return int(text)


def parse(expression: str) -> Rate | Cron:
    rate = _RATE.match(expression.strip())
    if rate:
        value, unit = int(rate.group(1)), rate.group(2).rstrip("s")
        if value < 1:
            raise UnsupportedSchedule(expression)
        return Rate(value * _UNIT_SECONDS[unit])
    cron = _CRON.match(expression.strip())
    if not cron:
        raise UnsupportedSchedule(f"not a rate() or cron() expression: {expression!r}")
    fields = cron.group(1).split()
    if len(fields) != 6:
        raise UnsupportedSchedule(f"cron() takes 6 fields: {expression!r}")
    parsed = [_values(text, *_FIELDS[n]) for n, text in enumerate(fields)]
    minutes, hours, days_of_month, months, days_of_week, years = parsed
    full = lambda n: frozenset(range(_FIELDS[n][0], _FIELDS[n][1] + 1))  # noqa: E731
    return Cron(minutes or full(0), hours or full(1), days_of_month, months or full(3), days_of_week,
                years or full(5))


def expression_of(source) -> str:
    expression = source.schedule_expression
    return expression if isinstance(expression, str) else expression.to_string()


def schedules(app) -> dict[str, tuple[str, Rate | Cron]]:
    """{scheduled function: (its expression, parsed)} of a Chalice app."""
    return {source.name: (expression_of(source), parse(expression_of(source)))
            for source in app.event_sources if type(source).__name__ == "ScheduledEventConfig"}


def queue_workers(app) -> dict[str, str]:
    """{queue worker function: the queue it consumes} of a Chalice app."""
    return {source.name: source.queue for source in app.event_sources
            if type(source).__name__ == "SQSEventConfig" and source.queue}
