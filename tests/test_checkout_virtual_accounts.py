"""Checkout by virtual account (가상계좌), over HTTP: the account issued, the deposit webhook, forged and
repeated events, the due date, a webhook racing the confirm, and the recovery of a lost confirm."""

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.adapters import fake_payments
from chalicelib.jobs import JOBS
from tests.support.money import (
    assert_reconciled,
    balance,
    confirm,
    course_with_session,
    krw,
    new_key,
    start_topup,
)


@pytest.fixture(scope="module")
def admin(api):
    return api.admin_token()


@pytest.fixture
def instructor(api):
    return api.token_for(roles=["instructor"])


def funded(api, amount):
    token = api.token_for(roles=["learner"])
    assert confirm(api, token, start_topup(api, token, amount)).status_code == 200
    return token


def start(api, token, items, **extra):
    created = api.post("/checkouts", {"items": items, **extra}, token=token,
                       headers={"Idempotency-Key": new_key("checkout")})
    assert created.status_code == 201, created.body
    return created.json_body


def pay(api, token, checkout, payment_key):
    return api.post(f"/checkouts/{checkout['checkout_id']}/confirm",
                    {"amount": checkout["amount_due"], "payment_key": payment_key}, token=token,
                    headers={"Idempotency-Key": new_key("confirm")})


def issue_account(api, token, checkout):
    issued = pay(api, token, checkout, checkout["payment"]["virtual_account_payment_key"])
    assert issued.status_code == 200, issued.body
    return issued.json_body


def status_of(api, token, checkout):
    return api.get(f"/checkouts/{checkout['checkout_id']}", token=token).json_body["status"]


def seats_left(api, course_id):
    return api.get(f"/courses/{course_id}").json_body["sessions"][0]["seats_left"]


def orders_of(api, token):
    return api.get("/orders", token=token).json_body["items"]


def deposit(api, admin, checkout, times=None):
    body = {"payment_key": checkout["payment"]["virtual_account_payment_key"]}
    return api.post("/admin/gateway/deposits", body if times is None else {**body, "times": times}, token=admin)


def a_held_cart(api, instructor, wallet=5_000):
    course_id, session_id = course_with_session(api, instructor, capacity=2,
                                                starts_at=(datetime.now(UTC) + timedelta(days=3)).isoformat(),
                                                amount=30_000)
    learner = funded(api, wallet)
    checkout = start(api, learner, [{"course_id": course_id, "session_id": session_id}], wallet_amount=krw(wallet))
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
    assert status_of(api, learner, checkout) == "awaiting_deposit"
    assert seats_left(api, course_id) == 1 and balance(api, learner) == 0
    assert_reconciled(api, admin)


def test_the_due_date_passing_releases_the_holds_and_closes_the_account(api, admin, instructor):
    course_id, learner, checkout = a_held_cart(api, instructor)
    issue_account(api, learner, checkout)
    JOBS["checkout_expiry"].run(datetime.now(UTC) + timedelta(hours=25))
    assert status_of(api, learner, checkout) == "expired"
    assert seats_left(api, course_id) == 2 and balance(api, learner) == 5_000
    assert checkout["checkout_id"] in fake_payments.CANCELLED
    assert fake_payments.PAYMENTS[checkout["checkout_id"]].status == "CANCELED"
    assert orders_of(api, learner) == []
    assert_reconciled(api, admin)
