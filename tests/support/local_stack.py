"""One `make run` stack for the modules that drive it from outside, over HTTP, as a developer would.

`infra.stack` in a child process: the emulator's moto server (DynamoDB's guarantees, TransactionConflict
included), the local stage's bootstrap, the demo accounts (no demo courses or history: each test makes its
own users) and `chalice local`, on free loopback ports (`infra.stack.free_port`). Starting it takes 15-25 s of a core, so the
modules that need it (`SHARED_STACK_MODULES`) share one: `make test`'s scheduler (tests/conftest.py)
sends them to one worker, where this session fixture starts the stack once, on a thread of its own
(a module may request `local_stack` early and do other work while it boots; `local_stack_url` waits).

    def test_tour(local_stack_url): ...
"""

import threading

import pytest

from infra.stack import free_port, running_stack

SHARED_STACK_MODULES = frozenset({"tests/test_local_stack_races.py", "tests/test_tour.py", "tests/test_web_client.py"})
BOOT_TIMEOUT = 300


class BackgroundStack:
    """The local stack, started on a thread; `url()` waits for it."""

    def __init__(self):
        self.ready, self.done = threading.Event(), threading.Event()
        self._url: str | None = None
        self.failure: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            moto_port = free_port()
            with running_stack(moto_port, free_port(avoid=(moto_port,)), demo_data=False) as url:
                self._url = url
                self.ready.set()
                self.done.wait()
        except BaseException as failure:  # noqa: BLE001 - handed to the test that waits for the stack
            self.failure = failure
            self.ready.set()

    def url(self) -> str:
        self.ready.wait(timeout=BOOT_TIMEOUT)
        if self._url is None:
            raise RuntimeError("the local stack did not start") from self.failure
        return self._url

    def stop(self) -> None:
        self.done.set()
        self.thread.join(timeout=60)


@pytest.fixture(scope="session")
def local_stack():
    """The shared stack, booting (request it early to overlap its start with other work)."""
    booting = BackgroundStack()
    yield booting
    booting.stop()


@pytest.fixture(scope="session")
def local_stack_url(local_stack) -> str:
    """The shared stack's API base URL, `http://127.0.0.1:<port>`, once it serves."""
    return local_stack.url()
