"""The queue workers' loop: SQS records in, a partial batch response out (`batchItemFailures`), so one
message's failure never makes SQS deliver the others of its batch again.

    def handle_messages(records):
        return work_batch(records, read=_read, handle=process, log=log, what="payout",
                          later={PayoutPending: logging.INFO})

`read(body)` turns a message's JSON body into `handle`'s keyword arguments (`NOT_UNDERSTOOD` errors: the message
goes to the dead-letter queue after its retries); every line logged while it is handled carries them. An
exception of a kind in `later` means "not yet", logged at the level given for it (delivered again after the
visibility timeout); any other is logged with its trace and the message is delivered again too, until SQS
gives up on it.
"""

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from chalicelib import logs

NOT_UNDERSTOOD = (KeyError, TypeError, ValueError, ArithmeticError, RecursionError)  # a body `read` cannot take


def work_batch(records: Iterable[dict], *, read: Callable[[Any], dict[str, Any]], handle: Callable[..., Any],
               log: logging.Logger, what: str, later: dict[type[Exception], int] | None = None) -> dict:
    failures = []
    for record in records:
        message_id = record.get("messageId", "")
        with logs.bound(message_id=message_id):
            try:
                message = read(json.loads(record["body"]))
            except NOT_UNDERSTOOD:
                log.error("%s message not understood; it goes to the dead-letter queue after its retries", what)
                failures.append({"itemIdentifier": message_id})
                continue
            with logs.bound(**message):
                try:
                    log.info("%s message done: %s", what, handle(**message))
                except tuple(later or ()) as not_yet:
                    level = next(level for kind, level in (later or {}).items() if isinstance(not_yet, kind))
                    log.log(level, "%s message not done yet (%s); delivered again", what, not_yet)
                    failures.append({"itemIdentifier": message_id})
                except Exception:  # noqa: BLE001 - one message's failure must not fail the others'
                    log.exception("%s message failed", what)
                    failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}
