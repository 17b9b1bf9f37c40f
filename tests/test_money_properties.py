"""Property: whatever mix of top-ups, confirms, declines, retries and DynamoDB faults a learner
sends, the wallet holds exactly the confirmed top-ups and the ledger's invariants hold after every step."""


import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.services import ledger, reconciliation
from tests.support.money import admin_token, assert_reconciled, dynamodb_fails, krw, new_key

topup_step = st.tuples(st.just("topup"), st.integers(min_value=1_000, max_value=50_000))
confirm_step = st.tuples(st.sampled_from(["confirm", "decline", "wrong_key", "faulty_confirm"]),
                         st.integers(min_value=0, max_value=5))
retry_step = st.tuples(st.just("retry"), st.just(0))
steps = st.lists(st.one_of(topup_step, confirm_step, retry_step), min_size=1, max_size=10)


class LearnerModel:
    """What the wallet must show: the sum of the top-ups that were confirmed, each once."""

    def __init__(self, api):
        self.api = api
        self.token = api.token_for()
        self.user_id = api.get("/me", token=self.token).json_body["user_id"]
        self.topups = []  # [topup dict, expected status]
        self.last = None  # (method args) of the last money request, for retries

    @property
    def expected_balance(self):
        return sum(t["amount"]["amount"] for t, status in self.topups if status == "confirmed")

    def send(self, path, body, key):
        self.last = (path, body, key)
        return self.api.post(path, body, token=self.token, headers={"Idempotency-Key": key})

    def step(self, action, value):
        if action == "topup":
            response = self.send("/wallet/topups", {"amount": krw(value)}, new_key("prop"))
            assert response.status_code == 201, response.body
            self.topups.append([response.json_body, "pending"])
            return response
        if action == "retry":
            if self.last is None:
                return None
            before = self._last_response
            again = self.api.post(self.last[0], self.last[1], token=self.token,
                                  headers={"Idempotency-Key": self.last[2]})
            if before is not None and before.status_code < 500:
                assert again.status_code == before.status_code
                assert again.json_body == before.json_body
            return again
        if not self.topups:
            return None
        entry = self.topups[value % len(self.topups)]
        topup, status = entry
        path = f"/wallet/topups/{topup['topup_id']}/confirm"
        payment_key = {"decline": "decline", "wrong_key": "fake_wrong"}.get(action, topup["checkout"]["payment_key"])
        key = new_key("prop")
        if action == "faulty_confirm":
            with dynamodb_fails("TransactWriteItems"):
                failed = self.send(path, {"payment_key": payment_key}, key)
            if status == "pending":  # it tried to write, and failed: nothing happened
                assert failed.status_code == 500
        response = self.send(path, {"payment_key": payment_key}, key)
        if status == "pending":
            if action in ("decline", "wrong_key"):
                assert response.status_code == 402
                entry[1] = "declined"
            else:
                assert response.status_code == 200, response.body
                entry[1] = "confirmed"
        elif status == "confirmed":
            assert response.status_code == (200 if payment_key == topup["checkout"]["payment_key"] else 409)
        else:
            assert response.status_code == 402
        return response

    def check_invariants(self):
        wallet = ledger.learner_wallet(self.user_id, "KRW")
        shown = self.api.get("/wallet", token=self.token).json_body["balance"]["amount"]
        assert shown == self.expected_balance
        check = reconciliation.check_account(wallet)
        assert check.violations == []
        assert check.entries_sum == self.expected_balance
        assert check.entry_count == sum(1 for _, status in self.topups if status == "confirmed")


@pytest.fixture(scope="module")
def admin(api):
    return admin_token(api)



@settings(max_examples=int(os.environ.get("MONEY_EXAMPLES", "15")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=steps)
def test_random_top_ups_confirms_and_retries_keep_the_ledger_exact(api, admin, restore_environ, steps):
    learner = LearnerModel(api)
    learner._last_response = None
    for action, value in steps:
        response = learner.step(action, value)
        if response is not None:
            learner._last_response = response
        learner.check_invariants()
    assert_reconciled(api, admin)
