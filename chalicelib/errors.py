"""Domain errors: what went wrong, in the service's words.

Services raise these and know nothing of HTTP; `chalicelib/api/problems.py`
maps each `code` to a status and renders an RFC 9457 problem document, once,
at the edge.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class DomainError(Exception):
    code = "BAD_REQUEST"
    title = "The request cannot be processed"

    def __init__(self, detail: str | None = None, *, errors: list[FieldError] | None = None):
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = errors or []


class MalformedRequest(DomainError):
    code = "MALFORMED_REQUEST"
    title = "The request body is not valid JSON"


class ValidationFailed(DomainError):
    code = "VALIDATION_FAILED"
    title = "The request has invalid fields"

    @classmethod
    def on(cls, field: str, message: str) -> "ValidationFailed":
        return cls(f"{field}: {message}", errors=[FieldError(field, message)])


class Unauthenticated(DomainError):
    code = "UNAUTHENTICATED"
    title = "Sign in to continue"


class InvalidCredentials(DomainError):
    code = "INVALID_CREDENTIALS"
    title = "The email or password is wrong"


class Forbidden(DomainError):
    code = "FORBIDDEN"
    title = "Your role does not allow this"


class NotFound(DomainError):
    code = "NOT_FOUND"
    title = "No such resource"


class EmailTaken(DomainError):
    code = "EMAIL_TAKEN"
    title = "An account with this email exists"


class Conflict(DomainError):
    code = "CONFLICT"
    title = "The resource is not in a state that allows this"


class Unprocessable(DomainError):
    """Well-formed input that the rules refuse (e.g. publishing a course without lessons)."""

    code = "UNPROCESSABLE"
    title = "The request breaks a rule"


class InsufficientFunds(DomainError):
    code = "INSUFFICIENT_FUNDS"
    title = "The wallet balance is too low"


class PaymentDeclined(DomainError):
    code = "PAYMENT_DECLINED"
    title = "The payment was declined"


class SoldOut(DomainError):
    code = "SOLD_OUT"
    title = "No seats are left in this session"


class AlreadyEnrolled(DomainError):
    code = "ALREADY_ENROLLED"
    title = "You are already enrolled in this course"


class AlreadyReviewed(DomainError):
    code = "ALREADY_REVIEWED"
    title = "You have reviewed this course already; edit your review instead"


class CourseNotCompleted(DomainError):
    code = "COURSE_NOT_COMPLETED"
    title = "The course is not completed yet"


class NotAcceptable(DomainError):
    code = "NOT_ACCEPTABLE"
    title = "The response cannot be given in a type the Accept header allows"


class RefundNotAllowed(DomainError):
    code = "REFUND_NOT_ALLOWED"
    title = "This order can no longer be refunded"


class IdempotencyKeyRequired(DomainError):
    code = "IDEMPOTENCY_KEY_REQUIRED"
    title = "Send an Idempotency-Key header with requests that move money"


class IdempotencyKeyReused(DomainError):
    code = "IDEMPOTENCY_KEY_REUSED"
    title = "This Idempotency-Key was used with a different request"


class IdempotencyInProgress(DomainError):
    code = "IDEMPOTENCY_IN_PROGRESS"
    title = "A request with this Idempotency-Key is still being processed"


class PaymentGatewayError(DomainError):
    code = "PAYMENT_GATEWAY_ERROR"
    title = "The payment provider could not be reached"


class UnsupportedMediaType(DomainError):
    code = "UNSUPPORTED_MEDIA_TYPE"
    title = "Send the body as application/json"


class MethodNotAllowed(DomainError):
    code = "METHOD_NOT_ALLOWED"
    title = "This method is not allowed here"


class TooManyRequests(DomainError):
    """Too many attempts from this client: `retry_after` seconds until its window ends (the Retry-After header)."""

    code = "TOO_MANY_REQUESTS"
    title = "Too many attempts: wait and try again"

    def __init__(self, detail: str | None = None, *, retry_after: int):
        super().__init__(detail)
        self.retry_after = max(1, int(retry_after))


class ServiceUnavailable(DomainError):
    code = "SERVICE_UNAVAILABLE"
    title = "A dependency is not available"


class InternalError(DomainError):
    code = "INTERNAL"
    title = "Something went wrong on our side"
