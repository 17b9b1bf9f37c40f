"""Instructors' tax profiles: which income their payouts are (and so what is withheld), with the
registration number the tax office knows them by, stored only encrypted.

A second item kind in the `<prefix>payout_accounts` table (both are what an instructor is paid as; one
table, one key, one IAM grant):
    hash key  instructor_id = `tax_profile#<instructor_id>`  (a payout account's key is the bare id, so the
                                                             two never meet; a profile carries no `payable`,
                                                             so the `payable` index never lists it)
    attributes kind (individual_business | individual_other | business), number_ciphertext (KMS, binary:
               the resident or the business registration number), number_masked (for every read),
               key_id (the KMS key), created_at, updated_at

Access patterns
    an instructor's profile (owner's read, each payout) ... GetItem `tax_profile#<instructor_id>`
    set or replace it ..................................... UpdateItem (the whole profile; created_at kept)
"""

from dataclasses import dataclass
from datetime import datetime

from pynamodb.attributes import BinaryAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.models import Model

from chalicelib.store.base import table_meta

KEY_PREFIX = "tax_profile#"


class TaxProfileItem(Model):
    Meta = table_meta("payout_accounts")

    profile_key = UnicodeAttribute(hash_key=True, attr_name="instructor_id")
    kind = UnicodeAttribute()
    number_ciphertext = BinaryAttribute(legacy_encoding=False)
    number_masked = UnicodeAttribute()
    key_id = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()


@dataclass(frozen=True)
class TaxProfile:
    instructor_id: str
    kind: str
    number_ciphertext: bytes
    number_masked: str
    updated_at: datetime


def get(instructor_id: str, consistent: bool = False) -> TaxProfile | None:
    try:
        item = TaxProfileItem.get(KEY_PREFIX + instructor_id, consistent_read=consistent)
    except TaxProfileItem.DoesNotExist:
        return None
    return TaxProfile(instructor_id, item.kind, bytes(item.number_ciphertext), item.number_masked, item.updated_at)


def put(instructor_id: str, kind: str, ciphertext: bytes, masked: str, key_id: str, now: datetime) -> TaxProfile:
    """Store or replace the instructor's profile (one UpdateItem; `created_at` is kept)."""
    profile = TaxProfileItem
    TaxProfileItem(KEY_PREFIX + instructor_id).update(actions=[
        profile.kind.set(kind), profile.number_ciphertext.set(ciphertext), profile.number_masked.set(masked),
        profile.key_id.set(key_id), profile.created_at.set(profile.created_at | now), profile.updated_at.set(now),
    ])
    return TaxProfile(instructor_id, kind, ciphertext, masked, now)
