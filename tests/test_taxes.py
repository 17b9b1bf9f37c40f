"""Instructors' taxes over HTTP: tax profiles (encrypted, masked, never logged), payouts held without one,
withholding per kind through a payout (statement, balances, the ledger's payable accounts), and the
monthly withholding report and its CSV against the ledger."""

import csv
import io
import os
from datetime import UTC, datetime
from types import SimpleNamespace

import boto3
import pytest

from chalicelib.domain.calendar import business_time
from chalicelib.services import ledger
from chalicelib.store import payouts as payouts_store
from chalicelib.store import tax_profiles as profiles_store
from tests.support.courses import make_course
from tests.support.jobs import later
from tests.support.money import admin_token, assert_reconciled, buy, funded_learner, krw
from tests.support.payouts import RESIDENT_NUMBER, run_payouts, set_payee, set_tax_profile, settle

PRICE = 200_000  # the instructor's share is 160,000 (the platform's fee is 20%)
SHARE = PRICE * 80 // 100
KINDS = ("individual_business", "individual_other", "business")


@pytest.fixture(scope="module")
def admin(api):
    return admin_token(api)


def _instructor(api, name):
    token = api.token_for(roles=["instructor"], name=name)
    return token, api.get("/me", token=token).json_body["user_id"]


def _sell(api, token, amount=PRICE):
    order = buy(api, funded_learner(api, amount), make_course(api, token, amount=amount))
    assert order.status_code == 201, order.body


def _payouts(api, token):
    response = api.get("/instructor/payouts", token=token)
    assert response.status_code == 200, response.body
    return response.json_body["items"]


def _statement(api, token, payout_id):
    response = api.get(f"/instructor/payouts/{payout_id}", token=token)
    assert response.status_code == 200, response.body
    return response.json_body


def _payable():
    return (ledger.balance_of(ledger.income_tax_payable("KRW")).amount,
            ledger.balance_of(ledger.local_income_tax_payable("KRW")).amount)


# --- tax profiles --------------------------------------------------------------------------------

def test_a_tax_profile_is_stored_encrypted_shown_masked_and_never_logged(api, caplog):
    token, user_id = _instructor(api, "Tax Payer")
    assert api.get("/instructor/tax-profile", token=token).status_code == 404
    with caplog.at_level("DEBUG"):
        saved = set_tax_profile(api, token, kind="individual_other")
        read = api.get("/instructor/tax-profile", token=token)
    assert saved.status_code == 200, saved.body
    assert saved.json_body["kind"] == "individual_other"
    assert saved.json_body["registration_number_masked"] == "900101-1******"
    assert read.status_code == 200 and read.json_body == saved.json_body
    digits = RESIDENT_NUMBER.replace("-", "")
    for text in (saved.body.decode(), read.body.decode(), caplog.text):
        assert digits not in text and RESIDENT_NUMBER not in text

    raw = boto3.client("dynamodb").get_item(TableName=profiles_store.TaxProfileItem.Meta.table_name,
                                            Key={"instructor_id": {"S": f"tax_profile#{user_id}"}})["Item"]
    assert digits not in repr(raw)  # at rest: only KMS ciphertext and the masked form
    plain = boto3.client("kms").decrypt(
        CiphertextBlob=raw["number_ciphertext"]["B"], KeyId=os.environ["PAYOUT_ACCOUNT_KEY_ID"],
        EncryptionContext={"purpose": "tax-profile", "instructor_id": user_id})["Plaintext"]
    assert plain.decode() == digits

    changed = set_tax_profile(api, token, kind="business")  # a business: its business number, masked
    assert changed.status_code == 200, changed.body
    assert changed.json_body["registration_number_masked"] == "123-45-*****"


@pytest.mark.parametrize(("body", "field"), [
    ({"kind": "individual_business"}, "resident_registration_number"),
    ({"kind": "individual_business", "resident_registration_number": "901301-1234567"},
     "resident_registration_number"),  # no 13th month
    ({"kind": "individual_other", "resident_registration_number": "900101-9234567"}, "resident_registration_number"),
    ({"kind": "individual_other", "resident_registration_number": "90010112345"}, "resident_registration_number"),
    ({"kind": "individual_business", "resident_registration_number": "900101-1234567",
      "business_registration_number": "123-45-67891"}, "business_registration_number"),
    ({"kind": "business", "business_registration_number": "123-45-67890"}, "business_registration_number"),
    ({"kind": "business"}, "business_registration_number"),
    ({"kind": "freelancer", "resident_registration_number": "900101-1234567"}, "kind"),
    ({"kind": "business", "business_registration_number": "123 45 67891"}, "business_registration_number"),
])
def test_a_bad_tax_profile_is_refused_naming_the_field_and_nothing_is_stored(api, body, field):
    token, user_id = _instructor(api, "Bad Input")
    response = api.call("PUT", "/instructor/tax-profile", body=body, token=token)
    assert response.status_code == 422, response.body
    assert [error["field"] for error in response.json_body["errors"]] == [field]
    assert "1234567" not in response.body.decode() and "67890" not in response.body.decode()
    assert profiles_store.get(user_id, consistent=True) is None


# --- payouts ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def paid(api, functions):
    """An instructor of each kind and one whose bank refuses, paid a week on; the freelancer, registered as a
    business meanwhile, again a month later."""
    with pytest.MonkeyPatch.context() as patch:
        kinds = {kind: _instructor(api, f"Kind {kind}") for kind in KINDS}
        for kind, (token, _user_id) in kinds.items():
            set_payee(api, token, kind=kind, holder=f"{kind} 강사")
            _sell(api, token)
        refused = _instructor(api, "Refused Payee")
        set_payee(api, refused[0], account_number="110-234-560000", kind="individual_other")  # the bank refuses 0000
        _sell(api, refused[0])
        settle(functions, patch)
        before = _payable()
        run_payouts(functions, patch, days=8)
        withheld = tuple(after - earlier for after, earlier in zip(_payable(), before, strict=True))
        freelancer = kinds["individual_business"][0]
        assert set_tax_profile(api, freelancer, kind="business").status_code == 200  # applies to later payouts
        _sell(api, freelancer, amount=100_000)  # 80,000 more, paid in a later month
        settle(functions, patch, days=45)
        run_payouts(functions, patch, days=45)
    return SimpleNamespace(kinds=kinds, refused=refused, withheld_first_run=withheld,
                           months=sorted({business_time(later(days=days)).strftime("%Y-%m") for days in (8, 45)}))


def test_each_kind_is_withheld_through_a_payout_and_its_statement_shows_gross_withholding_and_net(api, paid):
    # 사업소득: 3% of 160,000 = 4,800 and 480 local; 기타소득: 160,000 less 60% = 64,000, 20% = 12,800 and 1,280
    expected = {"individual_business": (4_800, 480), "individual_other": (12_800, 1_280), "business": (0, 0)}
    for kind, (token, _user_id) in paid.kinds.items():
        *_later, payout = _payouts(api, token)  # newest first: the first payout is the last
        statement = _statement(api, token, payout["payout_id"])
        income_tax, local = expected[kind]
        assert statement["status"] == "paid", statement
        assert statement["gross"] == statement["amount"] == krw(SHARE)
        assert statement["withholding"] == {"income_tax": krw(income_tax), "local_income_tax": krw(local)}
        assert statement["net"] == krw(SHARE - income_tax - local)
        assert sum(line["amount"]["amount"] for line in statement["lines"]) == SHARE  # the lines sum to the gross
        balance = api.get("/instructor/balance", token=token).json_body
        nets = sum(p["net"]["amount"] for p in _payouts(api, token))
        assert (balance["available"]["amount"], balance["paid_out"]["amount"]) == (0, nets)
    # the payable accounts received the withholding of the first run (the refused payout's came back in it)
    assert paid.withheld_first_run == (4_800 + 12_800, 480 + 1_280)
    refused = _payouts(api, paid.refused[0])  # refused each time it was tried
    assert {(p["status"], p["net"]["amount"]) for p in refused} == {("failed", SHARE - 12_800 - 1_280)}
    assert api.get("/instructor/balance", token=paid.refused[0]).json_body["available"] == krw(SHARE)  # gross back


def test_a_payout_waits_held_without_a_tax_profile_and_the_next_run_pays_it_once_there_is_one(
        api, functions, monkeypatch):
    token, user_id = _instructor(api, "Held Payee")
    assert api.call("PUT", "/instructor/payout-account", token=token, body={
        "bank_code": "088", "account_number": "110-234-567891", "holder_name": "김보류"}).status_code == 200
    _sell(api, token)
    settle(functions, monkeypatch)
    run_payouts(functions, monkeypatch)
    (held,) = _payouts(api, token)
    assert (held["status"], held["reason"], held["gross"]) == ("held", "tax_profile_missing", krw(SHARE))
    balance = api.get("/instructor/balance", token=token).json_body
    assert (balance["available"]["amount"], balance["in_transit"]["amount"]) == (SHARE, 0)  # no money moved
    run_payouts(functions, monkeypatch)  # the job again, still without a profile: still the one held payout
    assert [p["status"] for p in _payouts(api, token)] == ["held"]

    assert set_tax_profile(api, token, kind="individual_business").status_code == 200
    run_payouts(functions, monkeypatch, days=15)  # the next week's run pays the held payout
    (paid,) = _payouts(api, token)
    assert (paid["payout_id"], paid["period"], paid["status"]) == (held["payout_id"], held["period"], "paid")
    assert paid["net"] == krw(SHARE - 4_800 - 480) and paid.get("reason") is None
    balance = api.get("/instructor/balance", token=token).json_body
    assert (balance["available"]["amount"], balance["paid_out"]["amount"]) == (0, SHARE - 5_280)


def test_a_payout_written_before_withholding_reads_as_nothing_withheld(api):
    token, user_id = _instructor(api, "Old Payee")
    now = datetime.now(UTC)
    payouts_store.PayoutItem(  # as the payout transaction wrote it before taxes: none of their attributes
        user_id, "2029-W01", payout_id="01JOLDPAYOUT0000000000000", status="paid", amount=40_000, currency="KRW",
        created_at=now, updated_at=now, paid_at=now, from_seq=None, seal_seq="01JOLDSEAL00000000000000000",
        bank_code="088", account_last4="7891", holder_name="김옛날", account_ciphertext=b"x",
    ).save()
    statement = _statement(api, token, "01JOLDPAYOUT0000000000000")
    assert statement["gross"] == statement["net"] == statement["amount"] == krw(40_000)
    assert statement["withholding"] == {"income_tax": krw(0), "local_income_tax": krw(0)}


# --- the monthly report ---------------------------------------------------------------------------

def _ledger_month_totals() -> dict[str, tuple[int, int]]:
    """The tax payable accounts' entries summed by the month (Asia/Seoul) they were posted in."""
    months: dict[str, list[int]] = {}
    for index, account in enumerate((ledger.income_tax_payable("KRW"), ledger.local_income_tax_payable("KRW"))):
        for entry in ledger.entries_of(account):
            month = business_time(entry.posted_at).strftime("%Y-%m")
            months.setdefault(month, [0, 0])[index] += entry.amount.amount
    return {month: (income, local) for month, (income, local) in months.items()}


def test_the_monthly_report_and_its_csv_equal_the_ledgers_payable_entries_month_by_month(api, admin, paid):
    ledger_months = _ledger_month_totals()
    assert set(paid.months) <= set(ledger_months)
    first_id, refused_id = paid.kinds["individual_business"][1], paid.refused[1]
    mine = []
    for month in sorted(ledger_months):
        report = api.get(f"/admin/tax/withholding?month={month}", token=admin)
        assert report.status_code == 200, report.body
        totals = report.json_body["totals"]
        assert (totals["income_tax"]["amount"], totals["local_income_tax"]["amount"]) == ledger_months[month]
        assert sum(row["income_tax"]["amount"] for row in report.json_body["rows"]) == totals["income_tax"]["amount"]
        exported = api.get(f"/admin/tax/withholding.csv?month={month}", token=admin)
        assert exported.status_code == 200 and exported.headers["Content-Type"].startswith("text/csv")
        *rows, total = list(csv.DictReader(io.StringIO(exported.body.decode())))
        assert (int(total["income_tax"]), int(total["local_income_tax"])) == ledger_months[month]
        assert [row["instructor_id"] for row in rows] == [row["instructor_id"] for row in report.json_body["rows"]]
        assert RESIDENT_NUMBER.replace("-", "") not in exported.body.decode()
        mine += [row for row in report.json_body["rows"] if row["instructor_id"] in (first_id, refused_id)]

    # the freelancer, paid in two months: 3.3% of 160,000, then (a business by then) 80,000 withheld from nothing
    assert [(r["kind"], r["registration_number_masked"], r["gross"]["amount"], r["income_tax"]["amount"],
             r["local_income_tax"]["amount"]) for r in mine] == [
        ("individual_business", "900101-1******", SHARE, 4_800, 480), ("business", "123-45-*****", 80_000, 0, 0)]
    assert {r["name"] for r in mine} == {"individual_business 강사"}
    # the refused payout was withheld and given back in the same month: nothing paid, no row
    assert_reconciled(api, admin)


@pytest.mark.parametrize("month", ["2030-13", "2030-1", "", "1999-12"])
def test_the_report_refuses_a_month_it_cannot_read_naming_it(api, admin, month):
    response = api.get(f"/admin/tax/withholding?month={month}", token=admin)
    assert response.status_code == 422, response.body
    assert [error["field"] for error in response.json_body["errors"]] == ["month"]


def test_a_name_in_the_csv_is_never_read_as_a_formula():
    from chalicelib.api.spreadsheets import cell

    assert cell('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")' and cell("-1+2") == "'-1+2"
    assert cell("김강사") == "김강사"
