"""Mail out through SES: one plain-text message from the stage's sender (`MAIL_SENDER`).

Locally moto keeps what is sent (README, "Payouts and jobs"). Who gets which mail, and at most once, is
`chalicelib/services/mail.py`'s business.
"""

from chalicelib import config
from chalicelib.aws import client


def send_email(to_address: str, subject: str, text: str) -> str:
    """Send now; SES's message id."""
    answer = client("ses").send_email(
        Source=config.mail_sender(),
        Destination={"ToAddresses": [to_address]},
        Message={"Subject": {"Data": subject, "Charset": "UTF-8"},
                 "Body": {"Text": {"Data": text, "Charset": "UTF-8"}}},
    )
    return answer["MessageId"]
