"""The double-entry ledger: accounts, transfers, entries. The single source of truth for money.

Nothing else writes balances. A use case that moves money takes its event's
`Transfer` from the builders here (`topup_transfer`, `purchase_transfer`,
`refund_transfer`, `refund_sent_transfer`, `settlement_transfer`, `owed_repayment_transfer`, `payout_transfer`,
`payout_outcome_transfer`: which accounts each event moves, in one place) and
adds it to the unit of work that also carries its own state change:

    uow = UnitOfWork()
    topups.add_transition(uow, topup_id, CONFIRMED, now, from_statuses=(PENDING,), ...)
    ledger.add_transfer(uow, ledger.topup_transfer(topup_id, user_id, amount))
    receipt.record_result(uow, topup)       # the idempotency record, same transaction
    uow.commit()                            # ONE TransactWriteItems: all of it or none of it

Amounts are signed integers in minor units, seen from the account holder: a
credit (+) means the platform owes the account more, a debit (-) less. A
transfer's legs sum to zero per currency (checked in code before anything is
written), so all entries of the ledger sum to zero per currency. A learner
wallet and every instructor balance may never go below zero: each debit's
balance update carries the condition `balance >= amount`; when it fails the
whole transaction is cancelled and the caller gets `InsufficientFunds` (or its
own `on_insufficient` error). The gateway clearing account is the money's
source: it goes negative by design (what the payment gateway holds for us).

Transfer ids are deterministic per business event (`topup:<id>`,
`order:<id>`, `refund:<order_id>`, then `refund:<order_id>:<n>` for an order's n-th refund): the
journal item is written only if the id is
new, so an event cannot be posted twice even if a caller's own guard were
wrong.

Hot accounts. Platform revenue and gateway clearing take part in every top-up
and purchase, so a running balance item for them would be one DynamoDB item
every transaction writes: concurrent purchases of different courses would
cancel each other (TransactionConflict) and the item's partition would cap
throughput. They therefore keep NO balance item at all: only entries, spread
over `HOT_SHARDS` books (`<account_id>#<shard>`, shard = crc32(transfer_id) %
HOT_SHARDS). Two transfers never write the same item of a hot account, so they
never contend, whatever the shard count; the shards only spread write
throughput over partitions. Their balance is the sum of their entries,
computed on demand (admin reports and reconciliation, never a money
decision: nothing ever needs to guard them). The alternative, N sharded
balance items, still collides with probability 1/N per pair of concurrent
transactions and adds N items to reconcile for no decision that needs them.
`HOT_SHARDS` may be raised, never lowered (older shards would go unread).

Statements and seals. An instructor's available balance is paid out whole, and
each payout's statement lists the entries it pays: those posted since the
previous payout. Entries sort by their transfer's `seq` (a ULID taken before
the commit), so a transfer that took its seq before a payout but committed
after it would fall between two statements. A sealable account
(`SEALABLE_KINDS`) therefore carries `sealed_through`: the payout's transfer
seals it (`add_transfer(..., seal=account)`), and every later entry on it must
have a later seq; one that does not is refused (`Contention`: the use case
retries with a new seq, which lands in the next statement; a debit's refusal
reads as its `on_insufficient`, since the payout has just taken the balance).
With `expect_entry_count` the sealing transfer also requires that nothing was
posted to the account since it was read, so the entries it read are exactly
the ones it closes over, and the balance it read is exactly what it moves.

Each balance item also counts its entries (`entry_count`), so reconciliation
can prove "each balance equals the sum of its entries" in sum and in count.
A transfer costs 1 (journal) + legs (entries) + balance-keeping legs items
of the 100 a DynamoDB transaction holds; `items_needed` says how many.
"""

import enum
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from chalicelib import clock, errors, ids
from chalicelib.money import CURRENCIES, Money
from chalicelib.store import ledger as store
from chalicelib.store.transactions import Contention, UnitOfWork

if TYPE_CHECKING:
    from chalicelib.domain.withholding import Withholding
    from chalicelib.store.orders import Order, RefundPart
    from chalicelib.store.payouts import Payout

HOT_SHARDS = 16
MAX_LEGS = 16


class AccountKind(enum.StrEnum):
    LEARNER_WALLET = "learner_wallet"
    INSTRUCTOR_PENDING = "instructor_pending"
    INSTRUCTOR_AVAILABLE = "instructor_available"
    INSTRUCTOR_IN_TRANSIT = "instructor_in_transit"  # payouts sent to the bank, not yet confirmed paid
    INSTRUCTOR_PAID_OUT = "instructor_paid_out"  # what has been paid to the instructor, all time
    # What the instructor owes the platform: the part of a clawback their available balance did not cover.
    # A receivable, so its balance is never above zero (-5,000: the instructor owes 5,000).
    INSTRUCTOR_OWED = "instructor_owed"
    PLATFORM_REVENUE = "platform_revenue"
    VAT_PAYABLE = "vat_payable"  # the VAT in platform fees, owed to the tax office (domain/vat.py)
    GATEWAY_CLEARING = "gateway_clearing"
    CHECKOUT_HOLDS = "checkout_holds"  # the wallet part a pending checkout holds; owned by the checkout
    # Card parts of refunds written but not yet cancelled at the PG: what the platform owes the cards back.
    REFUNDS_IN_TRANSIT = "refunds_in_transit"
    # Income tax and local income tax withheld from payouts to individuals, owed to the tax office (and the
    # local government) until filed and paid each month (domain/withholding.py).
    INCOME_TAX_PAYABLE = "income_tax_payable"
    LOCAL_INCOME_TAX_PAYABLE = "local_income_tax_payable"


OWNED_KINDS = frozenset({
    AccountKind.LEARNER_WALLET, AccountKind.INSTRUCTOR_PENDING, AccountKind.INSTRUCTOR_AVAILABLE,
    AccountKind.INSTRUCTOR_IN_TRANSIT, AccountKind.INSTRUCTOR_PAID_OUT, AccountKind.CHECKOUT_HOLDS,
    AccountKind.INSTRUCTOR_OWED,
})
HOT_KINDS = frozenset({AccountKind.PLATFORM_REVENUE, AccountKind.GATEWAY_CLEARING, AccountKind.REFUNDS_IN_TRANSIT,
                       AccountKind.VAT_PAYABLE})
# Accounts that may hold a negative balance: the clearing account is where money enters the ledger.
MAY_GO_NEGATIVE = frozenset({AccountKind.GATEWAY_CLEARING, AccountKind.INSTRUCTOR_OWED})
# Receivables: never above zero (a credit that would take one above zero is refused, as a debit below zero is).
NEVER_POSITIVE = frozenset({AccountKind.INSTRUCTOR_OWED})
# Accounts whose entries are closed into statements by a sealing transfer (payouts).
SEALABLE_KINDS = frozenset({AccountKind.INSTRUCTOR_AVAILABLE})
# Withholding payable: every payout posts to them, concurrently, so like platform revenue they keep no balance item.
TAX_PAYABLE_KINDS = frozenset({AccountKind.INCOME_TAX_PAYABLE, AccountKind.LOCAL_INCOME_TAX_PAYABLE})
HOT_KINDS = HOT_KINDS | TAX_PAYABLE_KINDS


class LedgerError(ValueError):
    """A transfer that must never be written (unbalanced, malformed): a bug in the caller, not a user error."""


@dataclass(frozen=True)
class Account:
    kind: AccountKind
    currency: str
    owner_id: str | None = None

    def __post_init__(self):
        if self.currency not in CURRENCIES:
            raise LedgerError(f"unsupported currency {self.currency!r}")
        if (self.owner_id is not None) != (self.kind in OWNED_KINDS):
            raise LedgerError(f"{self.kind} accounts {'need' if self.kind in OWNED_KINDS else 'have no'} owner")
        if self.owner_id is not None and (not self.owner_id or ":" in self.owner_id or "#" in self.owner_id):
            raise LedgerError(f"bad owner id {self.owner_id!r}")

    @property
    def account_id(self) -> str:
        if self.owner_id is None:
            return f"{self.kind}:{self.currency}"
        return f"{self.kind}:{self.owner_id}:{self.currency}"

    @property
    def hot(self) -> bool:
        return self.kind in HOT_KINDS

    @property
    def never_negative(self) -> bool:
        return self.kind not in MAY_GO_NEGATIVE

    @property
    def never_positive(self) -> bool:
        return self.kind in NEVER_POSITIVE

    def books(self) -> list[str]:
        """Where its entries live: the account id, or one book per shard for a hot account."""
        if not self.hot:
            return [self.account_id]
        return [f"{self.account_id}#{shard:02d}" for shard in range(HOT_SHARDS)]

    def book_for(self, transfer_id: str) -> str:
        if not self.hot:
            return self.account_id
        return f"{self.account_id}#{zlib.crc32(transfer_id.encode()) % HOT_SHARDS:02d}"

    @classmethod
    def parse(cls, account_id: str) -> "Account":
        parts = account_id.split(":")
        try:
            if len(parts) == 2:
                return cls(AccountKind(parts[0]), parts[1])
            if len(parts) == 3:
                return cls(AccountKind(parts[0]), parts[2], parts[1])
        except ValueError:
            pass
        raise LedgerError(f"not an account id: {account_id!r}")


def learner_wallet(user_id: str, currency: str) -> Account:
    return Account(AccountKind.LEARNER_WALLET, currency, user_id)


def instructor_pending(user_id: str, currency: str) -> Account:
    return Account(AccountKind.INSTRUCTOR_PENDING, currency, user_id)


def instructor_available(user_id: str, currency: str) -> Account:
    return Account(AccountKind.INSTRUCTOR_AVAILABLE, currency, user_id)


def instructor_in_transit(user_id: str, currency: str) -> Account:
    return Account(AccountKind.INSTRUCTOR_IN_TRANSIT, currency, user_id)


def instructor_paid_out(user_id: str, currency: str) -> Account:
    return Account(AccountKind.INSTRUCTOR_PAID_OUT, currency, user_id)


def instructor_owed(user_id: str, currency: str) -> Account:
    return Account(AccountKind.INSTRUCTOR_OWED, currency, user_id)


def platform_revenue(currency: str) -> Account:
    return Account(AccountKind.PLATFORM_REVENUE, currency)


def vat_payable(currency: str) -> Account:
    return Account(AccountKind.VAT_PAYABLE, currency)


def gateway_clearing(currency: str) -> Account:
    return Account(AccountKind.GATEWAY_CLEARING, currency)


def refunds_in_transit(currency: str) -> Account:
    return Account(AccountKind.REFUNDS_IN_TRANSIT, currency)


def income_tax_payable(currency: str) -> Account:
    return Account(AccountKind.INCOME_TAX_PAYABLE, currency)


def local_income_tax_payable(currency: str) -> Account:
    return Account(AccountKind.LOCAL_INCOME_TAX_PAYABLE, currency)


def checkout_holds(checkout_id: str, currency: str) -> Account:
    """The wallet part a pending checkout holds: one account per checkout, so checkouts never share an item."""
    return Account(AccountKind.CHECKOUT_HOLDS, currency, checkout_id)


@dataclass(frozen=True)
class Leg:
    """One account's side of a transfer; `amount` is signed (credit +, debit -)."""

    account: Account
    amount: Money


def credit(account: Account, money: Money) -> Leg:
    return Leg(account, money)


def debit(account: Account, money: Money) -> Leg:
    return Leg(account, -money)


@dataclass(frozen=True)
class Transfer:
    """A balanced movement of money: legs that sum to zero per currency.

    `transfer_id` names the business event and must be the same on every retry of it
    (e.g. `order:<order_id>`); `memo` carries references for statements (e.g. `{"order_id": ...}`).
    """

    transfer_id: str
    kind: str
    legs: tuple[Leg, ...]
    memo: dict[str, str] = field(default_factory=dict)

    def validate(self) -> None:
        if not self.transfer_id or len(self.transfer_id) > 200 or "#" in self.transfer_id:
            raise LedgerError(f"bad transfer id {self.transfer_id!r}")
        if not self.kind:
            raise LedgerError("a transfer needs a kind")
        if not 2 <= len(self.legs) <= MAX_LEGS:
            raise LedgerError(f"a transfer has 2 to {MAX_LEGS} legs, not {len(self.legs)}")
        seen: set[str] = set()
        totals: dict[str, int] = {}
        for leg in self.legs:
            if leg.amount.currency != leg.account.currency:
                raise LedgerError(f"{leg.amount.currency} leg on {leg.account.account_id}")
            if leg.amount.amount == 0:
                raise LedgerError(f"zero leg on {leg.account.account_id}")
            if leg.account.account_id in seen:
                # One DynamoDB item once per transaction, and a net amount per account is clearer anyway.
                raise LedgerError(f"{leg.account.account_id} appears twice in transfer {self.transfer_id}")
            seen.add(leg.account.account_id)
            totals[leg.amount.currency] = totals.get(leg.amount.currency, 0) + leg.amount.amount
        unbalanced = {currency: total for currency, total in totals.items() if total != 0}
        if unbalanced:
            raise LedgerError(f"transfer {self.transfer_id} does not balance: {unbalanced}")


# --- the transfer of each business event ----------------------------------------------------------
# Which accounts an event moves, in one place; the use cases add them to their unit of work.

def _nonzero(*legs: Leg) -> tuple[Leg, ...]:
    return tuple(leg for leg in legs if leg.amount.amount)


def topup_transfer(topup_id: str, owner_id: str, amount: Money) -> Transfer:
    """A confirmed top-up: from what the payment gateway holds for us into the learner's wallet."""
    return Transfer(f"topup:{topup_id}", "topup",
                    (debit(gateway_clearing(amount.currency), amount),
                     credit(learner_wallet(owner_id, amount.currency), amount)),
                    memo={"topup_id": topup_id})


PURCHASE = "purchase"  # a wallet purchase's transfer kind (`order:<order_id>`)


def purchase_transfer(order: "Order") -> Transfer | None:
    """A purchase: the learner's wallet pays the total, the instructor's share goes to pending (each party's
    part of it to theirs, under the order's revenue split) and the fee to platform revenue and VAT payable.
    None when the order is free (a 100% coupon moves no money)."""
    currency = order.total.currency
    legs = _nonzero(debit(learner_wallet(order.learner_id, currency), order.total),
                    *(credit(instructor_pending(party.instructor_id, currency), party.amount) for party in order.parties),
                    *_fee_legs(credit, order.platform_fee, order.platform_vat))
    if not legs:
        return None
    return Transfer(f"order:{order.order_id}", PURCHASE, legs,
                    memo={"order_id": order.order_id, "course_id": order.course_id})


def _fee_legs(side: Callable[[Account, Money], Leg], fee: Money, vat: Money) -> tuple[Leg, ...]:
    """A fee (or its part given back) on platform revenue and VAT payable: the VAT in it is owed to the tax office."""
    return (side(platform_revenue(fee.currency), fee - vat), side(vat_payable(fee.currency), vat))


def refund_transfer(order: "Order", part: "RefundPart", owed: Mapping[str, Money]) -> Transfer | None:
    """A refund `part` back to where it goes (its wallet part to the learner's wallet, its card part in transit
    to the card until the PG cancelled it: `refund_sent_transfer`), taken back from platform revenue (its
    `fee_back`) and from the instructor (its `share_back`): from pending before the sale settled, after it
    from available, and what available did not cover (`owed`, a clawback, by party) becomes owed; each party
    of the order's revenue split gives back its own part. None for 0."""
    currency = part.amount.currency
    balance = instructor_available if order.settled_at else instructor_pending
    zero = Money.zero(currency)
    legs = _nonzero(credit(learner_wallet(order.learner_id, currency), part.wallet_part),
                    credit(refunds_in_transit(currency), part.card_part),
                    *(leg for party, back in order.parts_back(part)
                      for leg in (debit(balance(party, currency), back - owed.get(party, zero)),
                                  debit(instructor_owed(party, currency), owed.get(party, zero)))),
                    *_fee_legs(debit, part.fee_back, part.vat_part))
    if not legs:
        return None
    return Transfer(part.transfer_id, "refund", legs,
                    memo={"order_id": order.order_id, "refund_id": part.refund_id})


def refund_sent_transfer(order: "Order", part: "RefundPart") -> Transfer:
    """A refund's card part cancelled at the PG: out of transit, back to the gateway clearing account the
    checkout's card money came from."""
    currency = part.amount.currency
    return Transfer(f"refund_sent:{part.refund_id}", "refund_sent",
                    (debit(refunds_in_transit(currency), part.card_part), credit(gateway_clearing(currency), part.card_part)),
                    memo={"order_id": order.order_id, "refund_id": part.refund_id})


def owed_repayment_transfer(instructor_id: str, repayment_id: str, amount: Money) -> Transfer:
    """Earnings (the instructor's available balance) repay what a clawback left owed, before any payout."""
    return Transfer(f"owed_repaid:{instructor_id}:{repayment_id}", "owed_repaid",
                    (debit(instructor_available(instructor_id, amount.currency), amount),
                     credit(instructor_owed(instructor_id, amount.currency), amount)),
                    memo={"repayment_id": repayment_id})


def settlement_transfer(order: "Order", shares: Mapping[str, Money]) -> Transfer | None:
    """A sale settled: each party's part (what no refund took back, `shares` by instructor) moves from their
    pending to available. None when refunds took it all."""
    legs = _nonzero(*(leg for party, share in shares.items()
                      for leg in (debit(instructor_pending(party, share.currency), share),
                                  credit(instructor_available(party, share.currency), share))))
    if not legs:
        return None
    return Transfer(f"settle:{order.order_id}", "settlement", legs,
                    memo={"order_id": order.order_id, "course_id": order.course_id})


def _withheld_legs(side: Callable[[Account, Money], Leg], taxes: "Withholding") -> tuple[Leg, ...]:
    return (side(income_tax_payable(taxes.gross.currency), taxes.income_tax),
            side(local_income_tax_payable(taxes.gross.currency), taxes.local_income_tax))


def payout_transfer(instructor_id: str, period: str, payout_id: str, taxes: "Withholding") -> Transfer:
    """A payout created: its gross leaves the instructor's available balance, the withholding goes to the tax
    payable accounts and the rest (net) in transit to the bank."""
    currency = taxes.gross.currency
    return Transfer(f"payout:{instructor_id}:{period}", "payout",
                    _nonzero(debit(instructor_available(instructor_id, currency), taxes.gross),
                             credit(instructor_in_transit(instructor_id, currency), taxes.net),
                             *_withheld_legs(credit, taxes)),
                    memo={"payout_id": payout_id, "period": period})


def payout_outcome_transfer(payout: "Payout", paid: bool) -> Transfer:
    """A payout's outcome: its net in transit to paid out, or, when the bank refused it, its net and its
    withholding back to available (the gross is paid, and withheld from, with the next period's payout)."""
    instructor, taxes = payout.instructor_id, payout.withholding
    currency = taxes.gross.currency
    if paid:
        kind = "payout_paid"
        legs = (debit(instructor_in_transit(instructor, currency), taxes.net),
                credit(instructor_paid_out(instructor, currency), taxes.net))
    else:
        kind = "payout_returned"
        legs = _nonzero(debit(instructor_in_transit(instructor, currency), taxes.net), *_withheld_legs(debit, taxes),
                        credit(instructor_available(instructor, currency), taxes.gross))
    return Transfer(f"{kind}:{instructor}:{payout.period}", kind, legs,
                    memo={"payout_id": payout.payout_id, "period": payout.period})


CHECKOUT_HOLD, CHECKOUT_VOID, CHECKOUT_POST = "checkout_hold", "checkout_void", "checkout"


def checkout_hold_transfer(checkout_id: str, learner_id: str, amount: Money) -> Transfer:
    """A pending checkout holds its wallet part: wallet -> the checkout's held account (a two-phase transfer's
    pending half; `checkout_post_transfer` posts it, `checkout_void_transfer` voids it, one of them once)."""
    return Transfer(f"{CHECKOUT_HOLD}:{checkout_id}", CHECKOUT_HOLD,
                    (debit(learner_wallet(learner_id, amount.currency), amount),
                     credit(checkout_holds(checkout_id, amount.currency), amount)),
                    memo={"checkout_id": checkout_id})


def checkout_void_transfer(checkout_id: str, learner_id: str, amount: Money) -> Transfer:
    """A checkout not paid (declined, expired, cancelled): its held wallet part back to the wallet."""
    return Transfer(f"{CHECKOUT_VOID}:{checkout_id}", CHECKOUT_VOID,
                    (debit(checkout_holds(checkout_id, amount.currency), amount),
                     credit(learner_wallet(learner_id, amount.currency), amount)),
                    memo={"checkout_id": checkout_id})


def checkout_post_transfer(checkout_id: str, orders: list["Order"], amount_due: Money,
                           wallet_amount: Money) -> Transfer | None:
    """A paid checkout: what the gateway captured (`amount_due`, from clearing) and the held wallet part pay
    each instructor's pending share of their orders and the platform's fees. None for a free cart."""
    currency = amount_due.currency
    shares: dict[str, Money] = {}
    for order in orders:
        for party in order.parties:
            shares[party.instructor_id] = shares.get(party.instructor_id, Money.zero(currency)) + party.amount
    fees = sum((order.platform_fee for order in orders), Money.zero(currency))
    vat = sum((order.platform_vat for order in orders), Money.zero(currency))
    legs = _nonzero(debit(gateway_clearing(currency), amount_due),
                    debit(checkout_holds(checkout_id, currency), wallet_amount),
                    *(credit(instructor_pending(instructor, currency), share)
                      for instructor, share in sorted(shares.items())),
                    *_fee_legs(credit, fees, vat))
    if not legs:
        return None
    return Transfer(f"{CHECKOUT_POST}:{checkout_id}", CHECKOUT_POST, legs,
                    memo={"checkout_id": checkout_id, "order_ids": ",".join(order.order_id for order in orders)})


@dataclass(frozen=True)
class PostedTransfer:
    transfer: Transfer
    seq: str
    posted_at: datetime


def items_needed(transfer: Transfer) -> int:
    """How many of a transaction's 100 items posting `transfer` takes."""
    return 1 + len(transfer.legs) + sum(1 for leg in transfer.legs if not leg.account.hot)


def _insufficient(account: Account) -> errors.DomainError:
    if account.kind == AccountKind.LEARNER_WALLET:
        return errors.InsufficientFunds("The wallet balance is too low for this payment")
    return errors.Conflict(f"The {account.kind.replace('_', ' ')} balance is too low for this transfer")


def add_transfer(
    uow: UnitOfWork,
    transfer: Transfer,
    *,
    now: datetime | None = None,
    on_insufficient: Callable[[Account], errors.DomainError] | None = None,
    seal: Account | None = None,
    expect_entry_count: int | None = None,
) -> PostedTransfer:
    """Validate `transfer` and add its writes to `uow` (nothing is written until `uow.commit()`).

    When the transaction is cancelled because a debit would take a balance below zero, the commit
    raises `on_insufficient(account)` (default: `InsufficientFunds` for a wallet, `Conflict` otherwise).
    A transfer id that was posted before cancels it with `Conflict`.

    `seal`: an account of the transfer (of a sealable kind) that this transfer closes a statement of;
    with `expect_entry_count`, only if that account still has exactly that many entries. Either
    refusal raises `Contention` (read again and retry). See "Statements and seals" above.
    """
    transfer.validate()
    if seal is not None and (seal.kind not in SEALABLE_KINDS
                             or seal.account_id not in {leg.account.account_id for leg in transfer.legs}):
        raise LedgerError(f"transfer {transfer.transfer_id} cannot seal {seal.account_id}")
    if items_needed(transfer) > uow.room:
        raise LedgerError(f"transfer {transfer.transfer_id} needs {items_needed(transfer)} items, {uow.room} left")
    posted_at = now or clock.now()
    seq = ids.new_id()
    mapper = on_insufficient or _insufficient
    legs = [
        store.PostingLeg(
            account_id=leg.account.account_id,
            book=leg.account.book_for(transfer.transfer_id),
            kind=str(leg.account.kind),
            owner_id=leg.account.owner_id,
            currency=leg.amount.currency,
            amount=leg.amount.amount,
            keeps_balance=not leg.account.hot,
            never_negative=leg.account.never_negative,
            never_positive=leg.account.never_positive,
            on_insufficient=(lambda account=leg.account: mapper(account)),
            sealable=leg.account.kind in SEALABLE_KINDS,
            seal=seal is not None and leg.account.account_id == seal.account_id,
            expected_entry_count=(expect_entry_count if seal is not None
                                  and leg.account.account_id == seal.account_id else None),
            on_conflict=lambda: Contention("an entry was posted to a sealed account meanwhile"),
        )
        for leg in transfer.legs
    ]
    store.add_posting(
        uow, transfer_id=transfer.transfer_id, transfer_kind=transfer.kind, seq=seq, posted_at=posted_at,
        legs=legs, memo=dict(transfer.memo),
    )
    return PostedTransfer(transfer, seq, posted_at)


# --- reads -----------------------------------------------------------------------------------------

def balance_of(account: Account, consistent: bool = False) -> Money:
    """An account's balance. For a hot account this sums its entries: admin use only."""
    if account.hot:
        return sum((entry.amount for entry in entries_of(account)), Money.zero(account.currency))
    state = store.get_account(account.account_id, consistent=consistent)
    return state.balance if state else Money.zero(account.currency)


def balances_of(accounts: list[Account]) -> dict[str, Money]:
    """Balances of many balance-keeping accounts by account id (100 a DynamoDB call; eventually consistent:
    for choosing whom to look at, never for a money decision)."""
    states = store.get_accounts([account.account_id for account in accounts])
    return {account.account_id: states[account.account_id].balance if account.account_id in states
            else Money.zero(account.currency) for account in accounts}


def entries_of(account: Account) -> Iterator[store.LedgerEntry]:
    """Every entry of an account, paged from DynamoDB as it is consumed (reconciliation, reports)."""
    for book in account.books():
        yield from store.all_entries(book)


def history(account: Account, limit: int, cursor: str | None) -> tuple[list[store.LedgerEntry], str | None]:
    """A page of an account's entries, newest first (not for hot accounts, whose entries are sharded)."""
    if account.hot:
        raise LedgerError("a hot account's history is read shard by shard with entries_of")
    return store.entries_page(account.account_id, limit, cursor)


def entries_between(account: Account, after_seq: str | None, before_seq: str | None = None) -> Iterator[store.LedgerEntry]:
    """An account's entries whose transfer seq is after `after_seq` and before `before_seq` (either
    bound None: open), oldest first, read consistently. Not for hot accounts."""
    if account.hot:
        raise LedgerError("a hot account's entries are read shard by shard with entries_of")
    # entry ids are `<seq>.<leg>`: every entry of the transfer `after_seq` sorts after `after_seq` itself
    after = f"{after_seq}.~" if after_seq else None
    for entry in store.entries_after(account.account_id, after):
        if before_seq is not None and entry.entry_id >= before_seq:
            return
        yield entry


def sealed_through(account: Account) -> tuple[str | None, int, Money]:
    """A sealable account's last seal, entry count and balance, read consistently (one GetItem)."""
    state = store.get_account(account.account_id, consistent=True)
    if state is None:
        return None, 0, Money.zero(account.currency)
    return state.sealed_through, state.entry_count, state.balance


def transfers(transfer_ids: list[str]) -> dict[str, dict[str, str]]:
    """The memos of posted transfers by id (for statements: which order or refund an entry was)."""
    return store.memos_of(transfer_ids)


def transfer_posted(transfer_id: str) -> bool:
    """Whether a business event's transfer is in the journal (recovery checks use this)."""
    return store.transfer_posted(transfer_id)
