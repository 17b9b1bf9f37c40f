"""Scheduled and background jobs, by name: each module's `run(now)` is one call to its service.

A job returns a summary of what it did and is idempotent and resumable: running it twice, or two
copies at once, changes nothing more than running it once (its service says how). `app.py` wires
each to an EventBridge schedule; `POST /admin/jobs/{name}/run` (api/admin.py) and the local clock of
`make run` find them in `JOBS`.
"""

import dataclasses
import importlib
import json
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Job:
    name: str
    module: str  # its schedule (deployed, and on `make run`'s clock) is app.py's

    def run(self, now: datetime) -> dict:
        result = importlib.import_module(self.module).run(now)
        return dataclasses.asdict(result) if dataclasses.is_dataclass(result) else result


def json_safe(result: dict) -> dict:
    """A job's summary as Lambda can return it (times as RFC 3339 strings): Lambda's runtime
    serializes a handler's return value with `json`, and fails the invocation on a datetime."""
    return json.loads(json.dumps(result, default=lambda value: value.isoformat() if isinstance(
        value, datetime) else str(value)))


JOBS = {job.name: job for job in (
    Job("scheduled_publishing", "chalicelib.jobs.scheduled_publishing"),
    Job("topup_expiry", "chalicelib.jobs.topup_expiry"),
    Job("checkout_expiry", "chalicelib.jobs.checkout_expiry"),
    Job("checkout_recovery", "chalicelib.jobs.checkout_recovery"),
    Job("refund_retry", "chalicelib.jobs.refund_retry"),
    Job("settlement", "chalicelib.jobs.settlement"),
    Job("payouts", "chalicelib.jobs.payouts"),
    Job("session_reminders", "chalicelib.jobs.session_reminders"),
    Job("instructor_digest", "chalicelib.jobs.instructor_digest"),
    Job("reconciliation", "chalicelib.jobs.reconciliation"),
)}
