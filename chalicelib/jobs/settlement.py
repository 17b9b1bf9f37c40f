"""Daily: release instructors' shares of sales whose settlement hold has passed (pending -> available).

Reads only the sparse `unsettled` index of orders (settles_at <= now); see services/settlement.py.
"""

from datetime import datetime

from chalicelib import config
from chalicelib.services import settlement


def run(now: datetime) -> settlement.SettlementResult:
    return settlement.settle_due(now, budget_seconds=config.job_budget_seconds())
