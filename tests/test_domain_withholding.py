"""Withholding on payouts (domain/withholding.py) under the law's defaults (config.withholding_rules)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib import config
from chalicelib.domain.withholding import (
    TaxKind,
    WithholdingRules,
    business_registration_number,
    masked_number,
    resident_registration_number,
    withholding,
)
from chalicelib.money import Money

LAW = WithholdingRules(**config.withholding_rules())
kinds = st.sampled_from(list(TaxKind))
payouts = st.integers(min_value=0, max_value=10**11).map(lambda amount: Money(amount, "KRW"))


@given(payouts, kinds)
def test_net_plus_taxes_is_the_gross_exactly_and_never_more_is_withheld_than_paid(gross, kind):
    taxes = withholding(gross, kind, LAW)
    assert taxes.net + taxes.income_tax + taxes.local_income_tax == gross
    assert 0 <= taxes.total.amount <= gross.amount and taxes.net.amount >= 0
    assert taxes.income_tax.amount % 10 == 0 and taxes.local_income_tax.amount % 10 == 0  # cut below 10 won
    assert taxes.income_tax.amount == 0 or taxes.income_tax.amount >= 1000  # 소액부징수
    assert taxes.local_income_tax.amount <= taxes.income_tax.amount // 10  # 10% of the income tax, cut


@given(payouts)
def test_a_business_is_never_withheld_from(gross):
    assert withholding(gross, TaxKind.BUSINESS, LAW).total == Money(0, "KRW")


@given(payouts, st.sampled_from([TaxKind.INDIVIDUAL_BUSINESS, TaxKind.INDIVIDUAL_OTHER]))
def test_withholding_never_falls_as_the_payout_grows(gross, kind):
    assert withholding(gross + Money(10, "KRW"), kind, LAW).total >= withholding(gross, kind, LAW).total


@pytest.mark.parametrize(("kind", "gross", "income_tax", "local"), [
    # 사업소득 3% + 0.3%: 1,000,000 -> 30,000 + 3,000 (3.3%)
    (TaxKind.INDIVIDUAL_BUSINESS, 1_000_000, 30_000, 3_000),
    # 3% of 123,456 is 3,703.68: cut below 10 won to 3,700; local 370
    (TaxKind.INDIVIDUAL_BUSINESS, 123_456, 3_700, 370),
    # 3% of 33,333 is 999.99: under 1,000 won, nothing withheld (소액부징수)
    (TaxKind.INDIVIDUAL_BUSINESS, 33_333, 0, 0),
    (TaxKind.INDIVIDUAL_BUSINESS, 33_334, 1_000, 100),
    # 기타소득: 1,000,000 less 60% = 400,000 income, 20% -> 80,000 + 8,000 (8.8%)
    (TaxKind.INDIVIDUAL_OTHER, 1_000_000, 80_000, 8_000),
    # 125,000 leaves 50,000 of income: at the 과세최저한, not taxed; one more won is
    (TaxKind.INDIVIDUAL_OTHER, 125_000, 0, 0),
    (TaxKind.INDIVIDUAL_OTHER, 125_003, 10_000, 1_000),
    # 기타소득 of 543,217: expenses 325,930 (cut), income 217,287, 20% = 43,457.4 -> 43,450; local 4,345 -> 4,340
    (TaxKind.INDIVIDUAL_OTHER, 543_217, 43_450, 4_340),
    (TaxKind.BUSINESS, 1_000_000, 0, 0),
])
def test_each_kind_withholds_what_the_law_says(kind, gross, income_tax, local):
    taxes = withholding(Money(gross, "KRW"), kind, LAW)
    assert (taxes.income_tax.amount, taxes.local_income_tax.amount) == (income_tax, local)
    assert taxes.net.amount == gross - income_tax - local


def test_the_rules_are_the_stages_configuration(monkeypatch):
    monkeypatch.setenv("WITHHOLDING_BUSINESS_INCOME_TAX_BPS", "500")
    rules = WithholdingRules(**config.withholding_rules())
    assert withholding(Money(1_000_000, "KRW"), TaxKind.INDIVIDUAL_BUSINESS, rules).income_tax == Money(50_000, "KRW")


@pytest.mark.parametrize(("raw", "digits"), [
    ("900101-1234567", "9001011234567"),
    ("0002294123456", "0002294123456"),  # 2000-02-29 (a 4: born in the 2000s): a leap day
    ("000229-1123456", None),  # 1900-02-29 does not exist
    ("901301-1234567", None), ("900132-1234567", None),  # no 13th month, no 32nd day
    ("900101-9234567", None),  # 9 and 0 are the 1800s: not an instructor
    ("900101-123456", None), ("900101--1234567", None), ("9001011234567 ", None),
])
def test_a_resident_registration_number_needs_13_digits_and_a_real_birth_date(raw, digits):
    assert resident_registration_number(raw) == digits


@given(st.integers(min_value=0, max_value=999_999_999))
def test_exactly_one_check_digit_makes_a_business_registration_number(first_nine):
    prefix = f"{first_nine:09d}"
    assert len([d for d in "0123456789" if business_registration_number(prefix + d)]) == 1


@pytest.mark.parametrize(("raw", "valid"), [
    ("124-81-00998", True), ("220-81-62517", True),  # published numbers of two listed companies
    ("124-81-00997", False), ("124-81-0099", False), ("124 81 00998", False),
])
def test_a_business_registration_number_carries_the_national_tax_services_check_digit(raw, valid):
    assert (business_registration_number(raw) is not None) == valid


def test_registration_numbers_are_masked_as_korean_forms_show_them():
    assert masked_number(TaxKind.INDIVIDUAL_OTHER, "9001011234567") == "900101-1******"
    assert masked_number(TaxKind.BUSINESS, "1248100998") == "124-81-*****"
