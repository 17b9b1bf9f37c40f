"""Schemathesis against the running API (`chalice local` on an emulated AWS), as a learner and as an instructor.

    python -m infra.fuzz --examples 5          # bounded: what `make test` runs
    python -m infra.fuzz --max-time 1800       # `make fuzz`: a long run

Starts the `make run` stack on MOTO_PORT/API_PORT (`infra/stack.py`), logs in
as the demo learner and the demo instructor, and runs `st run` once for each
against `/openapi.json` with every check, including response schema
conformance. Both callers fuzz real objects, so requests reach the rules
behind them (a made-up id only ever meets a 404; tests/test_authorization_matrix.py
pins those down): the instructor gets their published demo course, its
section, lesson and session; the learner gets seeded courses of other
instructors (whom nobody fuzzes): one they are enrolled in (its lessons all
completed, with a question and a certificate), one more they bought for the
refund route alone (so that refunding leaves the first enrollment alone), one
with a live session seat still to buy (`POST /orders`' body), their own
orders, a pending top-up, and that course's instructor.

How the checks are tuned, and why (nothing here hides a status the document
does not declare):
- `positive_data_acceptance` (a schema-valid request must not get a 4xx): a
  schema-valid request may still be refused for a documented business reason
  (402 INSUFFICIENT_FUNDS, 409 SOLD_OUT, 422 REFUND_NOT_ALLOWED or
  IDEMPOTENCY_KEY_REUSED, ...). Per operation, the 4xx statuses whose
  documented codes include such a reason are accepted; statuses documented
  only for input errors (VALIDATION_FAILED, MALFORMED_REQUEST, ...) are not.
  A `cursor` is opaque and authenticated (chalicelib/api/pagination.py): one
  the API did not issue for that list and caller is 422 on every list.
- Unexpected methods: API Gateway answers TRACE/QUERY itself; `chalice
  local`'s development server answers them 501 before the app runs. The
  coverage phase tries every other undeclared method (405 from the app).
- 401/403 without a valid token come from the gateway's authorizer step, not
  from the app: problem documents too (infra/api_server.py answers them as the
  stage's gateway responses say), so they are checked like any other.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

from infra.project import PROJECT_DIR
from infra.stack import clean_environment, running_stack

INPUT_ERRORS = {"VALIDATION_FAILED", "MALFORMED_REQUEST", "UNSUPPORTED_MEDIA_TYPE", "IDEMPOTENCY_KEY_REQUIRED",
                "UNAUTHENTICATED", "FORBIDDEN", "NOT_FOUND", "METHOD_NOT_ALLOWED"}
ALWAYS_ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429"]
# 422 VALIDATION_FAILED for a rule no schema can state, because it depends on the clock or on stored state:
# a time that must be in the future, a file type that must fit the lesson's kind, a capacity not below the
# seats already booked; or on a table the schema does not carry: a range whose `from` must not pass its
# `to`, a bank code from the banks we pay to, an IANA time zone name; or on the stage's settings: a course's
# price is in the wallets' currency (`WALLET_CURRENCY`), and a course on sale keeps a price above zero; or on a
# number's own rules: a tax profile's registration number (a real birth date, the NTS check digit, the one its kind needs).
STATE_DEPENDENT = {
    "POST /instructor/courses", "PATCH /instructor/courses/{course_id}",
    "GET /instructor/dashboard", "GET /instructor/dashboard.csv", "GET /instructor/dashboard.png",
    "PUT /instructor/payout-account", "PUT /instructor/timezone", "PUT /instructor/tax-profile",
    "POST /instructor/courses/{course_id}/sessions", "POST /instructor/courses/{course_id}/coupons",
    "POST /instructor/courses/{course_id}/publish", "POST /instructor/courses/{course_id}/lessons/{lesson_id}/upload-url",
    "PATCH /instructor/courses/{course_id}/sessions/{session_id}",
    "PUT /instructor/courses/{course_id}/revenue-split",  # bps summing to 10000, the owner among the parties
}
UNEXPECTED_METHODS = ["get", "put", "post", "delete", "patch", "options"]
PASSWORD = "Classpay-demo-1"
CALLERS = {"learner": "learner@classpay.test", "instructor": "instructor@classpay.test"}


def _http(method: str, url: str, body: dict | None = None, token: str | None = None,
          headers: dict[str, str] | None = None) -> dict:
    headers = {"Content-Type": "application/json", **(headers or {})}
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
                 parameters: dict[str, str], seed: int | None,
                 operation_parameters: dict[str, dict[str, str]] | None = None) -> None:
    """`parameters` for every operation; `operation_parameters` by operation name ("POST /orders")."""
    operation_parameters = operation_parameters or {}
    lines = [f"base-url = {_toml(base_url)}", "", "[generation]", "database = \"none\""]
    if examples:
        lines.append(f"max-examples = {examples}")
    lines += ["", "[phases.coverage]", f"unexpected-methods = {_toml(UNEXPECTED_METHODS)}"]
    if examples:
        # The bounded run (make test) leaves the coverage phase (every boundary and every undeclared method of
        # every operation: three minutes per caller) to `make fuzz`; tests/test_hostile_inputs.py covers that
        # ground in-process.
        lines.append("enabled = false")
    lines.append("")
    lines += ["[checks.positive_data_acceptance]", f"expected-statuses = {_toml(ALWAYS_ACCEPTED)}", ""]
    for route, methods in document["paths"].items():
        for method, operation in methods.items():
            name = f"{method.upper()} {route}"
            extra = _business_statuses(operation)
            if name in STATE_DEPENDENT:
                extra.append("422")
            own = operation_parameters.get(name, {})
            if not extra and not own:
                continue
            lines += ["[[operations]]", f"include-name = {_toml(name)}"]
            if extra:
                lines += ["[operations.checks.positive_data_acceptance]",
                          f"expected-statuses = {_toml(sorted(set(ALWAYS_ACCEPTED + extra)))}"]
            if own:
                lines += ["[operations.parameters]"] + [f"{_toml(k)} = {_toml(v)}" for k, v in own.items()]
            lines.append("")
    unknown = set(operation_parameters) - {f"{m.upper()} {r}" for r, ms in document["paths"].items() for m in ms}
    if unknown:
        raise ValueError(f"parameters for operations the document does not have: {sorted(unknown)}")
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


def _learner_ids(base_url: str, token: str, fuzzed_instructor_id: str) -> tuple[dict[str, str], dict[str, dict]]:
    """Real objects of the demo learner, on seeded courses of instructors nobody fuzzes (the instructor run
    edits its own courses meanwhile); made here through the API where the seed has none. Returns the
    parameters for every operation and those for single operations."""
    catalog = _http("GET", f"{base_url}/courses?limit=100&sort=price_asc")["items"]
    courses = [_http("GET", f"{base_url}/courses/{c['course_id']}") for c in catalog
               if c["instructor"]["instructor_id"] != fuzzed_instructor_id]
    to_buy = next(c for c in courses if any(s["seats_left"] > 0 for s in c["sessions"]))
    enrolled, refundable = [c for c in courses if c is not to_buy and c["sections"] and c["sections"][0]["lessons"]][:2]

    def paid_orders() -> dict[str, str]:
        orders = _http("GET", f"{base_url}/orders?limit=100", token=token)["items"]
        return {o["course_id"]: o["order_id"] for o in orders if o["status"] == "paid"}

    orders = paid_orders()
    for course in (enrolled, refundable):
        if course["course_id"] not in orders:
            _http("POST", f"{base_url}/orders", {"course_id": course["course_id"]}, token=token,
                  headers={"Idempotency-Key": f"fuzz-setup-{course['course_id']}"})
    orders = paid_orders()
    course_id = enrolled["course_id"]
    lessons = [lesson["lesson_id"] for section in enrolled["sections"] for lesson in section["lessons"]]
    for lesson_id in lessons:  # completed, so that the certificate exists
        _http("PUT", f"{base_url}/me/enrollments/{course_id}/lessons/{lesson_id}/progress",
              {"completed": True, "position_seconds": 60}, token=token)
    certificate = _http("GET", f"{base_url}/me/certificates/{course_id}", token=token)
    question = _http("POST", f"{base_url}/courses/{course_id}/questions",
                     {"title": "Fuzz", "body": "A question to read and answer"}, token=token)
    topup = _http("POST", f"{base_url}/wallet/topups", {"amount": {"amount": 10_000, "currency": "KRW"}},
                  token=token, headers={"Idempotency-Key": "fuzz-setup-topup"})
    everywhere = {
        "path.course_id": course_id, "path.lesson_id": lessons[0], "path.order_id": orders[course_id],
        "path.instructor_id": enrolled["instructor"]["instructor_id"], "path.topup_id": topup["topup_id"],
        "path.question_id": question["question_id"], "path.verification_id": certificate["verification_id"],
    }
    seat = next(s for s in to_buy["sessions"] if s["seats_left"] > 0)
    single = {
        "POST /orders": {"body.course_id": to_buy["course_id"], "body.session_id": seat["session_id"]},
        "POST /orders/{order_id}/refund": {"path.order_id": orders[refundable["course_id"]]},
    }
    return everywhere, single


def fuzz(moto_port: int, api_port: int, examples: int | None = None, max_time: int | None = None,
         seed: int | None = None) -> int:
    """Run schemathesis as each caller; 0 when every check passed for both."""
    with running_stack(moto_port, api_port) as base_url, tempfile.TemporaryDirectory() as scratch:
        document = _http("GET", f"{base_url}/openapi.json")
        tokens = {role: _http("POST", f"{base_url}/auth/login", {"email": email, "password": PASSWORD})["access_token"]
                  for role, email in CALLERS.items()}
        instructor_ids = _seeded_ids(base_url, tokens["instructor"])
        learner_ids = _learner_ids(base_url, tokens["learner"], instructor_ids["path.instructor_id"])
        parameters = {"instructor": (instructor_ids, {}), "learner": learner_ids}
        runs = []
        for role, token in tokens.items():
            config = Path(scratch) / f"{role}.toml"
            everywhere, single = parameters[role]
            write_config(config, document, base_url, examples, max_time, everywhere, seed, single)
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
