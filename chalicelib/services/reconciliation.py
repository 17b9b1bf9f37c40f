"""Reconciliation: the ledger proves itself. An admin tool: it reads the whole ledger, page by page.

Checks, per currency:
- all entries sum to zero (every transfer balanced);
- each balance item equals the sum of its entries, and counts as many entries as it has;
- no account that may not go negative is negative (wallets, instructor balances, platform revenue;
  the gateway clearing account is the money's source and is negative by design);
- every entry is in its account's currency.

It reads the ledger by Query: the accounts of each kind through the `by_kind` index,
each account's entries (a hot account's shard by shard). Totals by kind are
what the platform owes learners and instructors and what it earned.

It is not a snapshot: a transfer that commits while the check runs can make an
account look off by that transfer. An account found off is read again once
before it is reported; a sum-to-zero violation that a re-run does not confirm
was such a race.

Beyond the ledger (reading orders, enrollments and sessions whole, by paged Scan: the one
place outside tests that scans, because proving "every enrollment has its paid order" means
reading every enrollment; see `store/admin_scans.py`):
- each enrollment that grants access has exactly one paid order, its own, with its transfer posted;
- each ended enrollment's order was refunded, with its refund transfer posted;
- each paid order is the order of an enrollment that grants access;
- no live session holds more bookings than seats.

And the dashboard against the ledger: each instructor's daily aggregates, summed over all
days (one Query per instructor), give the net revenue (instructor shares of sales minus the
instructor's part of refunds) that the instructor's pending and available accounts received
from order and refund transfers (`order:<id>`, `refund:<order_id>`).
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime

from chalicelib import clock
from chalicelib.money import CURRENCIES, Money
from chalicelib.services import ledger
from chalicelib.services.ledger import Account, AccountKind
from chalicelib.store import admin_scans, daily_stats, enrollments, orders
from chalicelib.store import ledger as store

log = logging.getLogger("classpay.reconciliation")


@dataclass(frozen=True)
class Violation:
    invariant: str
    detail: str
    account_id: str | None = None
    currency: str | None = None


@dataclass
class CurrencyTotals:
    currency: str
    entries_sum: int = 0
    entry_count: int = 0
    accounts: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Report:
    ok: bool
    checked_at: datetime
    totals: dict[str, CurrencyTotals]
    violations: list[Violation]


@dataclass(frozen=True)
class AccountCheck:
    account: Account
    entries_sum: int
    entry_count: int
    violations: list[Violation]
    sales_sum: int = 0  # entries of order and refund transfers (what the dashboard's net revenue counts)


def check_account(account: Account) -> AccountCheck:
    """One account: its balance item (if it keeps one) against its entries, and its sign."""
    item = None if account.hot else store.get_account(account.account_id, consistent=True)
    total = count = sales = 0
    violations: list[Violation] = []
    for entry in ledger.entries_of(account):
        if entry.transfer_id.startswith(SALES_TRANSFERS) and entry.amount.currency == account.currency:
            sales += entry.amount.amount
        if entry.amount.currency != account.currency:
            violations.append(Violation("entry_currency", f"{entry.transfer_id} is in {entry.amount.currency}",
                                        account.account_id, account.currency))
            continue
        total += entry.amount.amount
        count += 1
    if item is not None:
        balance, counted = int(item.balance), int(item.entry_count)
        if balance != total or counted != count:
            violations.append(Violation(
                "balance_equals_entries",
                f"balance {balance} over {counted} entries, entries sum to {total} over {count}",
                account.account_id, account.currency))
        if account.never_negative and balance < 0:
            violations.append(Violation("not_negative", f"balance is {balance}", account.account_id, account.currency))
    elif account.never_negative and total < 0:
        violations.append(Violation("not_negative", f"entries sum to {total}", account.account_id, account.currency))
    return AccountCheck(account, total, count, violations, sales)


SALES_TRANSFERS = ("order:", "refund:")  # the transfers of orders and their refunds (ids per business event)
SALES_ACCOUNTS = frozenset({AccountKind.INSTRUCTOR_PENDING, AccountKind.INSTRUCTOR_AVAILABLE})


def _dashboard_net(instructor_id: str, currency: str) -> int:
    """The instructor's net revenue over all days, as the dashboard's aggregates have it."""
    rows = daily_stats.days_of(daily_stats.instructor_scope(instructor_id), "0000-00-00", "9999-99-99")
    counts = daily_stats.total(daily_stats.counts_of(row) for row in rows if (row.currency or currency) == currency)
    return counts["net"] - counts["refund_net"]


def _ledger_sales(instructor_id: str, currency: str) -> int:
    return sum(check_account(Account(kind, currency, instructor_id)).sales_sum for kind in sorted(SALES_ACCOUNTS))


def _dashboard_violations(ledger_sales: dict[tuple[str, str], int]) -> list[Violation]:
    found = []
    for (instructor_id, currency), sales in sorted(ledger_sales.items()):
        if _dashboard_net(instructor_id, currency) == sales:
            continue
        # not a snapshot: read both again once before reporting (a sale may have committed meanwhile)
        dashboard, sales = _dashboard_net(instructor_id, currency), _ledger_sales(instructor_id, currency)
        if dashboard != sales:
            found.append(Violation("dashboard_net_equals_ledger",
                                   f"instructor {instructor_id}: dashboard net revenue {dashboard}, ledger {sales}",
                                   currency=currency))
    return found


def _accounts() -> list[Account]:
    accounts = [Account(kind, currency) for kind in sorted(ledger.HOT_KINDS) for currency in CURRENCIES]
    for kind in AccountKind:
        if kind in ledger.HOT_KINDS:
            continue
        accounts.extend(Account.parse(account_id) for account_id in store.account_ids_of_kind(kind))
    return accounts


def run(now: datetime | None = None) -> Report:
    checked_at = now or clock.now()
    totals = {currency: CurrencyTotals(currency) for currency in CURRENCIES}
    violations: list[Violation] = []
    ledger_sales: dict[tuple[str, str], int] = {}
    for account in _accounts():
        check = check_account(account)
        if check.violations:
            check = check_account(account)  # once more: a transfer may have committed meanwhile
        violations.extend(check.violations)
        if account.kind in SALES_ACCOUNTS:
            key = (account.owner_id, account.currency)
            ledger_sales[key] = ledger_sales.get(key, 0) + check.sales_sum
        currency_totals = totals[account.currency]
        currency_totals.entries_sum += check.entries_sum
        currency_totals.entry_count += check.entry_count
        currency_totals.accounts += 1 if check.entry_count else 0
        kind = str(account.kind)
        currency_totals.by_kind[kind] = currency_totals.by_kind.get(kind, 0) + check.entries_sum
    violations.extend(_sales_violations())
    violations.extend(_dashboard_violations(ledger_sales))
    for currency_totals in totals.values():
        if currency_totals.entries_sum != 0:
            violations.append(Violation("entries_sum_to_zero", f"entries sum to {currency_totals.entries_sum}",
                                        currency=currency_totals.currency))
    if violations:
        log.error("reconciliation found %d violations", len(violations))
    return Report(ok=not violations, checked_at=checked_at, totals=totals, violations=violations)


def _sales_violations() -> list[Violation]:
    """Orders, enrollments and seats agree with each other and with the ledger."""
    found: list[Violation] = []
    access_order_ids = set()
    for enrollment in admin_scans.admin_scan_enrollments():
        order = orders.get(enrollment.order_id)
        where = f"enrollment {enrollment.learner_id}/{enrollment.course_id}, order {enrollment.order_id}"
        if order is None or (order.learner_id, order.course_id) != (enrollment.learner_id, enrollment.course_id):
            found.append(Violation("enrollment_has_its_order", f"{where}: no such order for this enrollment"))
            continue
        if enrollment.status in (enrollments.ACTIVE, enrollments.COMPLETED):
            access_order_ids.add(order.order_id)
            if order.status != orders.PAID:
                found.append(Violation("enrollment_has_a_paid_order", f"{where}: order is {order.status}"))
            elif order.total.amount and not ledger.transfer_posted(f"order:{order.order_id}"):
                found.append(Violation("paid_order_is_in_the_ledger", f"{where}: purchase transfer missing"))
        elif order.status != orders.REFUNDED or (
                order.refund_amount and order.refund_amount.amount
                and not ledger.transfer_posted(f"refund:{order.order_id}")):
            found.append(Violation("ended_enrollment_was_refunded", f"{where}: order is {order.status}"))
    for item in admin_scans.admin_scan_orders():
        if item.status == orders.PAID and item.order_id not in access_order_ids:
            found.append(Violation("paid_order_has_an_enrollment", f"order {item.order_id} grants no access"))
    for session in admin_scans.admin_scan_sessions():
        if int(session.booked) > int(session.capacity) or int(session.booked) < 0:
            found.append(Violation("session_not_overbooked",
                                   f"session {session.session_id}: {session.booked} booked of {session.capacity}"))
    return found


def total(report: Report, currency: str, kind: AccountKind) -> Money:
    return Money(report.totals[currency].by_kind.get(str(kind), 0), currency)
