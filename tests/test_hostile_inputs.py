"""Hostile input to every operation of the API document, beside schemathesis.

Schemathesis sends what the document allows and a little around it; it never sent what broke the API:
bytes that are not UTF-8, cursors edited or issued to someone else, dates at the ends of what Python can
hold, numbers beyond 64 bits, JSON nested thousands deep. This test reads `/openapi.json` and sends those to
every operation it lists (a new route is covered the day it is declared): in each body field, each query
parameter, each path parameter and as whole raw bodies, as a caller in every group (so role checks let the
request through to decoding) and anonymously. Every answer must be below 500, a 4xx must be a problem
document, and no answer may carry a stack trace or anything of another caller (a victim with a wallet and
a cursor of her own, whose ids, email and name must never show).

The cases are a fixed list, cycled over the operations so each kind reaches every route in a few hundred
requests (a few seconds): the same requests on every run, so the suite's AWS calls stay stable.
"""

import base64
import itertools
import json
import os
import re
import time
from urllib.parse import quote

import boto3
import pytest

from tests.support.courses import make_course
from tests.support.money import confirm, new_key, start_topup

PROBLEM = "application/problem+json"
SOME_ID = "01J00000000000000000000000"
PER_ROUTE = {"extra": 2, "path": 3}  # cases of a kind per operation (others: 6)
BUDGET_SECONDS = 60  # a ceiling for a slow machine; the run takes a few seconds
LEAK = re.compile(r"Traceback|File \"|\bline \d+, in\b|botocore|pynamodb|msgspec\.|KeyError|TypeError|ValueError"
                  r"|OverflowError|RecursionError|chalicelib/")

HUGE = 10**400  # beyond any float and any 64-bit integer
EXTREME_MOMENTS = ("9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00", "2100-01-01T00:00:01Z",
                   "1969-12-31T23:59:59Z", "+275760-09-13T00:00:00Z", "2030-02-30T00:00:00Z", "2030-13-01",
                   "0000-00-00", "9999-99-99T99:99:99Z", "2030-01-01T00:00:00+99:99", "1e309", "")
NUMBERS = (HUGE, -HUGE, 2**63, -(2**63) - 1, 2**64, 1e308, -1, 0.5, True, "1" * 400)
STRINGS = ("\x00", "\ud800", "x" * 100_000, "../../etc/passwd", "' OR '1'='1", "<script>", "\u202e", "%ff", " ")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


DEEP = b"[" * 100_000 + b"]" * 100_000
RAW_BODIES = (
    b'{"title": "\xc3\x28"}', b"\xed\xa0\x80", b"\xef\xbb\xbf\xff", b'{"a": "\xe0\x80\xaf"}', DEEP,
    b'{"a":' * 50_000 + b"1" + b"}" * 50_000, b"1" * 100_000, b'{"amount": 1e400}', b"NaN", b"-Infinity",
    b'{"a": 1, "a": 2}', b"\x00" * 64, b'"' + b"\\ud800" + b'"', b"{" * 5, b"null", b"[]",
)
FORGED_CURSORS = (
    _b64(json.dumps({"user_id": {"S": "x"}, "created_at": {"N": ["x"]}}).encode()),
    _b64(b"[" * 3000 + b"]" * 3000)[:2000], _b64(b"\xff\xfe"), "%%%", "a" * 2048, "a" * 5000, "e30", ".", "..",
    _b64(b"{}") + "." + "A" * 43, "\x00",
)


# --- the world ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def world(api):
    """The attacker (every group), her own course, and a victim with wallet entries and a cursor of her own."""
    email, _ = api.sign_up(("learner", "instructor"), "Hostile Caller")
    boto3.client("cognito-idp").admin_add_user_to_group(
        UserPoolId=os.environ["USER_POOL_ID"], Username=email, GroupName="admins")
    attacker = api.log_in(email)["access_token"]
    course_id = make_course(api, attacker, title="Hostile", lessons=1)
    make_course(api, attacker, title="Hostile two", lessons=1)

    victim_email, victim_id = api.sign_up(("learner",), "Vicky Victim-7f3a")
    victim = api.log_in(victim_email)["access_token"]
    for amount in (10_000, 20_000):
        assert confirm(api, victim, start_topup(api, victim, amount)).status_code == 200
    entries = api.get("/wallet/entries?limit=1", token=victim).json_body
    catalog = api.get("/courses?limit=1").json_body
    cursors = [entries["next_cursor"], catalog["next_cursor"]]
    assert all(cursors)
    edited = [c[:-1] + ("A" if c[-1] != "A" else "B") for c in cursors] + [c.split(".")[0] for c in cursors]
    secrets = {victim_email, victim_id, "Vicky Victim-7f3a", *(e.get("entry_id", "") for e in entries["items"])}
    return {"attacker": attacker, "course_id": course_id, "cursors": cursors + edited + list(FORGED_CURSORS),
            "secrets": {s for s in secrets if s}}


@pytest.fixture(scope="module")
def document(api):
    response = api.get("/openapi.json")
    assert response.status_code == 200
    return response.json_body


def _operations(document):
    for path, methods in sorted(document["paths"].items()):
        for method, operation in sorted(methods.items()):
            if method in ("get", "post", "put", "patch", "delete"):
                yield method.upper(), path, operation


# --- building requests from the document --------------------------------------------------------------

def _resolve(document, schema):
    while isinstance(schema, dict) and "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema or {}


def _example(document, schema, depth=0):
    """A plausible value for `schema` (valid where it is easy to be): the frame the hostile values go in."""
    schema = _resolve(document, schema)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [s for s in schema[key] if _resolve(document, s).get("type") != "null"] or schema[key]
            return _example(document, options[0], depth)
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        if depth > 4:
            return {}
        return {name: _example(document, sub, depth + 1) for name, sub in schema.get("properties", {}).items()
                if name in schema.get("required", []) or depth == 0}
    if kind == "array":
        return [_example(document, schema.get("items", {}), depth + 1)] if schema.get("minItems") else []
    if kind == "integer":
        return max(schema.get("minimum", 1), 1)
    if kind == "number":
        return 1.5
    if kind == "boolean":
        return True
    fmt = schema.get("format")
    if fmt == "date-time":
        return "2030-01-01T00:00:00Z"
    if fmt == "date":
        return "2030-01-01"
    low, high = schema.get("minLength", 1), schema.get("maxLength", 10_000)
    for candidate in PLAUSIBLE_STRINGS:  # one that fits the pattern, so the request gets past validation
        if low <= len(candidate) <= high and re.search(schema.get("pattern", ""), candidate):
            return candidate
    return "x" * max(low, 1)


PLAUSIBLE_STRINGS = ("Hostile-1", "hostile@classpay.test", "KRW", "https://example.com/a", "Asia/Seoul", "ABCD1234",
                     "video/mp4", "x")


def _leaves(value, path=()):
    """Every place in a JSON value a hostile value can be put: (path, current value)."""
    if isinstance(value, dict):
        for key, sub in value.items():
            yield from _leaves(sub, (*path, key))
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            yield from _leaves(sub, (*path, index))
    if path:
        yield path, value


def _replaced(value, path, new):
    if not path:
        return new
    copy = json.loads(json.dumps(value))
    target = copy
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = new
    return copy


def _hostile_for(current):
    """Values to put where `current` was: its own kind at the extremes, and every other kind."""
    if isinstance(current, str) and re.match(r"^\d{4}-\d{2}-\d{2}", current):
        return EXTREME_MOMENTS + NUMBERS[:2]
    if isinstance(current, bool | int | float):
        return NUMBERS + STRINGS[:2]
    return STRINGS + NUMBERS[:3] + EXTREME_MOMENTS[:2] + ({"a": [[[{}]]]}, [None] * 3)


def _encode(body) -> bytes:
    # json.dumps keeps 10**400 as its digits and lone surrogates as \ud800 escapes: as an attacker would send them
    return json.dumps(body, allow_nan=True).encode()


def _cases(document, world, method, path, operation):
    """(label, path values, query string, raw body, with token?) of each hostile request for one operation."""
    ids = {name: (world["course_id"] if name == "course_id" else SOME_ID) for name in re.findall(r"{(\w+)}", path)}
    query_params = [p for p in operation.get("parameters", []) if p["in"] == "query"]
    body_schema = (operation.get("requestBody", {}).get("content", {}).get("application/json", {}) or {}).get("schema")
    frame = _example(document, body_schema) if body_schema else None

    def request(label, path_values=None, query="", body=None, headers=None):
        return label, path_values or ids, query, body, headers or {}

    frame_body = _encode(frame) if frame is not None else None
    cases = [  # on every operation: what it does not expect at all
        request("extra unknown query", query="x=%ff&__proto__=1", body=frame_body),
        request("extra body where none or another is expected", body=DEEP if frame is None else b"[" * 20 + b"]" * 20),
        request("extra bearer garbage", body=frame_body, headers={"Authorization": "Bearer " + "A" * 5000}),
        request("extra bearer of another shape", body=frame_body, headers={"Authorization": "Basic Zm9vOmJhcg=="}),
        request("extra accept", body=frame_body, headers={"Accept": "text/csv;q=\x00, */*;q=abc"}),
        request("extra content type", body=frame_body, headers={"Content-Type": "application/json; charset=latin-1"}),
        request("extra idempotency key", body=frame_body, headers={"Idempotency-Key": "\u202e" * 300}),
    ]
    for name in ids:  # each path parameter at its worst
        for value in ("x" * 5000, "%ff", "%00", "..%2f..%2fadmin", quote("\ud800".encode("utf-8", "surrogatepass")),
                      "-1", str(HUGE)):
            cases.append(request(f"path {name}={value[:20]}", {**ids, name: value},
                                 body=_encode(frame) if frame is not None else None))
    for parameter in query_params:  # each query parameter at its worst
        name = parameter["name"]
        values = [*world["cursors"]] if name == "cursor" else [
            *EXTREME_MOMENTS, *(str(n) for n in NUMBERS), *STRINGS[:1], "x" * 5000, "%ff", "%00", "[]", "{}"]
        for value in values:
            cases.append(request(f"query {name}={str(value)[:20]}", query=f"{quote(name)}={quote(str(value), safe='%')}",
                                 body=_encode(frame) if frame is not None else None))
        cases.append(request(f"query {name} twice", query=f"{name}=1&{name}=2"))
    if body_schema is not None:
        for raw in RAW_BODIES:
            cases.append(request(f"raw body {raw[:16]!r}", body=raw))
        for leaf, current in _leaves(frame):
            for value in _hostile_for(current):
                cases.append(request(f"body {'.'.join(map(str, leaf))}={str(value)[:20]!r}",
                                     body=_encode(_replaced(frame, leaf, value))))
        for unknown in ({"__proto__": {"admin": True}}, {"constructor": 1}):
            if isinstance(frame, dict):
                cases.append(request(f"body with {unknown}", body=_encode({**frame, **unknown})))
    return cases


def _selected(document, world):
    """A bounded, fixed selection: every operation gets some of each kind, cycling through the values."""
    selected = []
    for index, (method, path, operation) in enumerate(_operations(document)):
        cases = _cases(document, world, method, path, operation)
        by_kind = {}
        for case in cases:
            by_kind.setdefault(case[0].split(" ", 1)[0], []).append(case)
        for kind, group in sorted(by_kind.items()):
            # a few of each kind, spread over the group and shifted per route (so every value is sent somewhere);
            # fewer of the kinds that mostly reach the views (their requests are valid but for one thing)
            per_route = PER_ROUTE.get(kind, 6)
            step = max(1, len(group) // per_route)
            chosen = group[index % step::step][:per_route]
            selected += [(method, path, operation, case) for case in chosen]
    return selected


def _send(api, world, method, path, operation, case):
    label, ids, query, body, extra_headers = case
    url = path
    for name, value in ids.items():
        url = url.replace("{" + name + "}", value)
    if query:
        url += "?" + query
    headers = {}
    if any(p["in"] == "header" and p["name"] == "Idempotency-Key" for p in operation.get("parameters", [])):
        headers["Idempotency-Key"] = new_key("hostile")
    headers.update(extra_headers)
    token = None if operation.get("x-roles") == "public" or "Authorization" in extra_headers else world["attacker"]
    return api.call(method, url, token=token, headers=headers, raw=body if body is not None else None)


# --- the test -----------------------------------------------------------------------------------------

def test_every_operation_answers_hostile_input_with_a_4xx_problem_and_leaks_nothing(api, world, document):
    selected = _selected(document, world)
    operations = {(method, path) for method, path, _, _ in selected}
    assert len(operations) == len(list(_operations(document)))  # every operation of the document, none skipped
    started, failures = time.monotonic(), []
    for method, path, operation, case in selected:
        assert time.monotonic() - started < BUDGET_SECONDS, f"over budget after {len(failures)} failures"
        response = _send(api, world, method, path, operation, case)
        body = response.body.decode("utf-8", "replace") if isinstance(response.body, bytes) else str(response.body)
        where = f"{method} {path} [{case[0]}] -> {response.status_code} {body[:300]}"
        if response.status_code >= 500:
            failures.append(where)
        elif response.status_code >= 400 and response.headers.get("Content-Type") != PROBLEM:
            failures.append("not a problem document: " + where)  # the gateway's own 401/403 included
        is_script = response.headers.get("Content-Type", "").startswith(("text/javascript", "application/javascript"))
        if LEAK.search(body) and not is_script:  # the docs page's renderer (GET /docs/redoc.js) names JS errors
            failures.append("a stack trace or internals: " + where)
        for secret in world["secrets"]:
            if secret in body:
                failures.append(f"another caller's data ({secret[:8]}...): " + where)
    assert not failures, f"{len(failures)} of {len(selected)} hostile requests:\n" + "\n".join(failures[:40])


def test_the_selection_covers_every_kind_of_hostile_input_on_every_kind_of_route(world, document):
    """The cycling keeps every kind: raw bodies, body fields, query parameters (cursors among them) and path
    parameters, each somewhere; a route with a body gets body cases, a list gets cursor cases."""
    selected = _selected(document, world)
    kinds = {case[0].split(" ", 1)[0] for *_, case in selected}
    assert kinds == {"extra", "path", "query", "raw", "body"}
    for method, path, operation in _operations(document):
        labels = [case[0] for m, p, _, case in selected if (m, p) == (method, path)]
        if "requestBody" in operation:
            assert any(label.startswith("raw") for label in labels) and any(
                label.startswith("body") for label in labels), (method, path)
        if any(p["name"] == "cursor" for p in operation.get("parameters", [])):
            assert any(label.startswith("query cursor") for label in labels), (method, path)
    assert len(selected) < 2000  # the budget: a few seconds in-process
    assert all(isinstance(v, str) for v in itertools.chain(world["cursors"]))
