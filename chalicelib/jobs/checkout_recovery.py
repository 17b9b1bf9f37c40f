"""Every 5 minutes: checkouts whose confirm started but never ended (an answer lost, a deposit webhook that
never came) are settled with what the gateway says: paid or cancelled there (services/checkout.py)."""

from datetime import datetime

from chalicelib.services import checkout


def run(now: datetime) -> checkout.RecoveryResult:
    return checkout.recover_confirms(now)
