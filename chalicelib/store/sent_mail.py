"""Sent-mail markers: each mail that must go out at most once (a reminder, a digest, an alert) is claimed here first.

Table `<prefix>sent_mail`
    hash key  mail_key      what the mail is about, e.g. `reminder:<session_id>:<learner_id>`,
                            `digest:<instructor_id>:<date>`, `reconciliation:<date>:<admin_id>`
    attributes kind, claimed_at, message_id (SES's, once sent), expires_at (TTL: markers outlive
               the reason for them by far, then DynamoDB removes them)

Access patterns
    claim a mail before sending it ...... PutItem if mail_key is new (a second run, or two at once,
                                          are refused: the mail is never sent twice)
    mark it sent ........................ UpdateItem message_id
    give it back after a failed send .... DeleteItem (the next run tries again)
"""

from datetime import datetime, timedelta

from pynamodb.attributes import TTLAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import PutError
from pynamodb.models import Model

from chalicelib.store.base import table_meta
from chalicelib.store.transactions import condition_failed

KEEP = timedelta(days=90)


class SentMailItem(Model):
    Meta = table_meta("sent_mail")

    mail_key = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute()
    claimed_at = UTCDateTimeAttribute()
    message_id = UnicodeAttribute(null=True)
    expires_at = TTLAttribute()


def claim(mail_key: str, kind: str, now: datetime) -> bool:
    """True if this caller may send the mail (no one claimed it before)."""
    try:
        SentMailItem(mail_key, kind=kind, claimed_at=now, expires_at=now + KEEP).save(
            condition=SentMailItem.mail_key.does_not_exist())
    except PutError as error:
        if condition_failed(error):
            return False
        raise
    return True


def mark_sent(mail_key: str, message_id: str) -> None:
    SentMailItem(mail_key).update(actions=[SentMailItem.message_id.set(message_id)])


def release(mail_key: str) -> None:
    SentMailItem(mail_key).delete()


def get(mail_key: str) -> SentMailItem | None:
    try:
        return SentMailItem.get(mail_key, consistent_read=True)
    except SentMailItem.DoesNotExist:
        return None
