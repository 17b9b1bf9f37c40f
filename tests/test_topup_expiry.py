"""The top-up expiry job: pending top-ups expire once, after 30 minutes, found through their index."""

from datetime import timedelta

from chalicelib import clock
from chalicelib.jobs import topup_expiry
from chalicelib.store import topups
from tests.support.money import confirm, start_topup


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
