"""Weekly payouts: each instructor's available balance, sent to their bank account, once per period.

Two steps, so that the work scales past one Lambda's 15 minutes:

1. `fan_out(now)` (the scheduled job, Monday 10:00 in Korea) only decides whom to look at: the
   instructors with a payout account (the `payable` index) whose available balance is at least
   the minimum (balances read 100 at a time), and every instructor with a payout still in transit
   (the `in_transit` index). It sends one SQS message per instructor, `{instructor_id, period}`.
2. `process(instructor_id, period)` (the queue worker) pays one instructor, in steps that each
   leave a state the next delivery, or the next week's run, completes:

   a. create: ONE transaction puts the payout (condition: no payout for (instructor, period), or
      only a held one) and posts `payout:<instructor>:<period>` for the whole available balance
      (the gross): the withholding of the instructor's tax profile (domain/withholding.py) to the
      tax payable accounts, the rest (the net) in transit, with the month's withholding report row;
      that transfer seals the available account (see "Statements and seals" in
      services/ledger.py) on the condition that nothing was posted to it since it was read.
      Without a tax profile the payout is put `held` (`tax_profile_missing`) instead and moves
      nothing; it stays the instructor's one held payout until a run finds a profile and pays it
      (same payout id and period, the balance of that moment);
   b. send: the payout port transfers the net, idempotent on the payout id (a repeat never
      pays twice; it answers what became of the first);
   c. record: ONE transaction marks the payout `paid` (in transit -> paid out) or `failed` (in
      transit and the withholding -> available: the gross is paid with the next period's payout,
      and the withholding given back in this month's report), on the condition that it is still
      in transit.

   A crash after (a) leaves a payout in transit: the redelivered message, or the next run (the
   `in_transit` index), sends it, with the same payout id. A crash after (b) is the same: the
   port answers the outcome it already has. An unknown outcome (`pending`) fails the message,
   which SQS delivers again later. Running the job twice, or a message delivered twice, finds the
   period's payout and only completes it.

Periods are ISO weeks in Korea (`2030-W02`). A payout's statement is the instructor's available
account's entries between the previous payout's seal and its own: each sale settled, each refund
of a settled sale (a clawback), each repayment of what a clawback left owed, each failed payout's money
come back; they sum to its amount exactly.

Owed. A clawback that available did not cover leaves the instructor owing the rest (the
`instructor_owed` account). Step (a) first repays it from the available balance (its own transfer,
`owed_repaid:<instructor>:<id>`), and pays nothing while anything is still owed: later earnings settle
into available and repay it at the next payout before anything is paid out.
"""

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from chalicelib import clock, config, errors, ids, metrics
from chalicelib.adapters.payouts import FAILED, PAID, PayoutRequest
from chalicelib.adapters.stage import payout_gateway
from chalicelib.aws import client, queue_url
from chalicelib.domain.calendar import business_time, payout_period
from chalicelib.domain.payouts import is_payable, payout_amount
from chalicelib.domain.refunds import repayment
from chalicelib.money import Money
from chalicelib.services import ledger, payout_accounts, tax_profiles
from chalicelib.services.queue_messages import work_batch
from chalicelib.store import payout_accounts as accounts_store
from chalicelib.store import payouts as store
from chalicelib.store.payouts import HELD, IN_TRANSIT, TAX_PROFILE_MISSING, Payout
from chalicelib.store.transactions import Contention, UnitOfWork, retry_on_contention

log = logging.getLogger("classpay.payouts")
worker_log = logging.getLogger("classpay.jobs.payouts")  # the queue worker's lines keep their name

BALANCES_PER_READ = 100  # a BatchGetItem's limit
MESSAGES_PER_SEND = 10  # a SendMessageBatch's limit


class PayoutPending(Exception):
    """The bank has not said yet what became of a payout: it stays in transit; ask again later."""


class PayoutNotCreated(Exception):
    """A payout could not be created now (too many concurrent changes): the message is retried."""


class StatementMismatch(Exception):
    """The available balance is not the sum of its entries since the last payout: nothing is paid."""


# --- 1. the fan-out --------------------------------------------------------------------------------

@dataclass(frozen=True)
class FanOut:
    period: str
    instructors_with_account: int
    messages: int  # one per instructor to pay or to finish
    in_transit: int  # of those, instructors with a payout still in transit
    below_minimum: int


class _QueueSender:
    """SendMessageBatch, 10 at a time; an entry the queue refuses is sent once more, then the run fails
    (running the job again is harmless)."""

    def __init__(self, queue_name: str):
        self.sqs = client("sqs")
        self.url = queue_url(queue_name)
        self.pending: list[str] = []
        self.sent = 0

    def add(self, body: dict) -> None:
        self.pending.append(json.dumps(body, separators=(",", ":")))
        if len(self.pending) == MESSAGES_PER_SEND:
            self.flush()

    def flush(self) -> None:
        bodies, self.pending = self.pending, []
        for _attempt in range(2):
            if not bodies:
                return
            answer = self.sqs.send_message_batch(QueueUrl=self.url, Entries=[
                {"Id": str(n), "MessageBody": body} for n, body in enumerate(bodies)])
            self.sent += len(answer.get("Successful", []))
            bodies = [bodies[int(failed["Id"])] for failed in answer.get("Failed", [])]
        if bodies:
            raise RuntimeError(f"the payout queue refused {len(bodies)} messages; run the payout job again")


def _message(instructor_id: str, period: str, currency: str) -> dict:
    return {"instructor_id": instructor_id, "period": period, "currency": currency}


def fan_out(now: datetime | None = None) -> FanOut:
    """Send one message per instructor to pay (or with a payout to finish) this period."""
    now = now or clock.now()
    period, currency, minimum = payout_period(now), config.wallet_currency(), config.payout_minimum()
    sender = _QueueSender(config.payout_queue())
    unfinished = {instructor_id for instructor_id, _period in store.in_transit_keys()}
    for instructor_id in sorted(unfinished):
        sender.add(_message(instructor_id, period, currency))
    with_account = below = 0
    batch: list[str] = []

    def look_at(instructor_ids: list[str]) -> int:
        accounts = [ledger.instructor_available(instructor_id, currency) for instructor_id in instructor_ids]
        balances = ledger.balances_of(accounts)
        skipped = 0
        for instructor_id, account in zip(instructor_ids, accounts, strict=True):
            if is_payable(balances[account.account_id], minimum):
                sender.add(_message(instructor_id, period, currency))
            else:
                skipped += 1
        return skipped

    for instructor_id in accounts_store.payable_instructor_ids():
        with_account += 1
        if instructor_id in unfinished:
            continue
        batch.append(instructor_id)
        if len(batch) == BALANCES_PER_READ:
            below += look_at(batch)
            batch = []
    if batch:
        below += look_at(batch)
    sender.flush()
    log.info("payouts %s: %d messages (%d to finish), %d instructors below the minimum",
             period, sender.sent, len(unfinished), below)
    return FanOut(period, with_account, sender.sent, len(unfinished), below)


def redrive(payout: Payout) -> None:
    """One message for `payout`'s instructor and period, as the fan-out sends: its worker finishes the payout
    still in transit now (a verified `payout.changed` webhook said the provider has a final answer)."""
    sender = _QueueSender(config.payout_queue())
    sender.add(_message(payout.instructor_id, payout.period, payout.amount.currency))
    sender.flush()


# --- 2. one instructor ----------------------------------------------------------------------------

def process(instructor_id: str, period: str, currency: str | None = None) -> str:
    """Pay `instructor_id` for `period` (and finish any earlier payout still in transit).

    Returns the period's payout status, or why there is none. Raises `PayoutPending` while the
    bank's answer is unknown (the message is retried)."""
    currency = currency or config.wallet_currency()
    for earlier in store.in_transit_periods(instructor_id):
        payout = store.get(instructor_id, earlier)
        if payout is not None and payout.status == IN_TRANSIT and earlier != period:
            complete(payout)
    payout = store.get(instructor_id, period)
    if payout is None or payout.status == HELD:
        payout = create(instructor_id, period, currency)
        if payout is None:
            return "nothing to pay"
    if payout.status == IN_TRANSIT:
        return complete(payout).status
    return payout.status


def _payout_message(body: dict) -> dict:
    return {"instructor_id": str(body["instructor_id"]), "period": str(body["period"]),
            "currency": str(body.get("currency") or "") or None}


def handle_payout_messages(records: Iterable[dict]) -> dict:
    """The queue worker: process SQS records `{messageId, body}`; the ids of those to deliver again, as
    `batchItemFailures` (after `MAX_RECEIVE_COUNT` tries SQS moves a message to the dead-letter queue, whose
    alarm calls a human; the next weekly run re-drives any payout still in transit)."""
    return work_batch(records, read=_payout_message, handle=process, log=worker_log, what="payout",
                      later={PayoutPending: logging.INFO})  # the bank has not answered yet: a normal state


def create(instructor_id: str, period: str, currency: str) -> Payout | None:
    """Step (a): the payout and its transfer, for the whole available balance; None if there is
    nothing to pay (no account, below the minimum, a later period already paid). Without a tax profile
    the payout is held instead (no money moves); with one, the instructor's held payout is the one paid."""
    account = accounts_store.get(instructor_id, consistent=True)
    if account is None:
        return None
    latest = store.latest(instructor_id)
    held = latest if latest is not None and latest.status == HELD else None
    if held is None and latest is not None and latest.period >= period:
        return latest if latest.period == period else None  # a late message for an earlier week
    period = held.period if held is not None else period
    profile = tax_profiles.profile_of(instructor_id)
    available = ledger.instructor_available(instructor_id, currency)

    def attempt() -> Payout | None:
        now = clock.now()
        seal, entry_count, balance = ledger.sealed_through(available)
        if _owed(instructor_id, currency).amount:
            repay_owed(instructor_id, balance, now)
            if _owed(instructor_id, currency).amount:
                return None  # nothing is paid while something is owed
            seal, entry_count, balance = ledger.sealed_through(available)
        amount = payout_amount(balance, config.payout_minimum())
        if amount is None:
            return held
        if profile is None:
            return held or _hold(instructor_id, period, amount, account, seal, now)
        since_seal = sum(entry.amount.amount for entry in ledger.entries_between(available, seal))
        if since_seal != balance.amount and ledger.sealed_through(available) != (seal, entry_count, balance):
            raise Contention("an entry was posted while the payout read the account")  # read again
        if since_seal != balance.amount:
            log.error("payout refused: available balance %d is not its entries since the last payout (%d)",
                      balance.amount, since_seal, extra={"fields": {"instructor_id": instructor_id}})
            raise StatementMismatch(f"available balance of {instructor_id} disagrees with its entries")
        payout_id = held.payout_id if held is not None else ids.new_id()
        taxes = tax_profiles.withholding_of(profile, amount)
        uow = UnitOfWork()
        posted = ledger.add_transfer(uow, ledger.payout_transfer(instructor_id, period, payout_id, taxes),
                                     now=now, seal=available, expect_entry_count=entry_count)
        payout = Payout(
            instructor_id=instructor_id, period=period, payout_id=payout_id, status=IN_TRANSIT, amount=amount,
            created_at=now, updated_at=now, from_seq=seal, seal_seq=posted.seq, bank_code=account.bank_code,
            account_last4=account.account_last4, holder_name=account.holder_name,
            account_ciphertext=account.account_ciphertext, tax_kind=profile.kind,
            tax_number_masked=profile.number_masked, income_tax=taxes.income_tax.amount,
            local_income_tax=taxes.local_income_tax.amount,
        )
        store.add_create(uow, payout)
        store.add_withholding_row(uow, tax_month(now), payout, now, returned=False)
        uow.commit()
        log.info("payout created", extra={"fields": {"payout_id": payout_id, "period": period,
                                                     "instructor_id": instructor_id, "amount": amount.amount,
                                                     "withheld": taxes.total.amount}})
        return payout

    try:
        return retry_on_contention(attempt)
    except errors.Conflict:
        existing = store.get(instructor_id, period)  # another delivery created it meanwhile
        if existing is None or (existing.status == HELD and profile is not None):
            raise PayoutNotCreated(f"payout of {instructor_id} for {period}: too many concurrent changes") from None
        return existing


def _hold(instructor_id: str, period: str, amount: Money, account: accounts_store.PayoutAccount, seal: str | None,
          now: datetime) -> Payout:
    """The period's payout, held until the instructor stores a tax profile: it moves no money (what it would
    pay stays available, and is paid whole, with its withholding, by the first run after the profile)."""
    payout = Payout(
        instructor_id=instructor_id, period=period, payout_id=ids.new_id(), status=HELD, amount=amount,
        created_at=now, updated_at=now, from_seq=seal, seal_seq=None, bank_code=account.bank_code,
        account_last4=account.account_last4, holder_name=account.holder_name,
        account_ciphertext=account.account_ciphertext, hold_reason=TAX_PROFILE_MISSING,
    )
    uow = UnitOfWork()
    store.add_create(uow, payout)
    uow.commit()
    log.info("payout held: no tax profile", extra={"fields": {"payout_id": payout.payout_id, "period": period,
                                                             "instructor_id": instructor_id}})
    return payout


def tax_month(moment: datetime) -> str:
    """The month a withholding is reported in: the month in Korea (Asia/Seoul) of its posting."""
    return business_time(moment).strftime("%Y-%m")


def _owed(instructor_id: str, currency: str) -> Money:
    return -ledger.balance_of(ledger.instructor_owed(instructor_id, currency), consistent=True)


def repay_owed(instructor_id: str, available: Money, now: datetime) -> Money:
    """Before a payout: what a clawback left owed is repaid from the available balance first (one transfer,
    a line of the next statement). Raises `Contention` when either balance changed since it was read."""
    repaid = repayment(available, _owed(instructor_id, available.currency))
    if repaid.amount:
        uow = UnitOfWork()
        ledger.add_transfer(uow, ledger.owed_repayment_transfer(instructor_id, ids.new_id(), repaid), now=now,
                            on_insufficient=lambda _account: Contention("a balance changed while owed was repaid"))
        uow.commit()
        log.info("owed repaid from available", extra={"fields": {"instructor_id": instructor_id,
                                                                  "amount": repaid.amount}})
    return repaid


def complete(payout: Payout) -> Payout:
    """Steps (b) and (c): send the payout (again: the port is idempotent) and record the outcome."""
    gateway = payout_gateway()
    outcome = gateway.send(PayoutRequest(
        payout_id=payout.payout_id, instructor_id=payout.instructor_id, amount=payout.withholding.net,
        bank_code=payout.bank_code,
        account_number=payout_accounts.account_number(payout.instructor_id, payout.account_ciphertext),
        holder_name=payout.holder_name, description=f"classpay {payout.period}",
    ))
    if outcome.status not in (PAID, FAILED):
        log.info("payout pending at the bank", extra={"fields": {"payout_id": payout.payout_id,
                                                                 "reason": outcome.reason}})
        raise PayoutPending(f"payout {payout.payout_id}: {outcome.reason or 'no answer yet'}")
    return record(payout, outcome.status, outcome.reference, outcome.reason)


def record(payout: Payout, status: str, reference: str | None = None, reason: str | None = None) -> Payout:
    """Step (c): the outcome and its transfer in one transaction (once: the payout must be in transit)."""
    currency = payout.amount.currency
    transfer = ledger.payout_outcome_transfer(payout, paid=status == PAID)

    def attempt() -> None:
        now = clock.now()
        uow = UnitOfWork()
        store.add_outcome(uow, payout, status, now, reference, reason)
        ledger.add_transfer(uow, transfer, now=now)
        if status != PAID and payout.tax_kind is not None:  # its withholding reversed, in this month's report
            store.add_withholding_row(uow, tax_month(now), payout, now, returned=True)
        uow.commit()

    try:
        retry_on_contention(attempt)
    except errors.Conflict:
        pass  # recorded by another delivery meanwhile: read below
    else:
        if status == PAID:
            metrics.emit(metrics.PAYOUTS_PAID)
            metrics.emit(metrics.PAYOUT_AMOUNT, payout.amount.amount, unit="None", Currency=currency)
        else:
            metrics.emit(metrics.PAYOUTS_FAILED)
        log.info("payout %s", status, extra={"fields": {"payout_id": payout.payout_id, "reason": reason}})
    recorded = store.get(payout.instructor_id, payout.period)
    if recorded is None or recorded.status == IN_TRANSIT:
        raise PayoutPending(f"payout {payout.payout_id}: its outcome could not be recorded yet")
    return recorded


# --- statements -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class StatementLine:
    kind: str  # sale | refund (of a settled sale: a clawback) | owed_repaid | returned_payout | <another kind>
    amount: Money  # signed: what it added to (or took from) the payout
    posted_at: datetime
    order_id: str | None = None
    refund_id: str | None = None
    payout_id: str | None = None


_LINE_KINDS = {"settlement": "sale", "refund": "refund", "payout_returned": "returned_payout",
               "owed_repaid": "owed_repaid"}


def statement(payout: Payout) -> list[StatementLine]:
    """What the payout paid: the available account's entries between its two seals, oldest first."""
    available = ledger.instructor_available(payout.instructor_id, payout.amount.currency)
    entries = list(ledger.entries_between(available, payout.from_seq, payout.seal_seq))
    memos = ledger.transfers([e.transfer_id for e in entries if e.transfer_kind != "settlement"])
    lines = []
    for entry in entries:
        memo = memos.get(entry.transfer_id, {})
        order_id = memo.get("order_id") or (entry.transfer_id.split(":", 1)[1]
                                            if entry.transfer_kind in ("settlement", "refund") else None)
        lines.append(StatementLine(
            kind=_LINE_KINDS.get(entry.transfer_kind, entry.transfer_kind), amount=entry.amount,
            posted_at=entry.posted_at, order_id=order_id, refund_id=memo.get("refund_id"),
            payout_id=memo.get("payout_id") if entry.transfer_kind == "payout_returned" else None,
        ))
    return lines


def payouts_of(instructor_id: str, limit: int, cursor: str | None) -> tuple[list[Payout], str | None]:
    return store.of_instructor(instructor_id, limit, cursor)


def payout_of(instructor_id: str, payout_id: str) -> tuple[Payout, list[StatementLine]]:
    payout = store.by_id(instructor_id, payout_id)
    if payout is None:
        raise errors.NotFound("No such payout")
    return payout, statement(payout)
