"""Settlement: an instructor's share moves from pending to available after the hold, once, never for a refund."""

import pytest

from chalicelib.services import settlement
from chalicelib.store import orders as orders_store
from tests.support.courses import make_course
from tests.support.jobs import clock_at, later, run_scheduled
from tests.support.money import admin_token, assert_reconciled, buy, dynamodb_fails, funded_learner, refund


@pytest.fixture(scope="module")
def admin(api):
    return admin_token(api)


def _earnings(api, instructor):
    body = api.get("/instructor/balance", token=instructor).json_body
    return {name: body[name]["amount"] for name in ("pending", "available")}


def _sale(api, amount=50_000):
    instructor = api.token_for(roles=["instructor"])
    learner = funded_learner(api, 200_000)
    order = buy(api, learner, make_course(api, instructor, amount=amount))
    assert order.status_code == 201, order.body
    return instructor, learner, order.json_body["order_id"]


def test_settlement_releases_nothing_before_the_hold_and_the_share_once_after_it(api, functions, admin,
                                                                               monkeypatch):
    instructor, _, order_id = _sale(api)
    assert _earnings(api, instructor) == {"pending": 40_000, "available": 0}

    with clock_at(monkeypatch, later(days=6, hours=23)):
        run_scheduled(functions, "settlement")
    assert _earnings(api, instructor) == {"pending": 40_000, "available": 0}

    with clock_at(monkeypatch, later(days=7, minutes=5)):
        first = run_scheduled(functions, "settlement")
        again = run_scheduled(functions, "settlement")
    assert first["settled"] >= 1 and first["amount"]["KRW"] >= 40_000 and first["more"] is False
    assert again["settled"] == 0
    assert _earnings(api, instructor) == {"pending": 0, "available": 40_000}
    assert orders_store.get(order_id).settled_at is not None
    assert_reconciled(api, admin)


def test_a_refunded_order_never_settles(api, functions, admin, monkeypatch):
    instructor, learner, order_id = _sale(api)
    assert refund(api, learner, order_id).status_code == 200
    with clock_at(monkeypatch, later(days=8)):
        run_scheduled(functions, "settlement")
    assert _earnings(api, instructor) == {"pending": 0, "available": 0}
    assert orders_store.get(order_id).settled_at is None
    assert_reconciled(api, admin)


def test_a_partly_refunded_order_settles_what_the_refund_left(api, functions, admin, monkeypatch):
    instructor, _, order_id = _sale(api)
    partial = refund(api, admin, order_id, amount={"amount": 10_000, "currency": "KRW"})
    assert partial.status_code == 200, partial.body
    # 10,000 back: 2,000 from the platform's fee, 8,000 from the instructor's pending share
    assert _earnings(api, instructor) == {"pending": 32_000, "available": 0}
    with clock_at(monkeypatch, later(days=8)):
        run_scheduled(functions, "settlement")
    assert _earnings(api, instructor) == {"pending": 0, "available": 32_000}
    assert_reconciled(api, admin)


def test_a_refund_after_settlement_is_taken_from_available(api, functions, admin, monkeypatch):
    instructor, _, order_id = _sale(api)
    with clock_at(monkeypatch, later(days=8)):
        run_scheduled(functions, "settlement")
    assert refund(api, admin, order_id).status_code == 200  # admins refund outside the window
    assert _earnings(api, instructor) == {"pending": 0, "available": 0}
    assert_reconciled(api, admin)


def test_a_settlement_that_read_the_order_before_its_refund_is_refused_and_moves_nothing(api, admin):
    instructor, learner, order_id = _sale(api)
    stale = orders_store.get(order_id)  # read by the job (paid, unsettled) ...
    assert refund(api, learner, order_id).status_code == 200  # ... then refunded before the job commits
    assert settlement.settle_order(stale, later(days=8)) is None
    assert _earnings(api, instructor) == {"pending": 0, "available": 0}
    assert_reconciled(api, admin)


def test_a_refund_that_read_the_order_before_its_settlement_is_refused(api, admin):
    from chalicelib import errors
    from chalicelib.services import orders as orders_service

    instructor, learner, order_id = _sale(api)
    settlement.settle_order(orders_store.get(order_id), later(days=8))
    stale = orders_store.get(order_id)
    object.__setattr__(stale, "settled_at", None)  # as a refund that read it just before would see it
    with pytest.raises(errors.Conflict):
        orders_service._commit_refund(stale, stale.total, "late", "x", later(days=8), orders_service.NO_RECEIPT,
                                      progress_below=None)
    assert _earnings(api, instructor) == {"pending": 0, "available": 40_000}
    assert_reconciled(api, admin)


def test_a_run_that_dies_part_way_is_finished_by_the_next_run_and_nothing_settles_twice(api, functions, admin,
                                                                                       monkeypatch):
    instructors = [_sale(api)[0] for _ in range(3)]
    with clock_at(monkeypatch, later(days=8)):
        with dynamodb_fails("TransactWriteItems", when="after", times=1), pytest.raises(Exception):  # noqa: B017
            run_scheduled(functions, "settlement")  # the first commit happened, its answer was lost: the job dies
        run_scheduled(functions, "settlement")
        assert run_scheduled(functions, "settlement")["settled"] == 0
    assert [_earnings(api, i) for i in instructors] == [{"pending": 0, "available": 40_000}] * 3
    assert_reconciled(api, admin)


def test_settlement_reads_the_unsettled_index_never_the_table(api, monkeypatch):
    def no_scan(*args, **kwargs):
        raise AssertionError("the settlement job must not scan")

    monkeypatch.setattr(orders_store.OrderItem, "scan", no_scan)
    settlement.settle_due(later(days=8))
