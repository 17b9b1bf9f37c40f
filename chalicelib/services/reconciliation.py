"""Reconciliation: the ledger proves itself. An admin tool: it reads the whole ledger, page by page.

Checks, per currency:
- all entries sum to zero (every transfer balanced);
- each balance item equals the sum of its entries, and counts as many entries as it has;
- no account that may not go negative is negative (wallets, instructor balances, platform revenue;
  the gateway clearing account is the money's source and is negative by design);
- every entry is in its account's currency;
- no transfer is posted twice: an account holds at most one entry of a transfer (a transfer never
  has two legs on one account, and its id is its business event's). Checked on the balance-keeping
  accounts, where every transfer has a leg (a wallet or an instructor's balance): a hot account's
  books hold every sale, and remembering all of them would cost the audit memory for nothing.

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
- no live session holds more bookings than seats;
- each checkout's held account holds its wallet part while the checkout holds (pending, awaiting_deposit)
  and nothing once it ended, and no hold was both posted (`checkout:<id>`) and voided (`checkout_void:<id>`);
- each refund in the ledger (a `refund:<order_id>[:<n>]` credit to a learner's wallet, gathered while
  the wallets are read) has its order, and that order records it as one of its refunds (each posted
  once, `order_refunded_once`), and never beyond what it paid;
- each refund of an order takes back the platform's fee and the instructor's share in proportion: its
  parts sum to it, all parts never exceed the fee and the share (and equal them once everything was
  refunded), and what the instructor's accounts (pending, available, owed) gave back for each refund
  transfer equals its recorded share (`reversal_in_proportion`);
- `instructor_owed` is a receivable: never above zero (`owed_not_positive`), and like every balance
  the sum of its entries;
- the parties of each order's revenue split share exactly its instructor share, and each refund's part of
  it (`split_sums_to_share`);
- VAT payable (`vat_payable`) equals the VAT parts of the orders' fees less the VAT parts their refunds gave
  back (`vat_payable_is_the_orders_vat`); each refund's VAT part is within its fee part;
- refunds in transit to the PG (`refunds_in_transit`) equal the card parts of the refunds still pending
  (`refunds_in_transit_are_pending_refunds`): a card part leaves transit only with its refund done;
- where the gateway can list what it captured (the fake one), each captured payment of a checkout is that
  checkout's payment, paid, or still in time to be (`captured_payment_is_a_paid_checkout`): a captured
  payment whose checkout failed, expired or was cancelled should have been cancelled at the gateway, one
  still holding past its time is a lost confirm the recovery job has not completed. Each is read by its
  order id (the checkout's id), never by a Scan.

And the taxes: each tax payable account (income tax, local income tax) holds the sum of what the payouts
in transit or paid withheld (`tax_payable_equals_withholdings`; one Query of payouts per instructor paid).

And the dashboard against the ledger: each instructor's daily aggregates, summed over all
days (one Query per instructor), give the net revenue (instructor shares of sales minus the
instructor's part of refunds) that the instructor's pending and available accounts received
from order and refund transfers (`order:<id>`, `refund:<order_id>`).
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime

from chalicelib import clock
from chalicelib.adapters.payments import CapturedPayments, GatewayPayment
from chalicelib.adapters.stage import payment_gateway
from chalicelib.domain import checkout
from chalicelib.domain.revenue import net_revenue
from chalicelib.money import CURRENCIES, Money
from chalicelib.services import ledger
from chalicelib.services.ledger import Account, AccountKind
from chalicelib.store import admin_scans, checkouts, daily_stats, enrollments, orders, payouts
from chalicelib.store import ledger as store

log = logging.getLogger("classpay.reconciliation")


@dataclass(frozen=True)
class Violation:
    invariant: str
    detail: str
    account_id: str | None = None
    currency: str | None = None
    order_id: str | None = None
    transfer_id: str | None = None


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


REFUND_TRANSFER = "refund:"  # `refund:<order_id>`: an order's refund (services/orders.py)


@dataclass(frozen=True)
class RefundPosting:
    """One refund as a learner's wallet received it: an entry of a refund transfer."""

    transfer_id: str
    entry_id: str
    amount: Money

    @property
    def order_id(self) -> str | None:
        """The order the transfer names (None: a refund transfer whose id names none)."""
        if not self.transfer_id.startswith(REFUND_TRANSFER):
            return None
        return self.transfer_id.split(":")[1] or None


@dataclass(frozen=True)
class AccountCheck:
    account: Account
    entries_sum: int
    entry_count: int
    violations: list[Violation]
    sales_sum: int = 0  # entries of order and refund transfers (what the dashboard's net revenue counts)
    refunds: tuple[RefundPosting, ...] = ()  # a learner wallet's refund entries
    reversals: tuple[tuple[str, int], ...] = ()  # an instructor account's refund entries: (transfer id, amount)


def check_account(account: Account) -> AccountCheck:
    """One account: its balance item (if it keeps one) against its entries, its sign, and (if it keeps a
    balance) no transfer posted to it twice. A wallet's refund entries are kept for the orders' check."""
    state = None if account.hot else store.get_account(account.account_id, consistent=True)
    total = count = sales = 0
    violations: list[Violation] = []
    first_entry: dict[str, str] = {}  # transfer id -> its entry in this account
    refunds: list[RefundPosting] = []
    reversals: list[tuple[str, int]] = []
    for entry in ledger.entries_of(account):
        if not account.hot:
            first = first_entry.setdefault(entry.transfer_id, entry.entry_id)
            if first != entry.entry_id:
                violations.append(Violation(
                    "transfer_posted_once", f"transfer {entry.transfer_id} is posted twice here: entries {first} "
                    f"and {entry.entry_id}", account.account_id, account.currency, transfer_id=entry.transfer_id))
        if account.kind == AccountKind.LEARNER_WALLET and (
                entry.transfer_id.startswith(REFUND_TRANSFER) or entry.transfer_kind == "refund"):
            refunds.append(RefundPosting(entry.transfer_id, entry.entry_id, entry.amount))
        if account.kind in SALES_ACCOUNTS and entry.transfer_kind == "refund":
            reversals.append((entry.transfer_id, entry.amount.amount))
        if entry.transfer_id.startswith(SALES_TRANSFERS) and entry.amount.currency == account.currency:
            sales += entry.amount.amount
        if entry.amount.currency != account.currency:
            violations.append(Violation("entry_currency", f"{entry.transfer_id} is in {entry.amount.currency}",
                                        account.account_id, account.currency))
            continue
        total += entry.amount.amount
        count += 1
    if state is not None:
        balance, counted = state.balance.amount, state.entry_count
        if balance != total or counted != count:
            violations.append(Violation(
                "balance_equals_entries",
                f"balance {balance} over {counted} entries, entries sum to {total} over {count}",
                account.account_id, account.currency))
        if account.never_negative and balance < 0:
            violations.append(Violation("not_negative", f"balance is {balance}", account.account_id, account.currency))
        if account.never_positive and balance > 0:
            violations.append(Violation("owed_not_positive", f"balance is {balance}", account.account_id,
                                        account.currency))
    elif account.never_negative and total < 0:
        violations.append(Violation("not_negative", f"entries sum to {total}", account.account_id, account.currency))
    return AccountCheck(account, total, count, violations, sales, tuple(refunds), tuple(reversals))


# the transfers of orders (bought from the wallet, or paid by a checkout) and their refunds (ids per business event)
SALES_TRANSFERS = ("order:", f"{ledger.CHECKOUT_POST}:", "refund:")
# the instructor's accounts sales and refunds move (a clawback's part beyond available goes to owed)
SALES_ACCOUNTS = frozenset({AccountKind.INSTRUCTOR_PENDING, AccountKind.INSTRUCTOR_AVAILABLE,
                            AccountKind.INSTRUCTOR_OWED})


def _dashboard_net(instructor_id: str, currency: str) -> int:
    """The instructor's net revenue over all days, as the dashboard's aggregates have it."""
    rows = daily_stats.days_of(daily_stats.instructor_scope(instructor_id), "0000-00-00", "9999-99-99")
    counts = daily_stats.total(row.counts for row in rows if (row.currency or currency) == currency)
    return net_revenue(counts)


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
    refunds: dict[str | None, list[RefundPosting]] = {}  # by the order each names
    reversals: dict[str, int] = {}  # what the instructor's accounts gave back, by refund transfer
    accounts = _accounts()
    for account in accounts:
        check = check_account(account)
        if check.violations:
            check = check_account(account)  # once more: a transfer may have committed meanwhile
        violations.extend(check.violations)
        for posting in check.refunds:
            refunds.setdefault(posting.order_id, []).append(posting)
        for transfer_id, amount in check.reversals:
            reversals[transfer_id] = reversals.get(transfer_id, 0) - amount
        if account.kind in SALES_ACCOUNTS:
            key = (account.owner_id, account.currency)
            ledger_sales[key] = ledger_sales.get(key, 0) + check.sales_sum
        currency_totals = totals[account.currency]
        currency_totals.entries_sum += check.entries_sum
        currency_totals.entry_count += check.entry_count
        currency_totals.accounts += 1 if check.entry_count else 0
        kind = str(account.kind)
        currency_totals.by_kind[kind] = currency_totals.by_kind.get(kind, 0) + check.entries_sum
    pending_card: dict[str, int] = {}  # the card parts of pending refunds, by currency
    vat_kept: dict[str, int] = {}  # the VAT parts of orders' fees not given back, by currency
    violations.extend(_sales_violations(refunds, reversals, pending_card, vat_kept))
    violations.extend(_in_transit_violations(totals, pending_card))
    violations.extend(_vat_violations(totals, vat_kept))
    violations.extend(_hold_violations([account for account in accounts if account.kind == AccountKind.CHECKOUT_HOLDS]))
    violations.extend(_dashboard_violations(ledger_sales))
    violations.extend(_captured_payment_violations(checked_at))
    violations.extend(_withholding_violations(totals, accounts))
    for currency_totals in totals.values():
        if currency_totals.entries_sum != 0:
            violations.append(Violation("entries_sum_to_zero", f"entries sum to {currency_totals.entries_sum}",
                                        currency=currency_totals.currency))
    if violations:
        log.error("reconciliation found %d violations", len(violations))
    return Report(ok=not violations, checked_at=checked_at, totals=totals, violations=violations)


def _sales_violations(refunds: dict[str | None, list[RefundPosting]], reversals: dict[str, int],
                      pending_card: dict[str, int], vat_kept: dict[str, int]) -> list[Violation]:
    """Orders, enrollments and seats agree with each other and with the ledger (`refunds`: the wallets'
    refund entries by the order each names, consumed; `reversals`: the instructors' part of each refund;
    `pending_card`: filled with the card parts of pending refunds, by currency)."""
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
            elif order.total.amount and not ledger.transfer_posted(_purchase_transfer_id(order)):
                found.append(Violation("paid_order_is_in_the_ledger", f"{where}: purchase transfer missing"))
        elif order.status != orders.REFUNDED or (
                order.latest_refund and order.latest_refund.amount.amount and order.order_id not in refunds
                and not ledger.transfer_posted(order.latest_refund.transfer_id)):
            found.append(Violation("ended_enrollment_was_refunded", f"{where}: order is {order.status}"))
    for order in admin_scans.admin_scan_orders():
        if order.status == orders.PAID and order.order_id not in access_order_ids:
            found.append(Violation("paid_order_has_an_enrollment", f"order {order.order_id} grants no access"))
        postings = refunds.pop(order.order_id, None)
        if postings:
            found.extend(_refund_violations(order.order_id, order, postings))
        if order.refunds:
            found.extend(_reversal_violations(order, reversals))
        for part in order.pending_refunds:
            pending_card[part.amount.currency] = pending_card.get(part.amount.currency, 0) + part.card_part.amount
        vat_kept[order.total.currency] = vat_kept.get(order.total.currency, 0) + (order.platform_vat
                                                                                  - order.vat_back).amount
        found.extend(_split_violations(order))
    for order_id, postings in refunds.items():  # refunds naming an order the scan did not see (or none)
        found.extend(_refund_violations(order_id, orders.get(order_id, consistent=True) if order_id else None,
                                        postings))
    for session in admin_scans.admin_scan_sessions():
        if session.booked > session.capacity or session.booked < 0:
            found.append(Violation("session_not_overbooked",
                                   f"session {session.session_id}: {session.booked} booked of {session.capacity}"))
    return found


def _in_transit_violations(totals: dict[str, CurrencyTotals], pending_card: dict[str, int]) -> list[Violation]:
    found = []
    for currency, currency_totals in totals.items():
        in_transit = currency_totals.by_kind.get(str(AccountKind.REFUNDS_IN_TRANSIT), 0)
        if in_transit != pending_card.get(currency, 0):
            found.append(Violation("refunds_in_transit_are_pending_refunds",
                                   f"{in_transit} in transit to the PG, pending refunds' card parts "
                                   f"{pending_card.get(currency, 0)}", currency=currency))
    return found


def _split_violations(order: orders.Order) -> list[Violation]:
    """The parties of an order's revenue split share exactly its instructor share, and each refund's part."""
    problems = []
    if sum((party.amount for party in order.parties), Money.zero(order.total.currency)) != order.instructor_share:
        problems.append(f"its parties' shares do not sum to its instructor share {order.instructor_share.amount}")
    for part in order.refunds:
        if sum((back for _, back in order.parts_back(part)), Money.zero(order.total.currency)) != part.share_back:
            problems.append(f"refund {part.refund_id}: its parties' parts do not sum to {part.share_back.amount}")
    return [Violation("split_sums_to_share", f"order {order.order_id}: {problem}", currency=order.total.currency,
                      order_id=order.order_id) for problem in problems]


def _vat_violations(totals: dict[str, CurrencyTotals], vat_kept: dict[str, int]) -> list[Violation]:
    """VAT payable is the VAT parts of the orders' fees, less what refunds gave back of them."""
    found = []
    for currency, currency_totals in totals.items():
        payable = currency_totals.by_kind.get(str(AccountKind.VAT_PAYABLE), 0)
        if payable != vat_kept.get(currency, 0):
            found.append(Violation("vat_payable_is_the_orders_vat", f"{payable} VAT payable, the orders' VAT parts "
                                   f"{vat_kept.get(currency, 0)}", currency=currency))
    return found


def _refund_violations(order_id: str | None, order: orders.Order | None,
                       postings: list[RefundPosting]) -> list[Violation]:
    """An order's refunds in the ledger against the order: it exists and records each as one of its refunds,
    posted once, within what it paid."""
    if order is not None and not {posting.transfer_id for posting in postings} <= _recorded(order):
        order = orders.get(order.order_id, consistent=True)  # the Scan may not show a refund just committed
    postings = sorted(postings, key=lambda posting: posting.entry_id)
    if order is None or not order.refunds:
        if order_id is None:
            state = "its id names no order"
        elif order is None:
            state = f"order {order_id} does not exist"
        else:
            state = f"order {order_id} is {order.status}"
        return [Violation("refund_has_its_order", f"refund {transfer_id} in the ledger: {state}",
                          order_id=order_id, transfer_id=transfer_id)
                for transfer_id in dict.fromkeys(posting.transfer_id for posting in postings)]
    found = []
    unrecorded = [posting for posting in postings if posting.transfer_id not in _recorded(order)]
    if unrecorded or len(postings) > len(order.refunds):
        listed = ", ".join(f"{posting.transfer_id} ({posting.entry_id})" for posting in postings)
        found.append(Violation("order_refunded_once", f"order {order_id} records {len(order.refunds)} refunds, "
                               f"the ledger {len(postings)}: {listed}",
                               order_id=order_id, transfer_id=(unrecorded or postings)[-1].transfer_id))
    paid = order.total
    refunded = sum(posting.amount.amount for posting in postings if posting.amount.currency == paid.currency)
    foreign = [posting.transfer_id for posting in postings if posting.amount.currency != paid.currency]
    if refunded > paid.amount or foreign:
        found.append(Violation(
            "refunds_within_paid", f"order {order_id} paid {paid.amount} {paid.currency}, its refunds credit "
            f"{refunded}" + (f" and more in another currency ({', '.join(foreign)})" if foreign else ""),
            currency=paid.currency, order_id=order_id, transfer_id=postings[-1].transfer_id))
    return found


def _recorded(order: orders.Order) -> set[str]:
    return {part.transfer_id for part in order.refunds}


def _reversal_violations(order: orders.Order, reversals: dict[str, int]) -> list[Violation]:
    """Each refund of the order took back the fee and the share in proportion, as the ledger posted it."""
    problems = []
    fee_back, share_back, refunded = order.fee_back, order.share_back, order.refunded
    if refunded.amount > order.total.amount:
        problems.append(f"refunds {refunded.amount} exceed what it paid, {order.total.amount}")
    if fee_back.amount > order.platform_fee.amount or share_back.amount > order.instructor_share.amount:
        problems.append(f"refunds took {fee_back.amount} of the fee {order.platform_fee.amount} and "
                        f"{share_back.amount} of the share {order.instructor_share.amount}")
    if refunded == order.total and (fee_back, share_back) != (order.platform_fee, order.instructor_share):
        problems.append(f"refunded in full, but {fee_back.amount} of the fee and {share_back.amount} of the share")
    for part in order.refunds:
        if (part.fee_back + part.share_back != part.amount or min(part.fee_back.amount, part.share_back.amount) < 0
                or not 0 <= part.vat_part.amount <= part.fee_back.amount):
            problems.append(f"refund {part.refund_id} of {part.amount.amount}: fee {part.fee_back.amount}, "
                            f"share {part.share_back.amount}")
        instructor_gave = reversals.get(part.transfer_id, 0)
        if part.amount.amount and instructor_gave != part.share_back.amount:
            problems.append(f"{part.transfer_id}: the instructor's accounts gave back {instructor_gave}, "
                            f"its share is {part.share_back.amount}")
    return [Violation("reversal_in_proportion", f"order {order.order_id}: {problem}", currency=order.total.currency,
                      order_id=order.order_id) for problem in problems]


def total(report: Report, currency: str, kind: AccountKind) -> Money:
    return Money(report.totals[currency].by_kind.get(str(kind), 0), currency)


def _purchase_transfer_id(order: orders.Order) -> str:
    """The transfer that paid an order: its checkout's, or its own purchase from the wallet."""
    return f"{ledger.CHECKOUT_POST}:{order.checkout_id}" if order.checkout_id else f"order:{order.order_id}"


def _captured_payment_violations(now: datetime) -> list[Violation]:
    gateway = payment_gateway()
    if not isinstance(gateway, CapturedPayments):
        return []
    found = []
    for payment in gateway.captured_payments():
        problem = _captured_problem(payment, now) and _captured_problem(payment, now)  # once more: it may have settled
        if problem:
            found.append(Violation("captured_payment_is_a_paid_checkout", f"checkout {payment.order_id}: {problem}",
                                   currency=payment.amount.currency))
    return found


def _captured_problem(payment: GatewayPayment, now: datetime) -> str | None:
    record = checkouts.get(payment.order_id)
    if record is None:
        return None  # not a checkout's payment (a top-up's)
    if record.status == checkout.PAID and record.payment_key == payment.payment_key:
        return None
    if record.status in checkout.HOLDING and record.expires_at > now:
        return None  # a confirm or a deposit webhook in flight
    return f"captured {payment.amount.amount} at the gateway, the checkout is {record.status}"


def _hold_violations(held: list[Account]) -> list[Violation]:
    """Each checkout's held account holds what the checkout holds (its wallet part while pending, nothing
    once it ended), and its hold was posted or voided, never both."""
    found = []
    for account in held:
        problem = _hold_problem(account) and _hold_problem(account)  # once more: a checkout may have ended meanwhile
        if problem:
            found.append(Violation(problem[0], f"checkout {account.owner_id}: {problem[1]}", account.account_id,
                                   account.currency))
    return found


def _hold_problem(account: Account) -> tuple[str, str] | None:
    entries = list(ledger.entries_of(account))
    if {ledger.CHECKOUT_POST, ledger.CHECKOUT_VOID} <= {entry.transfer_kind for entry in entries}:
        return "hold_posted_or_voided", "its hold was both posted and voided"
    record = checkouts.get(account.owner_id)
    held = sum(entry.amount.amount for entry in entries)
    expected = record.wallet_amount.amount if record is not None and record.status in checkout.HOLDING else 0
    if record is None or held != expected:
        return "holds_equal_held_balances", f"holds {held}, the checkout ({record and record.status}) {expected}"
    return None


def _withheld(accounts: list[Account]) -> dict[tuple[str, str], int]:
    """What the payouts withheld, by (currency, payable kind): those in transit or paid (a refused payout's
    withholding went back to the instructor), read per instructor ever paid (one Query each)."""
    withheld: dict[tuple[str, str], int] = {}
    for account in accounts:
        if account.kind != AccountKind.INSTRUCTOR_IN_TRANSIT:
            continue
        for payout in payouts.every_payout_of(account.owner_id):
            if payout.status in (payouts.IN_TRANSIT, payouts.PAID) and payout.amount.currency == account.currency:
                for kind, amount in ((AccountKind.INCOME_TAX_PAYABLE, payout.income_tax),
                                     (AccountKind.LOCAL_INCOME_TAX_PAYABLE, payout.local_income_tax)):
                    withheld[(account.currency, kind)] = withheld.get((account.currency, kind), 0) + amount
    return withheld


def _withholding_violations(totals: dict[str, CurrencyTotals], accounts: list[Account]) -> list[Violation]:
    """The tax payable accounts hold exactly what the payouts withheld (a payout may commit meanwhile: an
    account found off is read again, with the payouts, once before it is reported)."""
    withheld, found = _withheld(accounts), []
    for currency, currency_totals in sorted(totals.items()):
        for kind in sorted(ledger.TAX_PAYABLE_KINDS):
            payable, expected = currency_totals.by_kind.get(str(kind), 0), withheld.get((currency, kind), 0)
            if payable != expected:
                payable = check_account(Account(kind, currency)).entries_sum
                expected = _withheld(accounts).get((currency, kind), 0)
            if payable != expected:
                found.append(Violation("tax_payable_equals_withholdings",
                                       f"{kind} holds {payable}, the payouts withheld {expected}", currency=currency))
    return found
