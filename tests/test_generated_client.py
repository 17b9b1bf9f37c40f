"""A client generated from the API document, as a newcomer would generate one, works on the first try.

`openapi-python-client` generates a Python client from `GET /openapi.json` with no warning (nothing of the
document dropped), and the client runs a whole flow against the app: sign up, publish, top up, buy, the
receipt, the dashboard and its chart, the certificate, a refund; refusals (401, 403, 422) arrive as
problem documents it parses, in process and from chalice local over HTTP alike.

The generator reads the first media type of an answer; its configuration maps PDF and PNG to bytes
(`GENERATOR_CONFIG`). The client speaks httpx: here to the in-process app (`ChaliceTransport`), so the
module takes seconds. TypeScript types generated with `openapi-typescript` compile under `tsc --strict`;
both tools as tests/typescript/package-lock.json pins them, installed into build/typescript/ on first use.
"""

import importlib
import json
import re
import shutil
import subprocess
import sys
import uuid
from collections import Counter
from datetime import datetime

import httpx
import pytest

from chalicelib.api import openapi
from infra.project import PROJECT_DIR
from tests.support.api import PASSWORD

PACKAGE = "classpay_client"
BASE_URL = "https://api.classpay.test"  # never reached: the transport answers in process
GENERATOR_CONFIG = {
    "content_type_overrides": {"application/pdf": "application/octet-stream", "image/png": "application/octet-stream"},
    "post_hooks": [],  # the generated code as it is (no formatter run)
}


TYPESCRIPT_TOOLS = PROJECT_DIR / "tests" / "typescript"  # their package.json and package-lock.json
TYPESCRIPT_INSTALL = PROJECT_DIR / "build" / "typescript"
# Code a TypeScript client would write against the generated types: it must compile under --strict.
TYPESCRIPT_USE = """
import type { components, paths } from "./api";

type Receipt = paths["/orders"]["post"]["responses"][201]["content"]["application/json"];
type Unauthenticated = paths["/me"]["get"]["responses"][401]["content"]["application/problem+json"];

export const refunded: components["schemas"]["OrderOut"]["status"] = "refunded";
export const total = (receipt: Receipt): number => receipt.total.amount;
export const replayed = (headers: paths["/orders"]["post"]["responses"][201]["headers"]): boolean =>
  headers["Idempotent-Replayed"] === "true";
export const problem: Unauthenticated = {
  type: "urn:classpay:problem:unauthenticated", title: "Unauthenticated", status: 401,
  detail: "A bearer token is required", code: "UNAUTHENTICATED", errors: [],
};
export type Chart = paths["/instructor/dashboard.png"]["get"]["responses"][200]["content"]["image/png"];
"""


class ChaliceTransport(httpx.BaseTransport):
    """httpx requests answered by the in-process app (`chalice.test.Client`'s local gateway)."""

    def __init__(self, http):
        self.http = http

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        answer = self.http.request(request.method, request.url.raw_path.decode(), headers=dict(request.headers),
                                   body=request.read())
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.body, request=request)


@pytest.fixture(scope="module")
def generated(chalice_app, tmp_path_factory):
    """The generated client package, imported; generated once for the module."""
    folder = tmp_path_factory.mktemp("generated")
    (folder / "openapi.json").write_text(json.dumps(openapi.document()))
    (folder / "config.json").write_text(json.dumps(GENERATOR_CONFIG))
    run = subprocess.run(
        [sys.executable, "-m", "openapi_python_client", "generate", "--path", str(folder / "openapi.json"),
         "--output-path", str(folder / PACKAGE), "--meta", "none", "--config", str(folder / "config.json")],
        capture_output=True, text=True, timeout=120, check=False)
    said = (run.stdout + run.stderr).strip()
    assert run.returncode == 0 and said == f"Generating {folder / PACKAGE}", said  # nothing but that: no warning
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(folder))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(PACKAGE + ".")]:
            del sys.modules[name]


@pytest.fixture(scope="module")
def transport(chalice_app):
    from chalice.test import Client

    from infra.project import PROJECT_DIR

    with Client(chalice_app, stage_name="test", project_dir=str(PROJECT_DIR)) as client:
        yield ChaliceTransport(client.http)


def _api(generated, name):
    """A module of the generated client's operations: `_api(generated, "orders.buy")`."""
    return importlib.import_module(f"{PACKAGE}.api.{name}")


def _models(generated):
    return importlib.import_module(f"{PACKAGE}.models")


def _ok(response, status=200):
    assert response.status_code == status, response.content
    assert response.headers["X-Request-Id"]
    return response.parsed


def _key() -> str:
    return uuid.uuid4().hex


class Session:
    """One person's clients: anonymous and, once logged in, with their token."""

    def __init__(self, generated, transport):
        self.generated = generated
        self.transport = transport
        self.anonymous = generated.Client(base_url=BASE_URL, raise_on_unexpected_status=True,
                                          httpx_args={"transport": transport})
        self.client = None

    def sign_up_and_log_in(self, roles, name):
        models = _models(self.generated)
        email = f"generated-{uuid.uuid4().hex[:12]}@classpay.test"
        signup = _api(self.generated, "auth.signup").sync_detailed(client=self.anonymous, body=models.SignupRequest(
            email=email, password=PASSWORD, name=name, roles=[models.SignupRequestRolesItem(role) for role in roles]))
        _ok(signup, 202)
        tokens = _ok(_api(self.generated, "auth.login").sync_detailed(
            client=self.anonymous, body=models.LoginRequest(email=email, password=PASSWORD)))
        self.client = self.with_token(tokens.access_token)
        return self

    def with_token(self, token):
        return self.generated.AuthenticatedClient(base_url=BASE_URL, token=token, raise_on_unexpected_status=True,
                                                  httpx_args={"transport": self.transport})


def test_the_document_names_each_type_once_by_its_own_name(chalice_app):
    """Client generators name classes by title: a title twice drops a type, a module path is no name."""
    schemas = openapi.document()["components"]["schemas"]
    titles = Counter(schema["title"] for schema in schemas.values())
    assert [title for title, count in titles.items() if count > 1] == []
    assert [name for name, schema in schemas.items() if name != schema["title"] or not name.isidentifier()] == []


def test_two_api_types_of_one_name_are_refused_when_the_document_is_built(monkeypatch):
    import msgspec

    from chalicelib.api import routing

    def twin(module):
        return msgspec.defstruct("Rating", [("count", int)], module=module)

    monkeypatch.setattr(openapi, "ENDPOINTS", [
        routing.Endpoint("GET", f"/{module}", module, routing.PUBLIC, "test", "test", 200, None, None,
                         twin(f"tests.{module}"), (), "application/json")
        for module in ("courses", "dashboard")])
    with pytest.raises(ValueError, match="Rating"):
        openapi.document.__wrapped__()


def test_binary_answers_are_bytes_and_statuses_are_enums_in_the_document(chalice_app):
    document = openapi.document()
    chart = document["paths"]["/instructor/dashboard.png"]["get"]["responses"]["200"]["content"]
    assert chart == {"image/png": {"schema": {"type": "string", "format": "binary"}}}
    certificate = document["paths"]["/me/certificates/{course_id}"]["get"]["responses"]["200"]["content"]
    assert certificate["application/pdf"] == {"schema": {"type": "string", "format": "binary"}}
    schemas = document["components"]["schemas"]
    assert schemas["OrderOut"]["properties"]["status"] == {"$ref": "#/components/schemas/OrderStatus"}
    assert schemas["OrderStatus"] == {"title": "OrderStatus", "type": "string", "enum": ["paid", "refunded"]}
    assert schemas["OrderOut"]["properties"]["created_at"]["format"] == "date-time"
    assert schemas["CourseSummary"]["properties"]["published_at"]["anyOf"][0]["format"] == "date-time"
    buy = document["paths"]["/orders"]["post"]["responses"]
    assert {status: set(answer["headers"]) for status, answer in buy.items()} == {
        status: {"X-Request-Id", "Idempotent-Replayed"} for status in buy}


def test_a_generated_client_runs_the_whole_flow(generated, transport, api):
    models = _models(generated)
    instructor = Session(generated, transport).sign_up_and_log_in(["instructor"], "Gen Instructor").client
    learner = Session(generated, transport).sign_up_and_log_in(["learner"], "Gen Learner").client

    # the instructor builds and publishes a course
    new_course = models.NewCourse(title="Generated clients", category=models.NewCourseCategory.PROGRAMMING,
                                  price=models.MoneyBody(amount=30_000, currency="KRW"))
    course = _ok(_api(generated, "studio.create_course").sync_detailed(client=instructor, body=new_course), 201)
    assert course.status == models.CourseStatus.DRAFT
    section = _ok(_api(generated, "studio.add_section").sync_detailed(
        course.course_id, client=instructor, body=models.NewSection(title="Basics")), 201)
    lesson = _ok(_api(generated, "studio.add_lesson").sync_detailed(
        course.course_id, section.section_id, client=instructor,
        body=models.NewLesson(title="Hello", kind=models.LessonKind.VIDEO, duration_seconds=60)), 201)
    published = _ok(_api(generated, "studio.publish").sync_detailed(course.course_id, client=instructor))
    assert published.status == models.CourseStatus.PUBLISHED and isinstance(published.published_at, datetime)

    # the learner tops up (the fake gateway), buys, and reads the receipt
    topup = _ok(_api(generated, "wallet.create_topup").sync_detailed(
        client=learner, body=models.TopupRequest(amount=models.MoneyBody(amount=30_000, currency="KRW")),
        idempotency_key=_key()), 201)
    confirmed = _ok(_api(generated, "wallet.confirm_topup").sync_detailed(
        topup.topup_id, client=learner, body=models.ConfirmRequest(payment_key=topup.checkout.payment_key),
        idempotency_key=_key()))
    assert confirmed.status == models.TopupStatus.CONFIRMED
    buy, key = _api(generated, "orders.buy"), _key()
    order = _ok(buy.sync_detailed(client=learner, body=models.OrderRequest(course_id=course.course_id),
                                  idempotency_key=key), 201)
    again = buy.sync_detailed(client=learner, body=models.OrderRequest(course_id=course.course_id), idempotency_key=key)
    assert again.headers["Idempotent-Replayed"] == "true" and again.parsed.order_id == order.order_id
    receipt = _ok(_api(generated, "orders.get_order").sync_detailed(order.order_id, client=learner))
    assert receipt.status == models.OrderStatus.PAID and receipt.total.amount == 30_000

    # the instructor's dashboard counts the sale; its chart is a PNG
    dashboard = _ok(_api(generated, "dashboard.get_dashboard").sync_detailed(client=instructor))
    assert dashboard.totals.orders == 1 and dashboard.totals.gross.amount == 30_000
    chart = _ok(_api(generated, "dashboard.get_dashboard_png").sync_detailed(client=instructor))
    assert chart.payload.read().startswith(b"\x89PNG")

    # the learner completes the course and gets the certificate, as JSON and as a PDF
    progress = _ok(_api(generated, "learning.record_progress").sync_detailed(
        course.course_id, lesson.lesson_id, client=learner, body=models.ProgressInput(completed=True)))
    assert progress.status == models.EnrollmentStatus.COMPLETED
    certificate = _ok(_api(generated, "learning.my_certificate").sync_detailed(course.course_id, client=learner))
    assert certificate.course_title == "Generated clients"
    # one operation answers JSON or a PDF (`?format=pdf`): the generator reads the first media type only, so
    # the PDF is fetched with the client's own httpx client (its base URL and token)
    pdf = learner.get_httpx_client().get(f"/me/certificates/{course.course_id}", params={"format": "pdf"},
                                         headers={"Accept": "application/pdf"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")

    # past the progress limit the learner's refund is refused, as a problem document; an admin refunds
    refund = _api(generated, "orders.refund")
    refused = refund.sync_detailed(order.order_id, client=learner, body=models.RefundRequest(reason="changed mind"),
                                   idempotency_key=_key())
    assert refused.status_code == 422 and refused.parsed.code == "REFUND_NOT_ALLOWED"
    admin = Session(generated, transport).with_token(api.admin_token())
    refunded = _ok(refund.sync_detailed(order.order_id, client=admin, body=models.RefundRequest(reason="goodwill"),
                                        idempotency_key=_key()))
    assert refunded.status == models.OrderStatus.REFUNDED and refunded.refund.amount.amount == 30_000


def test_refusals_before_the_app_are_problem_documents_the_client_parses(generated, local_api):
    """No token (401) and a token that fails verification (403), from chalice local over HTTP."""
    me = _api(generated, "auth.me")
    anonymous = generated.Client(base_url=local_api, raise_on_unexpected_status=True)
    forged = generated.AuthenticatedClient(base_url=local_api, token="not.a.jwt", raise_on_unexpected_status=True)
    for client, status, code in ((anonymous, 401, "UNAUTHENTICATED"), (forged, 403, "FORBIDDEN")):
        response = me.sync_detailed(client=client)
        assert response.status_code == status, response.content
        assert response.headers["Content-Type"] == "application/problem+json" and response.headers["X-Request-Id"]
        assert response.parsed.code == code and re.fullmatch(r"urn:classpay:problem:[a-z-]+", response.parsed.type_)


@pytest.fixture(scope="module")
def typescript_tools():
    """The `node_modules/.bin` of openapi-typescript and tsc, installed with npm once per lock file."""
    lock = (TYPESCRIPT_TOOLS / "package-lock.json").read_bytes()
    installed = TYPESCRIPT_INSTALL / "installed-package-lock.json"
    if not installed.exists() or installed.read_bytes() != lock:
        TYPESCRIPT_INSTALL.mkdir(parents=True, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copy(TYPESCRIPT_TOOLS / name, TYPESCRIPT_INSTALL / name)
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=TYPESCRIPT_INSTALL,
                       check=True, capture_output=True, timeout=600)
        installed.write_bytes(lock)
    return TYPESCRIPT_INSTALL / "node_modules" / ".bin"


def test_typescript_types_generated_from_the_document_compile_strictly(chalice_app, typescript_tools, tmp_path):
    (tmp_path / "openapi.json").write_text(json.dumps(openapi.document()))
    generate = subprocess.run([typescript_tools / "openapi-typescript", "openapi.json", "-o", "api.d.ts"],
                              cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    said = (generate.stdout + generate.stderr).strip().splitlines()
    assert generate.returncode == 0 and len(said) == 2 and "api.d.ts" in said[-1], said  # its banner and the file
    (tmp_path / "use.ts").write_text(TYPESCRIPT_USE)
    compile_ = subprocess.run([typescript_tools / "tsc", "--strict", "--noEmit", "--target", "es2022", "--module",
                               "nodenext", "--moduleResolution", "nodenext", "use.ts"],
                              cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert compile_.returncode == 0, compile_.stdout + compile_.stderr
