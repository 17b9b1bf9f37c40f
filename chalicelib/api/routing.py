"""How a route is declared, and the one wrapper every route runs through.

    bp = ApiBlueprint(__name__)

    @bp.endpoint("POST", "/auth/signup", policy=PUBLIC, body=SignupRequest, status=201,
                 response=SignupResponse, summary="Create an account")
    def signup(call: Call):
        return identity.sign_up(...)

A route states who may call it (`policy`), what its body and query look like
(msgspec Structs) and what it answers; a route that moves money also says
`idempotent=True` and then requires an `Idempotency-Key` header (see
`chalicelib/api/idempotency.py`; the view hands `call.receipt(render)` to its
use case so the key's record commits with the money). The wrapper verifies the role, decodes
and validates input into those types (a 400/422 problem naming the field on
failure, before any service runs), calls the view and encodes the reply.
Every declaration is kept in `ENDPOINTS`, from which the OpenAPI document is
built and against which the policy test checks every route of the app.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import msgspec
from chalice import Blueprint, Response

from chalicelib import clock, errors
from chalicelib.api import idempotency as idempotency_keys
from chalicelib.api import pagination
from chalicelib.api.authorizer import bearer
from chalicelib.api.problems import problem_response
from chalicelib.roles import ADMINS, INSTRUCTORS, LEARNERS, Caller


@dataclass(frozen=True)
class Policy:
    """Which callers a route admits. `groups=None` with `public=False`: anyone signed in."""

    public: bool
    groups: frozenset[str] | None = None

    def __or__(self, other: "Policy") -> "Policy":
        return Policy(public=False, groups=frozenset(self.groups or ()) | frozenset(other.groups or ()))

    def admits(self, caller: Caller | None) -> bool:
        if self.public:
            return True
        if caller is None:
            return False
        return self.groups is None or bool(self.groups & caller.groups)

    def describe(self) -> str:
        if self.public:
            return "public"
        if self.groups is None:
            return "signed-in"
        return " | ".join(sorted(self.groups))


PUBLIC = Policy(public=True)
SIGNED_IN = Policy(public=False)
LEARNER = Policy(public=False, groups=frozenset({LEARNERS}))
INSTRUCTOR = Policy(public=False, groups=frozenset({INSTRUCTORS}))
ADMIN = Policy(public=False, groups=frozenset({ADMINS}))


@dataclass(frozen=True)
class Endpoint:
    """One declared route: the source of the OpenAPI document and of the policy test."""

    method: str
    path: str
    name: str
    policy: Policy
    summary: str
    tag: str
    status: int
    body: type | None
    query: type | None
    response: Any
    errors: tuple[type[errors.DomainError], ...]
    content_type: str
    idempotent: bool = False
    body_required: bool = True
    alternatives: tuple[str, ...] = ()  # other media types the success answer comes in (e.g. `?format=pdf`)


ENDPOINTS: list[Endpoint] = []
_PREFLIGHT_PATHS: set[str] = set()
MAX_PATH_ID = 64  # every `{..._id}` of a path: our ids are ULIDs (26) and Cognito subs (36)


@dataclass
class Call:
    """What a view receives: the verified caller and the decoded input."""

    caller: Caller | None
    body: Any
    query: Any
    headers: dict[str, str]
    idempotency: idempotency_keys.IdempotentRequest | None = None

    def receipt(self, render: Callable[[Any], Any]) -> idempotency_keys.store.Receipt:
        """What a money use case records its outcome with, in its own transaction."""
        return self.idempotency.receipt(render) if self.idempotency else idempotency_keys.store.NO_RECEIPT


@dataclass
class Reply:
    """A view's answer when it needs a status or headers other than the declared ones."""

    body: Any
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None


class ApiBlueprint(Blueprint):
    """A Chalice Blueprint whose routes are declared with `endpoint`."""

    def __init__(self, import_name: str, tag: str):
        super().__init__(import_name)
        self.tag = tag

    def endpoint(
        self,
        method: str,
        path: str,
        *,
        policy: Policy,
        summary: str,
        body: type | None = None,
        query: type | None = None,
        response: Any = None,
        status: int = 200,
        errors: tuple[type[errors.DomainError], ...] = (),
        content_type: str = "application/json",
        idempotent: bool = False,
        body_required: bool = True,
        alternatives: tuple[str, ...] = (),
    ) -> Callable:
        if idempotent and policy.public:
            raise ValueError("an idempotent route needs a signed-in caller: keys are scoped to the caller")

        def register(view: Callable) -> Callable:
            declared = Endpoint(
                method=method, path=path, name=view.__name__, policy=policy, summary=summary,
                tag=self.tag, status=status, body=body, query=query, response=response,
                errors=errors, content_type=content_type, idempotent=idempotent, body_required=body_required,
                alternatives=alternatives,
            )
            ENDPOINTS.append(declared)

            def handle(**path_params: str) -> Response:
                return _run(self.current_request, declared, view, path_params)

            handle.__name__ = view.__name__
            handle.__doc__ = view.__doc__
            handle.policy = policy
            self.route(path, methods=[method], authorizer=None if policy.public else bearer)(handle)
            self._register_preflight(path)
            return view

        return register

    def _register_preflight(self, path: str) -> None:
        """One public OPTIONS route per path; the CORS middleware answers it."""
        if path in _PREFLIGHT_PATHS:
            return
        _PREFLIGHT_PATHS.add(path)

        def preflight(**_path_params: str) -> Response:
            return Response(body="", status_code=204)

        preflight.__name__ = "preflight_" + re.sub(r"\W+", "_", path).strip("_")
        preflight.policy = PUBLIC  # browsers send preflights without credentials
        self.route(path, methods=["OPTIONS"])(preflight)


def _run(request, declared: Endpoint, view: Callable, path_params: dict[str, str]) -> Response:
    held = None
    try:
        caller = caller_of(request)
        if not declared.policy.admits(caller):
            raise errors.Unauthenticated() if caller is None else errors.Forbidden()
        call = Call(
            caller=caller,
            body=decode_body(declared.body, request.raw_body, declared.body_required) if declared.body else None,
            query=decode_query(declared.query, request.query_params) if declared.query else None,
            headers=dict(request.headers),
        )
        list_scope = _open_cursor(call, declared, path_params)
        if declared.idempotent:
            held = idempotency_keys.open_request(
                call, declared.method, declared.path, path_params, declared.status, declared.content_type
            )
            if isinstance(held, Response):
                return held  # the first response, replayed
            call.idempotency = held
        _check_path_ids(path_params)
        result = view(call, **path_params)
    except errors.DomainError as error:
        response = problem_response(error)
        if isinstance(held, idempotency_keys.IdempotentRequest):
            held.settle_failure(error, response)
        return response
    except BaseException:
        if isinstance(held, idempotency_keys.IdempotentRequest):
            held.release()
        raise
    if list_scope is not None:
        result = _sealed(result, list_scope)
    response = reply(result, declared)
    if held is not None:
        held.settle_success(response)
    return response


def _check_path_ids(path_params: dict[str, str]) -> None:
    """An id longer than any we issue names nothing: 404, before a key that long reaches a table."""
    for name, value in path_params.items():
        if name.endswith("_id") and len(value) > MAX_PATH_ID:
            raise errors.NotFound(f"No such {name.removesuffix('_id').replace('_', ' ')}")


def _open_cursor(call: Call, declared: Endpoint, path_params: dict[str, str]) -> bytes | None:
    """On a paginated route: the list's scope, and the client's cursor swapped for the position it carries
    (an edited or foreign cursor is refused here, before any service sees it)."""
    if declared.query is None or "cursor" not in declared.query.__struct_fields__:
        return None
    caller_id = call.caller.user_id if call.caller else None
    list_scope = pagination.scope(declared.method, declared.path, path_params, call.query, caller_id)
    if call.query.cursor is not None:
        call.query = msgspec.structs.replace(call.query, cursor=pagination.open_cursor(call.query.cursor, list_scope))
    return list_scope


def _sealed(result: Any, list_scope: bytes) -> Any:
    """The view's page with its `next_cursor` sealed for this list and caller."""
    page = result.body if isinstance(result, Reply) else result
    position = getattr(page, "next_cursor", None)
    if not isinstance(position, str):
        return result
    page = msgspec.structs.replace(page, next_cursor=pagination.seal_cursor(position, list_scope))
    if isinstance(result, Reply):
        result.body = page
        return result
    return page


def caller_of(request) -> Caller | None:
    """The caller the authorizer verified, from the request context it filled in."""
    context = (request.context or {}).get("authorizer") or {}
    user_id = context.get("principalId")
    if not user_id or user_id == "anonymous":
        return None
    groups = frozenset(g for g in str(context.get("groups", "")).split(",") if g)
    return Caller(user_id=user_id, groups=groups)


def reply(result: Any, declared: Endpoint) -> Response:
    if not isinstance(result, Reply):
        result = Reply(result)
    content_type = result.content_type or declared.content_type
    status = result.status or declared.status
    if status == 204:
        return Response(body="", status_code=204, headers=result.headers)
    if content_type == "application/json":
        body = msgspec.json.encode(result.body).decode()
    else:
        body = result.body
    return Response(
        body=body,
        status_code=status,
        headers={"Content-Type": content_type, **result.headers},
    )


# --- input decoding -----------------------------------------------------------------------------

_AT_PATH = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_INT_GOT_FLOAT = re.compile(r"Expected `int[^`]*`, got `float`")
_NAMED_FIELD = re.compile(r"(?:missing required|unknown) field `(?P<name>[^`]+)`")


def _field_error(error: msgspec.ValidationError) -> errors.ValidationFailed:
    """msgspec says `Expected int, got str - at $.price.amount`; we say field `price.amount`."""
    match = _AT_PATH.match(str(error))
    message, path = match["message"], (match["path"] or "")
    named = _NAMED_FIELD.search(message)
    if named:
        path = f"{path}.{named['name']}"
    field_name = path.lstrip(".") or "body"
    return errors.ValidationFailed.on(field_name, message)


def decode_body(schema: type, raw_body: bytes | None, required: bool = True) -> Any:
    """The body as `schema`. Strict about bytes: JSON is UTF-8 (RFC 8259), so a body that is not is 400
    naming `body`, checked before any decoding (msgspec reads strings lazily: an invalid byte after a
    field that fails validation would otherwise surface later, as a 500)."""
    if not raw_body and not required:
        return schema()
    if not raw_body:
        raise errors.MalformedRequest("A JSON body is required", errors=[errors.FieldError("body", "required")])
    _require_utf8(raw_body)
    try:
        return within_range(msgspec.json.decode(raw_body, type=schema))
    except msgspec.ValidationError as error:
        if _INT_GOT_FLOAT.search(str(error)):
            return within_range(_decode_integral_floats(schema, raw_body, error))
        raise _field_error(error) from None
    except msgspec.DecodeError as error:
        raise errors.MalformedRequest(str(error), errors=[errors.FieldError("body", str(error))]) from None
    except RecursionError:
        raise _too_deep() from None


def _require_utf8(raw_body: bytes | str) -> None:
    if isinstance(raw_body, str):
        return  # already text (an API Gateway event body that was not base64)
    try:
        raw_body.decode("utf-8")
    except UnicodeDecodeError as error:
        message = f"not valid UTF-8 (byte {error.start})"
        raise errors.MalformedRequest(f"The body is {message}",
                                      errors=[errors.FieldError("body", message)]) from None


def _too_deep() -> errors.MalformedRequest:
    message = "JSON nested too deeply"
    return errors.MalformedRequest(message, errors=[errors.FieldError("body", message)])


def _integral(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _integral(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral(v) for v in value]
    return value


def _decode_integral_floats(schema: type, raw_body: bytes, error: msgspec.ValidationError) -> Any:
    """JSON has one number type: `3.0` is the integer 3 (as JSON Schema says); `3.5` is still refused."""
    try:
        normalized = msgspec.json.encode(_integral(msgspec.json.decode(raw_body)))
    except msgspec.DecodeError as malformed:
        raise errors.MalformedRequest(str(malformed), errors=[errors.FieldError("body", str(malformed))]) from None
    except RecursionError:
        raise _too_deep() from None
    try:
        return msgspec.json.decode(normalized, type=schema)
    except msgspec.ValidationError as again:
        raise _field_error(again) from None


def decode_query(schema: type, query_params) -> Any:
    try:
        return within_range(msgspec.convert(dict(query_params or {}), type=schema, strict=False))
    except msgspec.ValidationError as error:
        raise _field_error(error) from None


def within_range(decoded: Any, path: str = "") -> Any:
    """`decoded` (a body or a query) once every date and date-time in it is one the product accepts
    (`clock.accepted`: 2000-01-01..2100-01-01 UTC); else 422 naming the field, as it was sent. msgspec
    parses them (RFC 3339; an offset is required where the type says so); this is the one range check."""
    if isinstance(decoded, date):  # datetime included
        if not clock.accepted(decoded):
            raise errors.ValidationFailed.on(path or "body", clock.RANGE_MESSAGE)
    elif isinstance(decoded, msgspec.Struct):
        for spec in msgspec.structs.fields(decoded):
            within_range(getattr(decoded, spec.name), f"{path}.{spec.encode_name}" if path else spec.encode_name)
    elif isinstance(decoded, list | tuple):
        for index, item in enumerate(decoded):
            within_range(item, f"{path}[{index}]")
    elif isinstance(decoded, dict):
        for key, item in decoded.items():
            within_range(item, f"{path}.{key}" if path else str(key))
    return decoded
