"""Structured logs: one JSON object a line, with the request id and the caller id, never a secret.

`configure(app.log)` (in `app.py`) makes the app's logger `classpay` (Chalice writes it to
stdout, which CloudWatch Logs keeps as one event a line) and its children (`classpay.http`,
`classpay.jobs`, ...) write JSON, so Logs Insights can filter on any field. The http
middleware binds the request id and the caller id for the length of a request, so every line
logged meanwhile carries them; a job binds its own with `with logs.bound(job="payouts"): ...`.

Structured fields go in `extra`: `log.info("order paid", extra={"fields": {"order_id": order_id}})`.
Secrets never reach a line: a field named like one (password, token, secret, authorization,
payment key, account number) is replaced, and text shaped like a JWT or a bearer credential is
masked wherever it appears, exception traces included.
"""

import contextlib
import contextvars
import json
import logging
import re
import sys
import time

REDACTED = "[redacted]"
SECRET_FIELD = re.compile(
    r"pass(word|wd)?$|token|secret|authori[sz]ation|cookie|payment_?key|account_?number|card_?number|credential",
    re.IGNORECASE,
)
_SECRET_TEXT = (
    re.compile(r"eyJ[\w-]*\.[\w-]+(?:\.[\w-]*){1,3}"),  # JWTs and JWEs (Cognito id, access and refresh tokens)
    re.compile(r"(?i)\b(bearer|basic)\s+[\w.~+/=-]+"),  # credentials in an Authorization-like text
)

_context: contextvars.ContextVar[dict] = contextvars.ContextVar("classpay_log_context", default={})  # noqa: B039


def redact(value, key: str = ""):
    """`value` with secret fields replaced and secret-shaped text masked (dicts and lists recursively)."""
    if key and SECRET_FIELD.search(key) and value not in (None, ""):
        return REDACTED
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    if isinstance(value, str):
        for pattern in _SECRET_TEXT:
            value = pattern.sub(REDACTED, value)
    return value


@contextlib.contextmanager
def bound(**fields):
    """Every line logged inside carries `fields` (e.g. request_id, caller_id, job)."""
    token = _context.set({**_context.get(), **fields})
    try:
        yield
    finally:
        _context.reset(token)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **_context.get(),
            **(getattr(record, "fields", None) or {}),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(redact(entry), default=str, separators=(",", ":"))


def configure(logger: logging.Logger, level: int = logging.INFO) -> None:
    """Make `logger` and its children write JSON lines (Chalice's stdout handler, or a new one)."""
    if not logger.handlers:
        logger.addHandler(logging.StreamHandler(sys.stdout))
        logger.propagate = False
    for handler in logger.handlers:
        handler.setFormatter(JsonFormatter())
    logger.setLevel(level)
