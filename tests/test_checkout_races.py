"""Checkout under concurrency (DynamoDB's TransactionConflict emulated) and faults, over HTTP.

Whatever races (learners for the last seats, one learner's checkout and purchase for the same wallet money,
two confirms of one checkout) and wherever a confirm fails (at each DynamoDB call, before or after the
gateway answers, before or after its transaction commits) and however the client retries (the same
Idempotency-Key, a new one), a checkout ends exactly one of: paid once (orders, seats, ledger written once)
or cancelled at the gateway (nothing kept); the ledger reconciles after each.
"""

from datetime import UTC, datetime, timedelta
from functools import partial

import pytest

from chalicelib import errors
from chalicelib.adapters import fake_payments
from chalicelib.services import checkout as checkout_service
from chalicelib.services import ledger, reconciliation
from tests.support.checkout import (
    checkout_status,
    expire_checkouts,
    orders_of,
    pay_checkout,
    seats_left,
    start_checkout,
)
from tests.support.courses import make_course
from tests.support.money import (
    RELEASE,
    assert_problem,
    assert_reconciled,
    balance,
    buy,
    course_with_session,
    dynamodb_calls,
    dynamodb_fails,
    fails_with_the_fault,
    fault_cases,
    funded_learner,
    krw,
    new_key,
    retry_after_the_fault,
)

PRICE, WALLET_PART = 30_000, 10_000
SHARE = 24_000  # the instructor's share of PRICE at the test stage's 20% fee


@pytest.fixture(scope="module")
def admin(api):
    return api.admin_token()


@pytest.fixture
def instructor(api):
    return api.token_for(roles=["instructor"])


def _in(hours):
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


def pending_share(api, instructor):
    return api.get("/instructor/balance", token=instructor).json_body["pending"]["amount"]


def a_held_checkout(api, instructor):
    """A learner's pending checkout of one course with a seat, WALLET_PART held from the wallet, the rest due by
    card: (course_id, learner, checkout)."""
    course_id, session_id = course_with_session(api, instructor, capacity=2, starts_at=_in(30), amount=PRICE)
    learner = funded_learner(api, WALLET_PART)
    created = start_checkout(api, learner, [{"course_id": course_id, "session_id": session_id}],
                             wallet_amount=krw(WALLET_PART))
    assert created.status_code == 201, created.body
    return course_id, learner, created.json_body


def assert_accounts_agree_with_their_entries(api, learner, instructor, checkout):
    """The audit of the accounts one test moved (each equals its entries, none negative; the checkout's held
    account is empty once it ended). The whole-ledger proof reads every entry of the table, about a second:
    it runs once, after every test of this module (the last test)."""
    learner_id = checkout["payment"]["customer_key"]  # the gateway's customer is the learner
    instructor_id = api.get("/me", token=instructor).json_body["user_id"]
    held = ledger.checkout_holds(checkout["checkout_id"], "KRW")
    for account in (ledger.learner_wallet(learner_id, "KRW"), ledger.instructor_pending(instructor_id, "KRW"), held):
        assert reconciliation.check_account(account).violations == [], account
    assert ledger.balance_of(held).amount == 0


def assert_paid_once(api, instructor, course_id, learner, checkout):
    assert checkout_status(api, learner, checkout) == "paid"
    assert [order["course_id"] for order in orders_of(api, learner)] == [course_id]
    assert (balance(api, learner), seats_left(api, course_id)) == (0, 1)
    assert pending_share(api, instructor) == SHARE
    assert checkout["checkout_id"] not in fake_payments.CANCELLED
    assert_accounts_agree_with_their_entries(api, learner, instructor, checkout)


# --- concurrency ---------------------------------------------------------------------------------------

def test_twenty_learners_racing_for_the_last_five_seats_hold_and_pay_exactly_five(api, instructor, threads):
    course_id, session_id = course_with_session(api, instructor, capacity=5, starts_at=_in(30), amount=20_000)
    learners = [api.token_for(roles=["learner"]) for _ in range(20)]  # all by card: no top-up to wait for
    responses = list(threads.map(
        lambda token: start_checkout(api, token, [{"course_id": course_id, "session_id": session_id}]), learners))
    codes = sorted(r.status_code for r in responses)
    assert codes == [201] * 5 + [409] * 15, [r.json_body for r in responses if r.status_code not in (201, 409)]
    assert {r.json_body["code"] for r in responses if r.status_code == 409} == {"SOLD_OUT"}
    assert seats_left(api, course_id) == 0
    winners = [(token, r.json_body) for token, r in zip(learners, responses, strict=True) if r.status_code == 201]
    paid = list(threads.map(lambda winner: pay_checkout(api, *winner), winners))
    assert [(r.status_code, r.json_body["status"]) for r in paid] == [(200, "paid")] * 5
    assert seats_left(api, course_id) == 0
    assert pending_share(api, instructor) == 5 * 16_000


def test_a_checkout_and_a_wallet_purchase_racing_for_the_same_money_spend_it_once(api, instructor, threads):
    held_course = make_course(api, instructor, amount=PRICE)
    bought_course = make_course(api, instructor, amount=20_000)
    for _ in range(2):
        learner = funded_learner(api, 30_000)
        checkout, purchase = list(threads.map(lambda send: send(), [
            partial(start_checkout, api, learner, [{"course_id": held_course}], wallet_amount=krw(20_000)),
            partial(buy, api, learner, bought_course)]))
        codes = (checkout.status_code, purchase.status_code)
        assert codes in ((201, 402), (402, 201)), (checkout.body, purchase.body)
        assert balance(api, learner) == 10_000  # held by the checkout or spent by the purchase, not both


def test_confirms_of_one_checkout_sent_at_once_with_new_keys_pay_it_once(api, instructor, threads):
    """Two tabs, a double tap with a client that makes a key per tap: one payment, one set of orders."""
    course_id, learner, checkout = a_held_checkout(api, instructor)
    responses = list(threads.map(lambda _: pay_checkout(api, learner, checkout), range(4)))
    paid = [r for r in responses if r.status_code == 200]
    assert paid and all(r.json_body["status"] == "paid" for r in paid), [r.body for r in responses]
    assert len({tuple(o["order_id"] for o in r.json_body["orders"]) for r in paid}) == 1
    for response in responses:
        if response.status_code != 200:  # lost every conflict of its retries: it says so, and changed nothing
            assert assert_problem(response, statuses=(409,))["code"] == "CONFLICT"
    assert_paid_once(api, instructor, course_id, learner, checkout)


# --- faults at every step of a confirm -------------------------------------------------------------

# The calls a card confirm makes, in order: claim the Idempotency-Key, read the checkout, mark it
# confirming (the recovery job's clue), [the gateway captures], read the courses (their revenue splits),
# then the one transaction (checkout paid, orders, enrollments, seats, dashboard counts, the ledger's
# transfer and the completed idempotency record).
CONFIRM_STEPS = ["PutItem", "GetItem", "UpdateItem", "BatchGetItem", "TransactWriteItems"]


def test_the_fault_cases_cover_every_dynamodb_call_of_a_confirm(api, instructor):
    _, learner, checkout = a_held_checkout(api, instructor)
    with dynamodb_calls() as calls, dynamodb_fails("TransactWriteItems"):
        assert pay_checkout(api, learner, checkout).status_code == 500
    assert calls == [*CONFIRM_STEPS, RELEASE[0]]  # a failed request gives its key back
    with dynamodb_calls() as calls:
        assert pay_checkout(api, learner, checkout).status_code == 200
    assert calls == CONFIRM_STEPS


# Failing to claim the key (before DynamoDB) or to read the checkout fails before anything happened, as any
# money route's (tests/test_orders_races_and_faults.py): left out to keep the suite's time.
BEFORE_ANY_EFFECT = {"PutItem#1-before", "GetItem#1-before", "GetItem#1-after"}


@pytest.mark.parametrize(("operation", "nth", "when"),
                         [case for case in fault_cases(CONFIRM_STEPS) if case.id not in BEFORE_ANY_EFFECT])
def test_a_confirm_with_a_fault_at_any_dynamodb_call_ends_paid_once_whatever_the_retry(
        api, instructor, monkeypatch, operation, nth, when):
    course_id, learner, checkout = a_held_checkout(api, instructor)
    key = new_key("confirm-fault")
    committed = fails_with_the_fault(lambda: pay_checkout(api, learner, checkout, key=key), operation, nth, when)
    assert checkout_status(api, learner, checkout) == ("paid" if committed else "pending")  # the failure told the truth
    retried = retry_after_the_fault(lambda: pay_checkout(api, learner, checkout, key=key), 200, operation, nth,
                                    when, monkeypatch)
    assert retried.json_body["status"] == "paid"
    fresh = pay_checkout(api, learner, checkout)  # a client that lost the answer and made a new key
    assert (fresh.status_code, fresh.json_body["orders"]) == (200, retried.json_body["orders"])
    assert_paid_once(api, instructor, course_id, learner, checkout)


class GatewayLosingItsAnswer(fake_payments.FakePayments):
    """The gateway fails once: `before` it captures (down) or `after` (captured, the answer lost on the way)."""

    def __init__(self, when):
        self.when, self.failed = when, False

    def confirm(self, payment_key, order_id, amount):
        if self.failed:
            return super().confirm(payment_key, order_id, amount)
        self.failed = True
        if self.when == "after":
            super().confirm(payment_key, order_id, amount)
        raise errors.PaymentGatewayError("The payment provider did not answer; try again")


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_confirm_whose_gateway_failed_before_or_after_capturing_ends_paid_once_when_retried_with_a_new_key(
        api, instructor, monkeypatch, when):
    """(With the same key: the gateway's failure gave the key back, so it runs as a new one; the gateway down
    and the same key: tests/test_checkout.py.)"""
    course_id, learner, checkout = a_held_checkout(api, instructor)
    gateway = GatewayLosingItsAnswer(when)
    monkeypatch.setattr(checkout_service, "payment_gateway", lambda: gateway)
    failed = pay_checkout(api, learner, checkout)
    assert assert_problem(failed, statuses=(502,))["code"] == "PAYMENT_GATEWAY_ERROR"
    assert checkout_status(api, learner, checkout) == "pending"
    assert (fake_payments.PAYMENTS.get(checkout["checkout_id"]) is not None) == (when == "after")
    retried = pay_checkout(api, learner, checkout)  # the client never saw an answer: it confirms anew
    assert retried.status_code == 200 and retried.json_body["status"] == "paid", retried.body
    assert_paid_once(api, instructor, course_id, learner, checkout)



@pytest.mark.parametrize(("step", "when", "retry"), [
    ("gateway cancel", "before", "new key"),
    ("TransactWriteItems", "before", "same key"),
    ("TransactWriteItems", "after", "new key")])
def test_a_late_confirm_whose_cancel_failed_at_any_step_ends_cancelled_once_on_retry(
        api, instructor, monkeypatch, step, when, retry):
    """An expired checkout's payment captured by a late confirm is cancelled at the gateway; a fault on the
    way (the cancel refused, the transaction failing before or after it commits) and any retry: still one
    cancel, never an order."""
    course_id, learner, checkout = a_held_checkout(api, instructor)
    expire_checkouts()
    assert (balance(api, learner), seats_left(api, course_id)) == (WALLET_PART, 2)  # released by the expiry
    key = new_key("late-confirm")
    if step == "gateway cancel":
        class RefusingCancels(fake_payments.FakePayments):
            def cancel(self, *args):
                raise errors.PaymentGatewayError("The payment provider did not answer; try again")

        monkeypatch.setattr(checkout_service, "payment_gateway", RefusingCancels)
        assert assert_problem(pay_checkout(api, learner, checkout, key=key), statuses=(502,))
        monkeypatch.undo()
    else:
        with dynamodb_fails(step, when=when):
            assert assert_problem(pay_checkout(api, learner, checkout, key=key), statuses=(500,))
    retried = pay_checkout(api, learner, checkout, key=key if retry == "same key" else None)
    # the money first: nothing kept, the holds given back once, the payment cancelled at the gateway
    assert orders_of(api, learner) == []
    assert (balance(api, learner), seats_left(api, course_id), pending_share(api, instructor)) == (WALLET_PART, 2, 0)
    assert checkout["checkout_id"] in fake_payments.CANCELLED
    assert_accounts_agree_with_their_entries(api, learner, instructor, checkout)
    # then what the learner is told
    assert retried.status_code == 200, retried.body
    assert (retried.json_body["status"], retried.json_body["cancel_reason"]) == ("cancelled", "expired")
    assert retried.json_body["orders"] == []
    assert checkout_status(api, learner, checkout) == "cancelled"



def test_a_deposit_landing_while_the_expiry_job_closes_the_account_ends_paid_or_closed_never_both(
        api, admin, instructor, monkeypatch):
    """The due date passes: the expiry job asks the gateway (still waiting), and before it closes the account
    the learner's deposit lands and its webhook pays the checkout."""
    course_id, learner, checkout = a_held_checkout(api, instructor)
    issued = pay_checkout(api, learner, checkout, virtual_account=True)
    assert issued.status_code == 200 and issued.json_body["status"] == "awaiting_deposit", issued.body
    deposit = {"payment_key": checkout["payment"]["virtual_account_payment_key"]}

    class DepositLandsAfterTheRead(fake_payments.FakePayments):
        def get_payment(self, order_id):
            seen = super().get_payment(order_id)
            monkeypatch.undo()  # the webhook's worker asks the gateway as it is
            landed = api.post("/admin/gateway/deposits", deposit, token=admin)
            assert landed.status_code == 200 and landed.json_body["outcomes"] == ["paid"], landed.body
            return seen

    monkeypatch.setattr(checkout_service, "payment_gateway", DepositLandsAfterTheRead)
    expire_checkouts(minutes=25 * 60)
    status = checkout_status(api, learner, checkout)
    closed = checkout["checkout_id"] in fake_payments.CANCELLED
    assert (status, closed) in (("paid", False), ("expired", True)), (status, closed)


def test_a_deposit_into_an_expired_checkouts_account_that_could_not_be_closed_is_given_back(
        api, admin, instructor, monkeypatch):
    """The due date passed and the expiry job could not close the account at the gateway (down): the checkout
    expired anyway, its holds released; a deposit that lands in the still-open account is cancelled when its
    webhook arrives: nothing kept, no order."""
    course_id, learner, checkout = a_held_checkout(api, instructor)
    issued = pay_checkout(api, learner, checkout, virtual_account=True)
    assert issued.status_code == 200 and issued.json_body["status"] == "awaiting_deposit", issued.body

    class GatewayDownForCancels(fake_payments.FakePayments):
        def cancel(self, *args):
            raise errors.PaymentGatewayError("The payment provider did not answer; try again")

    monkeypatch.setattr(checkout_service, "payment_gateway", GatewayDownForCancels)
    expire_checkouts(minutes=25 * 60)
    monkeypatch.undo()
    assert checkout_status(api, learner, checkout) == "expired"
    assert (balance(api, learner), seats_left(api, course_id)) == (WALLET_PART, 2)
    deposit = {"payment_key": checkout["payment"]["virtual_account_payment_key"]}
    landed = api.post("/admin/gateway/deposits", deposit, token=admin)
    assert landed.status_code == 200 and landed.json_body["outcomes"] == ["cancelled"], landed.body
    assert checkout_status(api, learner, checkout) == "cancelled"
    assert checkout["checkout_id"] in fake_payments.CANCELLED
    assert orders_of(api, learner) == []
    assert (balance(api, learner), seats_left(api, course_id)) == (WALLET_PART, 2)


def test_the_whole_ledger_reconciles_after_every_race_and_fault_above(api, admin):
    """Last in this module (pytest runs a module's tests in order, make test a module in one worker): the
    reconciliation of every entry the races and faults above wrote, the captured payments and the holds."""
    assert_reconciled(api, admin)
