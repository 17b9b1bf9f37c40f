"""Give moto's DynamoDB the isolation real DynamoDB has, for tests that run requests concurrently.

moto applies a TransactWriteItems item by item with no lock, and on a failed
condition restores whole tables from a copy taken before it started: under
concurrency another request can see a transaction half-applied, or have its own
committed writes rolled back by someone else's failure. DynamoDB guarantees
neither can happen (transactions are serializable against each other and against
single-item reads and writes). One re-entrant lock around the backend's data
operations restores those guarantees in the emulator; it changes nothing for
requests that do not overlap.
"""

import functools
import threading

_OPERATIONS = (
    "transact_write_items", "transact_get_items", "put_item", "update_item", "delete_item", "get_item",
    "batch_get_item", "batch_write_item", "query", "scan",
)
_lock = threading.RLock()


def serialize_dynamodb_operations() -> None:
    from moto.dynamodb.models import DynamoDBBackend

    for name in _OPERATIONS:
        original = getattr(DynamoDBBackend, name)
        if getattr(original, "_serialized", False):
            continue

        def serialized(self, *args, __original=original, **kwargs):
            with _lock:
                return __original(self, *args, **kwargs)

        functools.update_wrapper(serialized, original)
        serialized._serialized = True
        setattr(DynamoDBBackend, name, serialized)
