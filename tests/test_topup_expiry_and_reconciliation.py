"""The top-up expiry job and the reconciliation report."""

from datetime import timedelta

import pytest

from chalicelib import clock
from chalicelib.jobs import topup_expiry
from chalicelib.services import ledger
from chalicelib.store import ledger as ledger_store
from chalicelib.store import topups
from tests.support.money import admin_token, assert_reconciled, confirm, funded_learner, start_topup


@pytest.fixture(scope="module")
def admin(api):
    return admin_token(api)


def _status(api, token, topup):
    return api.get(f"/wallet/topups/{topup['topup_id']}", token=token).json_body["status"]


def test_pending_top_ups_older_than_30_minutes_expire_once_and_others_are_left_alone(api):
    token = api.token_for()
    stale, fresh, paid = (start_topup(api, token) for _ in range(3))
    assert confirm(api, token, paid).status_code == 200
    later = clock.now() + timedelta(minutes=31)
    topups.TopupItem(fresh["topup_id"]).update(actions=[topups.TopupItem.created_at.set(later - timedelta(minutes=5))])

    result = topup_expiry.run(later)
    assert result.expired >= 1
    assert [_status(api, token, t) for t in (stale, fresh, paid)] == ["expired", "pending", "confirmed"]
    assert stale["topup_id"] not in list(topups.pending_created_before(later))
    assert topup_expiry.run(later).expired == 0  # idempotent: nothing left to expire at that time
    assert [_status(api, token, t) for t in (stale, fresh, paid)] == ["expired", "pending", "confirmed"]


def test_the_expiry_job_reads_the_pending_index_not_the_table(api, monkeypatch):
    def no_scan(*args, **kwargs):
        raise AssertionError("the expiry job must not scan")

    monkeypatch.setattr(topups.TopupItem, "scan", no_scan)
    topup_expiry.run(clock.now() + timedelta(hours=1))


def test_reconciliation_reports_a_balanced_ledger_with_totals(api, admin):
    funded_learner(api, 30_000)
    report = assert_reconciled(api, admin)
    krw = report["totals"]["KRW"]
    assert krw["entries_sum"] == {"amount": 0, "currency": "KRW"}
    assert krw["by_kind"]["learner_wallet"]["amount"] >= 30_000
    assert krw["by_kind"]["gateway_clearing"]["amount"] == -sum(
        v["amount"] for k, v in krw["by_kind"].items() if k != "gateway_clearing")
    assert report["checked_at"].endswith("Z")


def test_reconciliation_is_for_admins_only(api):
    response = api.get("/admin/reconciliation", token=api.token_for())
    assert response.status_code == 403


def test_reconciliation_finds_a_balance_written_outside_the_ledger(api, admin):
    token = funded_learner(api, 5_000)
    user_id = api.get("/me", token=token).json_body["user_id"]
    account = ledger_store.LedgerAccountItem.get(ledger.learner_wallet(user_id, "KRW").account_id)
    account.update(actions=[ledger_store.LedgerAccountItem.balance.add(-6_000)])  # what nothing may ever do
    try:
        report = api.get("/admin/reconciliation", token=admin).json_body
        assert report["ok"] is False
        found = {(v["invariant"], v["account_id"]) for v in report["violations"]}
        assert ("balance_equals_entries", account.account_id) in found
        assert ("not_negative", account.account_id) in found
    finally:
        account.update(actions=[ledger_store.LedgerAccountItem.balance.add(6_000)])
    assert_reconciled(api, admin)
