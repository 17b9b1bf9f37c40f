"""The bank account a refund of a virtual-account payment goes to (`refund_account` of `POST
/orders/{id}/refund`).

A virtual account (가상계좌) takes no money back: the PG refunds a deposited payment to a bank account the payer
names (Toss's cancel with `refundReceiveAccount`), so such a refund needs one (422 naming `refund_account`
when missing). Its number is kept the one way personal numbers are kept (`payout_accounts.encrypt`: the
stage's KMS key, an encryption context naming the learner and the purpose), stored on the order with its last
four digits (for a masked view; the API never returns it), decrypted only for the PG's cancel (the request's,
and the `refund_retry` job's), never logged.
"""

from dataclasses import dataclass, field

from chalicelib import errors
from chalicelib.adapters.payments import RefundReceiveAccount
from chalicelib.services import payout_accounts
from chalicelib.store import orders as store

PURPOSE = "refund-account"
FIELD = "refund_account"


@dataclass(frozen=True)
class GivenAccount:
    """A refund account as the learner typed it."""

    bank_code: str
    account_number: str = field(repr=False)
    holder_name: str


def seal(learner_id: str, given: GivenAccount | None) -> store.RefundAccount:
    """The account checked and its number encrypted; 422 naming the field that is missing or wrong."""
    if given is None:
        raise errors.ValidationFailed.on(FIELD, "this order was paid by virtual account: its refund goes to a bank "
                                                "account, {bank_code, account_number, holder_name}")
    if given.bank_code not in payout_accounts.BANKS:
        raise errors.ValidationFailed.on(f"{FIELD}.bank_code", "a Korean bank's 3-digit code (e.g. 004, 088, 090)")
    digits = given.account_number.replace("-", "").replace(" ", "")
    if not payout_accounts.ACCOUNT_DIGITS.match(digits):
        raise errors.ValidationFailed.on(f"{FIELD}.account_number", "10 to 16 digits (hyphens allowed)")
    holder = given.holder_name.strip()
    if not holder:
        raise errors.ValidationFailed.on(f"{FIELD}.holder_name", "the account holder's name as the bank knows it")
    ciphertext, _key_id = payout_accounts.encrypt(learner_id, digits, purpose=PURPOSE)
    return store.RefundAccount(given.bank_code, holder, ciphertext, digits[-4:])


def for_gateway(learner_id: str, order_id: str) -> RefundReceiveAccount | None:
    """The order's refund account with its number decrypted, for the PG's cancel only; None when none was given."""
    sealed = store.refund_account_of(order_id)
    if sealed is None:
        return None
    return RefundReceiveAccount(sealed.bank_code,
                                payout_accounts.decrypt(learner_id, sealed.account_ciphertext, purpose=PURPOSE),
                                sealed.holder_name)
