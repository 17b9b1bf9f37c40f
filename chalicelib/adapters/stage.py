"""Which adapter each port uses on this stage: stage configuration (`PAYMENT_GATEWAY`, `PAYOUT_GATEWAY` in
`.chalice/config.json`, `fake` or `toss`), never a branch on the stage in code.
"""

import functools

from chalicelib import config
from chalicelib.adapters.fake_payments import FakePayments
from chalicelib.adapters.fake_payouts import FakePayouts
from chalicelib.adapters.payments import PaymentGateway
from chalicelib.adapters.payouts import PayoutGateway
from chalicelib.adapters.toss_payments import TossPayments
from chalicelib.adapters.toss_payouts import TossPayouts


def payment_gateway() -> PaymentGateway:
    """The stage's payment gateway."""
    name = config.payment_gateway()
    if name == "fake":
        return FakePayments()
    if name == "toss":
        return TossPayments(config.toss_api_base(), config.toss_secret_key_parameter())
    raise RuntimeError(f"unknown PAYMENT_GATEWAY {name!r}")


@functools.cache
def _fake_bank() -> FakePayouts:
    """The local and test stages' bank: its memory of what it was sent lasts as long as the process."""
    return FakePayouts()


def payout_gateway() -> PayoutGateway:
    """The stage's payout provider."""
    name = config.payout_gateway()
    if name == "fake":
        return _fake_bank()
    if name == "toss":
        return TossPayouts(config.toss_api_base(), config.toss_secret_key_parameter(),
                           config.toss_security_key_parameter())
    raise RuntimeError(f"unknown PAYOUT_GATEWAY {name!r}")
