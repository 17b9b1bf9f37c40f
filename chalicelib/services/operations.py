"""Operator actions: running a job now, optionally as of another time (outside prod)."""

from collections.abc import Callable
from datetime import datetime

from chalicelib import clock, config, errors


def run_job(run: Callable[[datetime], dict], as_of: datetime | None) -> tuple[datetime, dict]:
    """Run a job's body as of `as_of` (refused where the stage's clock may not move), else now."""
    if as_of is not None and not config.clock_override_allowed():
        raise errors.ValidationFailed.on("now", "moving the clock is refused on this stage")
    now = as_of or clock.now()
    return now, run(now)
