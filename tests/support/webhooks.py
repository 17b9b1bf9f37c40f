"""Toss's webhooks as the gateway and Lambda deliver them: `POST /webhooks/toss` (which stores and queues),
then the `WEBHOOK_QUEUE` worker invoked with what was queued."""

import os

from tests.support.jobs import deliver_sqs, take_queue_messages


def take_messages():
    """Every message now on the webhook queue, deleted from it (the test decides what to deliver)."""
    return take_queue_messages(os.environ["WEBHOOK_QUEUE"])


def deliver(functions, messages):
    """The webhook worker invoked as Lambda's SQS event source would; the ids it reported failed."""
    return deliver_sqs(functions, "webhook_worker", os.environ["WEBHOOK_QUEUE"], messages)


def post_and_process(api, functions, event, headers=None):
    """The gateway posts `event`, then the worker processes what the post queued; the post's answer."""
    answer = api.post("/webhooks/toss", event, headers=headers)
    assert deliver(functions, take_messages()) == []
    return answer


def awaiting_deposit(api, learner, course_id, wallet=None):
    """A checkout of `course_id` confirmed with its virtual-account key: awaiting the deposit; the checkout."""
    from tests.support.money import krw, new_key

    extra = {"wallet_amount": krw(wallet)} if wallet else {}
    created = api.post("/checkouts", {"items": [{"course_id": course_id}], **extra}, token=learner,
                       headers={"Idempotency-Key": new_key("checkout")})
    assert created.status_code == 201, created.body
    checkout = created.json_body
    issued = api.post(f"/checkouts/{checkout['checkout_id']}/confirm",
                      {"amount": checkout["amount_due"], "payment_key": checkout["payment"]["virtual_account_payment_key"]},
                      token=learner, headers={"Idempotency-Key": new_key("confirm")})
    assert issued.status_code == 200 and issued.json_body["status"] == "awaiting_deposit", issued.body
    return checkout
