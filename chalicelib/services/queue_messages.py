"""The queue workers' loop: SQS records in, a partial batch response out (`batchItemFailures`), so one
message's failure never makes SQS deliver the others of its batch again.

    def handle_messages(records):
        return work_batch(records, read=_read, handle=process, log=log, what="payout", later=(PayoutPending,))

`read(body)` turns a message's JSON body into `handle`'s keyword arguments (KeyError, TypeError or ValueError:
not understood, so it goes to the dead-letter queue after its retries); every line logged while it is handled
carries them. An exception in `later` means "not yet" (delivered again after the visibility timeout); any
other is logged with its trace and the message is delivered again too, until SQS gives up on it.
"""

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from chalicelib import logs


def work_batch(records: Iterable[dict], *, read: Callable[[Any], dict[str, Any]], handle: Callable[..., Any],
               log: logging.Logger, what: str, later: tuple[type[Exception], ...] = ()) -> dict:
    failures = []
    for record in records:
        message_id = record.get("messageId", "")
        with logs.bound(message_id=message_id):
            try:
                message = read(json.loads(record["body"]))
            except (KeyError, TypeError, ValueError):
                log.error("%s message not understood; it goes to the dead-letter queue after its retries", what)
                failures.append({"itemIdentifier": message_id})
                continue
            with logs.bound(**message):
                try:
                    log.info("%s message done: %s", what, handle(**message))
                except later as not_yet:
                    log.warning("%s message not done yet (%s); delivered again", what, not_yet)
                    failures.append({"itemIdentifier": message_id})
                except Exception:  # noqa: BLE001 - one message's failure must not fail the others'
                    log.exception("%s message failed", what)
                    failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}
