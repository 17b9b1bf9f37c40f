"""Idempotency keys: one record per (caller, Idempotency-Key), kept at least 24 hours.

Table `<prefix>idempotency`
    hash key  scope_key             `<caller user id>#<Idempotency-Key>` (keys are scoped to the caller)
    TTL       expires_at            DynamoDB deletes the record some time after it (>= 24 h after the claim)
    attributes fingerprint (sha256 of method, route, path parameters and canonical body), state
               (in_progress | completed), lease_token, lease_until, response_status, response_body,
               content_type, created_at

Access patterns
    claim a key ........................ PutItem if the key is new, expired, or an in-flight claim
                                         of the same request whose lease ran out (its request died)
    look at a key someone holds ........ GetItem (consistent)
    record the outcome WITH the effect . Put in the use case's own transaction, only while our
                                         lease_token still holds the claim (a fencing token)
    record an effect-free outcome ...... PutItem, same condition
    give a key back (request failed) ... DeleteItem, same condition

Why the lease token matters: a request whose lease ran out and was taken over by
a retry cannot commit anymore; its completion write (and with it the whole
money transaction) is cancelled, so two attempts never both take effect.
"""

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import DeleteError, PutError
from pynamodb.models import Model

from chalicelib import config, errors, ids
from chalicelib.store.base import table_meta
from chalicelib.store.transactions import UnitOfWork, condition_failed

log = logging.getLogger("classpay.idempotency")

IN_PROGRESS = "in_progress"
COMPLETED = "completed"


class IdempotencyItem(Model):
    Meta = table_meta("idempotency")

    scope_key = UnicodeAttribute(hash_key=True)
    fingerprint = UnicodeAttribute()
    state = UnicodeAttribute()
    lease_token = UnicodeAttribute()
    lease_until = NumberAttribute()
    response_status = NumberAttribute(null=True)
    response_body = UnicodeAttribute(null=True)
    content_type = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute()


class Receipt(Protocol):
    """What a money use case is handed so the idempotency record commits in ITS transaction.

    `record_result(uow, result)` adds the completed record (the response rendered from `result`) to
    `uow`; `record_failure(uow, error)` does the same for a failure that changed state (a declined
    payment marks the top-up declined). Outside HTTP (seed, jobs) the receipt is `NO_RECEIPT`.
    """

    def record_result(self, uow: UnitOfWork, result: Any) -> None: ...

    def record_failure(self, uow: UnitOfWork, error: errors.DomainError) -> None: ...


class _NoReceipt:
    def record_result(self, uow: UnitOfWork, result: Any) -> None:
        return None

    def record_failure(self, uow: UnitOfWork, error: errors.DomainError) -> None:
        return None


NO_RECEIPT: Receipt = _NoReceipt()


@dataclass(frozen=True)
class Claim:
    """A key we hold: only writes carrying `lease_token` may complete or release it."""

    scope_key: str
    fingerprint: str
    lease_token: str
    created_at: datetime


@dataclass(frozen=True)
class Held:
    """A key someone else holds (or held): what the new request is answered from."""

    fingerprint: str
    state: str
    response_status: int | None
    response_body: str | None
    content_type: str | None


def scope_key(caller_id: str, key: str) -> str:
    return f"{caller_id}#{key}"


def fingerprint(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def _expiry(created_at: datetime) -> datetime:
    """The retention after `created_at`, rounded UP to the second: the TTL attribute stores whole
    epoch seconds, and truncating would forget the key (and free it for a new claim) up to 1 s early."""
    expiry = created_at + timedelta(hours=config.idempotency_retention_hours())
    if expiry.microsecond:
        expiry = expiry.replace(microsecond=0) + timedelta(seconds=1)
    return expiry


def claim(key: str, request_fingerprint: str, now: datetime) -> Claim | Held:
    """Take the key for this request, or say who holds it. One conditional PutItem in the common case."""
    for _ in range(3):
        token = ids.new_id()
        item = IdempotencyItem(
            key, fingerprint=request_fingerprint, state=IN_PROGRESS, lease_token=token,
            lease_until=_epoch(now) + config.idempotency_lease_seconds(), created_at=now,
            expires_at=_expiry(now),
        )
        free = (
            IdempotencyItem.scope_key.does_not_exist()
            | (IdempotencyItem.expires_at < now)
            | ((IdempotencyItem.state == IN_PROGRESS) & (IdempotencyItem.lease_until < _epoch(now))
               & (IdempotencyItem.fingerprint == request_fingerprint))
        )
        claimed = Claim(key, request_fingerprint, token, now)
        try:
            item.save(condition=free)
            return claimed
        except PutError as error:
            if error.cause_response_code == "TransactionConflictException":
                raise errors.IdempotencyInProgress() from error  # the request holding the key is committing now
            if not condition_failed(error):
                # The put may have landed and only its answer been lost: give back what may be ours,
                # or every retry with this key would be refused as in progress until the lease ends.
                release(claimed)
                raise
        try:
            held = IdempotencyItem.get(key, consistent_read=True)
        except IdempotencyItem.DoesNotExist:
            continue  # released between our put and our read: try again
        if held.state == IN_PROGRESS and held.lease_token == token:
            return claimed  # our own put, sent again by botocore after its answer was lost
        return Held(held.fingerprint, held.state, _int(held.response_status), held.response_body, held.content_type)
    raise errors.IdempotencyInProgress()


def _int(value) -> int | None:
    return None if value is None else int(value)


def _ours(claimed: Claim):
    return (IdempotencyItem.state == IN_PROGRESS) & (IdempotencyItem.lease_token == claimed.lease_token)


def _completed_item(claimed: Claim, status: int, body: str, content_type: str) -> IdempotencyItem:
    return IdempotencyItem(
        claimed.scope_key, fingerprint=claimed.fingerprint, state=COMPLETED, lease_token=claimed.lease_token,
        lease_until=0, response_status=status, response_body=body, content_type=content_type,
        created_at=claimed.created_at,
        expires_at=_expiry(claimed.created_at),
    )


def add_completion(uow: UnitOfWork, claimed: Claim, status: int, body: str, content_type: str) -> None:
    """Record the outcome in the use case's transaction: it commits with the effect or not at all."""
    uow.put(
        _completed_item(claimed, status, body, content_type),
        condition=_ours(claimed),
        on_fail=lambda: errors.IdempotencyInProgress(
            "This request took too long and was retried with the same Idempotency-Key; nothing was done"
        ),
    )


def complete(claimed: Claim, status: int, body: str, content_type: str) -> None:
    """Record an outcome that had no effect of its own to commit with (a read, a refusal)."""
    try:
        _completed_item(claimed, status, body, content_type).save(condition=_ours(claimed))
    except PutError as error:
        if not condition_failed(error):
            raise
        log.warning("idempotency record was taken over before completion")


def release(claimed: Claim) -> None:
    """Give the key back after a failure that changed nothing, so a retry runs the request again.

    Best effort: if this fails too, the lease runs out and a retry takes the key over.
    """
    try:
        IdempotencyItem(claimed.scope_key).delete(condition=_ours(claimed))
    except DeleteError as error:
        if not condition_failed(error):
            log.warning("could not release an idempotency key: %s", error.cause_response_code)
