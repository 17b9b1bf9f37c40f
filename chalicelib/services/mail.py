"""Mail, each at most once: `send_once` claims the mail's key (a sent-mail marker), then sends through SES
(`chalicelib/adapters/mail.py`).

Order matters: claim first, then send. Two runs at once, or a run repeated, find the claim and
send nothing; a send that fails gives the claim back so the next run tries again. A crash
between the claim and SES leaves a claim without a mail: that mail is lost rather than sent
twice ("never twice" is the promise for reminders and digests).

Every mail sent is one log line (`mail sent`, with its kind, the recipient's user id, the
subject and SES's message id; never the address). Locally, moto keeps the mail itself: see
README, "Payouts and jobs".
"""

import logging
from dataclasses import dataclass
from datetime import datetime

from chalicelib.adapters.mail import send_email
from chalicelib.store import sent_mail

log = logging.getLogger("classpay.mail")


@dataclass(frozen=True)
class Mail:
    to_address: str
    subject: str
    text: str


def send(mail: Mail, *, kind: str, recipient_id: str) -> str:
    """Send now (no at-most-once guard); SES's message id."""
    message_id = send_email(mail.to_address, mail.subject, mail.text)
    log.info("mail sent", extra={"fields": {"kind": kind, "recipient_id": recipient_id, "subject": mail.subject,
                                            "message_id": message_id}})
    return message_id


def send_once(mail_key: str, mail: Mail, *, kind: str, recipient_id: str, now: datetime) -> bool:
    """Send unless a mail with this key was claimed before; True if this call sent it."""
    if not sent_mail.claim(mail_key, kind, now):
        return False
    try:
        message_id = send(mail, kind=kind, recipient_id=recipient_id)
    except Exception:
        sent_mail.release(mail_key)  # not sent: the next run may try again
        raise
    sent_mail.mark_sent(mail_key, message_id)
    return True
