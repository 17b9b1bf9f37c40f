"""Tests call the API as a client would: `chalice.test.Client` over in-process moto.

One moto world per test session, built by the same bootstrap as `make run`;
tests stay independent by creating their own users (unique emails).
"""

import json
import os
from pathlib import Path

import pytest

from infra.project import PROJECT_DIR, stage_environment
from tests.support.api import Api
from tests.support.browser import browser, foreign_requests, local_api, page  # noqa: F401 (fixtures)
from tests.support.local_stack import SHARED_STACK_MODULES, local_stack, local_stack_url  # noqa: F401 (fixtures)
from tests.support.races import CONFLICT_WINDOW
from tests.support.suite import FULL_RUN

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
from infra.api_server import answer_refusals_as_deployed  # noqa: E402
from infra.in_process import route_aws_urls_through_moto  # noqa: E402

# The same examples on every run: the IAM policy test compares the AWS calls of the whole suite
# with the deployed policy, so the suite must make the same calls each time. Explore new examples
# with HYPOTHESIS_PROFILE=explore (random, and remembers failures in .hypothesis/).
settings.register_profile("ci", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# the app fetches Cognito's JWKS with urllib3, which in-process moto does not see (infra/in_process.py)
route_aws_urls_through_moto()
# the test client is chalice's local gateway: API Gateway's own refusals (no token, ...) answered as deployed
answer_refusals_as_deployed()

# `make test` runs the suite on both cores (pytest-xdist, each worker its own moto) and then the
# `after_suite` tests, which check what the whole suite did, in a run of their own: the first run
# writes the AWS calls its workers recorded to RECORD_CALLS, the second reads them from RECORDED_CALLS.
RECORD_CALLS = os.environ.get("CLASSPAY_RECORD_AWS_CALLS")
RECORDED_CALLS = os.environ.get("CLASSPAY_RECORDED_AWS_CALLS")


def pytest_configure(config):
    config.addinivalue_line("markers", "after_suite: runs after every other test (it checks what they did)")
    config.addinivalue_line("markers", "starts_first: a long module, started first so that the workers finish together")
    config.stash[FULL_RUN] = True


def pytest_deselected(items):
    """Leaving out only the `after_suite` tests (to run them after a parallel run) keeps a run full."""
    if any(item.get_closest_marker("after_suite") is None for item in items):
        items[0].config.stash[FULL_RUN] = False


def pytest_collection_modifyitems(session, config, items):
    """`starts_first` modules go first and `after_suite` tests last; a run is full when it collected the
    whole suite and deselected nothing."""
    tests_dir = (PROJECT_DIR / "tests").resolve()
    chosen = [Path(str(arg).split("::")[0]).resolve() for arg in config.args]
    if any(path != tests_dir for path in chosen) or any("::" in str(arg) for arg in config.args):
        config.stash[FULL_RUN] = False
    if hasattr(config, "workerinput"):  # a worker sees only its share of the suite's calls
        for item in items:
            if item.get_closest_marker("after_suite") is not None:
                item.add_marker(pytest.mark.skip(reason="checks the whole suite's AWS calls: make test runs it after "
                                                        "the parallel run, over every worker's"))
    items.sort(key=lambda item: (item.get_closest_marker("after_suite") is not None,
                                 item.get_closest_marker("starts_first") is None))


def pytest_collection_finish(session):
    if RECORDED_CALLS:
        recorded = json.loads(Path(RECORDED_CALLS).read_text())
        iam.RECORDER.merge(recorded)
        session.config.stash[FULL_RUN] = recorded["full"]


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """`--dist loadfile` (make test), except that the modules sharing one local stack go to one worker
    (tests/support/local_stack.py): one start instead of one per module."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class LoadFileSharingTheLocalStack(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = super()._split_scope(nodeid)
            return "the local stack's modules" if module in SHARED_STACK_MODULES else module

    return LoadFileSharingTheLocalStack(config, log)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """A worker's recording, merged into the controller's."""
    recorded = getattr(node, "workeroutput", {}).get("aws_calls")
    if recorded is not None:
        iam.RECORDER.merge(recorded)
        node.config.stash[FULL_RUN] = node.config.stash.get(FULL_RUN, True) and recorded["full"] and error is None
    else:
        node.config.stash[FULL_RUN] = False


def pytest_sessionfinish(session, exitstatus):
    config = session.config
    full = config.stash.get(FULL_RUN, False) and session.testsfailed == 0 and exitstatus == 0
    if hasattr(config, "workerinput"):
        config.workeroutput["aws_calls"] = {**iam.RECORDER.dump(), "full": full}
    elif RECORD_CALLS:
        Path(RECORD_CALLS).parent.mkdir(parents=True, exist_ok=True)
        Path(RECORD_CALLS).write_text(json.dumps({**iam.RECORDER.dump(), "full": full}))


@pytest.fixture(scope="session")
def aws():
    """In-process moto with the test stage's resources (started by the first module that is not pure rules)."""
    environment = stage_environment("test")
    os.environ.update(environment)
    emulator.install()  # DynamoDB's isolation, atomicity and cost per partition, which moto lacks
    with mock_aws():
        identifiers = bootstrap.create_stage_resources("test")
        os.environ.update(identifiers)
        iam.RECORDER.environment = {**environment, **identifiers}
        yield


@pytest.fixture(scope="module", autouse=True)
def empty_tables(request):
    """Each test module starts from empty tables (the user pool, bucket, queues and keys stay): its cost
    never depends on how many tests ran before it, and an audit of the whole ledger reads its own data.
    The pure rules' modules (`test_domain_*.py`) need no AWS: they start none."""
    if request.module.__name__.rpartition(".")[2].startswith("test_domain_"):
        return
    request.getfixturevalue("aws")
    emulator.empty_tables()


@pytest.fixture(scope="session")
def chalice_app(aws):
    from app import app

    return app


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
def fake_bank(monkeypatch):
    """A fake bank of this test's own (chalicelib/adapters/fake_payouts.py) that the test stage's payouts go to:
    the test reads what it transferred (`sent`) and was asked (`outcomes`, `calls`) and may have it answer a
    payout late (`pays_late`, `refuses_late`). Tests without it pay the stage's own fake bank."""
    from chalicelib.adapters.fake_payouts import FakePayouts
    from chalicelib.services import payouts

    bank = FakePayouts()
    monkeypatch.setattr(payouts, "payout_gateway", lambda: bank)
    return bank


@pytest.fixture
def threads(restore_environ):
    """A pool of 20 threads for concurrent requests, with DynamoDB's TransactionConflict emulated:
    transactions that overlap on an item cancel each other, as on DynamoDB (infra/emulator.py)."""
    from concurrent.futures import ThreadPoolExecutor

    with emulator.conflicting_transactions(CONFLICT_WINDOW), ThreadPoolExecutor(max_workers=20) as pool:
        yield pool
