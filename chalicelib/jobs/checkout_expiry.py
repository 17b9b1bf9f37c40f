"""Every 5 minutes: pending checkouts past their time become `expired`, their holds released
(services/checkout.py)."""

from datetime import datetime

from chalicelib.services import checkout


def run(now: datetime) -> checkout.ExpiryResult:
    return checkout.expire_due(now)
