"""The payment gateway of the local and test stages (`PAYMENT_GATEWAY` `fake`): a small simulator of Toss.

`checkout` hands out two keys to confirm with: `payment_key` (a card payment, captured at once) and
`virtual_account_payment_key` (issues a virtual account due in `VIRTUAL_ACCOUNT_DUE_HOURS`, paid when
`deposit` is called, as `POST /admin/gateway/deposits` does). `decline` (`DECLINE_KEY`) or any other key
declines. Keys are derived from the order id and amount, so approving a card needs no state; what the
gateway did (`PAYMENTS`, by order id) and the cancels (`CANCELLED`, order id -> reason) are remembered for as
long as the process lives, which tests read: a cancelled payment is not confirmed again.
"""

import hashlib
import secrets as random_secrets
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from chalicelib import clock, config, errors
from chalicelib.adapters.payments import (
    CANCELED,
    DONE,
    WAITING_FOR_DEPOSIT,
    Checkout,
    Confirmation,
    GatewayPayment,
    RefundReceiveAccount,
    VirtualAccount,
)
from chalicelib.money import Money

DECLINE_KEY = "decline"
FAKE_BANK = "88"  # Shinhan's code at Toss; any bank would do
CANCELLED: dict[str, str] = {}  # order id -> the cancel's reason
# partial cancels (refunds) by idempotency key: (order id, amount) of the first call under each key
PARTIAL_CANCELS: dict[str, tuple[str, Money]] = {}
# where the partial cancels of virtual-account payments were sent, by idempotency key
REFUND_ACCOUNTS: dict[str, RefundReceiveAccount] = {}


@dataclass(frozen=True)
class FakePayment:
    confirmation: Confirmation
    status: str


PAYMENTS: dict[str, FakePayment] = {}  # order id -> what the gateway did with it


class FakePayments:
    """Approves the keys its checkout handed out, declines `decline` and any other key."""

    name = "fake"

    @staticmethod
    def _key_for(order_id: str, amount: Money, kind: str = "") -> str:
        digest = hashlib.sha256(f"{kind}{order_id}:{amount.amount}:{amount.currency}".encode()).hexdigest()
        return f"fake{kind}_{digest[:32]}"

    def checkout(self, order_id: str, amount: Money) -> Checkout:
        return Checkout(self.name, order_id, self._key_for(order_id, amount),
                        self._key_for(order_id, amount, "va"))

    def confirm(self, payment_key: str, order_id: str, amount: Money) -> Confirmation:
        if payment_key == DECLINE_KEY:
            raise errors.PaymentDeclined("The card was declined (fake gateway)")
        if payment_key not in (self._key_for(order_id, amount), self._key_for(order_id, amount, "va")):
            raise errors.PaymentDeclined("The gateway knows no such payment for this order (fake gateway)")
        if order_id in CANCELLED:
            raise errors.PaymentDeclined("This payment was cancelled (fake gateway)")
        known = PAYMENTS.get(order_id)
        if known is not None:  # confirmed before: the gateway's confirm is idempotent by the order id
            return known.confirmation
        if payment_key == self._key_for(order_id, amount):
            confirmation = Confirmation(payment_key, order_id, amount)
        else:
            due = clock.now().astimezone(UTC) + timedelta(hours=config.virtual_account_due_hours())
            number = str(int(hashlib.sha256(order_id.encode()).hexdigest(), 16))[:14]
            confirmation = Confirmation(payment_key, order_id, amount, WAITING_FOR_DEPOSIT,
                                        VirtualAccount(FAKE_BANK, number, due), random_secrets.token_hex(16))
        PAYMENTS[order_id] = FakePayment(confirmation, confirmation.status)
        return confirmation

    def partial_cancel(self, payment_key: str, order_id: str, amount: Money, reason: str,
                       idempotency_key: str, refund_account: RefundReceiveAccount | None = None) -> None:
        """Gives `amount` back, remembered by its idempotency key: a repeated key answers as the first call
        did and records nothing more (as Toss's cancel under its `Idempotency-Key`). A virtual-account payment
        needs the account to send it to, as Toss's cancel does."""
        known = PAYMENTS.get(order_id)
        if known is not None and known.confirmation.virtual_account is not None and refund_account is None:
            raise errors.PaymentGatewayError("A virtual-account payment is refunded to a bank account (fake gateway)")
        PARTIAL_CANCELS.setdefault(idempotency_key, (order_id, amount))
        if refund_account is not None:
            REFUND_ACCOUNTS.setdefault(idempotency_key, refund_account)

    def cancel(self, payment_key: str, order_id: str, reason: str) -> None:
        """Gives the payment back (or closes the virtual account): remembered, so it is never confirmed
        again (a second cancel is a no-op, as the real gateway's cancel under its idempotency key)."""
        CANCELLED.setdefault(order_id, reason)
        if order_id in PAYMENTS:
            PAYMENTS[order_id] = replace(PAYMENTS[order_id], status=CANCELED)

    def get_payment(self, order_id: str) -> GatewayPayment | None:
        known = PAYMENTS.get(order_id)
        if known is None:
            return None
        confirmation = known.confirmation
        return GatewayPayment(confirmation.payment_key, order_id, confirmation.amount, known.status,
                              confirmation.secret)

    def captured_payments(self) -> list[GatewayPayment]:
        return [payment for order_id in list(PAYMENTS)
                if (payment := self.get_payment(order_id)) is not None and payment.status == DONE]

    def deposit(self, payment_key: str) -> dict:
        """The payer deposits into the virtual account of `payment_key`: the payment is `DONE` (a deposit
        after a cancel or past the due date is refused, as the bank would), and the deposit webhook's body
        (`DEPOSIT_CALLBACK`) is returned for delivery."""
        for order_id, known in PAYMENTS.items():
            confirmation = known.confirmation
            if confirmation.payment_key != payment_key or confirmation.virtual_account is None:
                continue
            if known.status == CANCELED or (known.status == WAITING_FOR_DEPOSIT
                                            and confirmation.virtual_account.due_date < clock.now()):
                raise errors.Conflict("This virtual account is closed (fake gateway)")
            PAYMENTS[order_id] = replace(known, status=DONE)
            return {"createdAt": clock.to_rfc3339(datetime.now(UTC)), "secret": confirmation.secret,
                    "orderId": order_id, "status": DONE,
                    "transactionKey": hashlib.sha256(payment_key.encode()).hexdigest()[:32]}
        raise errors.NotFound("No virtual account has this payment key (fake gateway)")
