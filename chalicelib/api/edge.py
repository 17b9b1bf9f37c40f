"""What every HTTP response passes through: problem documents, CORS, one log line.

Registered as Chalice `http` middleware in `app.py`, so it also sees the errors
Chalice produces itself (415, 405, an unexpected 500) and turns them into
problem documents, and it adds CORS headers to errors as well as successes.
Every line logged while a request runs carries its request id and caller id
(`chalicelib.logs`); the last one is the request's own summary.
"""

import logging
import time

from chalice import Response

from chalicelib import config, logs
from chalicelib.api.problems import as_problem
from chalicelib.api.routing import caller_of

log = logging.getLogger("classpay.http")

ALLOWED_HEADERS = "Authorization,Content-Type,Idempotency-Key"
EXPOSED_HEADERS = "X-Request-Id,Idempotent-Replayed"
PREFLIGHT_MAX_AGE = "600"


def _cors_headers(request, allowed_methods: str | None) -> dict[str, str]:
    origin = request.headers.get("origin")
    allowed = config.cors_allowed_origins()
    if not origin or not (origin in allowed or "*" in allowed):
        return {}
    headers = {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Expose-Headers": EXPOSED_HEADERS,
        "Vary": "Origin",
    }
    if allowed_methods is not None:
        headers.update({
            "Access-Control-Allow-Methods": allowed_methods,
            "Access-Control-Allow-Headers": ALLOWED_HEADERS,
            "Access-Control-Max-Age": PREFLIGHT_MAX_AGE,
        })
    return headers


def http_middleware(app):
    """Build the middleware for `app` (it needs the route table to answer preflights)."""

    def middleware(request, get_response) -> Response:
        started = time.perf_counter()
        request_id = request.context.get("requestId") or getattr(app.lambda_context, "aws_request_id", "")
        caller = caller_of(request)
        with logs.bound(request_id=request_id, caller_id=caller.user_id if caller else None):
            response = as_problem(get_response(request))
            allowed_methods = None
            if request.method == "OPTIONS":
                resource_path = request.context.get("resourcePath", "")
                allowed_methods = ",".join(sorted(app.routes.get(resource_path, {})))
            response.headers.update(_cors_headers(request, allowed_methods))
            response.headers["X-Request-Id"] = request_id
            log.info("request", extra={"fields": {
                "method": request.method,
                "path": request.context.get("resourcePath"),  # the route's template: no ids, no query
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            }})
        return response

    return middleware
