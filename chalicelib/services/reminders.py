"""Live-session reminders: one mail per booked learner per session, about an hour before it starts, never twice.

Every 5 minutes the job looks at the sessions starting within the next `REMINDER_LEAD_MINUTES`
(60) through the `sessions_by_hour` index (one Query per start hour the window touches, two at
most), and at each session's booked learners through the enrollments' sparse `by_session`
index. Each mail is claimed first under `reminder:<session_id>:<learner_id>` (services/mail.py):
a session is seen by up to 12 runs inside its window, and only the first sends. A session booked
less than an hour ahead is reminded at the next run.
"""

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from chalicelib import clock, config
from chalicelib.domain.calendar import business_time
from chalicelib.services import mail
from chalicelib.store import courses, enrollments, users

log = logging.getLogger("classpay.jobs.reminders")


@dataclass(frozen=True)
class ReminderResult:
    sessions: int
    sent: int
    already_sent: int
    failed: int


def _hours(start: datetime, end: datetime) -> list[str]:
    """The `YYYY-MM-DDTHH` (UTC) partitions from `start` to `end`."""
    hour = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    hours = []
    while hour <= end:
        hours.append(clock.to_rfc3339(hour)[:13])
        hour += timedelta(hours=1)
    return hours


def _mail(session: courses.LiveSession, to_address: str, name: str) -> mail.Mail:
    starts = business_time(datetime.fromisoformat(session.starts_at.replace("Z", "+00:00")))
    return mail.Mail(
        to_address=to_address,
        subject=f"[classpay] {session.course_title}: live session at {starts:%H:%M} (KST)",
        text=(f"Hi {name},\n\nYour live session of \"{session.course_title}\" starts at "
              f"{starts:%Y-%m-%d %H:%M} KST ({session.starts_at} UTC) and runs {session.duration_minutes} "
              f"minutes.\n\nSee you there!\nclasspay\n"),
    )


def send_due(now: datetime | None = None) -> ReminderResult:
    now = now or clock.now()
    end = now + timedelta(minutes=config.reminder_lead_minutes())
    low, high = clock.to_rfc3339(now), clock.to_rfc3339(end)
    sessions = sent = already = failed = 0
    for hour in _hours(now, end):
        for session in courses.sessions_starting(hour):
            if not low < session.starts_at <= high:
                continue
            sessions += 1
            for learner_id in enrollments.booked_learners(session.session_id):
                profile = users.get_profile(learner_id)
                if profile is None:
                    continue
                try:
                    if mail.send_once(f"reminder:{session.session_id}:{learner_id}",
                                      _mail(session, profile.email, profile.name), kind="session_reminder",
                                      recipient_id=learner_id, now=now):
                        sent += 1
                    else:
                        already += 1
                except Exception:  # noqa: BLE001 - one mail failing must not stop the others; retried next run
                    log.exception("reminder not sent", extra={"fields": {"session_id": session.session_id,
                                                                         "learner_id": learner_id}})
                    failed += 1
    log.info("reminders: %d sessions, %d sent, %d sent before, %d failed", sessions, sent, already, failed)
    return ReminderResult(sessions, sent, already, failed)
