"""Top-up expiry: pending top-ups older than `TOPUP_EXPIRY_MINUTES` (30) become `expired`.

Reads only the sparse `pending` index of the top-ups table (no scan): it holds
pending top-ups and nothing else. Each expiry is a conditional update
(`status = pending`), so running the job twice, or alongside a confirm, never
expires a confirmed top-up and counts each expiry once. Confirming an expired
top-up still asks the gateway, and a payment it captured is credited (see
`services/wallet.py`): money the gateway captured is never left behind.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib import clock, config
from chalicelib.store import topups

log = logging.getLogger("classpay.jobs.topup_expiry")


@dataclass(frozen=True)
class ExpiryResult:
    cutoff: datetime
    expired: int
    already_settled: int


def expire_stale(now: datetime | None = None) -> ExpiryResult:
    now = now or clock.now()
    cutoff = now - timedelta(minutes=config.topup_expiry_minutes())
    expired = settled = 0
    for topup_id in list(topups.pending_created_before(cutoff)):
        if topups.expire(topup_id, now):
            expired += 1
        else:
            settled += 1
    log.info("top-up expiry: %d expired, %d settled meanwhile (cutoff %s)", expired, settled, cutoff.isoformat())
    return ExpiryResult(cutoff, expired, settled)
