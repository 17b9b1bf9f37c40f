"""The OpenAPI 3.1 document, generated from the declared endpoints and their msgspec types.

Nothing here is written by hand per route: add an endpoint and it appears,
with its roles, input, answer and the problems it can return.
"""

import functools
import re
from pathlib import Path

import msgspec

from chalicelib import __version__, errors
from chalicelib.api import idempotency
from chalicelib.api.problems import PROBLEM_CONTENT_TYPE, Problem, status_of
from chalicelib.api.routing import ENDPOINTS, Endpoint

_PATH_PARAM = re.compile(r"{(\w+)}")


def _error_classes(endpoint: Endpoint) -> list[type[errors.DomainError]]:
    implied: list[type[errors.DomainError]] = []
    if endpoint.body is not None:
        implied += [errors.MalformedRequest, errors.ValidationFailed, errors.UnsupportedMediaType]
    if endpoint.query is not None:
        implied.append(errors.ValidationFailed)
    if not endpoint.policy.public:
        implied += [errors.Unauthenticated, errors.Forbidden]
    if endpoint.idempotent:
        implied += list(idempotency.ERRORS)
    return implied + list(endpoint.errors)


SCHEMA_REF = "#/components/schemas/"
# What a PDF or a PNG answer is, in the words client generators read as bytes (text stays text: CSV, HTML).
BINARY = {"type": "string", "format": "binary"}
TEXT = {"type": "string"}

# The headers of the answers: chalicelib/api/edge.py sets the request id on every answer (API Gateway on its
# own answers, infra/template/api.py), chalicelib/api/idempotency.py marks a replayed first answer.
REQUEST_ID = "X-Request-Id"
HEADERS = {
    REQUEST_ID: {"description": "This request's id: every log line it wrote carries it",
                 "required": True, "schema": {"type": "string"}},
    idempotency.REPLAYED_HEADER: {
        "description": "`true` on the stored first answer to a retried Idempotency-Key",
        "required": False, "schema": {"type": "string", "enum": ["true"]}},
}


def _problem_responses(endpoint: Endpoint) -> dict:
    codes_by_status: dict[int, list[str]] = {}
    for error_class in _error_classes(endpoint):
        status = status_of(error_class)
        if error_class.code not in codes_by_status.setdefault(status, []):
            codes_by_status[status].append(error_class.code)
    responses = {
        str(status): {
            "description": "Problem: " + ", ".join(codes),
            "content": {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": SCHEMA_REF + "Problem"}}},
        }
        for status, codes in sorted(codes_by_status.items())
    }
    if not endpoint.policy.public:
        # API Gateway answers these itself, before the app runs: the same problem documents (infra/template/api.py)
        for status, why in (("401", "no bearer token"), ("403", "a token that fails verification")):
            responses[status]["description"] += f"; or the gateway's refusal of {why}"
    return responses


def _media_schema(media_type: str) -> dict:
    return TEXT if media_type.startswith("text/") else BINARY


def _with_headers(responses: dict, endpoint: Endpoint) -> dict:
    names = [REQUEST_ID, idempotency.REPLAYED_HEADER] if endpoint.idempotent else [REQUEST_ID]
    for response in responses.values():
        response["headers"] = {name: {"$ref": f"#/components/headers/{name}"} for name in names}
    return responses


def _operation(endpoint: Endpoint, schema_of: dict) -> dict:
    operation: dict = {
        "operationId": endpoint.name,
        "summary": endpoint.summary,
        "tags": [endpoint.tag],
        "x-roles": endpoint.policy.describe(),
    }
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
        for name in _PATH_PARAM.findall(endpoint.path)
    ]
    if endpoint.idempotent:
        parameters.append(dict(idempotency.HEADER_PARAMETER))
    if endpoint.query is not None:
        query_schema = schema_of[endpoint.query]
        required = set(query_schema.get("required", ()))
        for name, prop in query_schema.get("properties", {}).items():
            parameters.append({"name": name, "in": "query", "required": name in required, "schema": prop})
    if parameters:
        operation["parameters"] = parameters
    if endpoint.body is not None:
        operation["requestBody"] = {
            "required": endpoint.body_required,
            "content": {"application/json": {"schema": {"$ref": schema_of[endpoint.body]["$ref"]}}},
        }
    if not endpoint.policy.public:
        operation["security"] = [{"bearer": []}]
    success: dict = {"description": endpoint.summary}
    if endpoint.status == 204:
        pass
    elif endpoint.response is not None:
        success["content"] = {endpoint.content_type: {"schema": schema_of[endpoint.response]}}
    elif endpoint.content_type != "application/json":
        success["content"] = {endpoint.content_type: {"schema": _media_schema(endpoint.content_type)}}
    for media_type in endpoint.alternatives:
        success.setdefault("content", {})[media_type] = {"schema": _media_schema(media_type)}
    operation["responses"] = _with_headers({str(endpoint.status): success, **_problem_responses(endpoint)}, endpoint)
    return operation


@functools.cache
def document() -> dict:
    types = [Problem]
    for endpoint in ENDPOINTS:
        types += [t for t in (endpoint.body, endpoint.query, endpoint.response) if t is not None]
    types = list(dict.fromkeys(types))
    schemas, components = msgspec.json.schema_components(types, ref_template=SCHEMA_REF + "{name}")
    schema_of = dict(zip(types, schemas, strict=True))
    for endpoint in ENDPOINTS:
        if endpoint.body is not None and getattr(endpoint.body, "json_schema_extra", None):
            components[endpoint.body.__name__].update(endpoint.body.json_schema_extra)
    # Query structs become parameters; inline their properties rather than referencing them.
    for endpoint in ENDPOINTS:
        if endpoint.query is not None:
            schema_of[endpoint.query] = components[endpoint.query.__name__]
    paths: dict = {}
    for endpoint in ENDPOINTS:
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = _operation(endpoint, schema_of)
    names = _short_names(components)
    return _for_clients({
        "openapi": "3.1.0",
        "info": {
            "title": "classpay API",
            "version": __version__,
            "description": "The backend of an online class marketplace. Errors are RFC 9457 problem documents.",
        },
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": {names[key]: {**schema, "title": names[key]} for key, schema in components.items()},
            "headers": HEADERS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }, names)


_GENERIC = re.compile(r"^(?P<origin>\w+)\[(?P<argument>\w+)\]$")


def _short_names(components: dict) -> dict[str, str]:
    """{msgspec's name: the document's} for each component: the type's own name (its title), `Page[OrderOut]`
    as `OrderOutPage`. msgspec tells two types of one name apart by their module paths, and client generators
    name classes by title (one of the two is dropped): two API types of one name are an error here."""
    names = {}
    for key, schema in components.items():
        title = schema.get("title", key)
        generic = _GENERIC.match(title)
        names[key] = f"{generic['argument']}{generic['origin']}" if generic else title
    keys_of: dict[str, list[str]] = {}
    for key, name in names.items():
        keys_of.setdefault(name, []).append(key)
    shared = {name: keys for name, keys in keys_of.items() if len(keys) > 1}
    if shared:
        raise ValueError(f"API types share a name, rename all but one: {shared}")
    return names


def _for_clients(node, names: dict[str, str]):
    """`node` as client generators read it: every `$ref` to a component under its new name, every enum of
    strings typed `string` (msgspec leaves the type out, and generators then type its values `unknown`)."""
    if isinstance(node, list):
        return [_for_clients(item, names) for item in node]
    if not isinstance(node, dict):
        return node
    renamed = {key: _for_clients(value, names) for key, value in node.items()}
    if str(renamed.get("$ref", "")).startswith(SCHEMA_REF):
        renamed["$ref"] = SCHEMA_REF + names[renamed["$ref"].removeprefix(SCHEMA_REF)]
    enum = renamed.get("enum")
    if enum and "type" not in renamed and all(isinstance(value, str) for value in enum):
        renamed["type"] = "string"
    return renamed


# The docs page and its renderer (chalicelib/redoc/README.md: what it is, why Redoc) come from the API itself,
# never from a CDN: it works offline and behind any network. Relative urls, so that deployed, behind the
# stage's prefix, /api/docs finds /api/docs/redoc.js and /api/openapi.json. The page's policy lets it load
# nothing from another host (Redoc's menu would fetch its maker's logo from a CDN: never asked for).
DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta http-equiv="Content-Security-Policy" content="default-src 'self' 'unsafe-inline' 'unsafe-eval' data: blob:">
  <title>classpay API</title>
</head>
<body>
  <redoc spec-url="openapi.json"></redoc>
  <script src="docs/redoc.js"></script>
</body>
</html>
"""
RENDERER = Path(__file__).resolve().parent.parent / "redoc" / "redoc.standalone.js"
# Browsers and CDNs may keep the renderer a day: a new Redoc reaches every reader within a day of its deploy.
RENDERER_CACHE_CONTROL = "public, max-age=86400"


@functools.cache
def docs_renderer() -> str:
    """Redoc's bundle (1.1 MB), read on its first request, not at import: the API function's cold start never
    reads it, and a warm one reads it once."""
    return RENDERER.read_text(encoding="utf-8")
