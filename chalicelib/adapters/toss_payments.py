"""Toss Payments' payment API (`PAYMENT_GATEWAY` `toss`).

Confirm is `POST /v1/payments/confirm` `{paymentKey, orderId, amount}` as the merchant (`toss.py`). Toss's
error codes map to our domain errors; `ALREADY_PROCESSED_PAYMENT` (a confirm that succeeded before and
whose answer was lost) is resolved by reading the payment (`GET /v1/payments/{paymentKey}`). A payment
captured for another amount than the top-up's is cancelled by the caller
(`POST /v1/payments/{paymentKey}/cancel`), never credited. A virtual-account confirm answers
`WAITING_FOR_DEPOSIT` with `virtualAccount.{bankCode, accountNumber, dueDate}` and the `secret` its deposit
webhook carries; `get_payment` reads a payment by its order id (`GET /v1/payments/orders/{orderId}`). A
refund of a virtual-account payment is a cancel with `refundReceiveAccount: {bank, accountNumber, holderName}`.
"""

import logging
from datetime import datetime

from chalicelib import errors, http
from chalicelib.adapters.payments import (
    DONE,
    Checkout,
    Confirmation,
    GatewayPayment,
    RefundReceiveAccount,
    VirtualAccount,
)
from chalicelib.adapters.toss import TossApi
from chalicelib.money import Money

log = logging.getLogger("classpay.toss_payments")

# Toss error codes (https://docs.tosspayments.com/reference/error-codes) by what they mean for us.
TOSS_DECLINED = frozenset({
    "REJECT_CARD_PAYMENT", "REJECT_CARD_COMPANY", "REJECT_ACCOUNT_PAYMENT", "REJECT_TOSSPAY_INVALID_ACCOUNT",
    "INVALID_CARD_EXPIRATION", "INVALID_STOPPED_CARD", "INVALID_CARD_LOST_OR_STOLEN", "INVALID_REJECT_CARD",
    "INVALID_CARD_NUMBER", "INVALID_PASSWORD", "INVALID_CARD_INSTALLMENT_PLAN", "NOT_AVAILABLE_PAYMENT",
    "EXCEED_MAX_DAILY_PAYMENT_COUNT", "EXCEED_MAX_PAYMENT_AMOUNT", "EXCEED_MAX_CARD_INSTALLMENT_PLAN",
    "EXCEED_MAX_AMOUNT", "EXCEED_MAX_ONE_DAY_AMOUNT", "EXCEED_MAX_MONTHLY_PAYMENT_AMOUNT",
    "BELOW_MINIMUM_AMOUNT", "RESTRICTED_TRANSFER_ACCOUNT", "NOT_ALLOWED_POINT_USE", "FDS_ERROR",
    "NOT_FOUND_PAYMENT", "NOT_FOUND_PAYMENT_SESSION", "INVALID_REQUEST", "UNAPPROVED_ORDER_ID",
    "DUPLICATED_ORDER_ID",
})
TOSS_ALREADY_DONE = "ALREADY_PROCESSED_PAYMENT"
# Our banks' 3-digit codes (금융결제원, as payout and refund accounts are given) -> Toss's payment API bank codes
# (its "은행 코드" table: mostly the last two digits, but KB국민은행 is "06"). Not confirmed against Toss's sandbox:
# check before going live. A code missing here is sent as given.
TOSS_BANK_CODES = {
    "002": "02", "003": "03", "004": "06", "007": "07", "011": "11", "020": "20", "023": "23", "027": "27",
    "031": "31", "032": "32", "034": "34", "035": "35", "037": "37", "039": "39", "045": "45", "048": "48",
    "050": "50", "071": "71", "081": "81", "088": "88", "089": "89", "090": "90", "092": "92",
}
# Everything else (PROVIDER_ERROR, FAILED_PAYMENT_INTERNAL_SYSTEM_PROCESSING,
# FAILED_INTERNAL_SYSTEM_PROCESSING, UNKNOWN_PAYMENT_ERROR, UNAUTHORIZED_KEY, 5xx, timeouts) is a
# gateway error: the outcome is unknown or the fault is ours, and the top-up stays pending.


class TossPayments:
    name = "toss"

    def __init__(self, api_base: str, secret_parameter: str, timeout_seconds: float = 10.0):
        self.api = TossApi(api_base, secret_parameter, timeout_seconds)

    def checkout(self, order_id: str, amount: Money) -> Checkout:
        # With Toss the browser opens the payment window with orderId and amount; Toss then hands
        # the paymentKey to the client's success URL, and the client confirms with it.
        return Checkout(self.name, order_id, None)

    def _call(self, method: str, path: str, body: dict | None = None,
              idempotency_key: str | None = None) -> tuple[int, dict]:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        try:
            response = self.api.request(method, path, json_body=body, headers=headers)
        except http.Unreachable as error:
            # The path may hold a payment key: log what was attempted, never the path.
            log.warning("toss %s failed: %s", path.rsplit("/", 1)[-1] if body else "payment lookup",
                        type(error).__name__)
            raise errors.PaymentGatewayError("The payment provider did not answer; try again") from None
        return response.status, response.json_object()

    def confirm(self, payment_key: str, order_id: str, amount: Money) -> Confirmation:
        status, payload = self._call(
            "POST", "/v1/payments/confirm",
            {"paymentKey": payment_key, "orderId": order_id, "amount": amount.amount},
            idempotency_key=f"confirm-{order_id}",
        )
        if status == 200:
            return self._confirmation(payload, amount.currency)
        code = str(payload.get("code", ""))
        if code == TOSS_ALREADY_DONE:
            return self._already_confirmed(payment_key, amount.currency)
        log.info("toss confirm refused: status %s code %s", status, code)
        if code in TOSS_DECLINED:
            raise errors.PaymentDeclined(f"The payment was declined ({code})")
        raise errors.PaymentGatewayError(f"The payment provider failed ({code or status}); try again")

    def partial_cancel(self, payment_key: str, order_id: str, amount: Money, reason: str,
                       idempotency_key: str, refund_account: RefundReceiveAccount | None = None) -> None:
        body = {"cancelReason": reason[:200], "cancelAmount": amount.amount}
        if refund_account is not None:  # a virtual-account payment: Toss sends the money to this account
            body["refundReceiveAccount"] = {"bank": TOSS_BANK_CODES.get(refund_account.bank_code,
                                                                        refund_account.bank_code),
                                            "accountNumber": refund_account.account_number,
                                            "holderName": refund_account.holder_name}
        self._cancel(payment_key, body, idempotency_key)

    def cancel(self, payment_key: str, order_id: str, reason: str) -> None:
        self._cancel(payment_key, {"cancelReason": reason[:200]}, f"cancel-{order_id}")

    def _cancel(self, payment_key: str, body: dict, idempotency_key: str) -> None:
        status, payload = self._call("POST", f"/v1/payments/{payment_key}/cancel", body,
                                     idempotency_key=idempotency_key)
        if status != 200:
            log.error("toss cancel refused: status %s code %s", status, payload.get("code", ""))
            raise errors.PaymentGatewayError(f"The payment provider did not cancel ({payload.get('code') or status})")

    def get_payment(self, order_id: str) -> GatewayPayment | None:
        status, payload = self._call("GET", f"/v1/payments/orders/{order_id}")
        if status == 404:
            return None
        if status != 200:
            raise errors.PaymentGatewayError(f"The payment provider did not answer ({payload.get('code') or status})")
        confirmation = self._confirmation(payload, "KRW")
        return GatewayPayment(confirmation.payment_key, confirmation.order_id, confirmation.amount,
                              confirmation.status, confirmation.secret)

    def _already_confirmed(self, payment_key: str, currency: str) -> Confirmation:
        status, payload = self._call("GET", f"/v1/payments/{payment_key}")
        if status == 200 and payload.get("status") in (DONE, "WAITING_FOR_DEPOSIT"):
            return self._confirmation(payload, currency)
        raise errors.PaymentGatewayError("The payment provider reports the payment in another state; try again")

    @staticmethod
    def _confirmation(payload: dict, currency: str) -> Confirmation:
        try:
            total = payload["totalAmount"]
            if type(total) is not int:
                raise TypeError("totalAmount is not an integer")
            paid_currency = payload.get("currency") or currency
            account = payload.get("virtualAccount")
            virtual_account = account and VirtualAccount(str(account["bankCode"]), str(account["accountNumber"]),
                                                         datetime.fromisoformat(account["dueDate"]))
            return Confirmation(str(payload["paymentKey"]), str(payload["orderId"]), Money(total, paid_currency),
                                str(payload.get("status") or DONE), virtual_account or None,
                                payload.get("secret") or None)
        except (KeyError, TypeError, ValueError):
            raise errors.PaymentGatewayError("The payment provider's answer was not understood") from None
