"""`make run`'s local clock reads the app's own schedules, and every job runs on one."""

from datetime import UTC, datetime

import pytest

from chalicelib.jobs import JOBS
from infra import schedules
from infra.schedules import Cron, Rate, UnsupportedSchedule


def test_every_job_has_a_schedule_of_its_name_in_the_app_and_the_payouts_a_queue_worker(chalice_app):
    planned = schedules.schedules(chalice_app)
    assert set(JOBS) <= set(planned)
    assert planned["payouts"][0] == "cron(0 1 ? * MON *)"  # Monday 10:00 in Korea (UTC+9)
    assert planned["session_reminders"][1] == Rate(300) and planned["topup_expiry"][1] == Rate(300)
    assert schedules.queue_workers(chalice_app) == {"payout_worker": "classpay-test-payouts",
                                                    "webhook_worker": "classpay-test-webhooks"}


def test_the_weekly_payout_fires_on_mondays_at_one_utc_only():
    payouts = schedules.parse("cron(0 1 ? * MON *)")
    assert payouts.matches(datetime(2030, 1, 7, 1, 0, tzinfo=UTC))  # a Monday
    assert not payouts.matches(datetime(2030, 1, 7, 1, 1, tzinfo=UTC))
    assert not payouts.matches(datetime(2030, 1, 8, 1, 0, tzinfo=UTC))  # Tuesday
    assert not payouts.matches(datetime(2030, 1, 6, 1, 0, tzinfo=UTC))  # Sunday


def test_daily_crons_lists_ranges_steps_and_names_parse():
    daily = schedules.parse("cron(0 15 * * ? *)")
    assert daily.matches(datetime(2030, 5, 1, 15, 0, tzinfo=UTC)) and not daily.matches(
        datetime(2030, 5, 1, 16, 0, tzinfo=UTC))
    busy = schedules.parse("cron(0/15 9-17 ? JAN-MAR MON-FRI 2030)")
    assert isinstance(busy, Cron) and busy.minutes == frozenset({0, 15, 30, 45})
    assert busy.matches(datetime(2030, 2, 1, 9, 45, tzinfo=UTC))  # a Friday in February
    assert not busy.matches(datetime(2030, 2, 2, 9, 45, tzinfo=UTC))  # Saturday
    assert not busy.matches(datetime(2031, 2, 3, 9, 45, tzinfo=UTC))
    assert schedules.parse("rate(1 hour)") == Rate(3600) and schedules.parse("rate(2 days)") == Rate(172800)


@pytest.mark.parametrize("expression", ["cron(0 1 L * ? *)", "cron(0 1 ? * 2#1 *)", "cron(0 1 * *)",
                                        "rate(0 minutes)", "rate(5 weeks)", "every monday", "cron(61 1 * * ? *)"])
def test_what_the_local_clock_cannot_run_is_refused_when_read(expression):
    with pytest.raises(UnsupportedSchedule):
        schedules.parse(expression)


def test_a_rate_is_due_at_start_and_after_its_period():
    every_five = Rate(300)
    assert every_five.is_due(None, 1000.0)
    assert not every_five.is_due(1000.0, 1299.0) and every_five.is_due(1000.0, 1300.0)
