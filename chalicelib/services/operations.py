"""Operator actions: running a job now, optionally as of another time (outside prod)."""

from datetime import datetime

from chalicelib import clock, config, errors
from chalicelib.jobs import JOBS


def run_job(job_name: str, as_of: datetime | None) -> tuple[datetime, dict]:
    job = JOBS.get(job_name)
    if job is None:
        raise errors.NotFound(f"No job {job_name}; jobs are " + ", ".join(sorted(JOBS)))
    if as_of is not None and not config.clock_override_allowed():
        raise errors.ValidationFailed.on("now", "moving the clock is refused on this stage")
    now = as_of or clock.now()
    return now, job.run(now)
