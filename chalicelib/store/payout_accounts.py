"""Instructors' payout accounts: where their money is sent. The account number is stored only encrypted.

Table `<prefix>payout_accounts`
    hash key  instructor_id
    GSI payable (KEYS_ONLY)   payable ("payable"), instructor_id   every instructor with a payout account
    attributes bank_code, holder_name, account_ciphertext (KMS, binary), account_last4 (for the masked
               view), key_id (the KMS key it was encrypted under), created_at, updated_at

Access patterns
    an instructor's account (owner's read, payouts) ... GetItem instructor_id
    set or replace it ................................. PutItem (the whole item)
    instructors who can be paid (weekly payout job) ... Query GSI payable, page by page (no scan)

The `payable` index is one partition: it holds one small key per instructor (10,000 instructors
are a few pages of one Query) and is written only when an account is first stored.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from pynamodb.attributes import BinaryAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.store.base import table_meta

PAYABLE = "payable"


def mask(last4: str) -> str:
    """How an account number is shown: its last four digits only."""
    return f"****{last4}"


class Payable(GlobalSecondaryIndex):
    class Meta:
        index_name = "payable"
        projection = KeysOnlyProjection()

    payable = UnicodeAttribute(hash_key=True)
    instructor_id = UnicodeAttribute(range_key=True)


class PayoutAccountItem(Model):
    Meta = table_meta("payout_accounts")

    instructor_id = UnicodeAttribute(hash_key=True)
    payable = UnicodeAttribute(default=PAYABLE)
    bank_code = UnicodeAttribute()
    holder_name = UnicodeAttribute()
    account_ciphertext = BinaryAttribute(legacy_encoding=False)
    account_last4 = UnicodeAttribute()
    key_id = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()

    payable_index = Payable()


@dataclass(frozen=True)
class PayoutAccount:
    instructor_id: str
    bank_code: str
    holder_name: str
    account_ciphertext: bytes
    account_last4: str
    updated_at: datetime


def _account(item: PayoutAccountItem) -> PayoutAccount:
    return PayoutAccount(item.instructor_id, item.bank_code, item.holder_name, bytes(item.account_ciphertext),
                         item.account_last4, item.updated_at)


def get(instructor_id: str, consistent: bool = False) -> PayoutAccount | None:
    try:
        return _account(PayoutAccountItem.get(instructor_id, consistent_read=consistent))
    except PayoutAccountItem.DoesNotExist:
        return None


def put(instructor_id: str, bank_code: str, holder_name: str, ciphertext: bytes, last4: str, key_id: str,
        now: datetime) -> PayoutAccount:
    """Store or replace the instructor's account (one UpdateItem; `created_at` is kept)."""
    item = PayoutAccountItem(instructor_id)
    account = PayoutAccountItem
    item.update(actions=[
        account.payable.set(PAYABLE), account.bank_code.set(bank_code), account.holder_name.set(holder_name),
        account.account_ciphertext.set(ciphertext), account.account_last4.set(last4), account.key_id.set(key_id),
        account.created_at.set(account.created_at | now), account.updated_at.set(now),
    ])
    return PayoutAccount(instructor_id, bank_code, holder_name, ciphertext, last4, now)


def payable_instructor_ids(page_size: int = 1000) -> Iterator[str]:
    """Every instructor with a payout account, page by page."""
    for key in PayoutAccountItem.payable_index.query(PAYABLE, page_size=page_size):
        yield key.instructor_id
