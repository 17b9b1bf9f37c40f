"""The payment gateway port: how money enters the ledger from outside.

A top-up is paid at the gateway by the learner's browser; the server then
*confirms* it (`confirm`), and only a confirmation credits the wallet. Two
adapters:

- `FakeGateway` (stages `local` and `test`): `checkout` hands out the
  `payment_key` to confirm with; confirming with `decline` is declined. Keys
  are derived from the order id and amount, so the fake keeps no state and
  works on any number of Lambda containers.
- `TossGateway`: the confirm API of Toss Payments, `POST /v1/payments/confirm`
  `{paymentKey, orderId, amount}`, HTTP Basic auth with `<secret key>:`; the
  secret key is read from SSM Parameter Store by name (`TOSS_SECRET_KEY_PARAMETER`,
  a SecureString) once per container. Its error codes map to our domain errors;
  `ALREADY_PROCESSED_PAYMENT` (a confirm that succeeded before and whose answer
  was lost) is resolved by reading the payment (`GET /v1/payments/{paymentKey}`).
  A payment captured for another amount than the top-up's is cancelled
  (`POST /v1/payments/{paymentKey}/cancel`), never credited.

Which one runs is stage configuration (`PAYMENT_GATEWAY` in `.chalice/config.json`),
never a branch on the stage in code. The caller checks that the confirmed amount
equals what it expects; an adapter only reports what the gateway said.
Payment keys and the secret key are never logged.
"""

import base64
import functools
import hashlib
import logging
import threading
from dataclasses import dataclass
from typing import Protocol

from chalicelib import config, errors, http
from chalicelib.aws import client
from chalicelib.money import Money

log = logging.getLogger("classpay.gateway")


@dataclass(frozen=True)
class Checkout:
    """What the client needs to pay: the order id and amount, and for the fake gateway the key."""

    gateway: str
    order_id: str
    payment_key: str | None = None


@dataclass(frozen=True)
class Confirmation:
    """What the gateway says it captured."""

    payment_key: str
    order_id: str
    amount: Money


class PaymentGateway(Protocol):
    name: str

    def checkout(self, order_id: str, amount: Money) -> Checkout: ...

    def confirm(self, payment_key: str, order_id: str, amount: Money) -> Confirmation:
        """Capture the payment. Raises `PaymentDeclined` (final) or `PaymentGatewayError` (outcome
        unknown or gateway down: safe to retry, a retried confirm is idempotent at the gateway)."""
        ...

    def cancel(self, payment_key: str, order_id: str, reason: str) -> None:
        """Give a captured payment back to the payer in full. Raises `PaymentGatewayError`."""
        ...


# --- the fake ---------------------------------------------------------------------------------------

DECLINE_KEY = "decline"


class FakeGateway:
    """Approves the key its checkout handed out, declines `decline` and any other key."""

    name = "fake"

    @staticmethod
    def _key_for(order_id: str, amount: Money) -> str:
        digest = hashlib.sha256(f"{order_id}:{amount.amount}:{amount.currency}".encode()).hexdigest()
        return f"fake_{digest[:32]}"

    def checkout(self, order_id: str, amount: Money) -> Checkout:
        return Checkout(self.name, order_id, self._key_for(order_id, amount))

    def confirm(self, payment_key: str, order_id: str, amount: Money) -> Confirmation:
        if payment_key == DECLINE_KEY:
            raise errors.PaymentDeclined("The card was declined (fake gateway)")
        if payment_key != self._key_for(order_id, amount):
            raise errors.PaymentDeclined("The gateway knows no such payment for this top-up (fake gateway)")
        return Confirmation(payment_key, order_id, amount)

    def cancel(self, payment_key: str, order_id: str, reason: str) -> None:
        """The fake only ever confirms the amount asked for, so it has nothing to give back."""


# --- Toss Payments ---------------------------------------------------------------------------------

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
# Everything else (PROVIDER_ERROR, FAILED_PAYMENT_INTERNAL_SYSTEM_PROCESSING,
# FAILED_INTERNAL_SYSTEM_PROCESSING, UNKNOWN_PAYMENT_ERROR, UNAUTHORIZED_KEY, 5xx, timeouts) is a
# gateway error: the outcome is unknown or the fault is ours, and the top-up stays pending.


_secret_lock = threading.Lock()


@functools.cache
def _secret_key(parameter_name: str) -> str:
    """The Toss secret key from SSM Parameter Store, fetched once per container."""
    with _secret_lock:
        answer = client("ssm").get_parameter(Name=parameter_name, WithDecryption=True)
    return answer["Parameter"]["Value"]


class TossGateway:
    name = "toss"

    def __init__(self, api_base: str, secret_parameter: str, timeout_seconds: float = 10.0):
        self.api_base = api_base.rstrip("/")
        self.secret_parameter = secret_parameter
        self.timeout_seconds = timeout_seconds

    def _authorization(self) -> str:
        secret = _secret_key(self.secret_parameter)
        return "Basic " + base64.b64encode(f"{secret}:".encode()).decode()

    def checkout(self, order_id: str, amount: Money) -> Checkout:
        # With Toss the browser opens the payment window with orderId and amount; Toss then hands
        # the paymentKey to the client's success URL, and the client confirms with it.
        return Checkout(self.name, order_id, None)

    def _call(self, method: str, path: str, body: dict | None = None, idempotency_key: str | None = None):
        headers = {"Authorization": self._authorization(), "Content-Type": "application/json"}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        try:
            response = http.request(method, self.api_base + path, json_body=body, headers=headers,
                                    timeout=self.timeout_seconds)
        except http.Unreachable as error:
            # The path may hold a payment key: log what was attempted, never the path.
            log.warning("toss %s failed: %s", path.rsplit("/", 1)[-1] if body else "payment lookup",
                        type(error).__name__)
            raise errors.PaymentGatewayError("The payment provider did not answer; try again") from None
        try:
            payload = response.json()
        except ValueError:
            payload = {}
        return response.status, payload if isinstance(payload, dict) else {}

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

    def cancel(self, payment_key: str, order_id: str, reason: str) -> None:
        status, payload = self._call("POST", f"/v1/payments/{payment_key}/cancel", {"cancelReason": reason[:200]},
                                     idempotency_key=f"cancel-{order_id}")
        if status != 200:
            log.error("toss cancel refused: status %s code %s", status, payload.get("code", ""))
            raise errors.PaymentGatewayError(f"The payment provider did not cancel ({payload.get('code') or status})")

    def _already_confirmed(self, payment_key: str, currency: str) -> Confirmation:
        status, payload = self._call("GET", f"/v1/payments/{payment_key}")
        if status == 200 and payload.get("status") == "DONE":
            return self._confirmation(payload, currency)
        raise errors.PaymentGatewayError("The payment provider reports the payment in another state; try again")

    @staticmethod
    def _confirmation(payload: dict, currency: str) -> Confirmation:
        try:
            total = payload["totalAmount"]
            if type(total) is not int:
                raise TypeError("totalAmount is not an integer")
            paid_currency = payload.get("currency") or currency
            return Confirmation(str(payload["paymentKey"]), str(payload["orderId"]), Money(total, paid_currency))
        except (KeyError, TypeError, ValueError):
            raise errors.PaymentGatewayError("The payment provider's answer was not understood") from None


def payment_gateway() -> PaymentGateway:
    """The stage's gateway, from `PAYMENT_GATEWAY` (`fake` or `toss`)."""
    name = config.payment_gateway()
    if name == "fake":
        return FakeGateway()
    if name == "toss":
        return TossGateway(config.toss_api_base(), config.toss_secret_key_parameter())
    raise RuntimeError(f"unknown PAYMENT_GATEWAY {name!r}")
