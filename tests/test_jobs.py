"""Jobs run by name through the admin API, as of a chosen time outside prod."""

from datetime import UTC, datetime, timedelta

from tests.support.courses import STUDIO, make_course
from tests.support.jobs import run_scheduled
from tests.support.payouts import take_messages


def test_admin_runs_scheduled_publishing_as_of_a_later_time(api):
    instructor = api.token_for(roles=["instructor"])
    course_id = make_course(api, instructor, publish=False)
    publish_at = datetime.now(UTC) + timedelta(days=1)
    assert api.post(f"{STUDIO}/{course_id}/publish", {"publish_at": publish_at.isoformat()},
                    token=instructor).status_code == 200
    admin = api.admin_token()

    early = api.post("/admin/jobs/scheduled_publishing/run", {"now": datetime.now(UTC).isoformat()}, token=admin)
    assert early.status_code == 200 and course_id not in early.json_body["result"]["published"]
    due = api.post("/admin/jobs/scheduled_publishing/run",
                   {"now": (publish_at + timedelta(minutes=1)).isoformat()}, token=admin)
    assert due.status_code == 200 and course_id in due.json_body["result"]["published"]
    again = api.post("/admin/jobs/scheduled_publishing/run",
                     {"now": (publish_at + timedelta(minutes=6)).isoformat()}, token=admin)
    assert course_id not in again.json_body["result"]["published"]
    assert api.get(f"/courses/{course_id}").status_code == 200


def test_only_admins_run_jobs_and_unknown_jobs_are_404(api):
    assert api.post("/admin/jobs/scheduled_publishing/run", token=api.token_for(roles=["instructor"])).status_code == 403
    assert api.post("/admin/jobs/no_such_job/run", token=api.admin_token()).status_code == 404


def test_prod_refuses_to_move_the_clock(api, monkeypatch):
    from chalicelib import config
    from infra.project import stage_environment

    assert stage_environment("prod")["ALLOW_CLOCK_OVERRIDE"] == "false"
    monkeypatch.setattr(config, "clock_override_allowed", lambda: False)
    response = api.post("/admin/jobs/scheduled_publishing/run", {"now": "2030-01-01T00:00:00Z"},
                        token=api.admin_token())
    assert response.status_code == 422 and response.json_body["errors"][0]["field"] == "now"


def test_every_job_runs_through_its_scheduled_lambda_handler_and_answers_json(functions):
    from chalicelib.jobs import JOBS

    for name in JOBS:
        summary = run_scheduled(functions, name)  # Lambda returns it as JSON: no datetime may be left in it
        assert isinstance(summary, dict) and summary, name
    assert isinstance(run_scheduled(functions, "topup_expiry")["cutoff"], str)
    take_messages()  # the payout job's messages, if any: the payout tests deliver their own
