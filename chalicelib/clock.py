"""The one clock. Jobs take `now` from here, so tests and `{"now": ...}` can move it."""

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)


def to_rfc3339(moment: datetime) -> str:
    """RFC 3339 UTC with a `Z`, second precision plus milliseconds."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
