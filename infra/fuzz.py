"""Schemathesis against the running API (`chalice local` on an emulated AWS), as a learner and as an instructor.

    python -m infra.fuzz --examples 5          # bounded: what `make test` runs
    python -m infra.fuzz --max-time 1800       # `make fuzz`: a long run

Starts the `make run` stack on MOTO_PORT/API_PORT (`infra/stack.py`), logs in
as the demo learner and the demo instructor, and runs `st run` once for each
against `/openapi.json` with every check, including response schema
conformance. As the learner, path parameters are generated (unknown ids,
odd strings); as the instructor, the ids are real (the instructor's
published demo course, its section, lesson and session), so requests reach
the rules behind them.

How the checks are tuned, and why (nothing here hides a status the document
does not declare):
- `positive_data_acceptance` (a schema-valid request must not get a 4xx): a
  schema-valid request may still be refused for a documented business reason
  (402 INSUFFICIENT_FUNDS, 409 SOLD_OUT, 422 REFUND_NOT_ALLOWED or
  IDEMPOTENCY_KEY_REUSED, ...). Per operation, the 4xx statuses whose
  documented codes include such a reason are accepted; statuses documented
  only for input errors (VALIDATION_FAILED, MALFORMED_REQUEST, ...) are not.
  A `cursor` is opaque: one the API did not issue is 422 on every list.
- Unexpected methods: API Gateway answers TRACE/QUERY itself; `chalice
  local`'s development server answers them 501 before the app runs. The
  coverage phase tries every other undeclared method (405 from the app).
- 401/403 without a valid token come from the gateway's authorizer step, not
  from the app: the document declares them (GatewayError, application/json)
  next to the app's own problem documents, so they are checked like any other.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

from infra.stack import PROJECT_DIR, clean_environment, running_stack

INPUT_ERRORS = {"VALIDATION_FAILED", "MALFORMED_REQUEST", "UNSUPPORTED_MEDIA_TYPE", "IDEMPOTENCY_KEY_REQUIRED",
                "UNAUTHENTICATED", "FORBIDDEN", "NOT_FOUND", "METHOD_NOT_ALLOWED"}
ALWAYS_ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429"]
# 422 VALIDATION_FAILED for a rule no schema can state, because it depends on the clock or on stored state:
# a time that must be in the future, a file type that must fit the lesson's kind, a capacity not below the
# seats already booked; or on a table the schema does not carry: a range whose `from` must not pass its
# `to`, a bank code from the banks we pay to, an IANA time zone name.
STATE_DEPENDENT = {
    "GET /instructor/dashboard", "GET /instructor/dashboard.csv", "GET /instructor/dashboard.png",
    "PUT /instructor/payout-account", "PUT /instructor/timezone",
    "POST /instructor/courses/{course_id}/sessions", "POST /instructor/courses/{course_id}/coupons",
    "POST /instructor/courses/{course_id}/publish", "POST /instructor/courses/{course_id}/lessons/{lesson_id}/upload-url",
    "PATCH /instructor/courses/{course_id}/sessions/{session_id}",
}
UNEXPECTED_METHODS = ["get", "put", "post", "delete", "patch", "options"]
PASSWORD = "Classpay-demo-1"
CALLERS = {"learner": "learner@classpay.test", "instructor": "instructor@classpay.test"}


def _http(method: str, url: str, body: dict | None = None, token: str | None = None) -> dict:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers, method=method),
                                timeout=30) as response:
        return json.loads(response.read() or b"null")


def _business_statuses(operation: dict) -> list[str]:
    """The 4xx statuses an operation documents for a reason other than bad input."""
    accepted = []
    for status, response in operation.get("responses", {}).items():
        description = response.get("description", "")
        codes = set(description.removeprefix("Problem: ").split(";")[0].replace(" ", "").split(","))
        if status.startswith("4") and description.startswith("Problem: ") and codes - INPUT_ERRORS:
            accepted.append(status)
    if any(p.get("name") == "cursor" for p in operation.get("parameters", [])):
        accepted.append("422")
    return accepted


def _toml(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def write_config(path: Path, document: dict, base_url: str, examples: int | None, max_time: int | None,
                 parameters: dict[str, str], seed: int | None) -> None:
    lines = [f"base-url = {_toml(base_url)}", "", "[generation]", "database = \"none\""]
    if examples:
        lines.append(f"max-examples = {examples}")
    lines += ["", "[phases.coverage]", f"unexpected-methods = {_toml(UNEXPECTED_METHODS)}", ""]
    lines += ["[checks.positive_data_acceptance]", f"expected-statuses = {_toml(ALWAYS_ACCEPTED)}", ""]
    for route, methods in document["paths"].items():
        for method, operation in methods.items():
            extra = _business_statuses(operation)
            if f"{method.upper()} {route}" in STATE_DEPENDENT:
                extra.append("422")
            if extra:
                lines += ["[[operations]]", f"include-name = {_toml(f'{method.upper()} {route}')}",
                          "[operations.checks.positive_data_acceptance]",
                          f"expected-statuses = {_toml(sorted(set(ALWAYS_ACCEPTED + extra)))}", ""]
    if parameters:
        lines += ["[parameters]"] + [f"{_toml(k)} = {_toml(v)}" for k, v in parameters.items()] + [""]
    path.write_text("\n".join(lines))


def _seeded_ids(base_url: str, instructor_token: str) -> dict[str, str]:
    courses = _http("GET", f"{base_url}/instructor/courses?limit=100", token=instructor_token)["items"]
    published = [c for c in courses if c["status"] == "published"]
    course = _http("GET", f"{base_url}/instructor/courses/{published[0]['course_id']}", token=instructor_token)
    ids = {"path.course_id": course["course_id"], "path.instructor_id": course["instructor"]["instructor_id"]}
    lessons = [lesson for section in course["sections"] for lesson in section["lessons"]]
    if lessons:
        ids["path.lesson_id"] = lessons[0]["lesson_id"]
    if course["sections"]:
        ids["path.section_id"] = course["sections"][0]["section_id"]
    if course.get("sessions"):
        ids["path.session_id"] = course["sessions"][0]["session_id"]
    return ids


def fuzz(moto_port: int, api_port: int, examples: int | None = None, max_time: int | None = None,
         seed: int | None = None) -> int:
    """Run schemathesis as each caller; 0 when every check passed for both."""
    with running_stack(moto_port, api_port) as base_url, tempfile.TemporaryDirectory() as scratch:
        document = _http("GET", f"{base_url}/openapi.json")
        tokens = {role: _http("POST", f"{base_url}/auth/login", {"email": email, "password": PASSWORD})["access_token"]
                  for role, email in CALLERS.items()}
        parameters = _seeded_ids(base_url, tokens["instructor"])
        runs = []
        for role, token in tokens.items():
            config = Path(scratch) / f"{role}.toml"
            write_config(config, document, base_url, examples, max_time,
                         parameters if role == "instructor" else {}, seed)
            command = [str(Path(sys.executable).parent / "st"), "--config-file", str(config), "run",
                       f"{base_url}/openapi.json", "--checks", "all", "--header", f"Authorization: Bearer {token}",
                       "--workers", "1", "--no-color", "--request-timeout", "30",
                       "--phases", "examples,coverage,fuzzing,stateful"]
            if max_time:
                command += ["--max-time", str(max_time)]
            if seed is not None:
                command += ["--seed", str(seed)]
            # One worker per run, the two callers' runs side by side: schemathesis' worker threads can
            # trip CPython 3.11's `ast.parse` thread-safety bug ("AST constructor recursion depth mismatch").
            output = open(Path(scratch) / f"{role}.log", "w+")  # noqa: SIM115 - closed below
            runs.append((role, output, subprocess.Popen(command, cwd=scratch, env=clean_environment(),
                                                        stdout=output, stderr=subprocess.STDOUT)))
        worst = 0
        for role, output, process in runs:
            worst = max(worst, process.wait())
            output.seek(0)
            sys.stdout.write(f"--- schemathesis as the demo {role} ---\n{output.read()}")
            output.close()
        return worst


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=None, help="at most this many test cases per operation")
    parser.add_argument("--max-time", type=int, default=None, help="seconds for each caller's run")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--moto-port", type=int, default=int(os.environ.get("MOTO_PORT", "5804")))
    parser.add_argument("--api-port", type=int, default=int(os.environ.get("API_PORT", "8804")))
    arguments = parser.parse_args()
    return fuzz(arguments.moto_port, arguments.api_port, arguments.examples, arguments.max_time, arguments.seed)


if __name__ == "__main__":
    os.chdir(PROJECT_DIR)
    sys.exit(main())
