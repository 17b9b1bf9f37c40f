"""Checkout by virtual account (가상계좌), over HTTP: the account issued, the deposit webhook (stored, queued, then
processed by the webhook worker), forged and repeated events, the due date, a webhook racing the confirm, and
the recovery of a lost confirm."""

from datetime import UTC, datetime, timedelta
from functools import partial

import pytest

from chalicelib.adapters import fake_payments
from chalicelib.jobs import JOBS
from tests.support.checkout import checkout_status, orders_of, pay_checkout, seats_left, started_checkout
from tests.support.money import (
    assert_problem,
    assert_reconciled,
    balance,
    course_with_session,
    dynamodb_fails,
    funded_learner,
    krw,
)
from tests.support.webhooks import deliver, post_and_process, take_messages


@pytest.fixture(scope="module")
def admin(api):
    return api.admin_token()


@pytest.fixture
def instructor(api):
    return api.token_for(roles=["instructor"])


def issue_account(api, token, checkout):
    issued = pay_checkout(api, token, checkout, virtual_account=True)
    assert issued.status_code == 200, issued.body
    return issued.json_body


def deposit(api, admin, checkout, times=None):
    body = {"payment_key": checkout["payment"]["virtual_account_payment_key"]}
    return api.post("/admin/gateway/deposits", body if times is None else {**body, "times": times}, token=admin)


def a_held_cart(api, instructor, wallet=5_000):
    course_id, session_id = course_with_session(api, instructor, capacity=2,
                                                starts_at=(datetime.now(UTC) + timedelta(days=3)).isoformat(),
                                                amount=30_000)
    learner = funded_learner(api, wallet)
    checkout = started_checkout(api, learner, [{"course_id": course_id, "session_id": session_id}], wallet_amount=krw(wallet))
    return course_id, learner, checkout


def test_a_virtual_account_checkout_awaits_its_deposit_holding_the_seat_and_the_wallet_part(api, admin, instructor):
    course_id, learner, checkout = a_held_cart(api, instructor)
    issued = issue_account(api, learner, checkout)
    assert issued["status"] == "awaiting_deposit" and issued["orders"] == []
    account = issued["virtual_account"]
    assert account["bank"] and account["account_number"].isdigit()
    due = datetime.fromisoformat(account["due_date"])
    assert timedelta(hours=23) < due - datetime.now(UTC) <= timedelta(hours=24)
    assert issued["expires_at"] == account["due_date"]
    assert "secret" not in str(issued) and "deposit_secret" not in str(issued)
    again = issue_account(api, learner, checkout)  # a retried confirm answers the same account
    assert again["virtual_account"] == account
    JOBS["checkout_expiry"].run(datetime.now(UTC) + timedelta(hours=1))  # the card's 40 minutes do not apply
    assert checkout_status(api, learner, checkout) == "awaiting_deposit"
    assert seats_left(api, course_id) == 1 and balance(api, learner) == 0
    assert_reconciled(api, admin)


def test_the_due_date_passing_releases_the_holds_and_closes_the_account(api, admin, instructor):
    course_id, learner, checkout = a_held_cart(api, instructor)
    issue_account(api, learner, checkout)
    JOBS["checkout_expiry"].run(datetime.now(UTC) + timedelta(hours=25))
    assert checkout_status(api, learner, checkout) == "expired"
    assert seats_left(api, course_id) == 2 and balance(api, learner) == 5_000
    assert checkout["checkout_id"] in fake_payments.CANCELLED
    assert fake_payments.PAYMENTS[checkout["checkout_id"]].status == "CANCELED"
    assert orders_of(api, learner) == []
    assert_reconciled(api, admin)


def test_the_deposit_webhook_pays_the_checkout_once_however_often_it_is_delivered(api, admin, instructor):
    course_id, learner, checkout = a_held_cart(api, instructor)
    issue_account(api, learner, checkout)
    delivered = deposit(api, admin, checkout, times=2)
    assert delivered.status_code == 200, delivered.body
    assert delivered.json_body["outcomes"] == ["paid", "unchanged"]
    paid = api.get(f"/checkouts/{checkout['checkout_id']}", token=learner).json_body
    assert paid["status"] == "paid" and [order["course_id"] for order in paid["orders"]] == [course_id]
    assert [order["course_id"] for order in orders_of(api, learner)] == [course_id]
    assert seats_left(api, course_id) == 1 and balance(api, learner) == 0
    assert deposit(api, admin, checkout).json_body["outcomes"] == ["unchanged"]  # a late redelivery
    assert len(orders_of(api, learner)) == 1
    assert_reconciled(api, admin)


def test_forged_deposit_webhooks_change_nothing(api, admin, instructor, functions):
    course_id, learner, checkout = a_held_cart(api, instructor)
    issue_account(api, learner, checkout)
    order_id = checkout["checkout_id"]
    secret = fake_payments.PAYMENTS[order_id].confirmation.secret
    callback = {"createdAt": "2026-01-01T00:00:00.000000", "orderId": order_id, "status": "DONE",
                "transactionKey": "forged"}
    not_deposited = post_and_process(api, functions, {**callback, "secret": secret})  # right secret, nothing paid yet
    assert not_deposited.status_code == 200 and not_deposited.json_body == {"received": True}
    assert checkout_status(api, learner, checkout) == "awaiting_deposit"
    fake_payments.FakePayments().deposit(checkout["payment"]["virtual_account_payment_key"])  # paid, not told
    for forged in ({**callback, "secret": "not-the-secret"}, callback,
                   {"eventType": "PAYMENT_STATUS_CHANGED", "data": {"orderId": "no-such-order", "status": "DONE"}},
                   {"eventType": "PAYOUT_STATUS_CHANGED", "data": {"orderId": order_id}}):
        assert post_and_process(api, functions, forged).status_code == 200
        assert checkout_status(api, learner, checkout) == "awaiting_deposit"
    assert orders_of(api, learner) == [] and seats_left(api, course_id) == 1
    # the same body again, now that the deposit was made: a new delivery, processed again, pays
    assert post_and_process(api, functions, {**callback, "secret": secret}).status_code == 200
    assert checkout_status(api, learner, checkout) == "paid"
    assert_reconciled(api, admin)


def test_the_simulated_deposit_is_refused_for_unknown_keys_and_closed_accounts(api, admin, instructor):
    _, learner, checkout = a_held_cart(api, instructor)
    unknown = api.post("/admin/gateway/deposits", {"payment_key": "fakeva_nothing"}, token=admin)
    assert unknown.status_code == 404
    assert api.post("/admin/gateway/deposits", {"payment_key": "x", "times": 3}, token=admin).status_code == 422
    assert deposit(api, learner, checkout).status_code == 403
    issue_account(api, learner, checkout)
    JOBS["checkout_expiry"].run(datetime.now(UTC) + timedelta(hours=25))
    assert deposit(api, admin, checkout).status_code == 409  # the account was closed at its due date
    assert checkout_status(api, learner, checkout) == "expired"


def test_a_payment_webhook_racing_the_confirm_pays_once(api, admin, instructor, threads, functions):
    for _ in range(3):
        course_id, learner, checkout = a_held_cart(api, instructor)
        event = {"eventType": "PAYMENT_STATUS_CHANGED", "createdAt": datetime.now(UTC).isoformat(),
                 "data": {"orderId": checkout["checkout_id"], "status": "DONE"}}
        assert api.post("/webhooks/toss", event).status_code == 200
        queued = take_messages()
        confirmed, failed = list(threads.map(lambda send: send(), [
            partial(pay_checkout, api, learner, checkout),
            partial(deliver, functions, queued)]))  # the worker processes the event while the confirm runs
        assert confirmed.status_code == 200 and confirmed.json_body["status"] == "paid", confirmed.body
        assert failed == []
        assert post_and_process(api, functions, {**event, "createdAt": "later"}).status_code == 200  # once more
        assert checkout_status(api, learner, checkout) == "paid"
        assert len(orders_of(api, learner)) == 1 and seats_left(api, course_id) == 1
    assert_reconciled(api, admin)


@pytest.mark.parametrize("late", [False, True], ids=["before-expiry", "after-expiry"])
def test_a_confirm_whose_answer_was_lost_after_the_gateway_captured_is_completed_by_the_jobs(api, admin, instructor,
                                                                                              late):
    course_id, learner, checkout = a_held_cart(api, instructor)
    with dynamodb_fails("TransactWriteItems", when="before"):
        assert_problem(pay_checkout(api, learner, checkout))
    assert fake_payments.PAYMENTS[checkout["checkout_id"]].status == "DONE"  # captured, and nobody was told
    assert checkout_status(api, learner, checkout) == "pending"
    JOBS["checkout_recovery"].run(datetime.now(UTC))  # a confirm this young may still be answering: left alone
    assert checkout_status(api, learner, checkout) == "pending"
    job = "checkout_expiry" if late else "checkout_recovery"
    JOBS[job].run(datetime.now(UTC) + timedelta(minutes=41 if late else 3))
    assert checkout_status(api, learner, checkout) == "paid"
    assert [order["course_id"] for order in orders_of(api, learner)] == [course_id]
    assert checkout["checkout_id"] not in fake_payments.CANCELLED
    again = JOBS["checkout_recovery"].run(datetime.now(UTC) + timedelta(minutes=3))
    assert (again["paid"], again["cancelled"]) == (0, 0)  # nothing left to recover
    assert len(orders_of(api, learner)) == 1
    assert_reconciled(api, admin)


def test_reconciliation_reports_a_captured_payment_no_paid_checkout_accounts_for(api, admin, instructor):
    from chalicelib.services import reconciliation

    _, learner, checkout = a_held_cart(api, instructor)
    with dynamodb_fails("TransactWriteItems", when="before"):
        assert_problem(pay_checkout(api, learner, checkout))

    def unaccounted(minutes):
        report = reconciliation.run(datetime.now(UTC) + timedelta(minutes=minutes))
        return [v for v in report.violations if checkout["checkout_id"] in v.detail]

    assert unaccounted(0) == []  # still in time: its confirm may yet answer
    assert [v.invariant for v in unaccounted(41)] == ["captured_payment_is_a_paid_checkout"]
    JOBS["checkout_recovery"].run(datetime.now(UTC) + timedelta(minutes=3))
    assert unaccounted(41) == []
    assert_reconciled(api, admin)


def test_the_toss_adapter_reads_a_virtual_account_confirm_and_a_payment_by_order_id(monkeypatch):
    from chalicelib.adapters.toss_payments import TossPayments
    from chalicelib.money import Money

    waiting = {"paymentKey": "tviva_1", "orderId": "01ORDER", "status": "WAITING_FOR_DEPOSIT", "totalAmount": 35_000,
               "currency": "KRW", "secret": "ps_secret_1",
               "virtualAccount": {"accountType": "일반", "accountNumber": "X6516657813477", "bankCode": "20",
                                  "customerName": "박토스", "dueDate": "2026-12-03T21:28:36+09:00"}}
    answers = {"/v1/payments/confirm": (200, waiting), "/v1/payments/orders/01ORDER": (200, {**waiting, "status": "DONE"}),
               "/v1/payments/orders/01NONE": (404, {"code": "NOT_FOUND_PAYMENT"})}
    monkeypatch.setattr(TossPayments, "_call", lambda self, method, path, body=None, idempotency_key=None: answers[path])
    toss = TossPayments("http://127.0.0.1:9", "/unused")
    issued = toss.confirm("tviva_1", "01ORDER", Money(35_000, "KRW"))
    assert (issued.status, issued.secret) == ("WAITING_FOR_DEPOSIT", "ps_secret_1")
    assert issued.virtual_account.bank == "20" and issued.virtual_account.account_number == "X6516657813477"
    assert issued.virtual_account.due_date == datetime(2026, 12, 3, 12, 28, 36, tzinfo=UTC)
    paid = toss.get_payment("01ORDER")
    assert (paid.status, paid.payment_key, paid.amount, paid.secret) == ("DONE", "tviva_1", Money(35_000, "KRW"),
                                                                           "ps_secret_1")
    assert toss.get_payment("01NONE") is None
