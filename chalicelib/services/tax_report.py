"""The monthly withholding report (원천징수 신고의 기초): per instructor paid in a month, what was paid and
withheld, from the rows each payout transaction writes with its ledger transfer (store/payouts.py).

The month is the month in Korea (Asia/Seoul) when the withholding was posted: the payout's creation, when
its gross left the instructor's balance and its taxes went to the payable accounts (the bank transfer follows
within the same run). A payout the bank refused gives its withholding back in the month of the refusal: a
negative line of that month. So each month's totals equal the tax payable accounts' entries posted in it.

One row per instructor and tax profile they were paid under (a profile changed mid-month gives two rows);
an instructor whose payouts of the month were all refused in it nets to nothing and has no row. The name is
the payout account's holder name at the payout (the name the bank, and the filing, know); the registration
number is masked, as everywhere.
"""

from dataclasses import dataclass

from chalicelib import config
from chalicelib.domain.withholding import Withholding
from chalicelib.money import Money
from chalicelib.store import payouts as store


@dataclass(frozen=True)
class ReportRow:
    instructor_id: str
    name: str
    kind: str
    registration_number_masked: str
    withholding: Withholding
    payouts: int  # payouts posted in the month, less those refused in it


@dataclass(frozen=True)
class MonthReport:
    month: str
    rows: list[ReportRow]
    totals: Withholding


def month_report(month: str) -> MonthReport:
    """The report of `month` (`YYYY-MM`), rows by name then instructor."""
    zero = Money.zero(config.wallet_currency())
    grouped: dict[tuple[str, str, str], list[store.WithholdingRow]] = {}
    for row in store.withholding_rows(month):
        grouped.setdefault((row.instructor_id, row.tax_kind, row.tax_number_masked), []).append(row)
    rows, totals = [], Withholding(zero, zero, zero)
    for (instructor_id, kind, masked), lines in grouped.items():
        summed = Withholding(sum((line.withholding.gross for line in lines), zero),
                             sum((line.withholding.income_tax for line in lines), zero),
                             sum((line.withholding.local_income_tax for line in lines), zero))
        totals = Withholding(totals.gross + summed.gross, totals.income_tax + summed.income_tax,
                             totals.local_income_tax + summed.local_income_tax)
        count = sum(-1 if line.withholding.gross.amount < 0 else 1 for line in lines)
        if count or summed.gross.amount:
            rows.append(ReportRow(instructor_id, lines[-1].holder_name, kind, masked, summed, count))
    rows.sort(key=lambda row: (row.name, row.instructor_id))
    return MonthReport(month, rows, totals)
