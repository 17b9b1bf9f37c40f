"""Daily (03:00 KST): the ledger's proof of itself, recorded and alerted on (services/reconciliation_runs.py)."""

from datetime import datetime

from chalicelib.services import reconciliation_runs


def run(now: datetime) -> reconciliation_runs.ReconciliationResult:
    return reconciliation_runs.check_and_record(now)
