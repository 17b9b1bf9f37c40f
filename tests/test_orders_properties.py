"""Property: whatever mix of purchases, refunds, retries and DynamoDB faults a learner sends, the
wallet, the orders and the seats agree with a simple model, and the ledger reconciles after every step."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.services import ledger, reconciliation
from tests.support.courses import make_course
from tests.support.money import assert_reconciled, buy, confirm, course_with_session, dynamodb_fails, new_key, refund, start_topup

PRICES = (30_000, 45_000)
steps = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(["buy", "buy_seat", "faulty_buy", "refund", "faulty_refund"]),
                  st.integers(min_value=0, max_value=3)),
        st.tuples(st.just("retry"), st.just(0)),
    ),
    min_size=1, max_size=8,
)


class Shopper:
    """The model: a wallet, the courses enrolled in, and the orders with their status."""

    def __init__(self, api, courses, session, instructor_id):
        self.api, self.courses, self.session, self.instructor_id = api, courses, session, instructor_id
        self.token = api.token_for()
        assert confirm(api, self.token, start_topup(api, self.token, 100_000)).status_code == 200
        self.user_id = api.get("/me", token=self.token).json_body["user_id"]
        self.balance = 100_000
        self.orders = {}  # order_id -> [course index, total, status]
        self.seats_taken = 0
        self.last = None  # (callable, response) of the last money request, to retry with its key

    def enrolled(self, index):
        return any(c == index and s == "paid" for c, _, s in self.orders.values())

    def _buy(self, index, with_seat, key, fault=None):
        extra = {"session_id": self.session} if with_seat and index == 0 else {}
        send = lambda: buy(self.api, self.token, self.courses[index], key=key, **extra)  # noqa: E731
        if fault:
            with dynamodb_fails("TransactWriteItems", when=fault):
                assert send().status_code == 500
        response = send()
        price = PRICES[index]
        if self.enrolled(index):
            assert response.status_code == 409 and response.json_body["code"] == "ALREADY_ENROLLED"
        elif extra and self.seats_taken >= 1:
            assert response.status_code == 409 and response.json_body["code"] == "SOLD_OUT"
        elif price > self.balance:
            assert response.status_code == 402
        else:
            assert response.status_code == 201, response.body
            self.orders[response.json_body["order_id"]] = [index, price, "paid"]
            self.balance -= price
            self.seats_taken += 1 if extra else 0
        return send, response

    def _refund(self, value, key, fault=None):
        if not self.orders:
            return None, None
        order_id = sorted(self.orders)[value % len(self.orders)]
        send = lambda: refund(self.api, self.token, order_id, key=key)  # noqa: E731
        index, total, status = self.orders[order_id]
        if fault and status == "paid":  # a refused refund never reaches DynamoDB's transaction
            with dynamodb_fails("TransactWriteItems"):
                assert send().status_code == 500
        response = send()
        if status == "paid":
            assert response.status_code == 200, response.body
            self.orders[order_id][2] = "refunded"
            self.balance += total
            if response.json_body["session_id"]:
                self.seats_taken -= 1
        else:
            assert response.status_code == 422 and response.json_body["code"] == "REFUND_NOT_ALLOWED"
        return send, response

    def step(self, action, value):
        key = new_key("prop")
        if action == "retry":
            if self.last is None or self.last[1] is None:
                return
            again = self.last[0]()
            assert (again.status_code, again.json_body) == (self.last[1].status_code, self.last[1].json_body)
            return
        if action in ("buy", "buy_seat", "faulty_buy"):
            fault = ("before", "after")[value % 2] if action == "faulty_buy" else None
            self.last = self._buy(value % len(self.courses), action == "buy_seat", key, fault)
        else:
            self.last = self._refund(value, key, fault=action == "faulty_refund")

    def check(self):
        assert self.api.get("/wallet", token=self.token).json_body["balance"]["amount"] == self.balance
        shown = {o["order_id"]: o["status"] for o in self.api.get("/orders?limit=100", token=self.token).json_body["items"]}
        assert shown == {order_id: status for order_id, (_, _, status) in self.orders.items()}
        assert reconciliation.check_account(ledger.learner_wallet(self.user_id, "KRW")).violations == []
        assert reconciliation.check_account(ledger.instructor_pending(self.instructor_id, "KRW")).violations == []


@pytest.fixture(scope="module")
def admin(api):
    return api.admin_token()


@pytest.fixture(scope="module")
def instructor(api):
    return api.token_for(roles=["instructor"])



@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=steps)
def test_random_purchases_refunds_retries_and_faults_keep_money_and_seats_exact(
        api, admin, instructor, restore_environ, steps):
    starts = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    first, session = course_with_session(api, instructor, capacity=1, starts_at=starts, amount=PRICES[0])
    instructor_id = api.get("/me", token=instructor).json_body["user_id"]
    shopper = Shopper(api, [first, make_course(api, instructor, amount=PRICES[1])], session, instructor_id)
    for action, value in steps:
        shopper.step(action, value)
        shopper.check()
    seats_left = api.get(f"/courses/{first}").json_body["sessions"][0]["seats_left"]
    assert seats_left == 1 - shopper.seats_taken


def test_after_the_random_sequences_the_whole_ledger_reconciles(api, admin):
    assert_reconciled(api, admin)
