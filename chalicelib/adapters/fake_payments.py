"""The payment gateway of the local and test stages (`PAYMENT_GATEWAY` `fake`).

`checkout` hands out the `payment_key` to confirm with; confirming with it approves the top-up, with
`decline` (`DECLINE_KEY`) or any other key declines it. Keys are derived from the order id and amount, so
the fake keeps no state and works on any number of Lambda containers.
"""

import hashlib

from chalicelib import errors
from chalicelib.adapters.payments import Checkout, Confirmation
from chalicelib.money import Money

DECLINE_KEY = "decline"


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
            raise errors.PaymentDeclined("The gateway knows no such payment for this top-up (fake gateway)")
        return Confirmation(payment_key, order_id, amount)

    def cancel(self, payment_key: str, order_id: str, reason: str) -> None:
        """The fake only ever confirms the amount asked for, so it has nothing to give back."""
