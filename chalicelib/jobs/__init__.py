"""Scheduled and background jobs: their bodies, by name.

Each job is `run(now) -> dict` (a summary of what it did), idempotent and
resumable: running it twice, or two copies at once, changes nothing more than
running it once. `app.py` wires each to an EventBridge schedule; `POST
/admin/jobs/{name}/run` and the local clock of `make run` call the same bodies.
"""

import dataclasses
import importlib
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Job:
    name: str
    module: str
    every_seconds: int  # how often the local clock of `make run` runs it (the deployed schedule is in app.py)

    def run(self, now: datetime) -> dict:
        result = importlib.import_module(self.module).run(now)
        return dataclasses.asdict(result) if dataclasses.is_dataclass(result) else result


JOBS = {job.name: job for job in (
    Job("scheduled_publishing", "chalicelib.jobs.scheduled_publishing", 300),
    Job("topup_expiry", "chalicelib.jobs.topup_expiry", 300),
)}
