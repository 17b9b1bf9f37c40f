"""The payment gateway of the local and test stages (`PAYMENT_GATEWAY` `fake`).

`checkout` hands out the `payment_key` to confirm with; confirming with it approves the top-up, with
`decline` (`DECLINE_KEY`) or any other key declines it. Keys are derived from the order id and amount, so
approving needs no state and works on any number of Lambda containers. Cancels are remembered by order id
for as long as the process lives (`CANCELLED`, which tests read): a cancelled payment is not confirmed again.
"""

import hashlib

from chalicelib import errors
from chalicelib.adapters.payments import Checkout, Confirmation
from chalicelib.money import Money

DECLINE_KEY = "decline"
CANCELLED: dict[str, str] = {}  # order id -> the cancel's reason
# partial cancels (refunds) by idempotency key: (order id, amount) of the first call under each key
PARTIAL_CANCELS: dict[str, tuple[str, Money]] = {}


class FakePayments:
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
            raise errors.PaymentDeclined("The gateway knows no such payment for this order (fake gateway)")
        if order_id in CANCELLED:
            raise errors.PaymentDeclined("This payment was cancelled (fake gateway)")
        return Confirmation(payment_key, order_id, amount)

    def partial_cancel(self, payment_key: str, order_id: str, amount: Money, reason: str,
                       idempotency_key: str) -> None:
        """Gives `amount` back, remembered by its idempotency key: a repeated key answers as the first call
        did and records nothing more (as Toss's cancel under its `Idempotency-Key`)."""
        PARTIAL_CANCELS.setdefault(idempotency_key, (order_id, amount))

    def cancel(self, payment_key: str, order_id: str, reason: str) -> None:
        """Gives the payment back: remembered, so it is never confirmed again (a second cancel is a no-op, as
        the real gateway's cancel under its idempotency key)."""
        CANCELLED.setdefault(order_id, reason)
