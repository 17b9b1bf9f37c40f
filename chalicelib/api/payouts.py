"""Instructors' payout account and payouts with their statements."""

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import msgspec

from chalicelib import errors
from chalicelib.api.routing import INSTRUCTOR, ApiBlueprint, Call
from chalicelib.api.schemas import Input, MoneyBody, Page, PageQuery, SignedMoney, Timestamp
from chalicelib.services import payout_accounts

if TYPE_CHECKING:
    from chalicelib.store.payouts import Payout

# The payouts service is imported by the views: with the ledger and the payout store it would add 16 ms to
# every cold start (measured after `import app`), for the instructors' payout pages alone.

payouts_api = ApiBlueprint(__name__, tag="payouts")

StatementLineKind = StrEnum("StatementLineKind", ["sale", "refund", "owed_repaid", "returned_payout"])
PayoutStatus = StrEnum("PayoutStatus", ["held", "in_transit", "paid", "failed"])
HoldReason = StrEnum("HoldReason", ["tax_profile_missing"])


class PayoutAccountInput(Input):
    bank_code: Annotated[str, msgspec.Meta(pattern=r"^\d{3}$", description="3-digit Korean bank code, e.g. 088")]
    account_number: Annotated[str, msgspec.Meta(min_length=10, max_length=32, pattern=r"^[0-9 -]+$",
                                                description="digits, hyphens allowed")]
    holder_name: Annotated[str, msgspec.Meta(min_length=1, max_length=50, pattern=r"\S")]


class PayoutAccountOut(msgspec.Struct):
    bank_code: str
    bank_name: str
    account_number_masked: str
    holder_name: str
    updated_at: Timestamp

    @classmethod
    def of(cls, view) -> "PayoutAccountOut":
        return cls(view.bank_code, view.bank_name, view.account_number_masked, view.holder_name, view.updated_at)


class StatementLineOut(msgspec.Struct):
    kind: StatementLineKind
    amount: SignedMoney
    posted_at: Timestamp
    order_id: str | None = None
    refund_id: str | None = None
    payout_id: str | None = None


class WithholdingOut(msgspec.Struct):
    income_tax: MoneyBody
    local_income_tax: MoneyBody


class PayoutOut(msgspec.Struct):
    payout_id: str
    period: str
    amount: MoneyBody  # the gross, as before withholding existed
    status: PayoutStatus
    created_at: Timestamp
    bank_code: str
    account_number_masked: str
    gross: MoneyBody
    withholding: WithholdingOut
    net: MoneyBody  # what the bank is sent: gross less withholding
    paid_at: Timestamp | None = None
    failed_at: Timestamp | None = None
    failure_reason: str | None = None
    reason: HoldReason | None = None  # why a payout is held

    @classmethod
    def of(cls, payout: "Payout") -> "PayoutOut":
        taxes = payout.withholding
        return cls(payout.payout_id, payout.period, MoneyBody.of(payout.amount), payout.status, payout.created_at,
                   payout.bank_code, payout_accounts.mask(payout.account_last4), MoneyBody.of(taxes.gross),
                   WithholdingOut(MoneyBody.of(taxes.income_tax), MoneyBody.of(taxes.local_income_tax)),
                   MoneyBody.of(taxes.net), payout.paid_at, payout.failed_at, payout.failure_reason, payout.hold_reason)


class PayoutDetailOut(PayoutOut):
    lines: list[StatementLineOut] = []


@payouts_api.endpoint(
    "PUT", "/instructor/payout-account", policy=INSTRUCTOR, body=PayoutAccountInput, response=PayoutAccountOut,
    summary="Set the bank account your payouts go to (the number is stored encrypted and shown masked)",
)
def put_payout_account(call: Call):
    body: PayoutAccountInput = call.body
    return PayoutAccountOut.of(payout_accounts.save(call.caller.user_id, body.bank_code, body.account_number,
                                                    body.holder_name))


@payouts_api.endpoint("GET", "/instructor/payout-account", policy=INSTRUCTOR, response=PayoutAccountOut,
                      summary="Your payout account, its number masked", errors=(errors.NotFound,))
def get_payout_account(call: Call):
    return PayoutAccountOut.of(payout_accounts.view(call.caller.user_id))


@payouts_api.endpoint("GET", "/instructor/payouts", policy=INSTRUCTOR, query=PageQuery, response=Page[PayoutOut],
                      summary="Your payouts, newest first (weekly, Monday 10:00 KST)")
def list_payouts(call: Call):
    from chalicelib.services import payouts

    items, next_cursor = payouts.payouts_of(call.caller.user_id, call.query.limit, call.query.cursor)
    return Page(items=[PayoutOut.of(p) for p in items], next_cursor=next_cursor)


@payouts_api.endpoint(
    "GET", "/instructor/payouts/{payout_id}", policy=INSTRUCTOR, response=PayoutDetailOut,
    summary="A payout's statement: each sale, refund (clawback), owed repaid and returned payout it covers, "
            "summing to its gross; the withholding and the net sent to the bank",
    errors=(errors.NotFound,),
)
def get_payout(call: Call, payout_id: str):
    from chalicelib.services import payouts

    payout, lines = payouts.payout_of(call.caller.user_id, payout_id)
    out = PayoutOut.of(payout)
    return PayoutDetailOut(**{f: getattr(out, f) for f in PayoutOut.__struct_fields__}, lines=[
        StatementLineOut(line.kind, SignedMoney(line.amount.amount, line.amount.currency), line.posted_at,
                         line.order_id, line.refund_id, line.payout_id)
        for line in lines])
