"""Weekly payouts (Monday 10:00 in Korea): the fan-out job and the queue worker.

`run(now)` is the scheduled job: it only enumerates whom to pay and sends one SQS message per
instructor (see services/payouts.py). `handle(records)` is the `PAYOUT_QUEUE` worker: it pays
each message's instructor and reports the messages it could not finish as `batchItemFailures`,
so SQS delivers only those again (and, after `MAX_RECEIVE_COUNT` tries, to the dead-letter queue,
whose alarm calls a human; the next weekly run re-drives any payout still in transit).
"""

import json
import logging
from collections.abc import Iterable
from datetime import datetime

from chalicelib import logs
from chalicelib.services import payouts

log = logging.getLogger("classpay.jobs.payouts")


def run(now: datetime) -> payouts.FanOut:
    return payouts.fan_out(now)


def handle(records: Iterable[dict]) -> dict:
    """Process SQS records `{messageId, body}`; the ids of those to deliver again."""
    failures = []
    for record in records:
        message_id = record.get("messageId", "")
        with logs.bound(message_id=message_id):
            try:
                body = json.loads(record["body"])
                instructor_id, period = str(body["instructor_id"]), str(body["period"])
                currency = str(body.get("currency") or "") or None
            except (KeyError, TypeError, ValueError):
                log.error("payout message not understood; it goes to the dead-letter queue after its retries")
                failures.append({"itemIdentifier": message_id})
                continue
            try:
                outcome = payouts.process(instructor_id, period, currency)
                log.info("payout message done: %s", outcome,
                         extra={"fields": {"instructor_id": instructor_id, "period": period}})
            except payouts.PayoutPending as pending:
                log.info("payout not finished yet: %s", pending)
                failures.append({"itemIdentifier": message_id})
            except Exception:  # noqa: BLE001 - one instructor's failure must not fail the others' messages
                log.exception("payout message failed", extra={"fields": {"instructor_id": instructor_id,
                                                                         "period": period}})
                failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}
