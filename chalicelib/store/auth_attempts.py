"""Attempt counters behind the auth routes' per-client limits (chalicelib/services/attempt_limits.py).

Table `<prefix>auth_attempts`
    hash key  counter_key   `<what>:<client key>:<window start, epoch seconds>`, e.g.
                            `login:<sha256 of source IP and email>:1764657000`; no address or email in clear
    attributes attempts (a number), expires_at (TTL: the window's end plus a margin; DynamoDB removes it)

Access patterns
    take an attempt if the window has room . UpdateItem ADD attempts 1 if attempts < limit (refused: the
                                             limit is reached; concurrent attempts cannot overshoot it)
    give an attempt back .................. UpdateItem ADD attempts -1 (a log-in that succeeded)
"""

from datetime import datetime, timedelta

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.exceptions import UpdateError
from pynamodb.models import Model

from chalicelib.store.base import table_meta
from chalicelib.store.transactions import condition_failed

MARGIN = timedelta(minutes=5)


class AuthAttemptItem(Model):
    Meta = table_meta("auth_attempts")

    counter_key = UnicodeAttribute(hash_key=True)
    attempts = NumberAttribute(default=0)
    expires_at = TTLAttribute()


def take(counter_key: str, limit: int, window_end: datetime) -> bool:
    """Count one attempt unless `limit` are already counted in this window; True if counted."""
    item = AuthAttemptItem(counter_key)
    try:
        item.update(
            actions=[AuthAttemptItem.attempts.add(1), AuthAttemptItem.expires_at.set(window_end + MARGIN)],
            condition=AuthAttemptItem.attempts.does_not_exist() | (AuthAttemptItem.attempts < limit),
        )
    except UpdateError as error:
        if condition_failed(error):
            return False
        raise
    return True


def give_back(counter_key: str) -> None:
    AuthAttemptItem(counter_key).update(actions=[AuthAttemptItem.attempts.add(-1)],
                                        condition=AuthAttemptItem.attempts > 0)
