"""Per-client limits on the auth routes, the same on every stage: counters in DynamoDB (store.auth_attempts).

Log-in: at most `LOGIN_FAILURES_PER_WINDOW` failed log-ins per source IP and email in a fixed window of
`LOGIN_WINDOW_SECONDS`; the next attempt, right password or not, is 429 `TOO_MANY_REQUESTS` with Retry-After
(the seconds left in the window). Every attempt takes a slot before Cognito is asked (so concurrent guesses
cannot overshoot) and a successful one gives it back. Keyed by IP and email together: an attacker cannot lock
a victim out from elsewhere, and one address cannot spray guesses at one account. Cognito's own lockout
(per user, whatever the address) and API Gateway's throttling (deployed) come on top: README, "Security".

Keys are hashed (no address or email stored in clear) and counters expire through the table's TTL.
"""

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from chalicelib import clock, config, errors
from chalicelib.store import auth_attempts


def _window(now: datetime, seconds: int) -> tuple[int, datetime]:
    start = int(now.timestamp()) // seconds * seconds
    return start, datetime.fromtimestamp(start, UTC) + timedelta(seconds=seconds)


def _client_key(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


@contextmanager
def login_attempt(source_ip: str, email: str) -> Iterator[None]:
    """Around one log-in: refused (429) when the window is full; the slot is kept if the log-in fails."""
    now = clock.now()
    seconds = config.login_window_seconds()
    start, end = _window(now, seconds)
    key = f"login:{_client_key(source_ip, email.strip().lower())}:{start}"
    if not auth_attempts.take(key, config.login_failures_per_window(), end):
        raise errors.TooManyRequests("Too many failed log-ins for this account from this address",
                                     retry_after=int((end - now).total_seconds()) + 1)
    try:
        yield
    except errors.InvalidCredentials:
        raise  # a failure: it counts
    except BaseException:
        auth_attempts.give_back(key)  # not a guess (e.g. Cognito unreachable): it does not count
        raise
    auth_attempts.give_back(key)
