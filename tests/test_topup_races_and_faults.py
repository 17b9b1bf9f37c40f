"""Top-ups move money exactly once: under concurrent confirms, and when DynamoDB fails mid-request."""

import pytest

from chalicelib import clock
from tests.support.money import (
    RELEASE,
    admin_token,
    assert_reconciled,
    balance,
    confirm,
    dynamodb_calls,
    dynamodb_fails,
    fails_with_the_fault,
    fault_cases,
    new_key,
    retry_after_the_fault,
    start_topup,
)


@pytest.fixture(scope="module")
def admin(api):
    return admin_token(api)



# --- concurrency -------------------------------------------------------------------------------------

def test_ten_concurrent_confirms_with_the_same_key_credit_once(api, admin, threads):
    token = api.token_for()
    topup = start_topup(api, token, 10_000)
    key = new_key()
    responses = list(threads.map(lambda _: confirm(api, token, topup, key=key), range(10)))
    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {200, 409}
    assert 200 in statuses
    for response in responses:
        if response.status_code == 409:
            assert response.json_body["code"] == "IDEMPOTENCY_IN_PROGRESS"
    assert balance(api, token) == 10_000
    assert confirm(api, token, topup, key=key).status_code == 200
    assert_reconciled(api, admin)


def test_ten_concurrent_confirms_with_different_keys_credit_once(api, admin, threads):
    token = api.token_for()
    topup = start_topup(api, token, 10_000)
    responses = list(threads.map(lambda _: confirm(api, token, topup), range(10)))
    assert [r.status_code for r in responses] == [200] * 10, [r.json_body.get("detail") for r in responses]
    assert {r.json_body["status"] for r in responses} == {"confirmed"}
    assert balance(api, token) == 10_000
    entries = api.get("/wallet/entries", token=token).json_body["items"]
    assert len(entries) == 1
    assert_reconciled(api, admin)


def test_concurrent_top_ups_of_many_learners_never_conflict_on_the_clearing_account(api, admin, threads):
    learners = [api.token_for() for _ in range(6)]
    topups = [(token, start_topup(api, token, 3_000)) for token in learners]
    responses = list(threads.map(lambda pair: confirm(api, *pair), topups))
    assert [r.status_code for r in responses] == [200] * len(learners)
    assert [balance(api, token) for token in learners] == [3_000] * len(learners)
    assert_reconciled(api, admin)


# --- fault injection ---------------------------------------------------------------------------------

@pytest.mark.parametrize("operation", ["GetItem", "TransactWriteItems"])
def test_a_confirm_that_fails_before_dynamodb_writes_is_retried_with_the_same_key_once(api, admin, operation):
    token = api.token_for()
    topup = start_topup(api, token, 8_000)
    key = new_key()
    with dynamodb_fails(operation) as remaining:
        failed = confirm(api, token, topup, key=key)
    assert remaining == [0]
    assert failed.status_code == 500 and failed.json_body["code"] == "INTERNAL"
    assert balance(api, token) == 0
    retried = confirm(api, token, topup, key=key)
    assert retried.status_code == 200, retried.body
    assert "Idempotent-Replayed" not in retried.headers
    assert balance(api, token) == 8_000
    assert_reconciled(api, admin)


def test_a_confirm_whose_answer_is_lost_after_the_commit_replays_on_retry(api, admin):
    token = api.token_for()
    topup = start_topup(api, token, 9_000)
    key = new_key()
    with dynamodb_fails("TransactWriteItems", when="after"):
        failed = confirm(api, token, topup, key=key)
    assert failed.status_code == 500
    assert balance(api, token) == 9_000  # it did commit, with its idempotency record
    retried = confirm(api, token, topup, key=key)
    assert retried.status_code == 200 and retried.headers["Idempotent-Replayed"] == "true"
    assert balance(api, token) == 9_000
    assert_reconciled(api, admin)


def test_a_top_up_creation_that_fails_leaves_nothing_and_the_retry_creates_one(api):
    token = api.token_for()
    key = new_key()
    with dynamodb_fails("TransactWriteItems"):
        failed = api.post("/wallet/topups", {"amount": {"amount": 5_000, "currency": "KRW"}}, token=token,
                          headers={"Idempotency-Key": key})
    assert failed.status_code == 500
    first = start_topup(api, token, 5_000, key=key)
    again = start_topup(api, token, 5_000, key=key)
    assert first["topup_id"] == again["topup_id"]


def test_a_request_that_died_holding_its_key_is_taken_over_after_the_lease(api, admin, monkeypatch):
    """The transaction fails and so does giving the key back: the key stays in flight until its lease ends."""
    token = api.token_for()
    topup = start_topup(api, token, 4_000)
    key = new_key()
    with dynamodb_fails("TransactWriteItems"), dynamodb_fails("DeleteItem"):
        assert confirm(api, token, topup, key=key).status_code == 500
    held = confirm(api, token, topup, key=key)
    assert held.status_code == 409 and held.json_body["code"] == "IDEMPOTENCY_IN_PROGRESS"
    later = clock.now() + clock_offset(61)
    monkeypatch.setattr(clock, "now", lambda: later)
    retried = confirm(api, token, topup, key=key)
    assert retried.status_code == 200, retried.body
    assert balance(api, token) == 4_000
    assert_reconciled(api, admin)


def test_a_request_overtaken_after_its_lease_cannot_commit(api, monkeypatch):
    """The slow first attempt's transaction carries its lease token; the retry took the key over."""
    from chalicelib.adapters.fake_payments import FakePayments
    from chalicelib.services import wallet as wallet_service

    token = api.token_for()
    topup = start_topup(api, token, 4_000)
    key = new_key()
    now = clock.now()

    class OvertakenGateway(FakePayments):
        def confirm(self, payment_key, order_id, amount):
            # While this attempt talks to the gateway, its lease runs out and a retry completes.
            monkeypatch.setattr(clock, "now", lambda: now + clock_offset(120))
            monkeypatch.setattr(wallet_service, "payment_gateway", FakePayments)
            retry = confirm(api, token, topup, key=key)
            assert retry.status_code == 200, retry.body
            return super().confirm(payment_key, order_id, amount)

    monkeypatch.setattr(wallet_service, "payment_gateway", OvertakenGateway)
    slow = confirm(api, token, topup, key=key)
    assert slow.status_code in (200, 409), slow.body  # answered from the retry's outcome, never a second credit
    assert balance(api, token) == 4_000


def clock_offset(seconds):
    from datetime import timedelta

    return timedelta(seconds=seconds)


def test_every_transaction_carries_a_client_request_token_of_its_own(api):
    """So that a TransactWriteItems botocore sends again after a lost answer is answered as the
    one that committed, never as a conflict with itself."""
    from chalicelib.store.instrumentation import on_dynamodb

    tokens = []

    def record(params, **_):
        tokens.append(params.get("ClientRequestToken"))

    with on_dynamodb("provide-client-params.dynamodb.TransactWriteItems", record):
        token = api.token_for()
        topup = start_topup(api, token, 5_000)
        assert confirm(api, token, topup).status_code == 200
    assert len(tokens) == 2  # the top-up, its confirmation
    assert all(tokens) and len(set(tokens)) == len(tokens)


# --- a fault at every DynamoDB call of a confirm -----------------------------------------------------

# The calls a confirm makes, in order: claim the Idempotency-Key, read the top-up, then the one
# transaction (top-up confirmed, ledger transfer, completed idempotency record). The gateway is not DynamoDB.
CONFIRM_STEPS = ["PutItem", "GetItem", "TransactWriteItems"]


def test_the_fault_cases_cover_every_dynamodb_call_of_a_confirm(api):
    token = api.token_for()
    with dynamodb_calls() as calls:
        assert confirm(api, token, start_topup(api, token, 5_000)).status_code == 200
    assert calls[-len(CONFIRM_STEPS):] == CONFIRM_STEPS  # after the top-up's own creation
    topup = start_topup(api, token, 5_000)
    with dynamodb_calls() as calls, dynamodb_fails("TransactWriteItems"):
        assert confirm(api, token, topup).status_code == 500
    assert calls == [*CONFIRM_STEPS, RELEASE[0]]  # a failed request gives its key back


@pytest.mark.parametrize(("operation", "nth", "when"), fault_cases(CONFIRM_STEPS))
def test_a_confirm_with_a_fault_at_any_dynamodb_call_is_retried_with_its_key_and_credits_once(
        api, admin, monkeypatch, operation, nth, when):
    token = api.token_for()
    topup = start_topup(api, token, 8_000)
    key = new_key("confirm-fault")
    send = lambda: confirm(api, token, topup, key=key)  # noqa: E731
    committed = fails_with_the_fault(send, operation, nth, when)
    assert balance(api, token) == (8_000 if committed else 0)  # the failure told the truth
    retried = retry_after_the_fault(send, 200, operation, nth, when, monkeypatch)
    assert retried.json_body["status"] == "confirmed"
    assert (retried.headers.get("Idempotent-Replayed") == "true") == committed
    assert send().json_body == retried.json_body
    assert balance(api, token) == 8_000
    assert api.get(f"/wallet/topups/{topup['topup_id']}", token=token).json_body["status"] == "confirmed"
    assert len(api.get("/wallet/entries", token=token).json_body["items"]) == 1
    assert_reconciled(api, admin)


def test_a_claim_whose_answer_is_lost_and_that_botocore_sends_again_is_still_ours(api, admin):
    """botocore resends a PutItem whose answer was lost; the resent put finds the key held by the
    first one, which is this very request: it goes on, instead of answering itself 409 for a minute."""
    from chalicelib.store.instrumentation import on_dynamodb

    token = api.token_for()
    topup = start_topup(api, token, 6_000)
    resent = []

    def lose_the_first_answer(response, **_):
        if not resent and response is not None and response[0].status_code == 200:
            resent.append(True)
            return 0  # retry now, as botocore does after a connection error once the put has landed

    with on_dynamodb("needs-retry.dynamodb.PutItem", lose_the_first_answer):
        answered = confirm(api, token, topup, key=new_key())
    assert resent == [True]
    assert answered.status_code == 200, answered.body
    assert balance(api, token) == 6_000
    assert_reconciled(api, admin)
