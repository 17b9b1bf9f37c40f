"""The weekly payouts as Lambda runs them: the fan-out job, the payout queue and its worker, and the
settlement that makes sales available to pay out."""

import os

from tests.support.jobs import clock_at, deliver_sqs, later, run_scheduled, take_queue_messages


def take_messages():
    """Every message now on the payout queue, deleted from it (the test decides what to deliver)."""
    return take_queue_messages(os.environ["PAYOUT_QUEUE"])


def deliver(functions, messages):
    """The payout worker invoked as Lambda's SQS event source would; the ids it reported failed."""
    return deliver_sqs(functions, "payout_worker", os.environ["PAYOUT_QUEUE"], messages)


def run_payouts(functions, monkeypatch, days=8):
    """The weekly job as of `days` from now, then every message delivered once; (fan-out, messages, failed)."""
    with clock_at(monkeypatch, later(days=days)):
        fan_out = run_scheduled(functions, "payouts")
        messages = take_messages()
        failed = deliver(functions, messages)
    return fan_out, messages, failed


def settle(functions, monkeypatch, days=8):
    with clock_at(monkeypatch, later(days=days)):
        run_scheduled(functions, "settlement")
