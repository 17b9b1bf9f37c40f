"""`Idempotency-Key` on routes declared `idempotent=True` (every route that moves money).

For such a route the wrapper, after the policy check and input validation:
- refuses a request without the header (400 `IDEMPOTENCY_KEY_REQUIRED`) or with a malformed one
  (422 `VALIDATION_FAILED` naming `Idempotency-Key`: 1-255 of `A-Z a-z 0-9 - _ . :`);
- claims the key for the caller (keys are scoped to the caller) with one conditional put;
- if the key is held: same request (method, route, path parameters, canonical body) and finished
  -> the stored first response, same status and body, with `Idempotent-Replayed: true`;
  a different request -> 422 `IDEMPOTENCY_KEY_REUSED`; still running -> 409 `IDEMPOTENCY_IN_PROGRESS`.

How the outcome is recorded (the crash-safety argument):
- A money use case receives a `Receipt` (`call.receipt(render)`) and adds the completed record to
  its OWN transaction: the record and the money effect commit together or not at all. The write
  is conditional on our lease token, so a request that was taken over cannot commit either.
- A use case that ends without a transaction (it returned a current state, or refused with a
  domain error that changed nothing) is recorded by the wrapper afterwards with a plain
  conditional put. Losing that write is harmless: the retry runs the request again and the use
  case, which changed nothing, answers the same.
- A transient failure (`CONFLICT`, `PAYMENT_GATEWAY_ERROR`, `SERVICE_UNAVAILABLE`, an unexpected
  exception such as DynamoDB failing) releases the key, so a retry with it runs again. If the
  release itself fails, the claim's lease (`IDEMPOTENCY_LEASE_SECONDS`, default 60 s, longer than
  API Gateway's 29 s limit) runs out and the next retry takes the key over.
"""

import re
from collections.abc import Callable
from typing import Any

import msgspec
from chalice import Response

from chalicelib import clock, errors
from chalicelib.api.problems import problem_response
from chalicelib.store import idempotency as store
from chalicelib.store.transactions import UnitOfWork

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,255}$")

# Outcomes a retry may change: these release the key instead of being recorded.
RETRYABLE = (
    errors.Conflict, errors.IdempotencyInProgress, errors.PaymentGatewayError,
    errors.ServiceUnavailable, errors.InternalError,
)

HEADER_PARAMETER = {
    "name": HEADER,
    "in": "header",
    "required": True,
    "description": "A unique key per intended operation (e.g. a UUID), kept 24 hours. Retrying with the "
                   "same key and body replays the first response; another body with it is refused.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": KEY_PATTERN.pattern},
}
ERRORS = (errors.IdempotencyKeyRequired, errors.IdempotencyKeyReused, errors.IdempotencyInProgress,
          errors.ValidationFailed)


def header_key(headers: dict[str, str]) -> str:
    key = next((value for name, value in headers.items() if name.lower() == HEADER.lower()), None)
    if key is None or not key.strip():
        raise errors.IdempotencyKeyRequired()
    if not KEY_PATTERN.match(key):
        raise errors.ValidationFailed.on(HEADER, "1 to 255 characters of A-Z, a-z, 0-9, '-', '_', '.', ':'")
    return key


class IdempotentRequest:
    """One request's hold on its key; also the factory of the `Receipt` its use case records with."""

    def __init__(self, claimed: store.Claim, status: int, content_type: str):
        self.claimed = claimed
        self.status = status
        self.content_type = content_type
        self.recorded = False

    def receipt(self, render: Callable[[Any], Any]) -> store.Receipt:
        return _RouteReceipt(self, render)

    def _add(self, uow: UnitOfWork, status: int, body: str, content_type: str) -> None:
        store.add_completion(uow, self.claimed, status, body, content_type)
        uow.after_commit(self._mark_recorded)

    def _mark_recorded(self) -> None:
        self.recorded = True

    def settle_success(self, response: Response) -> None:
        if not self.recorded:
            store.complete(self.claimed, response.status_code, response.body, self.content_type)

    def settle_failure(self, error: errors.DomainError, response: Response) -> None:
        if self.recorded:
            return
        if isinstance(error, RETRYABLE):
            self.release()
        else:
            store.complete(self.claimed, response.status_code, response.body, response.headers["Content-Type"])

    def release(self) -> None:
        try:
            store.release(self.claimed)
        except Exception:  # noqa: BLE001 (the lease expiry recovers; the original error is what matters)
            store.log.warning("could not release an idempotency key after a failure")


class _RouteReceipt:
    def __init__(self, request: IdempotentRequest, render: Callable[[Any], Any]):
        self.request = request
        self.render = render

    def record_result(self, uow: UnitOfWork, result: Any) -> None:
        body = msgspec.json.encode(self.render(result)).decode()
        self.request._add(uow, self.request.status, body, self.request.content_type)

    def record_failure(self, uow: UnitOfWork, error: errors.DomainError) -> None:
        response = problem_response(error)
        self.request._add(uow, response.status_code, response.body, response.headers["Content-Type"])


def open_request(call, method: str, route: str, path_params: dict[str, str], status: int, content_type: str):
    """Claim the caller's key for this request: an `IdempotentRequest`, or the `Response` to replay."""
    key = header_key(call.headers)
    request_fingerprint = store.fingerprint(
        method.encode(), route.encode(), msgspec.json.encode(sorted(path_params.items())),
        msgspec.json.encode(call.body), msgspec.json.encode(call.query),
    )
    outcome = store.claim(store.scope_key(call.caller.user_id, key), request_fingerprint, clock.now())
    if isinstance(outcome, store.Claim):
        return IdempotentRequest(outcome, status, content_type)
    if outcome.fingerprint != request_fingerprint:
        raise errors.IdempotencyKeyReused()
    if outcome.state != store.COMPLETED:
        raise errors.IdempotencyInProgress()
    return Response(
        body=outcome.response_body or "",
        status_code=outcome.response_status or status,
        headers={"Content-Type": outcome.content_type or content_type, REPLAYED_HEADER: "true"},
    )
