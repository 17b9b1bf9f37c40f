"""Weekly payouts (Monday 10:00 KST): the fan-out job and the `PAYOUT_QUEUE` worker (services/payouts.py)."""

from collections.abc import Iterable
from datetime import datetime

from chalicelib.services import payouts


def run(now: datetime) -> payouts.FanOut:
    return payouts.fan_out(now)


def handle(records: Iterable[dict]) -> dict:
    return payouts.handle_payout_messages(records)
