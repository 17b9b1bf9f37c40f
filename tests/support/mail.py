"""The mail the app sent, as moto's SES kept it."""

from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends


def mails_to(address):
    """What moto's SES kept for `address` (moto keeps every mail sent)."""
    backend = ses_backends[DEFAULT_ACCOUNT_ID]["ap-northeast-2"]
    return [m for m in backend.sent_messages if address in m.destinations.get("ToAddresses", [])]
