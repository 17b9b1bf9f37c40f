"""Helpers for the job tests: invoke scheduled functions and queue workers as Lambda would, move the clock."""

import contextlib
import json
from datetime import UTC, datetime, timedelta

from chalicelib import clock


def scheduled_event(functions, name):
    """The EventBridge event a schedule delivers to the function `name`."""
    return functions.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={},
        resources=[f"arn:aws:events:ap-northeast-2:123456789012:rule/classpay-test-{name}"])


def run_scheduled(functions, name):
    """Invoke the scheduled function `name` (its job runs as of `clock.now()`); its JSON summary."""
    payload = functions.lambda_.invoke(name, scheduled_event(functions, name)).payload
    json.dumps(payload)  # what Lambda does with a handler's return value: it must be JSON
    return payload


@contextlib.contextmanager
def clock_at(monkeypatch, moment: datetime):
    """`clock.now()` is `moment` inside (the app's one clock; tokens and ids keep real time)."""
    with monkeypatch.context() as patch:
        patch.setattr(clock, "now", lambda: moment)
        yield moment


def later(**delta) -> datetime:
    return datetime.now(UTC) + timedelta(**delta)


def take_queue_messages(queue_name: str) -> list[dict]:
    """Every message now on the SQS queue `queue_name`, deleted from it (the test decides what to deliver)."""
    import boto3

    sqs = boto3.client("sqs")
    url, messages = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"], []
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not batch:
            return messages
        sqs.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(batch)])
        messages += batch


def deliver_sqs(functions, name: str, queue_name: str, messages: list[dict]) -> list[str]:
    """Invoke the queue worker `name` as Lambda's SQS event source would, 10 messages a batch; the ids it
    reported as `batchItemFailures` (to be delivered again)."""
    failed = []
    for start in range(0, len(messages), 10):
        chunk = messages[start:start + 10]
        event = functions.events.generate_sqs_event([m["Body"] for m in chunk], queue_name=queue_name)
        for record, message in zip(event["Records"], chunk, strict=True):
            record["messageId"] = message["MessageId"]
        answer = functions.lambda_.invoke(name, event).payload
        json.dumps(answer)  # what Lambda does with a handler's return value: it must be JSON
        failed += [f["itemIdentifier"] for f in answer["batchItemFailures"]]
    return failed
