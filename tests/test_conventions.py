"""The API's conventions: problem documents, validation naming the field, CORS, health, the API document."""

import ast
import os
import sys

import pytest
from openapi_spec_validator import validate

from chalicelib.api.routing import ENDPOINTS, Policy
from infra.project import PROJECT_DIR
from tests.support.api import Api

SIGNUP = "/auth/signup"


def _assert_problem(response, status, code, field=None):
    assert response.status_code == status, response.body
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = response.json_body
    assert problem["status"] == status
    assert problem["code"] == code
    assert problem["type"] and problem["title"] and problem["detail"]
    if field is not None:
        assert field in [e["field"] for e in problem["errors"]], problem


# --- every route has a declared policy ------------------------------------------------------------

def test_every_route_of_the_app_declares_who_may_call_it(chalice_app):
    undeclared = [
        f"{method} {path}"
        for path, methods in chalice_app.routes.items()
        for method, entry in methods.items()
        if not isinstance(getattr(entry.view_function, "policy", None), Policy)
    ]
    assert undeclared == []


def test_every_protected_route_runs_behind_the_authorizer(chalice_app):
    for path, methods in chalice_app.routes.items():
        for method, entry in methods.items():
            if not entry.view_function.policy.public:
                assert entry.authorizer is not None and entry.authorizer.name == "bearer", f"{method} {path}"


# --- validation ----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("raw", "status", "code", "field"),
    [
        (b"{not json", 400, "MALFORMED_REQUEST", "body"),
        (b"", 400, "MALFORMED_REQUEST", "body"),
        (b"[1, 2]", 422, "VALIDATION_FAILED", "body"),
        (b'{"email": 5, "password": "Classpay-test-1", "name": "A"}', 422, "VALIDATION_FAILED", "email"),
        (b'{"password": "Classpay-test-1", "name": "A"}', 422, "VALIDATION_FAILED", "email"),
        (b'{"email": "a@classpay.test", "password": "Classpay-test-1", "name": "A", "admin": true}',
         422, "VALIDATION_FAILED", "admin"),
        (b'{"email": "a@classpay.test", "password": "Classpay-test-1", "name": "' + b"x" * 101 + b'"}',
         422, "VALIDATION_FAILED", "name"),
        (b'{"email": "a@classpay.test", "password": "Classpay-test-1", "name": "   "}',
         422, "VALIDATION_FAILED", "name"),
        (b'{"email": "not-an-email", "password": "Classpay-test-1", "name": "A"}', 422, "VALIDATION_FAILED", "email"),
        (b'{"email": "a@classpay.test", "password": "Classpay-test-1", "name": "A", "roles": []}',
         422, "VALIDATION_FAILED", "roles"),
        (b'{"email": "a@classpay.test", "password": "Classpay-test-1", "name": "A", "roles": "learner"}',
         422, "VALIDATION_FAILED", "roles"),
    ],
)
def test_bad_input_is_a_problem_naming_the_field_and_writes_nothing(api, raw, status, code, field):
    response = api.post(SIGNUP, raw=raw)
    _assert_problem(response, status, code, field)
    # no account was made (asked of Cognito: log-ins here would meet the failed log-in limit, attempt_limits)
    import boto3

    users = boto3.client("cognito-idp").list_users(UserPoolId=os.environ["USER_POOL_ID"], Filter='email = "a@classpay.test"')
    assert users["Users"] == []


def test_unsupported_content_type_is_a_problem(api):
    response = api.call("POST", SIGNUP, raw=b"email=a", headers={"Content-Type": "application/x-www-form-urlencoded"})
    _assert_problem(response, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_unsupported_method_is_a_problem(api):
    _assert_problem(api.call("DELETE", "/health"), 405, "METHOD_NOT_ALLOWED")


def test_a_caller_without_the_routes_role_gets_403_and_no_token_401(api, monkeypatch):
    """Policies are enforced by the route wrapper: a throwaway admins-only route on a second app."""
    from chalice import Chalice
    from chalice.test import Client

    from chalicelib.api import routing
    from chalicelib.api.authorizer import authorizer_blueprint
    from chalicelib.api.edge import http_middleware

    monkeypatch.setattr(routing, "ENDPOINTS", [])
    monkeypatch.setattr(routing, "_PREFLIGHT_PATHS", set())
    admin_only = routing.ApiBlueprint("admin_only_test", tag="test")

    @admin_only.endpoint("GET", "/admin-only", policy=routing.ADMIN, summary="test")
    def secret(call):
        return {"seen_by": call.caller.user_id}

    throwaway = Chalice("policy-test")
    throwaway.register_blueprint(authorizer_blueprint)
    throwaway.register_blueprint(admin_only)
    throwaway.register_middleware(http_middleware(throwaway), "http")
    learner_token = api.token_for(roles=["learner"])
    with Client(throwaway, stage_name="test", project_dir=str(PROJECT_DIR)) as client:
        forbidden = Api(client.http).get("/admin-only", token=learner_token)
        anonymous = Api(client.http).get("/admin-only")
    _assert_problem(forbidden, 403, "FORBIDDEN")
    assert anonymous.status_code == 401


# --- CORS ------------------------------------------------------------------------------------------

def test_preflight_from_an_allowed_origin_is_answered(api):
    response = api.call("OPTIONS", "/me", headers={
        "Origin": "https://app.classpay.test", "Access-Control-Request-Method": "GET"})
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "https://app.classpay.test"
    assert "GET" in response.headers["Access-Control-Allow-Methods"]
    assert "Idempotency-Key" in response.headers["Access-Control-Allow-Headers"]


def test_errors_carry_cors_headers_too(api):
    response = api.post("/auth/login", {"email": "x@classpay.test", "password": "nope-nope"},
                        headers={"Origin": "https://studio.classpay.test"})
    assert response.status_code == 401
    assert response.headers["Access-Control-Allow-Origin"] == "https://studio.classpay.test"


def test_an_unknown_origin_gets_no_cors_headers(api):
    response = api.get("/health", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in response.headers


# --- health and the API document ------------------------------------------------------------------

def test_health_reports_version_and_tables(api):
    response = api.get("/health")
    assert response.status_code == 200
    body = response.json_body
    assert body["status"] == "ok" and body["version"] and body["stage"] == "test"
    assert body["tables"]["users"] == {"schema_version": 1, "status": "ACTIVE"}


def test_openapi_document_validates_and_lists_every_route(api, chalice_app):
    response = api.get("/openapi.json")
    assert response.status_code == 200
    document = response.json_body
    validate(document)
    documented = {(path, method.upper()) for path, ops in document["paths"].items() for method in ops}
    routed = {(path, method) for path, methods in chalice_app.routes.items() for method in methods if method != "OPTIONS"}
    assert routed == documented
    assert document["paths"]["/me"]["get"]["security"] == [{"bearer": []}]
    assert "401" in document["paths"]["/me"]["get"]["responses"]


def test_every_declared_endpoint_is_routed(chalice_app):
    for endpoint in ENDPOINTS:
        assert endpoint.method in chalice_app.routes[endpoint.path]


def test_docs_page_renders_the_document(api):
    response = api.get("/docs")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html"
    assert b"openapi.json" in response.body


def test_concurrent_requests_each_see_their_own_caller(api):
    """chalice local serves on threads: one request must never read another's caller."""
    from concurrent.futures import ThreadPoolExecutor

    callers = {}
    for _ in range(6):
        email, user_id = api.sign_up()
        callers[api.log_in(email)["access_token"]] = user_id
    original, interval = os.environ, sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible, to make a shared request show
    try:
        with ThreadPoolExecutor(max_workers=6) as pool:
            seen = list(pool.map(lambda token: (token, api.get("/me", token=token).json_body["user_id"]),
                                 list(callers) * 5))
    finally:
        os.environ = original  # noqa: B003 (the test client swaps os.environ per request)
        sys.setswitchinterval(interval)
    assert all(callers[token] == user_id for token, user_id in seen)


def _shipped_by(requirements_file) -> set[str]:
    """The distributions a requirements file installs on this Python (Lambda's): its lines and everything they
    need, markers evaluated (no extras)."""
    import importlib.metadata

    from packaging.requirements import Requirement

    def name(requirement: Requirement) -> str:
        return requirement.name.lower().replace("_", "-")

    shipped, todo = set(), [Requirement(line.split("#", 1)[0]) for line in requirements_file.read_text().splitlines()
                            if line.split("#", 1)[0].strip()]
    while todo:
        requirement = todo.pop()
        if name(requirement) in shipped or (requirement.marker and not requirement.marker.evaluate({"extra": ""})):
            continue
        shipped.add(name(requirement))
        todo += [Requirement(r) for r in importlib.metadata.requires(name(requirement)) or ()]
    return shipped


def _third_party_imports(source) -> dict[str, bool]:
    """{top-level module: imported at module level (True) or only inside functions (False)}."""
    import ast

    tree = ast.parse(source.read_text(), str(source))
    deferred = {id(node) for function in ast.walk(tree) if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef))
                for node in ast.walk(function)}
    imports: dict[str, bool] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = [alias.name.split(".")[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module.split(".")[0]]
        else:
            continue
        for module in set(modules) - set(sys.stdlib_module_names) - {"chalicelib", "app", "chalice"}:  # chalice vendors itself
            imports[module] = imports.get(module, False) or id(node) not in deferred
    return imports


def test_every_package_the_deployed_code_imports_is_shipped_to_the_functions_that_run_it():
    """`make package` ships requirements.txt to every function, and a function layer's requirements to its
    function only (infra/function_layers.py); never requirements-dev.txt. An import only the dev
    requirements satisfy passes every test and fails on Lambda. A layer's packages are imported only inside
    functions of the modules named for it: loading app.py (every function does) must not need them."""
    import importlib.metadata

    from infra.function_layers import FUNCTION_LAYERS

    everywhere = _shipped_by(PROJECT_DIR / "requirements.txt")
    providers = importlib.metadata.packages_distributions()

    def distributions(module: str) -> set[str]:
        return {d.lower().replace("_", "-") for d in providers.get(module, [module])}

    missing = {}
    for source in [PROJECT_DIR / "app.py", *sorted((PROJECT_DIR / "chalicelib").rglob("*.py"))]:
        name = source.relative_to(PROJECT_DIR).as_posix()
        layers = [layer for layer in FUNCTION_LAYERS if name in layer.modules]
        for module, at_module_level in _third_party_imports(source).items():
            if distributions(module) & everywhere:
                continue
            in_layer = any(distributions(module) & _shipped_by(PROJECT_DIR / layer.requirements) for layer in layers)
            if not in_layer or at_module_level:
                missing[f"{name}: {module}"] = sorted(distributions(module))
    assert not missing, f"imported where its function does not ship it (or at module level from a layer): {missing}"
    # The chart, the certificate and the payout worker's JWE really are their layers', not requirements.txt's:
    assert not {"pillow", "cryptography"} & everywhere
    # and no package is in both: on Lambda the shared layer's site-packages comes first on sys.path, so a
    # shared copy would win over the one the layer's smoke run tested.
    for layer in FUNCTION_LAYERS:
        assert not _shipped_by(PROJECT_DIR / layer.requirements) & everywhere, layer.requirements


def test_loading_the_app_needs_no_package_of_a_function_layer():
    """The authorizer and the jobs load app.py without the API's and the payout worker's layers: in a fresh
    interpreter where Pillow and cryptography cannot be imported, the whole app still loads, never asking."""
    import json
    import os
    import subprocess

    blocked = ["PIL", "cryptography"]
    script = ("import sys, json\n"
              f"for name in {blocked!r}: sys.modules[name] = None\n"
              "import app\n"
              "print(json.dumps({'routes': len(app.app.routes), 'loaded': sorted("
              f"m for m in sys.modules if m.split('.')[0] in {blocked!r} and sys.modules[m] is not None)}}))")
    done = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_DIR, env=dict(os.environ),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["routes"] > 20 and result["loaded"] == []


def test_a_cold_start_leaves_the_costly_rules_to_their_first_call():
    """Every function imports app.py on each new container (bench/cold_start.py measures it from the zips): the
    services that would add 5 ms or more to it (measured after `import app`: the money services with the ledger,
    12 to 16 ms each), and the models only they use, are imported by their views, so only their routes pay for
    them. Checked in a fresh interpreter."""
    import os
    import subprocess

    script = "import sys, app\nprint(' '.join(sorted(m for m in sys.modules if m.startswith('chalicelib.'))))"
    done = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_DIR, env=dict(os.environ),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    loaded = set(done.stdout.split())
    assert "chalicelib.api.routing" in loaded
    services = {"orders", "wallet", "ledger", "payouts", "reconciliation", "reconciliation_runs", "settlement",
                "certificates", "charts"}
    models = {"ledger", "orders", "coupons", "payouts", "reconciliation_runs", "topups"}
    assert loaded & ({f"chalicelib.services.{name}" for name in services}
                     | {f"chalicelib.store.{name}" for name in models}) == set()


def test_only_the_views_of_drawn_routes_reach_the_drawing_code(chalice_app):
    """Routes that may answer a PNG or a PDF are served by DrawingHandler, the one function with Pillow
    (infra/template/functions.py); the API function has none. So the drawing modules are imported only inside the
    views of those routes, or inside helpers that only those views call."""
    import ast
    from pathlib import Path

    from chalicelib.api.routing import ENDPOINTS
    from infra.function_layers import FUNCTION_LAYERS
    from infra.template.functions import DRAWING_FUNCTION, drawing_paths

    (layer,) = [layer for layer in FUNCTION_LAYERS if layer.function == DRAWING_FUNCTION]
    drawing_modules = {Path(module).stem for module in layer.modules}
    drawn_views = {e.name for e in ENDPOINTS if e.path in drawing_paths()}
    assert drawing_paths() == {"/instructor/dashboard.png", "/me/certificates/{course_id}",
                               "/certificates/{verification_id}"}

    def imports_drawing(node) -> bool:
        return any(isinstance(n, ast.ImportFrom) and (
            n.module == "chalicelib.services" and {a.name for a in n.names} & drawing_modules
            or n.module in {f"chalicelib.services.{m}" for m in drawing_modules}) for n in ast.walk(node))

    strays, reaching = [], set()
    for source in sorted((PROJECT_DIR / "chalicelib" / "api").glob("*.py")):
        tree = ast.parse(source.read_text())
        functions = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
        for statement in tree.body:  # module level, outside `if TYPE_CHECKING:`
            guarded = isinstance(statement, ast.If) and "TYPE_CHECKING" in ast.unparse(statement.test)
            if not isinstance(statement, ast.FunctionDef) and not guarded and imports_drawing(statement):
                strays.append(f"{source.name}: imported at module level")
        for function in functions:
            if not imports_drawing(function):
                continue
            reaching.add(function.name)
            if function.name in drawn_views:
                continue
            callers = {f.name for f in functions if f is not function and any(
                isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == function.name
                for n in ast.walk(f))}
            if not callers or callers - drawn_views:
                strays.append(f"{source.name}: {function.name} (called by {sorted(callers)})")
    assert not strays, f"drawing code reachable from routes the API function serves: {strays}"
    assert reaching & drawn_views  # the check looked at the real views


def test_only_the_reconciliation_audit_scans_a_table():
    """Every route and job reads through a key or an index built for it; the audit that proves
    every enrollment has its paid order reads whole tables, from one module, and nothing else may."""
    import re

    scanning, using = set(), set()
    for source in [PROJECT_DIR / "app.py", *sorted((PROJECT_DIR / "chalicelib").rglob("*.py"))]:
        text, name = source.read_text(), source.relative_to(PROJECT_DIR).as_posix()
        if re.search(r"\.scan\(", text):
            scanning.add(name)
        if "admin_scans" in text and name != "chalicelib/store/admin_scans.py":
            using.add(name)
    assert scanning == {"chalicelib/store/admin_scans.py"}
    assert using == {"chalicelib/services/reconciliation.py"}


def test_docs_page_loads_its_renderer_from_the_api_itself(api):
    """/docs is Redoc on our document, both from this API (relative urls: deployed, behind the stage prefix,
    /api/docs finds /api/docs/redoc.js and /api/openapi.json), and may load nothing from another host."""
    response = api.get("/docs")
    assert response.status_code == 200 and response.headers["Content-Type"] == "text/html"
    page = response.body.decode()
    assert '<redoc spec-url="openapi.json"></redoc>' in page and '<script src="docs/redoc.js"></script>' in page
    assert "default-src 'self' 'unsafe-inline' 'unsafe-eval' data: blob:" in page
    assert "http://" not in page and "https://" not in page


@pytest.mark.parametrize("error_code", ["ResourceNotFoundException", "AccessDeniedException"])
def test_health_is_a_503_problem_naming_a_missing_table(api, error_code):
    """A deploy check or load balancer reads /health: one table absent (a half-finished deploy, a wrong
    TABLE_PREFIX) must fail it. DynamoDB's answer for a missing table is played for the reviews table only;
    no shared table is deleted, and no call goes to a table the IAM policy does not name."""
    from botocore.exceptions import ClientError

    from chalicelib.store.instrumentation import on_dynamodb
    from chalicelib.store.reviews import ReviewItem

    reviews = ReviewItem.Meta.table_name

    def reviews_table_is_gone(params, **_kwargs):
        if params.get("TableName") == reviews:
            raise ClientError({"Error": {"Code": error_code, "Message": f"{error_code} for {reviews}"}},
                              "DescribeTable")  # absent, or not ours to read (a wrong role): both are not ready

    with on_dynamodb("before-parameter-build.dynamodb.DescribeTable", reviews_table_is_gone):
        response = api.get("/health")
    _assert_problem(response, 503, "SERVICE_UNAVAILABLE")
    assert response.json_body["detail"] == "Tables not ready: reviews"
    assert api.get("/health").status_code == 200  # the table answers again: nothing was harmed


# --- the tests' own shape ---------------------------------------------------------------------------

def _test_modules_imported(package: str, source: str) -> list[str]:
    """The test modules and conftest modules that `source` (a module of `package`) imports, at any level."""
    imported = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the importer's package, one level up per dot after the first
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([node.module] if node.module else []))
            imported += [base, *(f"{base}.{alias.name}" for alias in node.names)]
    return [name for name in imported if name.split(".")[0] == "tests"
            and (name.rpartition(".")[2] == "conftest" or name.rpartition(".")[2].startswith("test_"))]


def test_tests_share_helpers_through_tests_support_never_through_a_test_module_or_conftest():
    """Importing from a test module drags its tests' imports in and hides where a helper lives; conftest.py
    holds only fixtures and pytest hooks. What tests share lives in tests/support/."""
    found = {}
    for source in sorted((PROJECT_DIR / "tests").rglob("*.py")):
        relative = source.relative_to(PROJECT_DIR)
        package = ".".join(relative.parts[:-1])
        if imported := _test_modules_imported(package, source.read_text()):
            found[relative.as_posix()] = imported
    assert found == {}, f"move what these import into tests/support/: {found}"
    assert _test_modules_imported("tests", "from tests.test_catalog import make_course\n") == ["tests.test_catalog"]
    assert _test_modules_imported("tests.support", "def f():\n    from .. import conftest\n") == ["tests.conftest"]
    assert _test_modules_imported("tests", "from . import test_learning\nimport tests.support.money\n") == [
        "tests.test_learning"]
