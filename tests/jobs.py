"""Helpers for the job tests: invoke scheduled functions and queue workers as Lambda would, move the clock."""

import contextlib
import json
from datetime import UTC, datetime, timedelta

from chalicelib import clock


def scheduled_event(functions, name):
    """The EventBridge event a schedule delivers to the function `name`."""
    return functions.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={},
        resources=[f"arn:aws:events:ap-northeast-2:123456789012:rule/classpay-test-{name}"])


def run_scheduled(functions, name):
    """Invoke the scheduled function `name` (its job runs as of `clock.now()`); its JSON summary."""
    payload = functions.lambda_.invoke(name, scheduled_event(functions, name)).payload
    json.dumps(payload)  # what Lambda does with a handler's return value: it must be JSON
    return payload


@contextlib.contextmanager
def clock_at(monkeypatch, moment: datetime):
    """`clock.now()` is `moment` inside (the app's one clock; tokens and ids keep real time)."""
    with monkeypatch.context() as patch:
        patch.setattr(clock, "now", lambda: moment)
        yield moment


def later(**delta) -> datetime:
    return datetime.now(UTC) + timedelta(**delta)
