"""The unit of work: every write of one use case, committed by ONE TransactWriteItems.

A service collects its writes here (its own state, the ledger's entries and
balance updates, the idempotency record) and commits them once: all of them
happen, or none does. Each write may name the domain error its condition
stands for (`on_fail`); when DynamoDB cancels the transaction because a
condition failed, `commit` raises the error of the write that was added
first among those that failed, so a service that adds its own state first
("top-up still pending") gets that reason before a ledger one ("wallet too
low").

DynamoDB's rules are checked when a write is added, not discovered at commit:
at most 100 items per transaction, and one item at most once. A transaction
cancelled because another one touched the same item at the same time raises
`Contention`; the use case may re-read and try again (`retry_on_contention`).

This wraps PynamoDB's `TransactWrite`, which sends condition checks, deletes,
puts and updates in that order; cancellation reasons come back in that order
and are mapped back to the writes here.
"""

import functools
import logging
import random
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

from pynamodb.connection import Connection
from pynamodb.exceptions import DeleteError, PutError, PynamoDBException, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib import errors

log = logging.getLogger("classpay.store")

MAX_ITEMS = 100  # DynamoDB's limit for one TransactWriteItems
_KINDS = ("check", "delete", "put", "update")  # the order PynamoDB sends them in

T = TypeVar("T")


class Contention(Exception):
    """Another transaction touched one of our items at the same time; nothing was written."""


class TransactionTooLarge(ValueError):
    """A use case tried to put more than 100 items, or one item twice, in one transaction (a bug)."""


@functools.cache
def connection() -> Connection:
    """The connection transactions are sent on (one per container; its client is thread-safe)."""
    return Connection()


OnFail = Callable[[], Exception]  # the error a failed condition stands for (a domain error, or `Contention`)


def _refusal(on_fail: OnFail | None) -> Exception:
    """The error a write refused by its condition raises: the one its caller named, else a 409."""
    if on_fail is not None:
        return on_fail()
    return errors.Conflict("The resource changed while this request ran; nothing was written")


def condition_failed(error: PynamoDBException) -> bool:
    """Whether a single write (PutItem, UpdateItem, DeleteItem) was refused by its condition."""
    return error.cause_response_code == "ConditionalCheckFailedException"


@contextmanager
def conditional_write(on_fail: OnFail | None = None) -> Iterator[None]:
    """Around one write sent at once: a failed condition raises `on_fail()` (as a unit of work's
    `commit` does for its writes); any other failure goes on as it is."""
    try:
        yield
    except (PutError, UpdateError, DeleteError) as error:
        if not condition_failed(error):
            raise
        raise _refusal(on_fail) from None


@dataclass
class _Write:
    kind: str
    order: int
    apply: Callable[[TransactWrite], None]
    on_fail: OnFail | None


@dataclass
class UnitOfWork:
    """Writes to commit together. `add_*` never touches DynamoDB; `commit` sends them all at once."""

    _writes: list[_Write] = field(default_factory=list)
    _keys: set[tuple] = field(default_factory=set)
    _after_commit: list[Callable[[], None]] = field(default_factory=list)
    committed: bool = False

    def __len__(self) -> int:
        return len(self._writes)

    @property
    def room(self) -> int:
        """How many more items fit in this transaction."""
        return MAX_ITEMS - len(self._writes)

    def put(self, item: Model, condition: Condition | None = None, on_fail=None) -> None:
        self._add("put", _key_of(type(item), item), lambda tw: tw.save(item, condition=condition), on_fail)

    def update(self, item: Model, actions: list, condition: Condition | None = None, on_fail=None) -> None:
        self._add(
            "update", _key_of(type(item), item),
            lambda tw: tw.update(item, actions=actions, condition=condition), on_fail,
        )

    def delete(self, item: Model, condition: Condition | None = None, on_fail=None) -> None:
        self._add("delete", _key_of(type(item), item), lambda tw: tw.delete(item, condition=condition), on_fail)

    def check(self, model: type[Model], hash_key, range_key=None, *, condition: Condition, on_fail=None) -> None:
        """A condition on an item this transaction does not write (e.g. "the course is published")."""
        key = (model.Meta.table_name, hash_key, range_key)
        self._add(
            "check", key,
            lambda tw: tw.condition_check(model, hash_key, range_key=range_key, condition=condition), on_fail,
        )

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once the transaction has committed (never if it did not)."""
        self._after_commit.append(callback)

    def _add(self, kind: str, key: tuple, apply, on_fail) -> None:
        if self.committed:
            raise RuntimeError("this unit of work has already been committed")
        if key in self._keys:
            raise TransactionTooLarge(f"item {key} appears twice in one transaction")
        if len(self._writes) >= MAX_ITEMS:
            raise TransactionTooLarge(f"a transaction holds at most {MAX_ITEMS} items")
        self._keys.add(key)
        self._writes.append(_Write(kind, len(self._writes), apply, on_fail))

    def commit(self) -> None:
        """Send every write in one TransactWriteItems. Raises the failed condition's domain error,
        `Contention`, or the store's own error; on any of them nothing was written."""
        if self.committed:
            raise RuntimeError("this unit of work has already been committed")
        if not self._writes:
            self.committed = True
            return
        sent = sorted(self._writes, key=lambda w: (_KINDS.index(w.kind), w.order))
        # botocore retries a call whose answer was lost; with the same token DynamoDB answers a
        # retry of a transaction that did commit with success, not with our own failed conditions.
        transaction = TransactWrite(connection=connection(), client_request_token=str(uuid.uuid4()))
        for write in sent:
            write.apply(transaction)
        try:
            transaction._commit()
        except TransactWriteError as error:
            raise self._reason(error, sent) from error
        self.committed = True
        for callback in self._after_commit:
            callback()

    def _reason(self, error: TransactWriteError, sent: list[_Write]) -> Exception:
        if error.cause_response_code != "TransactionCanceledException":
            return error
        reasons = error.cancellation_reasons or []
        failed = [w for w, r in zip(sent, reasons, strict=False) if r is not None and r.code == "ConditionalCheckFailed"]
        if failed:
            return _refusal(min(failed, key=lambda w: w.order).on_fail)
        if any(r is not None and r.code == "TransactionConflict" for r in reasons):
            return Contention("another transaction touched the same items")
        return error


def _key_of(model: type[Model], item: Model) -> tuple:
    range_name = model._range_keyname
    return (
        model.Meta.table_name,
        getattr(item, model._hash_keyname),
        getattr(item, range_name) if range_name else None,
    )


CONTENTION_BUDGET = 8.0  # seconds a use case keeps retrying; the API function's timeout leaves room for the rest
BACKOFF_BASE, BACKOFF_CAP = 0.01, 0.25  # seconds: exponential backoff with full jitter (AWS's advice for conflicts)


def retry_on_contention(attempt: Callable[[], T], *, attempts: int = 40) -> T:
    """Run `attempt` (which re-reads and builds a fresh unit of work) again after a `Contention`.

    Many buyers of one course contend for its session's seats and its instructor's balance: each
    retry waits a random time up to an exponentially growing cap, for at most `attempts` tries and
    `CONTENTION_BUDGET` seconds, then gives up with a 409 `CONFLICT`; nothing was written by the
    failed ones.
    """
    deadline = time.monotonic() + CONTENTION_BUDGET
    for number in range(1, attempts + 1):
        try:
            return attempt()
        except Contention:
            pause = random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2**number))  # noqa: S311 (jitter, not crypto)
            if number == attempts or time.monotonic() + pause > deadline:
                break
            log.info("transaction contention, attempt %d of %d", number, attempts)
            time.sleep(pause)
    raise errors.Conflict("Too many concurrent changes to the same records; try again")
