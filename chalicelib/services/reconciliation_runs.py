"""The daily reconciliation (03:00 KST): the ledger's proof of itself, recorded, measured and, on a
violation, mailed to admins.

Runs `services/reconciliation.py` (every invariant of "Money" in the spec), stores the result in
the `reconciliation_runs` table (`GET /admin/reconciliation/runs` lists them), emits the
`ReconciliationFailures` metric (1 on a violation, else 0; `ReconciliationFailureAlarm` watches
it) and, on a violation, mails every admin once per admin and business day.
"""

import dataclasses
import logging
from dataclasses import dataclass
from datetime import datetime

from chalicelib import clock, metrics
from chalicelib.domain.calendar import business_day
from chalicelib.services import identity, mail, reconciliation
from chalicelib.store import reconciliation_runs as runs

log = logging.getLogger("classpay.jobs.reconciliation")
VIOLATIONS_IN_ALERT = 50  # named in the mail; the run record keeps more


@dataclass(frozen=True)
class ReconciliationResult:
    ok: bool
    checked_at: str
    violations: int
    admins_mailed: int


def _alert(report: reconciliation.Report, checked_at: str) -> mail.Mail:
    listed = "\n".join(f"- {v.invariant}: {v.detail}" + (f" ({v.account_id})" if v.account_id else "")
                       for v in report.violations[:VIOLATIONS_IN_ALERT])
    more = len(report.violations) - VIOLATIONS_IN_ALERT
    return mail.Mail(
        to_address="",
        subject=f"[classpay] Reconciliation FAILED: {len(report.violations)} violation(s) at {checked_at}",
        text=(f"The daily reconciliation found {len(report.violations)} broken invariant(s) at {checked_at}:\n\n"
              f"{listed}\n" + (f"... and {more} more\n" if more > 0 else "")
              + "\nDetails: GET /admin/reconciliation/runs (and GET /admin/reconciliation to check again now).\n"),
    )


def check_and_record(now: datetime) -> ReconciliationResult:
    report = reconciliation.run(now)
    checked_at = clock.to_rfc3339(report.checked_at)
    runs.record(
        checked_at, report.ok, [dataclasses.asdict(v) for v in report.violations],
        {currency: dataclasses.asdict(totals) for currency, totals in report.totals.items()}, clock.now())
    metrics.emit(metrics.RECONCILIATION_FAILURES, 0 if report.ok else 1)
    mailed = 0
    if not report.ok:
        log.error("reconciliation failed with %d violations", len(report.violations))
        alert = _alert(report, checked_at)
        day = business_day(report.checked_at)
        for admin_id, address in identity.admins():
            try:
                if mail.send_once(f"reconciliation:{day}:{admin_id}", dataclasses.replace(alert, to_address=address),
                                  kind="reconciliation_alert", recipient_id=admin_id, now=now):
                    mailed += 1
            except Exception:  # noqa: BLE001 - the other admins are still told; the metric's alarm fires anyway
                log.exception("reconciliation alert not sent", extra={"fields": {"admin_id": admin_id}})
    return ReconciliationResult(report.ok, checked_at, len(report.violations), mailed)


def latest(limit: int) -> list[runs.Run]:
    """The recorded runs, newest first."""
    return runs.latest(limit)
