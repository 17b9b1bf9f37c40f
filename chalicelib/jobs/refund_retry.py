"""Every 5 minutes: refunds whose card part the PG has not cancelled yet are sent again, each under its own
idempotency key, and marked done (services/orders.py)."""

from datetime import datetime

from chalicelib.services import orders


def run(now: datetime) -> orders.RefundRetryResult:  # a pending refund is due at once, whatever the time
    return orders.send_pending_refunds()
