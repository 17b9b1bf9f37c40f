"""RFC 9457 problem documents: the one place domain errors become HTTP."""

import msgspec
from chalice import Response

from chalicelib import errors

PROBLEM_CONTENT_TYPE = "application/problem+json"

# The status of each DomainError's code, a subclass's anywhere included (tests/test_problem_documents.py).
STATUS_BY_CODE = {
    errors.DomainError.code: 400,
    errors.MalformedRequest.code: 400,
    errors.ValidationFailed.code: 422,
    errors.Unauthenticated.code: 401,
    errors.InvalidCredentials.code: 401,
    errors.Forbidden.code: 403,
    errors.NotFound.code: 404,
    errors.MethodNotAllowed.code: 405,
    errors.EmailTaken.code: 409,
    errors.Conflict.code: 409,
    errors.Unprocessable.code: 422,
    errors.InsufficientFunds.code: 402,
    errors.PaymentDeclined.code: 402,
    errors.SoldOut.code: 409,
    errors.AlreadyEnrolled.code: 409,
    errors.RefundNotAllowed.code: 422,
    errors.AlreadyReviewed.code: 409,
    errors.CourseNotCompleted.code: 409,
    errors.NotAcceptable.code: 406,
    errors.IdempotencyKeyRequired.code: 400,
    errors.IdempotencyKeyReused.code: 422,
    errors.IdempotencyInProgress.code: 409,
    errors.PaymentGatewayError.code: 502,
    errors.UnsupportedMediaType.code: 415,
    errors.InternalError.code: 500,
    errors.TooManyRequests.code: 429,
    errors.ServiceUnavailable.code: 503,
}

# Errors Chalice itself produces before or around a view, by its own `Code`.
_CHALICE_CODES = {
    "UnsupportedMediaType": errors.UnsupportedMediaType,
    "MethodNotAllowedError": errors.MethodNotAllowed,
    "BadRequest": errors.MalformedRequest,
    "InternalServerError": errors.InternalError,
}


class FieldProblem(msgspec.Struct):
    field: str
    message: str


class Problem(msgspec.Struct):
    """An RFC 9457 problem document; `code` is stable, `title` and `detail` are for people."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[FieldProblem] = []


def status_of(error: errors.DomainError | type[errors.DomainError]) -> int:
    return STATUS_BY_CODE[error.code]


def problem_of(error: errors.DomainError) -> Problem:
    return Problem(
        type=f"urn:classpay:problem:{error.code.lower().replace('_', '-')}",
        title=error.title,
        status=status_of(error),
        detail=error.detail,
        code=error.code,
        errors=[FieldProblem(e.field, e.message) for e in error.errors],
    )


def problem_response(error: errors.DomainError) -> Response:
    problem = problem_of(error)
    return Response(
        body=msgspec.json.encode(problem).decode(),
        status_code=problem.status,
        headers={"Content-Type": PROBLEM_CONTENT_TYPE,
                 **({"Retry-After": str(error.retry_after)} if isinstance(error, errors.TooManyRequests) else {})},
    )


def as_problem(response: Response) -> Response:
    """Turn an error Chalice produced itself (415, 405, 500, ...) into a problem document."""
    if response.status_code < 400 or response.headers.get("Content-Type") == PROBLEM_CONTENT_TYPE:
        return response
    body = response.body if isinstance(response.body, dict) else {}
    error_class = _CHALICE_CODES.get(body.get("Code"), errors.InternalError)
    error = error_class(body.get("Message") if error_class is not errors.InternalError else None)
    problem = problem_response(error)
    problem.headers = {**response.headers, **problem.headers}
    return problem
