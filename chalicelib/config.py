"""Stage configuration, read from the environment when first needed.

Nothing here is read at import time: the Chalice test client applies a stage's
environment variables only while a request runs, and on Lambda the values are
fixed for the life of the container. Resource names come from
`.chalice/config.json` (per stage) or from the deployment template; AWS
endpoints come from the standard `AWS_ENDPOINT_URL*` variables, never from here.
"""

import os


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"environment variable {name} is not set")
    return value


def stage() -> str:
    return _required("STAGE")


def table_name(short_name: str) -> str:
    """The DynamoDB table for a model, e.g. `classpay-local-users`."""
    return _required("TABLE_PREFIX") + short_name


def user_pool_id() -> str:
    return _required("USER_POOL_ID")


def user_pool_client_id() -> str:
    return _required("USER_POOL_CLIENT_ID")


def cors_allowed_origins() -> frozenset[str]:
    """Origins allowed to call the API from a browser; `*` allows any."""
    raw = os.environ.get("CORS_ALLOWED_ORIGINS", "")
    return frozenset(origin.strip() for origin in raw.split(",") if origin.strip())


def lesson_bucket() -> str:
    return _required("LESSON_BUCKET")


def upload_url_seconds() -> int:
    """How long a presigned lesson upload stays valid."""
    return int(os.environ.get("UPLOAD_URL_SECONDS", "900"))


def max_upload_bytes() -> int:
    return int(os.environ.get("MAX_UPLOAD_BYTES", str(5 * 1024**3)))


def clock_override_allowed() -> bool:
    """Whether `POST /admin/jobs/{name}/run` may take `{"now": ...}` (never in prod)."""
    return os.environ.get("ALLOW_CLOCK_OVERRIDE", "false") == "true"


def lesson_url_seconds() -> int:
    """How long a presigned lesson download (`/courses/{id}/lessons/{id}/content`) stays valid."""
    return int(os.environ.get("LESSON_URL_SECONDS", "300"))


def join_opens_minutes() -> int:
    """How long before a live session starts its join details are shown to those who booked it."""
    return int(os.environ.get("SESSION_JOIN_OPENS_MINUTES", "15"))
