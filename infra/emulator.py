"""moto with DynamoDB's guarantees: the one way every stack here emulates AWS.

    python -m infra.emulator -p 5000 [--transaction-conflicts 0.02] [--state .local/aws-state.pickle]

starts moto's server on 127.0.0.1 with the changes below; `install()` makes the
same changes to an in-process moto (the tests, the in-process benchmarks).
`make run`, `infra.stack` (fuzzing, load) and the tests all go through here.

What moto lacks, and what this module gives it:

- Isolation. moto applies a TransactWriteItems item by item with no lock, so a
  concurrent request may see it half-applied. One re-entrant lock around every
  DynamoDB data operation makes transactions serializable against each other and
  against single-item reads and writes, as DynamoDB guarantees.
- Atomicity that does not cost the table. moto backs up every table a
  transaction touches (a deep copy of all its items) and swaps the copy back on
  failure; here a transaction keeps the previous version of the items it writes
  and puts those back, so its cost is its own items', not the table's.
- Queries that cost their partition. moto answers a Query by sorting every item
  of the table and, on an index, testing each; here a Query on the table reads
  its partition and a Query on an index reads the items filed under its key
  value (an index of the index, kept up to date on every write), so a test costs
  the same after ten thousand others.
- TransactionConflict. DynamoDB cancels a transaction that touches an item
  another transaction has in flight (reason `TransactionConflict`) and rejects a
  single-item write to such an item (`TransactionConflictException`). With a
  window (`set_transaction_conflicts(seconds)`, `--transaction-conflicts`), each
  transaction stays in flight that long before it commits, and overlapping ones
  are cancelled the same way, so the app's retries (`retry_on_contention`) meet
  the conflicts they exist for. Off (0) by default in-process, where only the
  concurrency tests turn it on; on in the servers.

What it still cannot show: a real partition's throughput limits and throttling,
replication lag of eventually consistent reads and of global secondary indexes
(here every read sees the last write), and the exact duration of a transaction.
"""

import argparse
import contextlib
import copy
import functools
import inspect
import logging
import signal
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

HOST = "127.0.0.1"
SERVER_CONFLICT_WINDOW = 0.02  # seconds a transaction stays in flight in the servers (make run, fuzz, load)

_lock = threading.RLock()
_state = threading.local()  # .applying: this thread is inside our own transaction
_conflict_window = 0.0
_in_flight: dict[tuple, int] = {}  # (table name, hash, range) -> how many transactions hold it
_index_maps: dict[int, "_TableIndexes"] = {}


def set_transaction_conflicts(seconds: float) -> None:
    """How long each transaction stays in flight (0: off; transactions never overlap)."""
    global _conflict_window
    _conflict_window = max(0.0, float(seconds))


def transaction_conflicts() -> float:
    """The current in-flight window (0: off)."""
    return _conflict_window


def in_flight() -> int:
    """How many items transactions hold in flight now."""
    with _lock:
        return len(_in_flight)


@contextlib.contextmanager
def conflicting_transactions(seconds: float) -> Iterator[None]:
    """TransactionConflict emulated while inside (a test that races threads), as before afterwards."""
    previous = _conflict_window
    set_transaction_conflicts(seconds)
    try:
        yield
    finally:
        set_transaction_conflicts(previous)


def empty_tables() -> None:
    """Forget every item of every table of this process's moto, keeping the tables: a test module
    starts from empty tables, so what it costs never depends on the modules that ran before it."""
    from moto.dynamodb.models import dynamodb_backends

    with _lock:
        for regions in dynamodb_backends.values():
            for backend in regions.values():
                for table in backend.tables.values():
                    table.items.clear()
        _index_maps.clear()
        _in_flight.clear()


def _exceptions():
    from moto.dynamodb import exceptions

    class TransactionConflictException(exceptions.DynamodbException):
        error_type = "com.amazonaws.dynamodb.v20120810#TransactionConflictException"

        def __init__(self) -> None:
            super().__init__(self.error_type, "Transaction is ongoing for the item")

    return exceptions, TransactionConflictException


# --- keys ------------------------------------------------------------------------------------------

def _primary(table, key: dict) -> tuple:
    from moto.dynamodb.models.dynamo_type import DynamoType

    hash_value = DynamoType(key[table.hash_key_attr])
    range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
    return hash_value, range_value


def _stored(table, primary: tuple):
    hash_value, range_value = primary
    partition = table.items.get(hash_value)
    if partition is None:
        return None
    return partition.get(range_value) if table.range_key_attr else partition


def _store(table, primary: tuple, item) -> None:
    hash_value, range_value = primary
    if item is None:
        if table.range_key_attr:
            partition = table.items.get(hash_value)
            if partition is not None:
                partition.pop(range_value, None)
                if not partition:
                    del table.items[hash_value]
        else:
            table.items.pop(hash_value, None)
    elif table.range_key_attr:
        table.items[hash_value][range_value] = item
    else:
        table.items[hash_value] = item


def _written_keys(backend, operation: str, args: tuple, kwargs: dict) -> list[tuple]:
    """(table, primary) of each item a write operation names."""
    if operation == "transact_write_items":
        keys = []
        for entry in (args[0] if args else kwargs["transact_items"]):
            _, op = next(iter(entry.items()))
            table = backend.tables.get(op.get("TableName"))
            if table is None:
                continue
            raw = op["Item"] if "Item" in op else op.get("Key", {})
            try:
                keys.append((table, _primary(table, raw)))
            except KeyError:
                continue  # moto answers the malformed request with its own validation error
        return keys
    table = backend.tables.get(args[0] if args else kwargs.get("table_name"))
    if table is None:
        return []
    raw = args[1] if len(args) > 1 else kwargs.get("item_attrs" if operation == "put_item" else "key")
    try:
        return [(table, _primary(table, raw))]
    except (KeyError, TypeError):
        return []


# --- an index of each secondary index: key value -> primary keys -----------------------------------

class _TableIndexes:
    """For one table, each secondary index's items by the value of its (single) hash attribute."""

    def __init__(self, table) -> None:
        self.table = table
        self.hash_attribute = {}
        for index in table.all_indexes():
            hashes = [k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"]
            if len(hashes) == 1:
                self.hash_attribute[index.name] = hashes[0]
        self.filed: dict[str, dict] = {name: defaultdict(set) for name in self.hash_attribute}
        self.under: dict[str, dict] = {name: {} for name in self.hash_attribute}
        for item in table.all_items():
            self.refresh((item.hash_key, item.range_key if table.range_key_attr else None))

    def refresh(self, primary: tuple) -> None:
        item = _stored(self.table, primary)
        for name, attribute in self.hash_attribute.items():
            old = self.under[name].pop(primary, None)
            if old is not None:
                self.filed[name][old].discard(primary)
                if not self.filed[name][old]:
                    del self.filed[name][old]
            value = item.attrs.get(attribute) if item is not None else None
            if value is not None:
                self.filed[name][value].add(primary)
                self.under[name][primary] = value

    def items(self, index_name: str, value) -> list:
        found = (_stored(self.table, primary) for primary in self.filed[index_name].get(value, ()))
        return [item for item in found if item is not None]


def _indexes_of(table) -> _TableIndexes:
    known = _index_maps.get(id(table))
    if known is None or known.table is not table:
        known = _index_maps[id(table)] = _TableIndexes(table)
    return known


def _refresh(keys: list[tuple]) -> None:
    for table, primary in keys:
        known = _index_maps.get(id(table))
        if known is not None and known.table is table:
            known.refresh(primary)


# --- the patched operations --------------------------------------------------------------------------

def _query(original):
    signature = inspect.signature(original)

    @functools.wraps(original)
    def query(self, *args, **kwargs):
        call = signature.bind(self, *args, **kwargs).arguments
        index_name, hash_key = call.get("index_name"), call.get("hash_key")
        candidates = None
        if index_name:
            indexes = _indexes_of(self)
            attribute = indexes.hash_attribute.get(index_name)
            conditions = dict(call.get("hash_key_conditions") or [])
            if attribute is not None and attribute in conditions:
                candidates = indexes.items(index_name, conditions[attribute])
        elif hash_key is not None:
            partition = self.items.get(hash_key)
            if partition is None:
                candidates = []
            else:
                candidates = list(partition.values()) if self.range_key_attr else [partition]
        if candidates is None:
            return original(self, *args, **kwargs)
        # moto filters and sorts what `all_items` gives; give it the candidates only (under the lock)
        self.all_items = lambda: candidates
        try:
            return original(self, *args, **kwargs)
        finally:
            del self.all_items

    query._classpay = True
    return query


def _locked(original, operation: str, writes: bool):
    @functools.wraps(original)
    def locked(self, *args, **kwargs):
        with _lock:
            keys = _written_keys(self, operation, args, kwargs) if writes else []
            if keys and _conflict_window and not getattr(_state, "applying", False):
                if any((table.name, *primary) in _in_flight for table, primary in keys):
                    raise _exceptions()[1]()
            try:
                return original(self, *args, **kwargs)
            finally:
                _refresh(keys)

    locked._classpay = True
    return locked


def _transact_write_items(backend, transact_items: list) -> None:
    """DynamoDB's TransactWriteItems: all or nothing, serializable, cancelled by one in flight."""
    exceptions, _ = _exceptions()
    if len(transact_items) > 100:
        raise exceptions.TooManyTransactionsException()
    keys = _written_keys(backend, "transact_write_items", (transact_items,), {})
    if not _conflict_window:
        with _lock:
            return _apply(backend, transact_items, keys)
    held = [(table.name, *primary) for table, primary in keys]
    with _lock:
        if any(key in _in_flight for key in held):
            raise exceptions.TransactionCanceledException(
                [("TransactionConflict", "Transaction is ongoing for the item", None) if key in _in_flight
                 else (None, None, None) for key in held])
        for key in held:
            _in_flight[key] = _in_flight.get(key, 0) + 1
    try:
        time.sleep(_conflict_window)
        with _lock:
            return _apply(backend, transact_items, keys)
    finally:
        with _lock:
            for key in held:
                _in_flight[key] -= 1
                if not _in_flight[key]:
                    del _in_flight[key]


def _apply(backend, transact_items: list, keys: list[tuple]) -> None:
    """moto's checks and writes, with an undo log of the items written instead of a copy of the tables."""
    from moto.dynamodb.comparisons import get_filter_expression

    exceptions, _ = _exceptions()
    undo: list[tuple] = []
    seen: set[tuple] = set()
    errors: list[tuple] = []
    _state.applying = True
    try:
        for entry in transact_items:
            original_item = None
            try:
                if len(entry) > 1:
                    raise exceptions.TransactWriteSingleOpException
                op_type, op = next(iter(entry.items()))
                if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                    raise ValueError("Unsupported transaction operation")
                table_name = op["TableName"]
                table = backend.get_table(table_name)
                if op_type == "Put":
                    key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
                    if table.range_key_attr is not None:
                        key[table.range_key_attr] = op["Item"][table.range_key_attr]
                else:
                    key = op["Key"]
                unique = (str(table_name), str(dict(sorted(key.items()))))
                if unique in seen:
                    raise exceptions.MultipleTransactionsException()
                seen.add(unique)
                names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
                condition = op.get("ConditionExpression")
                current = backend.get_item(table_name, key)
                if condition is not None and not get_filter_expression(condition, names, values).expr(current):
                    if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                        original_item = current.to_json()["Attributes"]
                    raise exceptions.ConditionalCheckFailed(item=original_item)
                if op_type != "ConditionCheck":
                    primary = _primary(table, key)
                    undo.append((table, primary, copy.deepcopy(_stored(table, primary))))
                written = {"condition_expression": condition, "expression_attribute_names": names,
                           "expression_attribute_values": values}
                if op_type == "Put":
                    backend.put_item(table_name, op["Item"], **written)
                elif op_type == "Delete":
                    backend.delete_item(table_name, key, **written)
                elif op_type == "Update":
                    backend.update_item(table_name, key, update_expression=op["UpdateExpression"], **written)
                errors.append((None, None, None))
            except (exceptions.MultipleTransactionsException, exceptions.MockValidationException):
                _undo(undo)
                raise
            except exceptions.ConditionalCheckFailed as error:
                errors.append(("ConditionalCheckFailed", str(error.message), original_item))
            except Exception as error:  # noqa: BLE001 - moto's own behaviour: the item's reason is the error
                errors.append((type(error).__name__, str(error), original_item))
        if any(code is not None for code, _, _ in errors):
            _undo(undo)
            raise exceptions.TransactionCanceledException(errors)
    finally:
        _state.applying = False
        _refresh(keys)


def _undo(undo: list[tuple]) -> None:
    for table, primary, previous in reversed(undo):
        _store(table, primary, previous)


_DATA_OPERATIONS = {  # backend method -> whether it writes
    "put_item": True, "update_item": True, "delete_item": True,
    "get_item": False, "batch_get_item": False, "query": False, "scan": False,
}


_READ_ANSWERS = ("get_item", "batch_get_item", "query", "scan", "transact_get_items")


def _answered_under_lock(original):
    @functools.wraps(original)
    def answered(self):
        with _lock:
            return original(self)

    return answered


def install() -> None:
    """Give this process's moto DynamoDB's guarantees (idempotent)."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table
    from moto.dynamodb.responses import DynamoHandler

    if getattr(DynamoDBBackend.transact_write_items, "_classpay", False):
        return
    for name, writes in _DATA_OPERATIONS.items():
        setattr(DynamoDBBackend, name, _locked(getattr(DynamoDBBackend, name), name, writes))

    def transact_write_items(self, transact_items):
        return _transact_write_items(self, transact_items)

    transact_write_items._classpay = True
    DynamoDBBackend.transact_write_items = transact_write_items
    Table.query = _query(Table.query)

    # moto reads item by item (TransactGetItems: one snapshot, as DynamoDB's), and its read answers are written
    # from the live items after the backend returns them: a transaction changing one meanwhile broke the answer
    # ("dictionary changed size during iteration"). Each read is answered whole under the lock.
    for name in _READ_ANSWERS:
        setattr(DynamoHandler, name, _answered_under_lock(getattr(DynamoHandler, name)))


def _dispatch_without_listing_moto() -> None:
    """moto's server finds each request's service by listing its own package directory (a listdir and
    an isdir per entry, ~200) under its dispatch lock, on every request: a burst of clients (200 buyers
    at once, bench/launch_day.py) then queues on that lock and the emulator spends most of its time
    there. The listing cannot change while the server runs: list it once."""
    from moto import backends

    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-H", "--host", default=HOST)
    parser.add_argument("-p", "--port", type=int, default=5000)
    parser.add_argument("--transaction-conflicts", type=float, default=SERVER_CONFLICT_WINDOW, metavar="SECONDS",
                        help="how long each transaction stays in flight; 0 turns conflicts off")
    parser.add_argument("--state", type=Path, default=None, metavar="FILE",
                        help="restore the emulated AWS from FILE and keep saving it there (infra/emulator_state.py)")
    parser.add_argument("--save-every", type=float, default=None, metavar="SECONDS",
                        help="with --state: how often a change is saved (default: emulator_state.SAVE_SECONDS)")
    arguments = parser.parse_args(argv)
    install()
    _dispatch_without_listing_moto()
    set_transaction_conflicts(arguments.transaction_conflicts)
    from moto import server

    keeper = None
    if arguments.state is not None:
        from infra import emulator_state

        sys.stderr.write(f"{emulator_state.restore(arguments.state)}\n")
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # its log (.local/) says what matters, not each request
        keeper = emulator_state.Keeper(arguments.state, _lock, arguments.save_every).start()
        signal.signal(signal.SIGTERM, _interrupt)  # werkzeug stops serving on KeyboardInterrupt; then we save
    try:
        server.main(["-H", arguments.host, "-p", str(arguments.port)])
    finally:
        if keeper is not None:
            keeper.stop()
    return 0


def _interrupt(*_) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
