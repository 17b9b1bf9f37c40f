"""Results of the daily reconciliation job: the ledger's proof of itself, kept for operators.

Table `<prefix>reconciliation_runs`
    hash key   check        "ledger" (the one check so far)
    range key  checked_at   RFC 3339: the runs sort by time
    attributes ok, violation_count, violations (JSON, the first 100), totals (JSON), expires_at (TTL, 400 days)

Access patterns
    record a run ............. PutItem
    the latest runs .......... Query check, newest first
"""

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from pynamodb.attributes import BooleanAttribute, NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.store.base import table_meta

LEDGER = "ledger"
KEEP = timedelta(days=400)
MAX_KEPT_VIOLATIONS = 100


class ReconciliationRunItem(Model):
    Meta = table_meta("reconciliation_runs")

    check = UnicodeAttribute(hash_key=True)
    checked_at = UnicodeAttribute(range_key=True)
    ok = BooleanAttribute()
    violation_count = NumberAttribute()
    violations = UnicodeAttribute()
    totals = UnicodeAttribute()
    expires_at = TTLAttribute()


@dataclass(frozen=True)
class Run:
    checked_at: str
    ok: bool
    violation_count: int
    violations: list[dict]
    totals: dict


def record(checked_at: str, ok: bool, violations: list[dict], totals: dict, now: datetime) -> Run:
    kept = violations[:MAX_KEPT_VIOLATIONS]
    ReconciliationRunItem(LEDGER, checked_at, ok=ok, violation_count=len(violations), violations=json.dumps(kept),
                          totals=json.dumps(totals), expires_at=now + KEEP).save()
    return Run(checked_at, ok, len(violations), kept, totals)


def latest(limit: int = 1) -> list[Run]:
    return [Run(item.checked_at, item.ok, int(item.violation_count), json.loads(item.violations),
                json.loads(item.totals))
            for item in ReconciliationRunItem.query(LEDGER, scan_index_forward=False, limit=limit)]
