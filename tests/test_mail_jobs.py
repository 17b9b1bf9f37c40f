"""Jobs that mail: live-session reminders (once per learner and session), the instructor digest (its
contents, once a day), and the reconciliation job (recorded, measured, admins told of a violation)."""

import json
import os
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from chalicelib.services import ledger
from chalicelib.store import ledger as ledger_store
from tests.support.courses import make_course
from tests.support.jobs import clock_at, later, run_scheduled
from tests.support.mail import mails_to
from tests.support.money import assert_reconciled, buy, confirm, course_with_session, refund, start_topup


def learner_with_email(api, amount=200_000, name="Lena"):
    email, _ = api.sign_up(("learner",), name)
    token = api.log_in(email)["access_token"]
    assert confirm(api, token, start_topup(api, token, amount)).status_code == 200
    return email, token


def _starts_in(minutes):
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat()


# --- reminders -------------------------------------------------------------------------------------

def test_a_booked_learner_is_reminded_once_about_an_hour_before_and_others_are_not(api, functions, monkeypatch):
    instructor = api.token_for(roles=["instructor"])
    course_id, soon = course_with_session(api, instructor, capacity=5, starts_at=_starts_in(50))
    booked_email, booked = learner_with_email(api)
    refunded_email, refunded = learner_with_email(api)
    assert buy(api, booked, course_id, session_id=soon).status_code == 201
    order = buy(api, refunded, course_id, session_id=soon)
    assert refund(api, refunded, order.json_body["order_id"]).status_code == 200
    later_course, in_three_hours = course_with_session(api, instructor, capacity=5, starts_at=_starts_in(180))
    late_email, late_learner = learner_with_email(api)
    assert buy(api, late_learner, later_course, session_id=in_three_hours).status_code == 201

    first = run_scheduled(functions, "session_reminders")
    assert first["sent"] >= 1
    (reminder,) = mails_to(booked_email)
    assert "live session" in reminder.subject and "Python for Data" in reminder.subject
    assert "KST" in reminder.body and "60 minutes" in reminder.body
    assert mails_to(refunded_email) == [] and mails_to(late_email) == []  # ended enrollment; not within the hour

    again = run_scheduled(functions, "session_reminders")
    with clock_at(monkeypatch, later(minutes=5)):
        run_scheduled(functions, "session_reminders")
    assert again["already_sent"] >= 1
    assert len(mails_to(booked_email)) == 1  # never twice

    with clock_at(monkeypatch, later(hours=2, minutes=10)):  # the other session is now within the hour
        run_scheduled(functions, "session_reminders")
        run_scheduled(functions, "session_reminders")
    assert len(mails_to(late_email)) == 1 and len(mails_to(booked_email)) == 1


def test_a_reminder_that_ses_refused_is_tried_again_by_the_next_run(api, functions, monkeypatch):
    from chalicelib.services import mail

    instructor = api.token_for(roles=["instructor"])
    course_id, session_id = course_with_session(api, instructor, capacity=5, starts_at=_starts_in(30))
    email, learner = learner_with_email(api)
    assert buy(api, learner, course_id, session_id=session_id).status_code == 201
    real_send = mail.send

    def ses_down(*args, **kwargs):
        raise RuntimeError("SES throttled")

    monkeypatch.setattr(mail, "send", ses_down)
    assert run_scheduled(functions, "session_reminders")["failed"] >= 1
    assert mails_to(email) == []
    monkeypatch.setattr(mail, "send", real_send)
    run_scheduled(functions, "session_reminders")
    assert len(mails_to(email)) == 1


def test_reminders_read_the_session_and_booking_indexes_never_scan(api, monkeypatch):
    from chalicelib.services import reminders
    from chalicelib.store.courses import CatalogItem
    from chalicelib.store.enrollments import EnrollmentItem

    def no_scan(*args, **kwargs):
        raise AssertionError("the reminder job must not scan")

    monkeypatch.setattr(CatalogItem, "scan", no_scan)
    monkeypatch.setattr(EnrollmentItem, "scan", no_scan)
    reminders.send_due(later(minutes=1))


# --- the instructor digest -------------------------------------------------------------------------

def test_the_digest_tells_each_instructor_with_activity_their_day_once(api, functions, monkeypatch):
    email, _ = api.sign_up(("instructor",), "Dana Digest")
    instructor = api.log_in(email)["access_token"]
    quiet_email, _ = api.sign_up(("instructor",), "Quiet")
    python = make_course(api, instructor, title="Python for Data", amount=50_000)
    sql = make_course(api, instructor, title="SQL Basics", amount=30_000)
    _, first = learner_with_email(api)
    _, second = learner_with_email(api)
    assert buy(api, first, python).status_code == 201
    assert buy(api, second, python).status_code == 201
    sql_order = buy(api, first, sql)
    assert refund(api, first, sql_order.json_body["order_id"]).status_code == 200
    assert api.post(f"/courses/{python}/reviews", {"rating": 5, "text": "Clear and practical"},
                    token=first).status_code == 201
    for title in ("Pandas or polars?", "Is SQL covered?"):
        assert api.post(f"/courses/{python}/questions", {"title": title, "body": "Thanks!"},
                        token=second).status_code == 201

    with clock_at(monkeypatch, later(hours=1)):
        result = run_scheduled(functions, "instructor_digest")
        again = run_scheduled(functions, "instructor_digest")
    assert result["sent"] >= 1 and result["instructors_looked_at"] >= 1
    assert again["already_sent"] >= 1
    (digest,) = mails_to(email)
    assert digest.subject == "[classpay] Your day: 3 new enrollments, ₩104,000"
    body = digest.body
    assert "Hi Dana Digest" in body
    assert "- New enrollments: 3" in body
    assert "- Revenue: ₩104,000 (your share of ₩130,000 in sales)" in body
    assert "- Refunds: 1 (₩30,000 returned to learners)" in body
    assert "- New reviews: 1" in body and "- Unanswered questions: 2 (2 new)" in body
    assert "  Python for Data: 2 new, ₩80,000" in body and "  SQL Basics: 1 new, ₩24,000" in body
    assert mails_to(quiet_email) == []


def test_a_digest_run_that_could_not_mail_everyone_fails_and_its_retry_mails_only_the_rest(api, functions,
                                                                                            monkeypatch):
    """Lambda retries a failed asynchronous invocation: the retry sends what the first run could not,
    and nobody gets a digest twice."""
    from chalicelib import errors
    from chalicelib.services import mail

    instructors = []
    for name in ("Ari", "Bo"):
        email, _ = api.sign_up(("instructor",), name)
        token = api.log_in(email)["access_token"]
        _, learner = learner_with_email(api)
        assert buy(api, learner, make_course(api, token, title=f"{name}'s course", amount=20_000)).status_code == 201
        instructors.append(email)
    unlucky = instructors[1]
    real_send = mail.send

    def send_failing_once_for_bo(message, **kwargs):
        if message.to_address == unlucky and not getattr(send_failing_once_for_bo, "failed", False):
            send_failing_once_for_bo.failed = True
            raise RuntimeError("SES throttled")
        return real_send(message, **kwargs)

    monkeypatch.setattr(mail, "send", send_failing_once_for_bo)
    with clock_at(monkeypatch, later(hours=1)):
        with pytest.raises(errors.ServiceUnavailable, match="could not be sent"):
            run_scheduled(functions, "instructor_digest")
        assert len(mails_to(instructors[0])) == 1 and mails_to(unlucky) == []
        retried = run_scheduled(functions, "instructor_digest")
    assert retried["sent"] == 1 and retried["failed"] == 0 and retried["already_sent"] >= 1
    assert [len(mails_to(email)) for email in instructors] == [1, 1]


def test_an_instructor_whose_day_brought_only_a_review_gets_a_digest_and_old_questions_alone_do_not(
        api, functions, monkeypatch):
    email, _ = api.sign_up(("instructor",), "Rita Reviewed")
    instructor = api.log_in(email)["access_token"]
    course_id = make_course(api, instructor, title="Watercolour", amount=20_000)
    _, learner = learner_with_email(api)
    assert buy(api, learner, course_id).status_code == 201
    assert api.post(f"/courses/{course_id}/questions", {"title": "Which paper?", "body": "Cold press?"},
                    token=learner).status_code == 201

    with clock_at(monkeypatch, later(days=1, hours=1)):  # the sale and the question are a day old: nothing new
        looked_at = run_scheduled(functions, "instructor_digest")["instructors_looked_at"]
    assert looked_at >= 1 and mails_to(email) == []

    with clock_at(monkeypatch, later(days=1, hours=2)):
        assert api.post(f"/courses/{course_id}/reviews", {"rating": 4, "text": "Lovely"},
                        token=learner).status_code == 201
    with clock_at(monkeypatch, later(days=1, hours=3)):  # the review is new, the sale is not
        run_scheduled(functions, "instructor_digest")
    (digest,) = mails_to(email)
    assert digest.subject == "[classpay] Your day: 0 new enrollments, ₩0"
    assert "- New reviews: 1" in digest.body and "- Unanswered questions: 1 (0 new)" in digest.body


def test_an_instructor_whose_learners_all_enrolled_free_still_hears_of_their_questions(api, functions):
    email, _ = api.sign_up(("instructor",), "Fred Free")
    instructor = api.log_in(email)["access_token"]
    course_id = make_course(api, instructor, title="Free Sketching", amount=10_000)
    assert api.post(f"/instructor/courses/{course_id}/coupons",
                    {"code": "gift", "kind": "percent", "value": 100, "max_redemptions": 5,
                     "expires_at": later(days=2).isoformat()}, token=instructor).status_code == 201
    _, learner = learner_with_email(api)
    order = buy(api, learner, course_id, coupon_code="GIFT")
    assert order.status_code == 201 and order.json_body["total"]["amount"] == 0  # no money moved: no ledger account
    assert api.post(f"/courses/{course_id}/questions", {"title": "Pencils?", "body": "Which ones?"},
                    token=learner).status_code == 201

    run_scheduled(functions, "instructor_digest")
    (digest,) = mails_to(email)
    assert "- New enrollments: 1" in digest.body and "- Unanswered questions: 1 (1 new)" in digest.body


def test_the_digest_counts_only_the_last_day(api, monkeypatch):
    from chalicelib.services import digest

    instructor = api.token_for(roles=["instructor"])
    user_id = api.get("/me", token=instructor).json_body["user_id"]
    _, learner = learner_with_email(api)
    assert buy(api, learner, make_course(api, instructor, amount=20_000)).status_code == 201
    assert digest.day_of(user_id, later(hours=-1), later(hours=1)).new_enrollments == 1
    tomorrow = digest.day_of(user_id, later(days=1), later(days=2))
    assert tomorrow.new_enrollments == 0 and not tomorrow.has_activity


# --- reconciliation --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def admin(api):
    """An admin whose address we know: (email, token)."""
    email, _ = api.sign_up(("learner",), "Admin")
    boto3.client("cognito-idp").admin_add_user_to_group(
        UserPoolId=os.environ["USER_POOL_ID"], Username=email, GroupName="admins")
    return email, api.log_in(email)["access_token"]


def _metric_lines(text):
    return [json.loads(line) for line in text.splitlines() if '"ReconciliationFailures"' in line]


def test_the_reconciliation_job_records_an_ok_run_and_emits_a_zero(api, functions, admin, capsys):
    _, token = admin
    result = run_scheduled(functions, "reconciliation")
    assert result["ok"] is True and result["violations"] == 0 and result["admins_mailed"] == 0
    (metric,) = _metric_lines(capsys.readouterr().out)
    assert metric["ReconciliationFailures"] == 0
    assert metric["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Stage"]]  # no extra dimensions
    runs = api.get("/admin/reconciliation/runs?limit=1", token=token)
    assert runs.status_code == 200
    assert runs.json_body[0]["ok"] is True and runs.json_body[0]["checked_at"] == result["checked_at"]
    assert api.get("/admin/reconciliation/runs", token=api.token_for()).status_code == 403


def test_a_violation_is_recorded_measured_and_mailed_to_each_admin_once(api, functions, admin, capsys):
    email, token = admin
    learner = api.token_for()
    assert confirm(api, learner, start_topup(api, learner, 5_000)).status_code == 200
    user_id = api.get("/me", token=learner).json_body["user_id"]
    account = ledger_store.LedgerAccountItem.get(ledger.learner_wallet(user_id, "KRW").account_id)
    account.update(actions=[ledger_store.LedgerAccountItem.balance.add(-6_000)])  # what nothing may ever do
    try:
        result = run_scheduled(functions, "reconciliation")
        again = run_scheduled(functions, "reconciliation")
    finally:
        account.update(actions=[ledger_store.LedgerAccountItem.balance.add(6_000)])
    assert result["ok"] is False and result["violations"] >= 2 and result["admins_mailed"] >= 1
    assert again["admins_mailed"] == 0  # told once a day
    assert [m["ReconciliationFailures"] for m in _metric_lines(capsys.readouterr().out)] == [1, 1]
    (alert,) = mails_to(email)
    assert alert.subject.startswith("[classpay] Reconciliation FAILED") and account.account_id in alert.body
    latest = api.get("/admin/reconciliation/runs?limit=1", token=token).json_body[0]
    assert latest["ok"] is False and latest["violation_count"] == result["violations"]
    assert {v["invariant"] for v in latest["violations"]} >= {"balance_equals_entries", "not_negative"}
    assert_reconciled(api, token)
