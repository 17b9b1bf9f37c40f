"""The ledger's own rules, below the HTTP API: balanced transfers, guarded balances, hot accounts."""

import pytest

from chalicelib import errors, ids
from chalicelib.money import Money
from chalicelib.services import ledger
from chalicelib.services.ledger import Transfer, credit, debit
from chalicelib.store import ledger as ledger_store
from chalicelib.store.transactions import TransactionTooLarge, UnitOfWork


def krw(amount):
    return Money(amount, "KRW")


def _fund(user_id, amount):
    uow = UnitOfWork()
    ledger.add_transfer(uow, Transfer(f"test-fund:{ids.new_id()}", "topup", (
        debit(ledger.gateway_clearing("KRW"), krw(amount)), credit(ledger.learner_wallet(user_id, "KRW"), krw(amount)),
    )))
    uow.commit()


def _purchase(user_id, instructor_id, price, transfer_id=None):
    fee = krw(price).share(2000)
    return Transfer(transfer_id or f"test-order:{ids.new_id()}", "purchase", (
        debit(ledger.learner_wallet(user_id, "KRW"), krw(price)),
        credit(ledger.instructor_pending(instructor_id, "KRW"), krw(price) - fee),
        credit(ledger.platform_revenue("KRW"), fee),
    ))


def test_a_transfer_whose_legs_do_not_sum_to_zero_is_refused_before_anything_is_written():
    user = ids.new_id()
    unbalanced = Transfer("test:unbalanced", "topup", (
        debit(ledger.gateway_clearing("KRW"), krw(1000)), credit(ledger.learner_wallet(user, "KRW"), krw(999)),
    ))
    with pytest.raises(ledger.LedgerError, match="does not balance"):
        ledger.add_transfer(UnitOfWork(), unbalanced)
    assert ledger_store.get_account(ledger.learner_wallet(user, "KRW").account_id) is None


@pytest.mark.parametrize("legs", [
    (),
    (credit(ledger.learner_wallet("u", "KRW"), krw(1)),),
    (credit(ledger.learner_wallet("u", "KRW"), krw(0)), debit(ledger.gateway_clearing("KRW"), krw(0))),
    (credit(ledger.learner_wallet("u", "KRW"), krw(1)), debit(ledger.learner_wallet("u", "KRW"), krw(1))),
    (credit(ledger.learner_wallet("u", "KRW"), Money(1, "USD")), debit(ledger.gateway_clearing("USD"), Money(1, "USD"))),
])
def test_malformed_transfers_are_refused(legs):
    with pytest.raises(ledger.LedgerError):
        Transfer("test:malformed", "topup", legs).validate()


def test_balances_move_by_the_transfer_and_equal_the_sum_of_their_entries():
    learner, instructor = ids.new_id(), ids.new_id()
    _fund(learner, 10_000)
    uow = UnitOfWork()
    ledger.add_transfer(uow, _purchase(learner, instructor, 5_000))
    uow.commit()
    wallet, pending = ledger.learner_wallet(learner, "KRW"), ledger.instructor_pending(instructor, "KRW")
    assert ledger.balance_of(wallet) == krw(5_000)
    assert ledger.balance_of(pending) == krw(4_000)
    for account in (wallet, pending):
        assert sum(e.amount.amount for e in ledger.entries_of(account)) == ledger.balance_of(account).amount
    entries, _ = ledger.history(wallet, 10, None)
    assert [e.transfer_kind for e in entries] == ["purchase", "topup"]  # newest first


def test_a_debit_beyond_the_wallet_balance_cancels_the_whole_transfer_with_insufficient_funds():
    learner, instructor = ids.new_id(), ids.new_id()
    _fund(learner, 1_000)
    uow = UnitOfWork()
    ledger.add_transfer(uow, _purchase(learner, instructor, 5_000))
    with pytest.raises(errors.InsufficientFunds):
        uow.commit()
    assert ledger.balance_of(ledger.learner_wallet(learner, "KRW")) == krw(1_000)
    assert ledger_store.get_account(ledger.instructor_pending(instructor, "KRW").account_id) is None


def test_the_same_business_event_cannot_be_posted_twice():
    learner, instructor = ids.new_id(), ids.new_id()
    _fund(learner, 10_000)
    transfer_id = f"test-order:{ids.new_id()}"
    for attempt in range(2):
        uow = UnitOfWork()
        ledger.add_transfer(uow, _purchase(learner, instructor, 3_000, transfer_id))
        if attempt == 0:
            uow.commit()
        else:
            with pytest.raises(errors.Conflict):
                uow.commit()
    assert ledger.balance_of(ledger.learner_wallet(learner, "KRW")) == krw(7_000)
    assert ledger.transfer_posted(transfer_id)


def test_the_first_failed_condition_added_names_the_error():
    """A service adds its own state first; its reason wins over the ledger's."""
    learner, instructor = ids.new_id(), ids.new_id()
    uow = UnitOfWork()
    uow.check(ledger_store.LedgerAccountItem, f"missing:{ids.new_id()}",
              condition=ledger_store.LedgerAccountItem.account_id.exists(), on_fail=lambda: errors.SoldOut())
    ledger.add_transfer(uow, _purchase(learner, instructor, 5_000))  # the wallet is empty too
    with pytest.raises(errors.SoldOut):
        uow.commit()


def test_hot_accounts_keep_no_balance_item_and_spread_entries_over_shards():
    learners = [ids.new_id() for _ in range(24)]
    for learner in learners:
        _fund(learner, 1_000)
    clearing = ledger.gateway_clearing("KRW")
    assert ledger_store.get_account(clearing.account_id) is None
    books = {clearing.book_for(f"test-fund:{ids.new_id()}") for _ in range(200)}
    assert len(books) == ledger.HOT_SHARDS
    assert ledger.balance_of(clearing).amount <= -24_000


def test_a_transaction_holds_at_most_100_items_and_each_item_once():
    uow = UnitOfWork()
    item = ledger_store.LedgerAccountItem("test:twice")
    uow.check(ledger_store.LedgerAccountItem, "test:twice", condition=ledger_store.LedgerAccountItem.account_id.exists())
    with pytest.raises(TransactionTooLarge):
        uow.update(item, actions=[ledger_store.LedgerAccountItem.balance.add(1)])
    uow = UnitOfWork()
    for n in range(100):
        uow.check(ledger_store.LedgerAccountItem, f"test:{n}", condition=ledger_store.LedgerAccountItem.account_id.exists())
    with pytest.raises(TransactionTooLarge):
        uow.check(ledger_store.LedgerAccountItem, "test:100", condition=ledger_store.LedgerAccountItem.account_id.exists())
    with pytest.raises(ledger.LedgerError):
        ledger.add_transfer(uow, _purchase("a", "b", 100))  # checked before anything is added
