"""What the in-process benchmarks in bench/ share: moto in place of AWS, the test stage, and a call counter.

Importing it puts the repository root on sys.path and leaves boto3 nothing but fake credentials
(no endpoint override, no profile), so that every AWS call lands in moto; a script imports it
before anything else that touches AWS:

    from harness import ROOT, Calls, in_process_stage

    with in_process_stage():
        with Calls() as calls:
            ...  # a request
        calls.dynamodb()  # Counter({"GetItem": 2, ...})
"""

import collections
import contextlib
import os
import threading
import time
from collections.abc import Iterator

from repository import ROOT  # noqa: F401 - the scripts import it from here too

# a shell set up for the local stack or a real account must not send the benchmarks' calls there
for variable in [v for v in os.environ if v.startswith("AWS_ENDPOINT_URL") or v == "AWS_PROFILE"]:
    del os.environ[variable]
os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="ap-northeast-2")

import botocore.client  # noqa: E402
from moto import mock_aws  # noqa: E402

from infra import bootstrap, emulator  # noqa: E402
from infra.in_process import route_aws_urls_through_moto  # noqa: E402
from infra.project import stage_environment  # noqa: E402


@contextlib.contextmanager
def in_process_stage() -> Iterator[None]:
    """The test stage's tables, buckets, keys and queues in moto (with DynamoDB's guarantees,
    infra/emulator.py), and its environment, while inside."""
    os.environ.update(stage_environment("test"))
    emulator.install()
    route_aws_urls_through_moto()
    with mock_aws():
        os.environ.update(bootstrap.create_stage_resources("test"))
        yield


class Calls:
    """AWS API calls made through botocore (PynamoDB's included) while inside `with`: how many of each
    (service, operation), and the seconds spent inside them (on moto, the emulator's share of a request)."""

    def __init__(self) -> None:
        self.counter: collections.Counter = collections.Counter()
        self.aws_seconds = 0.0
        self.lock = threading.Lock()  # the count stays right when a bench makes requests on several threads

    def __enter__(self) -> "Calls":
        original, calls = botocore.client.BaseClient._make_api_call, self
        self._original = original

        def counting(client, operation, params):
            started = time.perf_counter()
            try:
                return original(client, operation, params)
            finally:
                calls.add(client.meta.service_model.service_name, operation, time.perf_counter() - started)

        botocore.client.BaseClient._make_api_call = counting
        return self

    def __exit__(self, *exc) -> None:
        botocore.client.BaseClient._make_api_call = self._original

    def add(self, service: str, operation: str, seconds: float = 0.0) -> None:
        """Count a call (also for a stand-in that botocore never sees, like payouts.py's queue)."""
        with self.lock:
            self.counter[(service, operation)] += 1
            self.aws_seconds += seconds

    def dynamodb(self) -> collections.Counter:
        """The DynamoDB calls, by operation."""
        return collections.Counter({op: n for (service, op), n in self.counter.items() if service == "dynamodb"})

    def take(self) -> collections.Counter:
        """The calls so far by (service, operation), counting again from zero."""
        with self.lock:
            taken, self.counter, self.aws_seconds = self.counter, collections.Counter(), 0.0
        return taken


READS = {"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"}


class DynamoDBCalls:
    """Each DynamoDB call a labelled request makes, as the app sends it (a hook on botocore's request
    parameters, chalicelib/store/instrumentation.py): `(operation, table, None)`, or for a TransactWriteItems
    `(operation, None, [(table, key), ...])` (the items it writes, by their keys). Requests are labelled per
    thread (`with recorder.labelled(label): ...`), so concurrent requests keep their calls apart.

        recorder = DynamoDBCalls()
        with on_dynamodb("provide-client-params.dynamodb", recorder.record):
            with recorder.labelled("buy"):
                ...  # the request
        reads, writes, transaction_sizes = recorder.split("buy")
    """

    def __init__(self) -> None:
        from chalicelib.store import ALL_MODELS

        self.tables = {}  # table name -> (short name, hash key attribute, range key attribute)
        for model in ALL_MODELS:
            self.tables.setdefault(model.Meta.table_name, (model.Meta.short_name, model._hash_keyname,
                                                           model._range_keyname))
        self.recorded: dict[object, list] = collections.defaultdict(list)
        self._local = threading.local()
        self._lock = threading.Lock()

    def item_key(self, table_name: str, attributes: dict) -> tuple[str, str]:
        short, hash_name, range_name = self.tables.get(table_name, (table_name, None, None))
        values = [next(iter(attributes[name].values())) for name in (hash_name, range_name) if name]
        return short, " / ".join(str(v) for v in values)

    @contextlib.contextmanager
    def labelled(self, label: object) -> Iterator[None]:
        self._local.label = label
        try:
            yield
        finally:
            self._local.label = None

    def record(self, event_name, params, **_kwargs) -> None:
        label = getattr(self._local, "label", None)
        if label is None:
            return
        operation = event_name.rsplit(".", 1)[-1]
        if operation == "TransactWriteItems":
            keys = []
            for entry in params["TransactItems"]:
                (kind, body), = entry.items()
                keys.append(self.item_key(body["TableName"], body["Item"] if kind == "Put" else body["Key"]))
            call = (operation, None, keys)
        else:
            table = params.get("TableName") or ",".join(params.get("RequestItems", {}))
            call = (operation, self.tables.get(table, (table,))[0], None)
        with self._lock:
            self.recorded[label].append(call)

    def transactions(self, label: object) -> list[list[tuple[str, str]]]:
        """The items of each TransactWriteItems the request made."""
        return [keys for operation, _, keys in self.recorded[label] if operation == "TransactWriteItems"]

    def split(self, label: object, purpose: dict[str, str] | None = None) -> tuple[list[str], list[str], list[int]]:
        """A request's reads, its writes outside a transaction, and its transactions' item counts (`purpose`:
        what a read of a table is for, shown beside it)."""
        reads, writes, sizes = [], [], []
        for operation, table, keys in self.recorded[label]:
            if operation == "TransactWriteItems":
                sizes.append(len(keys))
            else:
                shown = f"{operation} {table}" + (f" = {purpose[table]}" if purpose and table in purpose else "")
                (reads if operation in READS else writes).append(shown)
        return reads, writes, sizes
