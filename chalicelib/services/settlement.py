"""Settlement: an instructor's share of a sale moves from pending to available once it may no longer be refunded.

A purchase credits the instructor's *pending* balance and files the order in the
sparse `unsettled` index by `settles_at` (its time plus the settlement hold, at
least the refund window). The daily settlement job reads that index up to now
and settles each due order in ONE transaction of its own:

- the order gets `settled_at` and leaves the index, on the condition that it is
  still unsettled and in the state it was read in (paid, or partly refunded);
- the ledger transfer `settle:<order_id>` moves what no refund took back from
  instructor pending to instructor available: each party's own part, for an order sold under a
  co-instructors' revenue split.

A refund and a settlement of the same order exclude each other: the refund
conditions on `settled_at` as it read it, the settlement on the status as it
read it, so whichever commits second is refused and reads again. A fully
refunded order has left the index and never settles; after a partial refund the
rest of the share settles. The transfer id is per order, so no order settles
twice, however often or concurrently the job runs; a run that stops part-way
(a crash, its time budget) leaves the rest in the index for the next run.
"""

import logging
import time
from dataclasses import dataclass
from datetime import datetime

from chalicelib import clock, errors
from chalicelib.money import Money
from chalicelib.services import ledger
from chalicelib.services.orders import unrefunded_shares
from chalicelib.store import orders as store
from chalicelib.store.orders import Order
from chalicelib.store.transactions import UnitOfWork, retry_on_contention

log = logging.getLogger("classpay.jobs.settlement")


@dataclass(frozen=True)
class SettlementResult:
    settled: int
    amount: dict[str, int]  # released per currency, minor units
    skipped: int  # refunded or settled meanwhile (another run, a refund): nothing to do
    more: bool  # stopped by the time budget: the next run continues


def settle_order(order: Order, now: datetime) -> Money | None:
    """Settle one due order; the amount released (to all parties of its revenue split), or None if it was
    settled or refunded meanwhile."""
    shares = unrefunded_shares(order)
    share = sum(shares.values(), Money.zero(order.total.currency))

    def attempt() -> Money:
        uow = UnitOfWork()
        store.add_settle(uow, order, now)
        transfer = ledger.settlement_transfer(order, shares)
        if transfer:  # a refund took all of the share back
            ledger.add_transfer(uow, transfer, now=now)
        uow.commit()
        return share

    try:
        return retry_on_contention(attempt)
    except errors.Conflict:
        return None


def settle_due(now: datetime | None = None, budget_seconds: float | None = None) -> SettlementResult:
    """Settle every order due by `now`, oldest first, until done or `budget_seconds` have passed."""
    now = now or clock.now()
    started = time.monotonic()
    settled = skipped = 0
    amounts: dict[str, int] = {}
    for order in store.due_for_settlement(clock.to_rfc3339(now)):
        if budget_seconds is not None and time.monotonic() - started > budget_seconds:
            log.info("settlement: time budget spent after %d orders; the next run continues", settled + skipped)
            return SettlementResult(settled, amounts, skipped, more=True)
        released = settle_order(order, now)
        if released is None:
            skipped += 1
            continue
        settled += 1
        amounts[released.currency] = amounts.get(released.currency, 0) + released.amount
    log.info("settlement: %d orders settled, %d skipped", settled, skipped)
    return SettlementResult(settled, amounts, skipped, more=False)
