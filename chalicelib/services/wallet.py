"""Learner wallets: the balance, and top-ups paid through the payment gateway.

A top-up is created `pending` with the gateway's checkout; the learner pays at
the gateway; confirming asks the gateway to capture it and then, in ONE
transaction, moves the top-up `pending -> confirmed` (a condition) and posts
the transfer gateway clearing -> learner wallet (`topup:<topup_id>`, which the
journal accepts once), with the idempotency record. However often or
concurrently a top-up is confirmed, the wallet is credited once: only one
transaction can find it pending. A declined payment marks it `declined`.

Wallets hold the stage's wallet currency (KRW); a learner has one wallet per
currency in the ledger, so another currency is a configuration change, not a
new model. Ownership: another learner's top-up is "not found".
"""

import logging
from dataclasses import dataclass, replace
from datetime import datetime

from chalicelib import clock, config, errors, ids
from chalicelib.adapters.payments import Checkout, PaymentGateway
from chalicelib.adapters.stage import payment_gateway
from chalicelib.money import Money
from chalicelib.services import ledger
from chalicelib.store import topups
from chalicelib.store.idempotency import NO_RECEIPT, Receipt
from chalicelib.store.transactions import UnitOfWork, retry_on_contention

log = logging.getLogger("classpay.wallet")


@dataclass(frozen=True)
class Topup:
    topup_id: str
    owner_id: str
    amount: Money
    status: str
    checkout: Checkout
    created_at: datetime
    updated_at: datetime
    decline_reason: str | None = None


def _topup(item: topups.TopupRecord) -> Topup:
    payment_key = item.payment_key if item.gateway == "fake" else None
    return Topup(
        topup_id=item.topup_id, owner_id=item.owner_id, amount=Money(int(item.amount), item.currency),
        status=item.status, checkout=Checkout(item.gateway, item.topup_id, payment_key),
        created_at=item.created_at, updated_at=item.updated_at, decline_reason=item.decline_reason,
    )


def wallet_of(user_id: str) -> ledger.Account:
    return ledger.learner_wallet(user_id, config.wallet_currency())


def balance(user_id: str) -> Money:
    return ledger.balance_of(wallet_of(user_id))


def _check_amount(amount: Money) -> None:
    currency = config.wallet_currency()
    if amount.currency != currency:
        raise errors.ValidationFailed.on("amount.currency", f"wallets hold {currency} only")
    low, high = config.topup_minimum(), config.topup_maximum()
    if not low <= amount.amount <= high:
        raise errors.ValidationFailed.on("amount.amount", f"a top-up is between {low} and {high} {currency}")


def create_topup(user_id: str, amount: Money, *, receipt: Receipt = NO_RECEIPT,
                 gateway: PaymentGateway | None = None) -> Topup:
    """A pending top-up and the gateway checkout to pay it with."""
    _check_amount(amount)
    gateway = gateway or payment_gateway()
    topup_id, now = ids.new_id(), clock.now()
    checkout = gateway.checkout(topup_id, amount)
    item = topups.new_topup(topup_id, user_id, amount.amount, amount.currency, gateway.name, checkout.payment_key, now)
    created = _topup(item)
    uow = UnitOfWork()
    topups.add_create(uow, item)
    receipt.record_result(uow, created)
    uow.commit()
    return created


def get_topup(user_id: str, topup_id: str) -> Topup:
    return _topup(_owned(user_id, topup_id))


def _owned(user_id: str, topup_id: str) -> topups.TopupRecord:
    item = topups.get(topup_id)
    if item is None or item.owner_id != user_id:
        raise errors.NotFound("No such top-up")
    return item


def confirm_topup(user_id: str, topup_id: str, payment_key: str, *, receipt: Receipt = NO_RECEIPT,
                  gateway: PaymentGateway | None = None) -> Topup:
    """Capture the payment at the gateway, then credit the wallet once. Raises `PaymentDeclined`
    (the top-up is then declined), `PaymentGatewayError` (still pending: retry), `Conflict`, `NotFound`."""
    item = _owned(user_id, topup_id)
    settled = _already_settled(item, payment_key)
    if settled is not None:
        return settled
    gateway = gateway or payment_gateway()
    amount = Money(int(item.amount), item.currency)
    try:
        confirmation = gateway.confirm(payment_key, topup_id, amount)
    except errors.PaymentDeclined as declined:
        if item.status == topups.EXPIRED:
            raise errors.Conflict("This top-up expired before it was confirmed; start a new one") from None
        _decline(item, payment_key, declined, receipt, reason=declined.detail)
    if confirmation.amount != amount or confirmation.order_id != topup_id:
        # The gateway captured something else than what we asked: never credit it; give the payment
        # back at the gateway, and decline the top-up so it cannot be confirmed later. A cancel that
        # fails is left to operations: the decline reason says so, and the error is logged.
        log.error("gateway confirmed a different payment for top-up %s: %s, expected %s",
                  topup_id, confirmation.amount, amount)
        try:
            gateway.cancel(payment_key, topup_id, "The amount captured differs from the top-up's")
            reason, outcome = "amount_mismatch", "cancelled"
        except errors.PaymentGatewayError:
            log.error("top-up %s: the mismatched payment could not be cancelled at the gateway", topup_id)
            reason, outcome = "amount_mismatch_not_cancelled", "not yet cancelled (support will)"
        _decline(item, payment_key, errors.PaymentDeclined(
            f"The gateway confirmed {confirmation.amount.amount} {confirmation.amount.currency}, "
            f"not {amount.amount} {amount.currency}; nothing was credited and the payment was {outcome}"),
            receipt, reason=reason)
    return retry_on_contention(lambda: _credit(item, payment_key, receipt))


def _already_settled(item: topups.TopupRecord, payment_key: str) -> Topup | None:
    """A confirmed top-up answers again (no second credit); a declined one refuses. An expired one
    goes on to the gateway: a payment it captured (say, the first confirm's commit failed and the
    learner came back after the expiry job ran) is still credited, anything else is a 409."""
    if item.status == topups.CONFIRMED:
        if item.payment_key == payment_key:
            return _topup(item)
        raise errors.Conflict("This top-up was confirmed with another payment")
    if item.status == topups.DECLINED:
        raise errors.PaymentDeclined(f"This top-up was declined ({item.decline_reason or 'by the gateway'})")
    return None


def _credit(item: topups.TopupRecord, payment_key: str, receipt: Receipt) -> Topup:
    now = clock.now()
    amount = Money(int(item.amount), item.currency)
    uow = UnitOfWork()
    # From `expired` too: a payment the gateway captured while the expiry job ran is still credited.
    topups.add_transition(uow, item.topup_id, topups.CONFIRMED, now,
                          from_statuses=(topups.PENDING, topups.EXPIRED), payment_key=payment_key)
    ledger.add_transfer(uow, ledger.topup_transfer(item.topup_id, item.owner_id, amount), now=now)
    confirmed = replace(_topup(item), status=topups.CONFIRMED, updated_at=now)
    receipt.record_result(uow, confirmed)
    try:
        uow.commit()
    except topups.NotPending:
        return _settled_meanwhile(item.topup_id, payment_key)
    return confirmed


def _settled_meanwhile(topup_id: str, payment_key: str) -> Topup:
    """Another request settled the top-up first; answer from its outcome."""
    current = topups.get(topup_id)
    settled = _already_settled(current, payment_key)
    if settled is None:
        raise errors.Conflict("The top-up changed while this request ran; try again")
    return settled


def _decline(item: topups.TopupRecord, payment_key: str, error: errors.PaymentDeclined, receipt: Receipt,
             reason: str) -> None:
    """Mark the top-up declined (with the idempotency record of the 402), then raise `error`."""
    uow = UnitOfWork()
    topups.add_transition(uow, item.topup_id, topups.DECLINED, clock.now(), payment_key=payment_key,
                          decline_reason=reason[:200])
    receipt.record_failure(uow, error)
    try:
        uow.commit()
    except topups.NotPending:
        _settled_meanwhile(item.topup_id, payment_key)  # raises unless it was confirmed with this key
        raise errors.Conflict("This top-up was confirmed meanwhile") from None
    raise error
