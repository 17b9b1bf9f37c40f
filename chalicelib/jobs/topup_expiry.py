"""Every 5 minutes: pending top-ups past their time become `expired` (services/topup_expiry.py)."""

from datetime import datetime

from chalicelib.services import topup_expiry


def run(now: datetime) -> topup_expiry.ExpiryResult:
    return topup_expiry.expire_stale(now)
