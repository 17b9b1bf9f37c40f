"""Races over the real local stack: what `make run` serves must keep DynamoDB's guarantees too.

The shared stack (`local_stack` of tests/support/local_stack.py: the emulator's
moto server with TransactionConflict on, as the servers run it, bootstrap, the
demo accounts and `chalice local`), driven over HTTP by threads, as a developer load-testing
`make run` would: seats are never oversold, a wallet is never overdrawn, a refund
and a top-up move money once, and `GET /admin/reconciliation` (as the demo admin)
is ok after each race. The in-process versions of these races, with faults, are
in test_orders_races_and_faults.py and test_topup_races_and_faults.py.
"""

from concurrent.futures import ThreadPoolExecutor

import pytest

from infra.stack_client import Client, demo_admin


@pytest.fixture(scope="module")
def base_url(local_stack_url):
    return local_stack_url


@pytest.fixture(scope="module")
def admin(base_url):
    return demo_admin(base_url)


@pytest.fixture
def race():
    with ThreadPoolExecutor(max_workers=20) as pool:
        yield pool


def _learner(base_url, funds):
    learner = Client(base_url).sign_up(name="Racing Learner")
    if funds:
        learner.fund(funds)
    return learner


def _reconciled(admin):
    report = admin.reconciliation()
    assert report["violations"] == [] and report["ok"] is True, report


def _wallet_matches_its_entries(learner):
    entries = learner.entries()
    assert sum(e["amount"]["amount"] for e in entries) == learner.balance(), entries
    return entries


def test_ten_learners_racing_for_three_seats_get_exactly_three(base_url, admin, race):
    instructor = Client(base_url).sign_up(roles=("instructor",), name="Racing Instructor")
    course_id, (session_id,) = instructor.publish_course(10_000, seats=(3,))
    learners = list(race.map(lambda _: _learner(base_url, 20_000), range(10)))
    responses = list(race.map(lambda learner: learner.buy(course_id, session_id), learners))
    assert sorted(r.status_code for r in responses) == [201] * 3 + [409] * 7, [r.text for r in responses]
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"SOLD_OUT"}
    assert sorted(learner.balance() for learner in learners) == [10_000] * 3 + [20_000] * 7
    assert instructor.get(f"/courses/{course_id}").json()["sessions"][0]["seats_left"] == 0
    _reconciled(admin)


def test_one_wallet_buying_two_courses_from_twenty_threads_is_never_overdrawn(base_url, admin, race):
    instructor = Client(base_url).sign_up(roles=("instructor",), name="Racing Instructor")
    courses = [instructor.publish_course(10_000, title=f"Race {n}")[0] for n in range(2)]
    learner = _learner(base_url, 10_000)
    responses = list(race.map(lambda n: learner.buy(courses[n % 2]), range(20)))
    paid = [r.json() for r in responses if r.status_code == 201]
    assert len(paid) == 1, [r.text for r in responses]
    refused = {(r.status_code, r.json()["code"]) for r in responses if r.status_code != 201}
    assert refused <= {(402, "INSUFFICIENT_FUNDS"), (409, "ALREADY_ENROLLED")}, refused
    orders = learner.get("/orders").json()["items"]
    assert [(o["order_id"], o["status"]) for o in orders] == [(paid[0]["order_id"], "paid")]
    assert learner.balance() == 0
    assert len(_wallet_matches_its_entries(learner)) == 2  # the top-up and the one purchase
    enrollments = learner.get("/me/enrollments").json()["items"]
    assert [e["course_id"] for e in enrollments] == [paid[0]["course_id"]]
    _reconciled(admin)


def test_twenty_parallel_refunds_of_one_order_credit_it_once(base_url, admin, race):
    instructor = Client(base_url).sign_up(roles=("instructor",), name="Racing Instructor")
    course_id, _ = instructor.publish_course(10_000)
    learner = _learner(base_url, 15_000)
    order = learner.buy(course_id)
    assert order.status_code == 201, order.text
    order_id = order.json()["order_id"]
    responses = list(race.map(lambda _: learner.refund(order_id), range(20)))
    assert [r.status_code for r in responses].count(200) == 1, [r.text for r in responses]
    refused = {(r.status_code, r.json()["code"]) for r in responses if r.status_code != 200}
    assert refused <= {(422, "REFUND_NOT_ALLOWED"), (409, "CONFLICT")}, refused
    assert learner.balance() == 15_000
    entries = _wallet_matches_its_entries(learner)
    assert sorted(e["amount"]["amount"] for e in entries) == [-10_000, 10_000, 15_000]
    assert learner.get(f"/orders/{order_id}").json()["status"] == "refunded"
    assert instructor.get("/instructor/balance").json()["pending"]["amount"] == 0
    _reconciled(admin)


def test_fifteen_parallel_confirms_of_one_top_up_credit_it_once(base_url, admin, race):
    learner = _learner(base_url, 0)
    topup = learner.start_topup(7_000)
    responses = list(race.map(lambda _: learner.confirm(topup), range(15)))
    assert [r.status_code for r in responses] == [200] * 15, [r.text for r in responses]
    assert {r.json()["status"] for r in responses} == {"confirmed"}
    assert learner.balance() == 7_000
    assert [e["amount"]["amount"] for e in _wallet_matches_its_entries(learner)] == [7_000]
    _reconciled(admin)
