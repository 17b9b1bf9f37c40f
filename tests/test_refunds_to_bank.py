"""Refunds of orders paid by virtual account, over HTTP: the part the virtual account paid goes to the bank
account the learner gives (`refund_account`, 422 naming it when missing), sent by the PG's cancel with that
account under the refund's own idempotency key, retried by the refund_retry job exactly like card refunds; the
account number is stored only encrypted and never shown."""

from datetime import UTC, datetime

import pytest

from chalicelib import errors
from chalicelib.adapters import fake_payments
from chalicelib.adapters.payments import RefundReceiveAccount
from chalicelib.jobs import JOBS
from chalicelib.money import Money
from chalicelib.services import orders as orders_service
from chalicelib.store.orders import OrderItem
from tests.support.courses import make_course
from tests.support.money import admin_token, assert_reconciled, balance, funded_learner, krw, refund
from tests.support.webhooks import awaiting_deposit

ACCOUNT = {"bank_code": "088", "account_number": "110-234-567890", "holder_name": "김학생"}


@pytest.fixture(scope="module")
def admin(api):
    return admin_token(api)


@pytest.fixture
def paid_by_virtual_account(api, admin):
    """An order of a 20,000 course: 5,000 from the wallet, 15,000 deposited into a virtual account."""
    instructor, learner = api.token_for(roles=["instructor"]), funded_learner(api, 5_000)
    checkout = awaiting_deposit(api, learner, make_course(api, instructor, amount=20_000), wallet=5_000)
    deposited = api.post("/admin/gateway/deposits",
                         {"payment_key": checkout["payment"]["virtual_account_payment_key"]}, token=admin)
    assert deposited.json_body["outcomes"] == ["paid"], deposited.body
    order_id = api.get(f"/checkouts/{checkout['checkout_id']}", token=learner).json_body["orders"][0]["order_id"]
    return learner, checkout["checkout_id"], order_id


def sent_to(refund_id):
    return fake_payments.REFUND_ACCOUNTS.get(f"refund-{refund_id}"), fake_payments.PARTIAL_CANCELS.get(
        f"refund-{refund_id}")


class RefusingGateway(fake_payments.FakePayments):
    def partial_cancel(self, *args):
        raise errors.PaymentGatewayError("The payment provider did not answer; try again")


def test_a_virtual_account_order_is_refunded_to_the_bank_account_given_once_even_when_the_pg_refuses_first(
        api, admin, monkeypatch, paid_by_virtual_account):
    learner, checkout_id, order_id = paid_by_virtual_account
    missing = refund(api, learner, order_id, amount=krw(8_000))
    assert missing.status_code == 422 and missing.json_body["errors"][0]["field"] == "refund_account", missing.body
    wrong = refund(api, learner, order_id, amount=krw(8_000), refund_account={**ACCOUNT, "bank_code": "999"})
    assert wrong.status_code == 422 and wrong.json_body["errors"][0]["field"] == "refund_account.bank_code"
    assert api.get(f"/orders/{order_id}", token=learner).json_body["refunds"] == []  # nothing written

    with monkeypatch.context() as patch:
        patch.setattr(orders_service, "payment_gateway", RefusingGateway)
        pending = refund(api, learner, order_id, amount=krw(8_000), refund_account=ACCOUNT)
    assert pending.status_code == 200, pending.body
    part = pending.json_body["refunds"][0]
    assert (part["to"], part["status"]) == ("bank_account_and_wallet", "pending")
    assert (part["to_card"], part["to_wallet"]) == (krw(6_000), krw(2_000))  # 15:5 of 8,000
    assert balance(api, learner) == 2_000  # the wallet part at once
    assert sent_to(part["refund_id"]) == (None, None)
    assert "567890" not in pending.body.decode()  # never shown
    stored = OrderItem.get(order_id, consistent_read=True)
    assert stored.refund_account.account_last4 == "7890" and b"567890" not in bytes(
        stored.refund_account.account_ciphertext)  # kept encrypted

    assert JOBS["refund_retry"].run(datetime.now(UTC))["done"] >= 1  # the PG answers now
    assert JOBS["refund_retry"].run(datetime.now(UTC)) == {"done": 0, "still_pending": 0}
    assert api.get(f"/orders/{order_id}", token=learner).json_body["refunds"][0]["status"] == "done"
    assert sent_to(part["refund_id"]) == (RefundReceiveAccount("088", "110234567890", "김학생"),
                                          (checkout_id, Money(6_000, "KRW")))
    assert_reconciled(api, admin)
