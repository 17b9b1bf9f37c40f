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


# Registration numbers that pass the tax profile's checks (made up: a birth date and the NTS check digit).
RESIDENT_NUMBER = "900101-1234567"
BUSINESS_NUMBER = "123-45-67891"


def set_tax_profile(api, token, kind="business"):
    """Store the instructor's tax profile (`business` by default: nothing withheld, so payouts pay the gross);
    the response."""
    number = {"business_registration_number": BUSINESS_NUMBER} if kind == "business" else {
        "resident_registration_number": RESIDENT_NUMBER}
    return api.call("PUT", "/instructor/tax-profile", body={"kind": kind, **number}, token=token)


def set_payee(api, token, account_number="110-234-567891", bank_code="088", holder="김강사", kind="business"):
    """What an instructor needs to be paid, in one call: a payout account and a tax profile (payouts wait,
    `held`, without one)."""
    account = api.call("PUT", "/instructor/payout-account", body={
        "bank_code": bank_code, "account_number": account_number, "holder_name": holder}, token=token)
    assert account.status_code == 200, account.body
    profile = set_tax_profile(api, token, kind)
    assert profile.status_code == 200, profile.body
    return account
