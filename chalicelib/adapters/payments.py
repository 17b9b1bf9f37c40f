"""The payment port: how money enters the ledger from outside.

A top-up or a checkout is paid at the gateway by the learner's browser; the server then *confirms* it
(`confirm`, idempotent at the gateway by the order id), and only a confirmation credits the wallet or pays
the checkout; a captured payment the server cannot use is given back (`cancel`). The adapters:
`FakePayments` (`fake_payments.py`, stages `local` and `test`) and `TossPayments` (`toss_payments.py`);
`stage.payment_gateway()` gives the stage's.

The caller checks that the confirmed amount equals what it expects; an adapter only reports what the
gateway said. Payment keys and the secret key are never logged.
"""

from dataclasses import dataclass
from typing import Protocol

from chalicelib.money import Money


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

    def partial_cancel(self, payment_key: str, order_id: str, amount: Money, reason: str,
                       idempotency_key: str) -> None:
        """Give `amount` of a captured payment back to the payer (a refund in part: Toss's `cancelAmount`),
        once per `idempotency_key`: a retry under the same key answers as the first call did and gives
        nothing back twice. Raises `PaymentGatewayError` (outcome unknown or refused: retry with the key)."""
        ...

    def cancel(self, payment_key: str, order_id: str, reason: str) -> None:
        """Give a captured payment back to the payer in full. Raises `PaymentGatewayError`."""
        ...
