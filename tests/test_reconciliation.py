"""The reconciliation report, `GET /admin/reconciliation` (admins only): a balanced ledger's totals, and
each broken invariant named: a balance written outside the ledger, an enrollment without its paid order,
a transfer posted twice, an order refunded twice or beyond what it paid, a refund without its order. Each
is a state a bug or a double-applied write leaves behind, written here straight into the tables.

The bug this guards against: 20 parallel refunds of one order credited the wallet twice, and the
reconciliation said ok, since the ledger still summed to zero and the wallet matched its entries.
"""

import contextlib
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib import clock, ids
from chalicelib.services.ledger import Account, instructor_pending, learner_wallet, platform_revenue
from chalicelib.store.ledger import LedgerAccountItem, LedgerEntryItem, LedgerTransferItem
from tests.support.courses import make_course
from tests.support.money import assert_reconciled, buy, confirm, course_with_session, funded_learner, krw, refund, start_topup


@pytest.fixture(scope="module")
def admin(api):
    return api.admin_token()


def _learner(api, amount):
    token = api.token_for()
    assert confirm(api, token, start_topup(api, token, amount)).status_code == 200
    return token, api.get("/me", token=token).json_body["user_id"]


def _bought(api, instructor, learner, amount=10_000):
    response = buy(api, learner, make_course(api, instructor, amount=amount))
    assert response.status_code == 201, response.body
    return response.json_body["order_id"]


def _refunded(api, token, order_id, **extra):
    response = refund(api, token, order_id, **extra)
    assert response.status_code == 200, response.body
    return response.json_body


def _legs_of(transfer_id):
    """A posted transfer's legs, as (account, signed amount)."""
    item = LedgerTransferItem.get(transfer_id, consistent_read=True)
    return [(Account.parse(leg.account_id), int(leg.amount)) for leg in item.legs]


@contextlib.contextmanager
def _posted_behind_the_ledger(transfer_id, kind, legs):
    """The transfer's entries under a new seq, and the balances of the accounts that keep one, written as a
    double-applied or unguarded write would leave them (no condition, no journal item): the entries still
    balance and every balance still equals its entries. Undone on exit."""
    seq, now = ids.new_id(), clock.now()
    entries, balances = [], []
    try:
        for index, (account, amount) in enumerate(legs):
            entry = LedgerEntryItem(account.book_for(transfer_id), f"{seq}.{index:02d}", account_id=account.account_id,
                                    transfer_id=transfer_id, transfer_kind=kind, amount=amount,
                                    currency=account.currency, posted_at=now)
            entry.save()
            entries.append(entry)
            if not account.hot:
                LedgerAccountItem(account.account_id).update(
                    actions=[LedgerAccountItem.balance.add(amount), LedgerAccountItem.entry_count.add(1)])
                balances.append((account, amount))
        yield [entry.entry_id for entry in entries]
    finally:
        for entry in entries:
            entry.delete()
        for account, amount in balances:
            LedgerAccountItem(account.account_id).update(
                actions=[LedgerAccountItem.balance.add(-amount), LedgerAccountItem.entry_count.add(-1)])


def _violations(api, admin):
    response = api.get("/admin/reconciliation", token=admin)
    assert response.status_code == 200, response.body
    report = response.json_body
    assert report["ok"] is False
    return report["violations"]


def _about(violations, **fields):
    """The kinds of the violations whose fields (order_id, transfer_id, account_id) are these."""
    return {v["invariant"] for v in violations if all(v.get(name) == value for name, value in fields.items())}


def test_reconciliation_reports_a_balanced_ledger_with_totals(api, admin):
    funded_learner(api, 30_000)
    report = assert_reconciled(api, admin)
    won = report["totals"]["KRW"]
    assert won["entries_sum"] == {"amount": 0, "currency": "KRW"}
    assert won["by_kind"]["learner_wallet"]["amount"] >= 30_000
    assert won["by_kind"]["gateway_clearing"]["amount"] == -sum(
        v["amount"] for k, v in won["by_kind"].items() if k != "gateway_clearing")
    assert report["checked_at"].endswith("Z")


def test_reconciliation_is_for_admins_only(api):
    response = api.get("/admin/reconciliation", token=api.token_for())
    assert response.status_code == 403


def test_reconciliation_finds_a_balance_written_outside_the_ledger(api, admin):
    token = funded_learner(api, 5_000)
    user_id = api.get("/me", token=token).json_body["user_id"]
    account = LedgerAccountItem.get(learner_wallet(user_id, "KRW").account_id)
    account.update(actions=[LedgerAccountItem.balance.add(-6_000)])  # what nothing may ever do
    try:
        report = api.get("/admin/reconciliation", token=admin).json_body
        assert report["ok"] is False
        found = {(v["invariant"], v["account_id"]) for v in report["violations"]}
        assert ("balance_equals_entries", account.account_id) in found
        assert ("not_negative", account.account_id) in found
    finally:
        account.update(actions=[LedgerAccountItem.balance.add(6_000)])
    assert_reconciled(api, admin)


def test_reconciliation_reports_an_enrollment_whose_order_was_not_paid(api, admin):
    from chalicelib.store.courses import SessionItem, session_key
    from chalicelib.store.orders import OrderItem

    instructor = api.token_for(roles=["instructor"])
    course_id, session_id = course_with_session(api, instructor, capacity=2,
                                               starts_at=(datetime.now(UTC) + timedelta(hours=40)).isoformat())
    learner = funded_learner(api, 100_000)
    order = buy(api, learner, course_id, session_id=session_id).json_body
    corrupt_order = OrderItem(order["order_id"])
    corrupt_session = SessionItem(course_id, session_key(session_id))
    corrupt_order.update(actions=[OrderItem.status.set("refunded")])
    corrupt_session.update(actions=[SessionItem.booked.set(3)])
    try:
        report = api.get("/admin/reconciliation", token=admin).json_body
    finally:
        corrupt_order.update(actions=[OrderItem.status.set("paid")])
        corrupt_session.update(actions=[SessionItem.booked.set(1)])
    assert report["ok"] is False
    invariants = {v["invariant"] for v in report["violations"]}
    assert {"enrollment_has_a_paid_order", "session_not_overbooked"} <= invariants
    assert_reconciled(api, admin)


def test_a_refund_posted_twice_is_a_violation_though_the_ledger_balances(api, admin):
    instructor = api.token_for(roles=["instructor"])
    learner, learner_id = _learner(api, 10_000)
    order_id = _bought(api, instructor, learner)
    _refunded(api, learner, order_id)
    transfer_id = f"refund:{order_id}"
    wallet = learner_wallet(learner_id, "KRW").account_id

    with _posted_behind_the_ledger(transfer_id, "refund", _legs_of(transfer_id)) as entry_ids:
        violations = _violations(api, admin)
        assert api.get("/wallet", token=learner).json_body["balance"]["amount"] == 20_000  # credited twice

    # What the audit saw before: the ledger sums to zero, the wallet equals its entries.
    assert not {"entries_sum_to_zero", "balance_equals_entries"} & {v["invariant"] for v in violations}, violations
    assert "transfer_posted_once" in _about(violations, transfer_id=transfer_id, account_id=wallet)
    posted_twice = [v for v in violations if v["invariant"] == "transfer_posted_once" and v["account_id"] == wallet]
    assert entry_ids[0] in posted_twice[0]["detail"]
    assert {"order_refunded_once", "refunds_within_paid"} <= _about(violations, order_id=order_id)
    beyond = [v for v in violations if v["invariant"] == "refunds_within_paid" and v["order_id"] == order_id]
    assert "paid 10000 KRW, its refunds credit 20000" in beyond[0]["detail"]
    assert "refund_has_its_order" not in _about(violations, order_id=order_id)  # the order is there, refunded

    assert api.get("/wallet", token=learner).json_body["balance"]["amount"] == 10_000
    assert_reconciled(api, admin)  # the order, refunded once, reconciles


def test_refunds_of_one_order_under_other_ids_beyond_what_it_paid_and_without_their_order(api, admin):
    instructor = api.token_for(roles=["instructor"])
    learner, learner_id = _learner(api, 30_000)
    wallet, pending = learner_wallet(learner_id, "KRW"), instructor_pending(
        api.get("/me", token=instructor).json_body["user_id"], "KRW")
    within, beyond, paid = (_bought(api, instructor, learner) for _ in range(3))
    # Partial refunds (admins), each refunded once: legitimate so far.
    assert _refunded(api, admin, within, amount=krw(3_000))["refund"]["amount"] == krw(3_000)
    assert _refunded(api, admin, beyond, amount=krw(6_000))["refund"]["amount"] == krw(6_000)
    missing = ids.new_id()  # no such order

    with contextlib.ExitStack() as corrupted:
        # Each order refunded a second time under another transfer id: 3,000 + 3,000 stays within the
        # 10,000 paid, 6,000 + 6,000 does not.
        corrupted.enter_context(_posted_behind_the_ledger(
            f"refund:{within}:again", "refund", _legs_of(f"refund:{within}")))
        corrupted.enter_context(_posted_behind_the_ledger(
            f"refund:{beyond}:again", "refund", _legs_of(f"refund:{beyond}")))
        # A refund naming an order that does not exist, and one of an order that is still paid.
        corrupted.enter_context(_posted_behind_the_ledger(
            f"refund:{missing}", "refund", [(wallet, 1_000), (pending, -1_000)]))
        corrupted.enter_context(_posted_behind_the_ledger(
            f"refund:{paid}", "refund", [(wallet, 10_000), (pending, -8_000), (platform_revenue("KRW"), -2_000)]))
        violations = _violations(api, admin)

    assert _about(violations, order_id=within) == {"order_refunded_once"}
    twice = [v for v in violations if v["order_id"] == within]
    assert twice[0]["transfer_id"] == f"refund:{within}:again"
    assert f"refund:{within} (" in twice[0]["detail"] and f"refund:{within}:again (" in twice[0]["detail"]
    assert _about(violations, order_id=beyond) == {"order_refunded_once", "refunds_within_paid"}
    assert "paid 10000 KRW, its refunds credit 12000" in " ".join(
        v["detail"] for v in violations if v["order_id"] == beyond)
    # Different transfer ids: no transfer is posted twice, the order-level checks find them.
    assert "transfer_posted_once" not in {v["invariant"] for v in violations}
    assert _about(violations, order_id=missing, transfer_id=f"refund:{missing}") == {"refund_has_its_order"}
    assert _about(violations, order_id=paid, transfer_id=f"refund:{paid}") == {"refund_has_its_order"}
    details = {v["order_id"]: v["detail"] for v in violations if v["invariant"] == "refund_has_its_order"}
    assert details[missing].endswith(f"order {missing} does not exist")
    assert details[paid].endswith(f"order {paid} is paid")

    assert_reconciled(api, admin)  # the partial refunds, each once, reconcile
