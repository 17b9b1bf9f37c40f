"""Instructors' tax profiles (what their payouts withhold) and the admins' monthly withholding report."""

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import msgspec

from chalicelib import errors
from chalicelib.api.routing import ADMIN, INSTRUCTOR, ApiBlueprint, Call
from chalicelib.api.schemas import Input, SignedMoney, Timestamp
from chalicelib.api.spreadsheets import CSV, cell, csv_reply
from chalicelib.services import tax_profiles

if TYPE_CHECKING:
    from chalicelib.services.tax_report import MonthReport

tax_api = ApiBlueprint(__name__, tag="tax")

TaxKind = StrEnum("TaxKind", ["individual_business", "individual_other", "business"])
RegistrationNumber = Annotated[str, msgspec.Meta(min_length=1, max_length=20, pattern=r"^[0-9-]+$",
                                                 description="digits, hyphens allowed")]
Month = Annotated[str, msgspec.Meta(pattern=r"^20\d\d-(0[1-9]|1[0-2])$", description="YYYY-MM (months in Korea)")]


class TaxProfileInput(Input):
    kind: TaxKind
    resident_registration_number: RegistrationNumber | None = None  # individual_business, individual_other
    business_registration_number: RegistrationNumber | None = None  # business


class TaxProfileOut(msgspec.Struct):
    kind: TaxKind
    registration_number_masked: str
    updated_at: Timestamp

    @classmethod
    def of(cls, view) -> "TaxProfileOut":
        return cls(view.kind, view.registration_number_masked, view.updated_at)


class MonthQuery(msgspec.Struct):
    month: Month


class WithholdingRowOut(msgspec.Struct):
    instructor_id: str
    name: str
    kind: TaxKind
    registration_number_masked: str
    payouts: int
    gross: SignedMoney
    income_tax: SignedMoney
    local_income_tax: SignedMoney


class WithholdingTotalsOut(msgspec.Struct):
    gross: SignedMoney
    income_tax: SignedMoney
    local_income_tax: SignedMoney


class WithholdingReportOut(msgspec.Struct):
    month: str
    rows: list[WithholdingRowOut]
    totals: WithholdingTotalsOut


def _signed(money) -> SignedMoney:
    return SignedMoney(money.amount, money.currency)


@tax_api.endpoint(
    "PUT", "/instructor/tax-profile", policy=INSTRUCTOR, body=TaxProfileInput, response=TaxProfileOut,
    summary="Set how your payouts are taxed: individuals give their resident registration number, businesses "
            "their business registration number (stored encrypted, shown masked); applies to later payouts",
)
def put_tax_profile(call: Call):
    body: TaxProfileInput = call.body
    return TaxProfileOut.of(tax_profiles.save(call.caller.user_id, body.kind, body.resident_registration_number,
                                              body.business_registration_number))


@tax_api.endpoint("GET", "/instructor/tax-profile", policy=INSTRUCTOR, response=TaxProfileOut,
                  summary="Your tax profile, its number masked", errors=(errors.NotFound,))
def get_tax_profile(call: Call):
    return TaxProfileOut.of(tax_profiles.view(call.caller.user_id))


def _report(call: Call) -> "MonthReport":
    from chalicelib.services import tax_report

    return tax_report.month_report(call.query.month)


@tax_api.endpoint(
    "GET", "/admin/tax/withholding", policy=ADMIN, query=MonthQuery, response=WithholdingReportOut,
    summary="The month's withholding (Korea's month of each payout): one row per instructor paid, totals equal "
            "to the tax payable accounts' entries of the month",
)
def get_withholding_report(call: Call):
    report = _report(call)
    totals = report.totals
    return WithholdingReportOut(report.month, [
        WithholdingRowOut(row.instructor_id, row.name, row.kind, row.registration_number_masked, row.payouts,
                          _signed(row.withholding.gross), _signed(row.withholding.income_tax),
                          _signed(row.withholding.local_income_tax))
        for row in report.rows], WithholdingTotalsOut(_signed(totals.gross), _signed(totals.income_tax),
                                                      _signed(totals.local_income_tax)))


CSV_COLUMNS = ("instructor_id", "name", "kind", "registration_number_masked", "payouts", "currency", "gross",
               "income_tax", "local_income_tax")


@tax_api.endpoint(
    "GET", "/admin/tax/withholding.csv", policy=ADMIN, query=MonthQuery, content_type=CSV,
    summary="The month's withholding as CSV (money in minor units): one row per instructor paid and a `total` row",
)
def get_withholding_report_csv(call: Call):
    report = _report(call)
    totals = report.totals
    rows = [[row.instructor_id, cell(row.name), row.kind, row.registration_number_masked, row.payouts,
             row.withholding.gross.currency, row.withholding.gross.amount, row.withholding.income_tax.amount,
             row.withholding.local_income_tax.amount] for row in report.rows]
    rows.append(["total", "", "", "", sum(row.payouts for row in report.rows), totals.gross.currency,
                 totals.gross.amount, totals.income_tax.amount, totals.local_income_tax.amount])
    return csv_reply(CSV_COLUMNS, rows, f"withholding-{report.month}.csv")
