"""Withholding tax on a payout to an instructor (원천징수): how much of the gross goes to the tax office.

Which income a payout is follows the instructor's tax profile:

- `individual_business`: business income (사업소득) of an individual paid for services, e.g. a
  freelance instructor. Income tax 3% of the payment (소득세법 제129조 제1항 제3호).
- `individual_other`: other income (기타소득) of an individual, e.g. an occasional lecture. The
  income is the payment less deemed expenses of 60% (소득세법 시행령 제87조), taxed at 20%
  (소득세법 제129조 제1항 제6호): 8% of the payment. An income of 50,000 won or less per payment
  is not taxed at all (과세최저한, 소득세법 제84조).
- `business`: a registered business (법인 or 사업자) issues a tax invoice instead: nothing withheld.

Local income tax (지방소득세 특별징수) is 10% of the income tax withheld (지방세법 제103조의13,
특별징수). Each tax is cut below 10 won (국고금 관리법 제47조, 끝수 처리), and an income tax under
1,000 won is not withheld (소액부징수, 소득세법 제86조): then neither is its local tax, which is 10% of
nothing. The rates and thresholds come from configuration (`config.py`), where their defaults are.

Money is in the payout's minor units (KRW: won). Pure rules: no I/O, no clock.
"""

from dataclasses import dataclass
from enum import StrEnum

from chalicelib.money import Money


class TaxKind(StrEnum):
    INDIVIDUAL_BUSINESS = "individual_business"
    INDIVIDUAL_OTHER = "individual_other"
    BUSINESS = "business"


INDIVIDUAL_KINDS = frozenset({TaxKind.INDIVIDUAL_BUSINESS, TaxKind.INDIVIDUAL_OTHER})


@dataclass(frozen=True)
class WithholdingRules:
    business_income_tax_bps: int  # 사업소득 income tax rate on the payment
    other_income_expense_bps: int  # 기타소득 deemed expenses, of the payment
    other_income_tax_bps: int  # 기타소득 income tax rate on the income after expenses
    local_income_tax_bps: int  # 지방소득세, of the income tax
    minimum_income_tax: int  # 소액부징수: an income tax below this is not withheld
    other_income_taxable_minimum: int  # 과세최저한: other income at or below this per payment is not taxed
    truncation_unit: int  # 끝수 처리: each tax is cut down to a multiple of this


@dataclass(frozen=True)
class Withholding:
    gross: Money
    income_tax: Money
    local_income_tax: Money

    @property
    def total(self) -> Money:
        return self.income_tax + self.local_income_tax

    @property
    def net(self) -> Money:
        """What the instructor's bank receives."""
        return self.gross - self.total


def none_withheld(gross: Money) -> Withholding:
    """A payout nothing is withheld from (a business, or a payout from before withholding existed)."""
    return Withholding(gross, Money.zero(gross.currency), Money.zero(gross.currency))


def _truncate(amount: int, unit: int) -> int:
    return amount - amount % unit


def _rate(amount: int, bps: int) -> int:
    """`bps`/10000 of `amount`, rounded down (the truncation below 10 won follows anyway)."""
    return amount * bps // 10000


def taxable_income(gross: Money, kind: TaxKind, rules: WithholdingRules) -> int:
    """The income the income tax is a rate of: the payment, or for other income what the deemed expenses
    leave (the expenses are rounded down, so the income never falls short of the law's)."""
    if kind == TaxKind.INDIVIDUAL_OTHER:
        return gross.amount - _rate(gross.amount, rules.other_income_expense_bps)
    return gross.amount


def withholding(gross: Money, kind: TaxKind, rules: WithholdingRules) -> Withholding:
    """The taxes withheld from a payout of `gross` to an instructor of `kind`; net + taxes == gross."""
    if gross.amount < 0:
        raise ValueError("a payout is never negative")
    if kind not in INDIVIDUAL_KINDS:
        return none_withheld(gross)
    income = taxable_income(gross, kind, rules)
    if kind == TaxKind.INDIVIDUAL_OTHER:
        if income <= rules.other_income_taxable_minimum:
            return none_withheld(gross)
        rate = rules.other_income_tax_bps
    else:
        rate = rules.business_income_tax_bps
    income_tax = _truncate(_rate(income, rate), rules.truncation_unit)
    if income_tax < rules.minimum_income_tax:
        return none_withheld(gross)
    local = _truncate(_rate(income_tax, rules.local_income_tax_bps), rules.truncation_unit)
    return Withholding(gross, Money(income_tax, gross.currency), Money(local, gross.currency))


# --- the registration numbers a tax profile carries ------------------------------------------------
# Individuals are filed under their resident registration number (주민등록번호), businesses under their
# business registration number (사업자등록번호). Both are checked for shape here; the caller encrypts them.

def resident_registration_number(raw: str) -> str | None:
    """The 13 digits of a plausible 주민등록번호 (`YYMMDD-GNNNNNN`, hyphen optional), or None.

    Checked: 13 digits, a real birth date, a 7th digit 1-8 (1/2 born 1900s, 3/4 born 2000s, 5-8 foreign
    residents). Not checked: the old check digit, which numbers assigned since 2020-10-05 no longer have
    (their last six digits are random, 주민등록법 시행규칙 개정 2020)."""
    digits = raw.replace("-", "")
    if len(raw) not in (13, 14) or not digits.isdigit() or len(digits) != 13:
        return None
    century = {"1": 1900, "2": 1900, "5": 1900, "6": 1900, "3": 2000, "4": 2000, "7": 2000, "8": 2000}
    if digits[6] not in century:
        return None
    year, month, day = century[digits[6]] + int(digits[:2]), int(digits[2:4]), int(digits[4:6])
    days_in_month = [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28, 31, 30, 31, 30, 31, 31,
                     30, 31, 30, 31]
    if not (1 <= month <= 12 and 1 <= day <= days_in_month[month - 1]):
        return None
    return digits


BRN_WEIGHTS = (1, 3, 7, 1, 3, 7, 1, 3, 5)


def business_registration_number(raw: str) -> str | None:
    """The 10 digits of a 사업자등록번호 (`NNN-NN-NNNNN`, hyphens optional) whose check digit is right, or None.

    The check digit (the 10th) is the National Tax Service's: the first nine digits times 1,3,7,1,3,7,1,3,5
    summed, plus the tens of the ninth digit times 5; the check digit makes the sum a multiple of 10."""
    digits = raw.replace("-", "")
    if len(digits) != 10 or not digits.isdigit() or len(raw) > 12:
        return None
    values = [int(d) for d in digits]
    total = sum(v * w for v, w in zip(values, BRN_WEIGHTS, strict=False)) + values[8] * 5 // 10
    return digits if (10 - total % 10) % 10 == values[9] else None


def masked_number(kind: TaxKind, digits: str) -> str:
    """How a registration number is shown: a resident number's birth date and 7th digit (`900101-1******`),
    a business number's office and kind codes (`123-45-*****`)."""
    if kind in INDIVIDUAL_KINDS:
        return f"{digits[:6]}-{digits[6]}******"
    return f"{digits[:3]}-{digits[3:5]}-*****"
