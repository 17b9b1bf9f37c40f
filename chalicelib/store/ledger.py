"""The ledger's tables. Only `chalicelib/services/ledger.py` calls the writers here.

Table `<prefix>ledger_accounts` — one balance item per balance-keeping account
    hash key  account_id            e.g. `learner_wallet:<user_id>:KRW`
    GSI by_kind (KEYS_ONLY)         hash kind, range account_id
    attributes kind, owner_id, currency, balance (signed int, minor units),
               entry_count, opened_at, updated_at,
               sealed_through (sealable accounts: the seq of the last statement's closing transfer;
               no entry with an earlier seq may be added after it, see services/ledger.py)

Table `<prefix>ledger_entries` — one item per leg of a transfer
    hash key  book                  the account id; for a hot account `<account_id>#<shard>`
    range key entry_id              `<transfer seq ULID>.<leg>`: a book's entries sort by posting time
    attributes account_id, transfer_id, transfer_kind, amount (signed), currency, posted_at

Table `<prefix>ledger_transfers` — the journal: one item per transfer, with all its legs
    hash key  transfer_id           deterministic per business event (e.g. `topup:<topup_id>`)

Access patterns
    a balance ................................ GetItem ledger_accounts
    many balances (the payout job) ........... BatchGetItem ledger_accounts
    post a transfer .......................... TransactWriteItems: Put transfer (if new),
                                               Put each entry (if new), Update each balance
                                               (ADD, guarded: never below zero)
    an account's history, newest first ....... Query ledger_entries book = account (shards for hot)
    a transfer by id ......................... GetItem ledger_transfers
    transfers of a statement's lines ......... BatchGetItem ledger_transfers
    an account's entries since its last seal . Query ledger_entries book = account, entry_id > seal
    every account of a kind (reconciliation) . Query GSI by_kind (KEYS_ONLY: balance updates do not
                                               write the index; only opening an account does)

The by_kind index is projected KEYS_ONLY on purpose: a balance update changes no
attribute of the index, so it costs no index write and cannot throttle on it.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from pynamodb.attributes import (
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib import errors
from chalicelib.money import Money
from chalicelib.store.base import table_meta
from chalicelib.store.cursors import decode_cursor, encode_cursor
from chalicelib.store.transactions import UnitOfWork


class AccountsByKind(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_kind"
        projection = KeysOnlyProjection()

    kind = UnicodeAttribute(hash_key=True)
    account_id = UnicodeAttribute(range_key=True)


class LedgerAccountItem(Model):
    Meta = table_meta("ledger_accounts")

    account_id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute()
    owner_id = UnicodeAttribute(null=True)
    currency = UnicodeAttribute()
    balance = NumberAttribute(default=0)
    entry_count = NumberAttribute(default=0)
    sealed_through = UnicodeAttribute(null=True)
    opened_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    by_kind = AccountsByKind()


class LedgerEntryItem(Model):
    Meta = table_meta("ledger_entries")

    book = UnicodeAttribute(hash_key=True)
    entry_id = UnicodeAttribute(range_key=True)
    account_id = UnicodeAttribute()
    transfer_id = UnicodeAttribute()
    transfer_kind = UnicodeAttribute()
    amount = NumberAttribute()
    currency = UnicodeAttribute()
    posted_at = UTCDateTimeAttribute()


class LegMap(MapAttribute):
    account_id = UnicodeAttribute()
    amount = NumberAttribute()
    currency = UnicodeAttribute()


class LedgerTransferItem(Model):
    Meta = table_meta("ledger_transfers")

    transfer_id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute()
    seq = UnicodeAttribute()
    posted_at = UTCDateTimeAttribute()
    legs = ListAttribute(of=LegMap)
    memo = MapAttribute(default=dict)


MODELS = (LedgerAccountItem, LedgerEntryItem, LedgerTransferItem)


# --- records ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LedgerEntry:
    """One leg of a posted transfer as its account's book holds it; `amount` is signed (credit +, debit -)."""

    account_id: str
    transfer_id: str
    transfer_kind: str
    amount: Money
    posted_at: datetime
    entry_id: str  # `<transfer seq>.<leg>`: entries of a book sort by it


@dataclass(frozen=True)
class AccountState:
    """What a balance-keeping account's item holds: its balance, how many entries it has, its last seal."""

    balance: Money
    entry_count: int
    sealed_through: str | None


def _to_entry(item: LedgerEntryItem) -> LedgerEntry:
    return LedgerEntry(item.account_id, item.transfer_id, item.transfer_kind, Money(int(item.amount), item.currency),
                       item.posted_at, item.entry_id)


def _to_state(item: LedgerAccountItem) -> AccountState:
    return AccountState(Money(int(item.balance), item.currency), int(item.entry_count or 0), item.sealed_through)


# --- reads -----------------------------------------------------------------------------------------

def get_account(account_id: str, consistent: bool = False) -> AccountState | None:
    try:
        return _to_state(LedgerAccountItem.get(account_id, consistent_read=consistent))
    except LedgerAccountItem.DoesNotExist:
        return None


def get_accounts(account_ids: list[str]) -> dict[str, AccountState]:
    """Account states by account id (BatchGetItem, 100 a call); accounts never opened are left out."""
    return {item.account_id: _to_state(item)
            for item in LedgerAccountItem.batch_get(list(dict.fromkeys(account_ids)))}


def transfer_posted(transfer_id: str) -> bool:
    """Whether the journal holds `transfer_id` (read consistently)."""
    try:
        LedgerTransferItem.get(transfer_id, consistent_read=True)
    except LedgerTransferItem.DoesNotExist:
        return False
    return True


def memos_of(transfer_ids: list[str]) -> dict[str, dict[str, str]]:
    """Posted transfers' memos by id (BatchGetItem, 100 a call); ids not in the journal are left out."""
    return {item.transfer_id: item.memo.as_dict() if item.memo else {}
            for item in LedgerTransferItem.batch_get(list(dict.fromkeys(transfer_ids)))}


def entries_after(book: str, after_entry_id: str | None, page_size: int = 500) -> Iterator[LedgerEntry]:
    """A book's entries after `after_entry_id` (exclusive; None: from the first), oldest first, read
    consistently (statements: the entries since the last seal)."""
    condition = LedgerEntryItem.entry_id > after_entry_id if after_entry_id else None
    for item in LedgerEntryItem.query(book, condition, consistent_read=True, page_size=page_size):
        yield _to_entry(item)


def entries_page(book: str, limit: int, cursor: str | None,
                 newest_first: bool = True) -> tuple[list[LedgerEntry], str | None]:
    """One page of a book's entries; (entries, the next page's cursor)."""
    result = LedgerEntryItem.query(book, limit=limit, scan_index_forward=not newest_first,
                                   last_evaluated_key=decode_cursor(cursor, partition={"book": book}))
    return [_to_entry(item) for item in result], encode_cursor(result.last_evaluated_key)


def all_entries(book: str, consistent: bool = True) -> Iterator[LedgerEntry]:
    """Every entry of a book, oldest first, page by page (reconciliation)."""
    for item in LedgerEntryItem.query(book, consistent_read=consistent, page_size=500):
        yield _to_entry(item)


def account_ids_of_kind(kind: str) -> Iterator[str]:
    """Every account of a kind, page by page (reconciliation)."""
    for key in LedgerAccountItem.by_kind.query(kind, page_size=500):
        yield key.account_id


# --- the one writer of balances --------------------------------------------------------------------

@dataclass(frozen=True)
class PostingLeg:
    """One leg as the store writes it: an entry in `book`, and (if `keeps_balance`) a balance update."""

    account_id: str
    book: str
    kind: str
    owner_id: str | None
    currency: str
    amount: int
    keeps_balance: bool
    never_negative: bool
    on_insufficient: Callable[[], errors.DomainError] | None
    sealable: bool = False  # refuse the entry if the account was sealed through a later seq
    seal: bool = False  # seal the account through this transfer's seq
    expected_entry_count: int | None = None  # refuse unless the account has exactly this many entries
    on_conflict: Callable[[], Exception] | None = None  # what a failed seal or count condition raises
    never_positive: bool = False  # a receivable: a credit may not take it above zero


def add_posting(
    uow: UnitOfWork, *, transfer_id: str, transfer_kind: str, seq: str, posted_at: datetime,
    legs: list[PostingLeg], memo: dict[str, str],
) -> None:
    """Add a balanced transfer's writes to `uow`: the journal item, one entry per leg, one balance
    update per balance-keeping leg. The journal item is conditional on `transfer_id` being new, so a
    business event can never be posted twice, whatever the caller's own guards."""
    uow.put(
        LedgerTransferItem(
            transfer_id, kind=transfer_kind, seq=seq, posted_at=posted_at, memo=memo,
            legs=[LegMap(account_id=leg.account_id, amount=leg.amount, currency=leg.currency) for leg in legs],
        ),
        condition=LedgerTransferItem.transfer_id.does_not_exist(),
        on_fail=lambda: errors.Conflict(f"transfer {transfer_id} has already been posted"),
    )
    for index, leg in enumerate(legs):
        uow.put(
            LedgerEntryItem(
                leg.book, f"{seq}.{index:02d}", account_id=leg.account_id, transfer_id=transfer_id,
                transfer_kind=transfer_kind, amount=leg.amount, currency=leg.currency, posted_at=posted_at,
            ),
            condition=LedgerEntryItem.book.does_not_exist(),
        )
        if leg.keeps_balance:
            _add_balance_update(uow, leg, posted_at, seq)


def _add_balance_update(uow: UnitOfWork, leg: PostingLeg, posted_at: datetime, seq: str) -> None:
    account = LedgerAccountItem
    actions = [
        account.balance.add(leg.amount),
        account.entry_count.add(1),
        account.kind.set(account.kind | leg.kind),
        account.currency.set(account.currency | leg.currency),
        account.opened_at.set(account.opened_at | posted_at),
        account.updated_at.set(posted_at),
    ]
    if leg.owner_id is not None:
        actions.append(account.owner_id.set(account.owner_id | leg.owner_id))
    condition = None
    on_fail = leg.on_insufficient
    if leg.amount < 0 and leg.never_negative:
        # The guard: a debit needs the balance to cover it (a missing account has nothing).
        condition = account.balance >= -leg.amount
    if leg.amount > 0 and leg.never_positive:
        condition = account.balance <= -leg.amount  # a receivable is repaid at most up to what is owed
    if leg.sealable:
        # No entry may land before a seal: a statement closed through `sealed_through` stays whole.
        not_sealed = account.sealed_through.does_not_exist() | (account.sealed_through < seq)
        condition = not_sealed if condition is None else condition & not_sealed
        if leg.amount > 0:
            on_fail = leg.on_conflict  # a credit has no other condition
    if leg.expected_entry_count is not None:
        expected = account.entry_count == leg.expected_entry_count
        if leg.expected_entry_count == 0:
            expected = account.entry_count.does_not_exist() | expected
        condition = expected if condition is None else condition & expected
        on_fail = leg.on_conflict
    if leg.seal:
        actions.append(account.sealed_through.set(seq))
    uow.update(account(leg.account_id), actions=actions, condition=condition, on_fail=on_fail)
