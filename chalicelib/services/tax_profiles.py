"""Tax profiles: which income an instructor's payouts are, and so what each payout withholds.

`individual_business` (사업소득) and `individual_other` (기타소득) are individuals: they need their
resident registration number; `business` needs its business registration number. The other number is
refused rather than stored (nothing personal is kept that the filing does not need). The number is
encrypted exactly as payout account numbers are (`payout_accounts.encrypt`, the stage's KMS key, a
context naming the instructor and the purpose), shown masked on every read and never logged.

A profile stored or changed applies to the payouts created after it: a payout keeps the kind and masked
number it was withheld under. Payouts wait (`held`, `tax_profile_missing`) while there is none
(services/payouts.py).
"""

from dataclasses import dataclass
from datetime import datetime

from chalicelib import clock, config, errors
from chalicelib.domain.withholding import (
    INDIVIDUAL_KINDS,
    TaxKind,
    Withholding,
    WithholdingRules,
    business_registration_number,
    masked_number,
    resident_registration_number,
    withholding,
)
from chalicelib.money import Money
from chalicelib.services import payout_accounts
from chalicelib.store import tax_profiles as store

PURPOSE = "tax-profile"  # the KMS encryption context's purpose: a payout account's ciphertext never decrypts here
RRN, BRN = "resident_registration_number", "business_registration_number"


@dataclass(frozen=True)
class TaxProfileView:
    kind: str
    registration_number_masked: str
    updated_at: datetime


def _view(profile: store.TaxProfile) -> TaxProfileView:
    return TaxProfileView(profile.kind, profile.number_masked, profile.updated_at)


def save(instructor_id: str, kind: str, resident_number: str | None, business_number: str | None) -> TaxProfileView:
    """Store (or replace) the instructor's profile; the number encrypted, the answer masked."""
    tax_kind = TaxKind(kind)
    individual = tax_kind in INDIVIDUAL_KINDS
    needed, unwanted = (RRN, BRN) if individual else (BRN, RRN)
    given = {RRN: resident_number, BRN: business_number}
    if given[unwanted] is not None:
        raise errors.ValidationFailed.on(unwanted, f"not used for kind {kind}: send only {needed}")
    if given[needed] is None:
        raise errors.ValidationFailed.on(needed, f"required for kind {kind}")
    if individual:
        digits = resident_registration_number(given[needed])
        problem = "13 digits, YYMMDD-GNNNNNN, with a real birth date"
    else:
        digits = business_registration_number(given[needed])
        problem = "10 digits, NNN-NN-NNNNN, with the National Tax Service's check digit"
    if digits is None:
        raise errors.ValidationFailed.on(needed, problem)  # never echoes the number
    ciphertext, key_id = payout_accounts.encrypt(instructor_id, digits, purpose=PURPOSE)
    return _view(store.put(instructor_id, tax_kind, ciphertext, masked_number(tax_kind, digits), key_id, clock.now()))


def view(instructor_id: str) -> TaxProfileView:
    profile = store.get(instructor_id)
    if profile is None:
        raise errors.NotFound("No tax profile yet: PUT /instructor/tax-profile")
    return _view(profile)


def profile_of(instructor_id: str) -> store.TaxProfile | None:
    """The profile a payout withholds under (read consistently: one just stored applies)."""
    return store.get(instructor_id, consistent=True)


def withholding_rules() -> WithholdingRules:
    return WithholdingRules(**config.withholding_rules())


def withholding_of(profile: store.TaxProfile, gross: Money) -> Withholding:
    """What a payout of `gross` to the holder of `profile` withholds."""
    return withholding(gross, TaxKind(profile.kind), withholding_rules())
