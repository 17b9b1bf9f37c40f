"""Tests call the API as a client would: `chalice.test.Client` over in-process moto.

One moto world per test session, built by the same bootstrap as `make run`;
tests stay independent by creating their own users (unique emails).
"""

import itertools
import json
import os
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parent.parent

# Never reach a real endpoint or real credentials from the tests.
for variable in [v for v in os.environ if v.startswith("AWS_ENDPOINT_URL") or v == "AWS_PROFILE"]:
    del os.environ[variable]
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_SESSION_TOKEN="testing",
    AWS_DEFAULT_REGION="ap-northeast-2",
)

from infra import iam  # noqa: E402

# Record every AWS call the app's code makes (tests/test_iam_policy.py checks the IAM policies
# against it). Installed before moto and before any botocore session exists.
iam.RECORDER.install()

from hypothesis import settings  # noqa: E402
from moto import mock_aws  # noqa: E402  (after the credentials above)

from infra import bootstrap, emulator  # noqa: E402
from infra.in_process import route_aws_urls_through_moto  # noqa: E402

# The same examples on every run: the IAM policy test compares the AWS calls of the whole suite
# with the deployed policy, so the suite must make the same calls each time. Explore new examples
# with HYPOTHESIS_PROFILE=explore (random, and remembers failures in .hypothesis/).
settings.register_profile("ci", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# the app fetches Cognito's JWKS with urllib3, which in-process moto does not see (infra/in_process.py)
route_aws_urls_through_moto()

PASSWORD = "Classpay-test-1"
CONFLICT_WINDOW = 0.02  # seconds a transaction stays in flight while a test races threads
_serial = itertools.count()
FULL_RUN = pytest.StashKey[bool]()


def pytest_configure(config):
    config.addinivalue_line("markers", "after_suite: runs after every other test (it checks what they did)")
    config.stash[FULL_RUN] = True


def pytest_deselected(items):
    if items:
        items[0].config.stash[FULL_RUN] = False


def pytest_collection_modifyitems(session, config, items):
    """`after_suite` tests go last; a run is full when it collected the whole suite and deselected nothing."""
    tests_dir = (PROJECT_DIR / "tests").resolve()
    chosen = [Path(str(arg).split("::")[0]).resolve() for arg in config.args]
    if any(path != tests_dir for path in chosen) or any("::" in str(arg) for arg in config.args):
        config.stash[FULL_RUN] = False
    items.sort(key=lambda item: item.get_closest_marker("after_suite") is not None)


@pytest.fixture(scope="session", autouse=True)
def aws():
    """In-process moto with the test stage's resources."""
    stage_environment = bootstrap.stage_environment("test")
    os.environ.update(stage_environment)
    emulator.install()  # DynamoDB's isolation, atomicity and cost per partition, which moto lacks
    with mock_aws():
        identifiers = bootstrap.create_stage_resources("test")
        os.environ.update(identifiers)
        iam.RECORDER.environment = {**stage_environment, **identifiers}
        yield


@pytest.fixture(scope="session")
def chalice_app(aws):
    from app import app

    return app


class Api:
    """A thin JSON client over `chalice.test.Client`."""

    def __init__(self, http):
        self.http = http

    def call(self, method, path, body=None, token=None, headers=None, raw=None):
        sent = {"Content-Type": "application/json"} if (body is not None or raw is not None) else {}
        if token:
            sent["Authorization"] = f"Bearer {token}"
        sent.update(headers or {})
        payload = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
        return self.http.request(method, path, headers=sent, body=payload)

    def get(self, path, **kwargs):
        return self.call("GET", path, **kwargs)

    def post(self, path, body=None, **kwargs):
        return self.call("POST", path, body=body, **kwargs)

    def sign_up(self, roles=("learner",), name="Test User"):
        """A new account; returns (email, user_id)."""
        email = f"user{next(_serial)}-{os.getpid()}@classpay.test"
        response = self.post("/auth/signup", {"email": email, "password": PASSWORD, "name": name, "roles": list(roles)})
        assert response.status_code == 201, response.body
        return email, response.json_body["user_id"]

    def log_in(self, email, password=PASSWORD):
        response = self.post("/auth/login", {"email": email, "password": password})
        assert response.status_code == 200, response.body
        return response.json_body

    def token_for(self, roles=("learner",), name="Test User"):
        email, _ = self.sign_up(roles, name)
        return self.log_in(email)["access_token"]

    def admin_token(self):
        """A new account in the `admins` group (operators add admins by hand; so do we)."""
        import boto3

        email, _ = self.sign_up(("learner",), "Admin")
        boto3.client("cognito-idp").admin_add_user_to_group(
            UserPoolId=os.environ["USER_POOL_ID"], Username=email, GroupName="admins")
        return self.log_in(email)["access_token"]


@pytest.fixture(scope="session")
def api(chalice_app):
    from chalice.test import Client

    with Client(chalice_app, stage_name="test", project_dir=str(PROJECT_DIR)) as client:
        yield Api(client.http)


@pytest.fixture(scope="session")
def functions(chalice_app):
    """The app's Lambda functions (schedules, queue workers), invoked as Lambda would:
    `functions.lambda_.invoke(name, functions.events.generate_cw_event(...))`."""
    from chalice.test import Client

    with Client(chalice_app, stage_name="test", project_dir=str(PROJECT_DIR)) as client:
        yield client


class AwsCalls:
    """Every AWS API call made while recording, as (service, operation) pairs."""

    def __init__(self):
        self.calls: list[tuple[str, str]] = []

    def of(self, service: str) -> list[str]:
        return [operation for svc, operation in self.calls if svc == service]

    def clear(self) -> None:
        self.calls.clear()


@pytest.fixture
def aws_calls(monkeypatch):
    import botocore.client

    recorder = AwsCalls()
    original = botocore.client.BaseClient._make_api_call

    def recording(client, operation_name, api_params):
        recorder.calls.append((client.meta.service_model.service_name, operation_name))
        return original(client, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording)
    return recorder


@pytest.fixture
def restore_environ():
    """The Chalice test client swaps `os.environ` per request; threads and hypothesis can leave the copy behind."""
    original = os.environ
    yield
    os.environ = original  # noqa: B003 (put the real environment back, not clear it)


@pytest.fixture
def threads(restore_environ):
    """A pool of 20 threads for concurrent requests, with DynamoDB's TransactionConflict emulated:
    transactions that overlap on an item cancel each other, as on DynamoDB (infra/emulator.py)."""
    from concurrent.futures import ThreadPoolExecutor

    emulator.set_transaction_conflicts(CONFLICT_WINDOW)
    try:
        with ThreadPoolExecutor(max_workers=20) as pool:
            yield pool
    finally:
        emulator.set_transaction_conflicts(0)
