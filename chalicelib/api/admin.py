"""Admin tools: run a job now."""

import msgspec

from chalicelib import errors
from chalicelib.api.routing import ADMIN, ApiBlueprint, Call
from chalicelib.api.schemas import AwareDateTime, Input, Timestamp
from chalicelib.jobs import JOBS
from chalicelib.services import operations

admin_api = ApiBlueprint(__name__, tag="admin")


class RunJobRequest(Input):
    now: AwareDateTime | None = None


class JobRun(msgspec.Struct):
    job: str
    ran_at: Timestamp
    result: dict


@admin_api.endpoint(
    "POST", "/admin/jobs/{job_name}/run", policy=ADMIN, body=RunJobRequest, body_required=False, response=JobRun,
    summary="Run a scheduled job now; outside prod, `now` runs it as of that time",
    errors=(errors.NotFound, errors.ServiceUnavailable),  # 503: a digest run that could not mail everyone
)
def run_job(call: Call, job_name: str):
    job = JOBS.get(job_name)
    if job is None:
        raise errors.NotFound(f"No job {job_name}; jobs are " + ", ".join(sorted(JOBS)))
    ran_at, result = operations.run_job(job.run, call.body.now)
    return JobRun(job=job_name, ran_at=ran_at, result=result)
