"""Every 5 minutes: remind booked learners of live sessions starting within the hour (services/reminders.py)."""

from datetime import datetime

from chalicelib.services import reminders


def run(now: datetime) -> reminders.ReminderResult:
    return reminders.send_due(now)
