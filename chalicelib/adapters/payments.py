"""The payment port: how money enters the ledger from outside.

A top-up or a checkout is paid at the gateway by the learner's browser; the server then *confirms* it
(`confirm`, idempotent at the gateway by the order id), and only a confirmation credits the wallet or pays
the checkout; a captured payment the server cannot use is given back (`cancel`). The adapters:
`FakePayments` (`fake_payments.py`, stages `local` and `test`) and `TossPayments` (`toss_payments.py`);
`stage.payment_gateway()` gives the stage's.

A virtual-account (가상계좌) payment confirms as `WAITING_FOR_DEPOSIT` with the account and its `secret`; the
deposit arrives later as the gateway's webhook, which is trusted only once `get_payment` reads the payment
`DONE` and the event's secret is the one the confirm handed out.

The caller checks that the confirmed amount equals what it expects; an adapter only reports what the
gateway said. Payment keys and the secret key are never logged.
"""

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from chalicelib.domain.checkout import VirtualAccount
from chalicelib.money import Money


@dataclass(frozen=True)
class Checkout:
    """What the client needs to pay: the order id, and for the fake gateway the keys (a card's, a virtual
    account's)."""

    gateway: str
    order_id: str
    payment_key: str | None = None
    virtual_account_payment_key: str | None = None


DONE, WAITING_FOR_DEPOSIT, CANCELED = "DONE", "WAITING_FOR_DEPOSIT", "CANCELED"  # Toss's payment statuses


@dataclass(frozen=True)
class Confirmation:
    """What the gateway says it captured (`DONE`), or the virtual account it issued for the deposit
    (`WAITING_FOR_DEPOSIT`, with the `secret` its deposit webhook will carry)."""

    payment_key: str
    order_id: str
    amount: Money
    status: str = DONE
    virtual_account: VirtualAccount | None = None
    secret: str | None = None


@dataclass(frozen=True)
class GatewayPayment:
    """A payment as the gateway reports it when asked (`get_payment`)."""

    payment_key: str
    order_id: str
    amount: Money
    status: str
    secret: str | None = None


@dataclass(frozen=True)
class RefundReceiveAccount:
    """The bank account a refund of a virtual-account payment goes to (a virtual account takes no money back):
    the bank's 3-digit code (금융결제원), the number (plain: decrypted for this call only, never logged), the
    holder's name."""

    bank_code: str
    account_number: str = field(repr=False)
    holder_name: str


class PaymentGateway(Protocol):
    name: str

    def checkout(self, order_id: str, amount: Money) -> Checkout: ...

    def confirm(self, payment_key: str, order_id: str, amount: Money) -> Confirmation:
        """Capture the payment. Raises `PaymentDeclined` (final) or `PaymentGatewayError` (outcome
        unknown or gateway down: safe to retry, a retried confirm is idempotent at the gateway)."""
        ...

    def partial_cancel(self, payment_key: str, order_id: str, amount: Money, reason: str,
                       idempotency_key: str, refund_account: RefundReceiveAccount | None = None) -> None:
        """Give `amount` of a captured payment back to the payer (a refund in part: Toss's `cancelAmount`),
        once per `idempotency_key`: a retry under the same key answers as the first call did and gives
        nothing back twice. A virtual-account payment is given back to `refund_account` (Toss's
        `refundReceiveAccount`; refused without one). Raises `PaymentGatewayError` (outcome unknown or
        refused: retry with the key)."""
        ...

    def cancel(self, payment_key: str, order_id: str, reason: str) -> None:
        """Give a captured payment back to the payer in full (or close a virtual account still waiting for
        its deposit). Raises `PaymentGatewayError`."""
        ...

    def get_payment(self, order_id: str) -> GatewayPayment | None:
        """The payment of `order_id` as the gateway knows it now, None when it knows none. Raises
        `PaymentGatewayError`."""
        ...


@runtime_checkable
class DepositSimulator(Protocol):
    """A gateway that can be told a virtual account was paid (the fake one): what `POST
    /admin/gateway/deposits` needs."""

    def deposit(self, payment_key: str) -> dict:
        """Mark the virtual account paid; the deposit webhook's body as the gateway sends it. Raises
        `NotFound` for a key that names no virtual account."""
        ...


@runtime_checkable
class CapturedPayments(Protocol):
    """A gateway that can list what it captured (the fake one): what reconciliation checks checkouts against.
    (Toss's equivalent is its transactions API, `GET /v1/transactions`, not used yet.)"""

    def captured_payments(self) -> list[GatewayPayment]:
        """Every payment the gateway holds as `DONE` (captured, not cancelled)."""
        ...
