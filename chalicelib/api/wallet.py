"""The learner's wallet: balance, history and top-ups (money routes take an Idempotency-Key).

The wallet service is imported inside the views: with the ledger and the payment adapters it would add
15 ms to every cold start (measured after `import app`), for the wallet's routes alone.
"""

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import msgspec

from chalicelib import errors
from chalicelib.api.routing import LEARNER, ApiBlueprint, Call
from chalicelib.api.schemas import Input, MoneyBody, Page, PageQuery, SignedMoney, Timestamp

if TYPE_CHECKING:
    from chalicelib.services import wallet

wallet_api = ApiBlueprint(__name__, tag="wallet")

# the transfers that move a wallet: a checkout's hold takes its wallet part, a void gives it back
WalletEntryKind = StrEnum("WalletEntryKind", ["topup", "purchase", "refund", "checkout_hold", "checkout_void"])
TopupStatus = StrEnum("TopupStatus", ["pending", "confirmed", "declined", "expired"])
PaymentKey = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_\-]+$")]


class WalletResponse(msgspec.Struct):
    balance: MoneyBody


class WalletEntryResponse(msgspec.Struct):
    transfer_id: str
    kind: WalletEntryKind
    amount: SignedMoney  # into the wallet positive, out of it (a purchase) negative
    posted_at: Timestamp


class CheckoutResponse(msgspec.Struct):
    gateway: str
    order_id: str
    payment_key: str | None = None


class TopupRequest(Input):
    amount: MoneyBody


class ConfirmRequest(Input):
    payment_key: PaymentKey


class TopupResponse(msgspec.Struct):
    topup_id: str
    status: TopupStatus
    amount: MoneyBody
    checkout: CheckoutResponse
    created_at: Timestamp
    updated_at: Timestamp
    decline_reason: str | None = None

    @classmethod
    def of(cls, topup: "wallet.Topup") -> "TopupResponse":
        return cls(
            topup_id=topup.topup_id, status=topup.status, amount=MoneyBody.of(topup.amount),
            checkout=CheckoutResponse(topup.checkout.gateway, topup.checkout.order_id, topup.checkout.payment_key),
            created_at=topup.created_at, updated_at=topup.updated_at, decline_reason=topup.decline_reason,
        )


@wallet_api.endpoint("GET", "/wallet", policy=LEARNER, response=WalletResponse, summary="The caller's wallet balance")
def get_wallet(call: Call):
    from chalicelib.services import wallet
    return WalletResponse(balance=MoneyBody.of(wallet.balance(call.caller.user_id)))


@wallet_api.endpoint(
    "GET", "/wallet/entries", policy=LEARNER, query=PageQuery, response=Page[WalletEntryResponse],
    summary="The wallet's ledger entries, newest first",
)
def wallet_entries(call: Call):
    from chalicelib.services import ledger, wallet
    entries, next_cursor = ledger.history(wallet.wallet_of(call.caller.user_id), call.query.limit, call.query.cursor)
    return Page(
        items=[WalletEntryResponse(e.transfer_id, e.transfer_kind, SignedMoney.of(e.amount), e.posted_at) for e in entries],
        next_cursor=next_cursor,
    )


@wallet_api.endpoint(
    "POST", "/wallet/topups", policy=LEARNER, body=TopupRequest, response=TopupResponse, status=201,
    idempotent=True, summary="Start a top-up: a pending top-up and the payment gateway's checkout",
)
def create_topup(call: Call):
    from chalicelib.services import wallet
    topup = wallet.create_topup(call.caller.user_id, call.body.amount.to_money(),
                                receipt=call.receipt(TopupResponse.of))
    return TopupResponse.of(topup)


@wallet_api.endpoint(
    "GET", "/wallet/topups/{topup_id}", policy=LEARNER, response=TopupResponse,
    summary="One of the caller's top-ups", errors=(errors.NotFound,),
)
def get_topup(call: Call, topup_id: str):
    from chalicelib.services import wallet
    return TopupResponse.of(wallet.get_topup(call.caller.user_id, topup_id))


@wallet_api.endpoint(
    "POST", "/wallet/topups/{topup_id}/confirm", policy=LEARNER, body=ConfirmRequest, response=TopupResponse,
    idempotent=True, summary="Confirm a paid top-up with the gateway; the wallet is credited once",
    errors=(errors.NotFound, errors.PaymentDeclined, errors.PaymentGatewayError, errors.Conflict),
)
def confirm_topup(call: Call, topup_id: str):
    from chalicelib.services import wallet
    topup = wallet.confirm_topup(call.caller.user_id, topup_id, call.body.payment_key,
                                 receipt=call.receipt(TopupResponse.of))
    return TopupResponse.of(topup)
