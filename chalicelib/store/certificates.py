"""Certificates of completion: what a learner finished, verifiable by anyone holding its id.

Table `<prefix>certificates`
    hash key   verification_id   random, unguessable, printed on the certificate

Access patterns
    verify a certificate (public) ...... GetItem verification_id
    my certificate for a course ........ the enrollment names its verification id, then GetItem
    issue (once per completion) ........ Put if absent, in the transaction that completes the enrollment

A certificate is a snapshot: the learner's display name and the course title are
copied at issue time, so renaming a course later does not rewrite what was awarded.
The record never holds an email or anything else about the learner.
"""

import os
from datetime import datetime

import msgspec
from pynamodb.attributes import UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.models import Model

from chalicelib.store.base import table_meta
from chalicelib.store.transactions import Contention, UnitOfWork

_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud or typed from paper


class CertificateItem(Model):
    Meta = table_meta("certificates")

    verification_id = UnicodeAttribute(hash_key=True)
    learner_id = UnicodeAttribute()
    course_id = UnicodeAttribute()
    enrollment_id = UnicodeAttribute()
    learner_name = UnicodeAttribute()
    course_title = UnicodeAttribute()
    instructor_name = UnicodeAttribute()
    completed_at = UTCDateTimeAttribute()


class Certificate(msgspec.Struct, frozen=True):
    verification_id: str
    learner_id: str
    course_id: str
    enrollment_id: str
    learner_name: str
    course_title: str
    instructor_name: str
    completed_at: datetime


def new_verification_id() -> str:
    """16 characters from a 32-letter alphabet (80 random bits from the OS), grouped by four: `K7QD-...`."""
    raw = "".join(_ALPHABET[byte % 32] for byte in os.urandom(16))  # 256 is a multiple of 32: uniform
    return "-".join(raw[i:i + 4] for i in range(0, 16, 4))


def normalize_verification_id(text: str) -> str:
    return text.strip().upper()


def to_certificate(item: CertificateItem) -> Certificate:
    return Certificate(item.verification_id, item.learner_id, item.course_id, item.enrollment_id,
                       item.learner_name, item.course_title, item.instructor_name, item.completed_at)


def get_certificate(verification_id: str) -> Certificate | None:
    try:
        return to_certificate(CertificateItem.get(verification_id))
    except CertificateItem.DoesNotExist:
        return None


def add_issue(uow: UnitOfWork, certificate: Certificate) -> None:
    """Add issuing the certificate to the completion transaction; a verification id is never reused."""
    uow.put(
        CertificateItem(
            certificate.verification_id, learner_id=certificate.learner_id, course_id=certificate.course_id,
            enrollment_id=certificate.enrollment_id, learner_name=certificate.learner_name,
            course_title=certificate.course_title, instructor_name=certificate.instructor_name,
            completed_at=certificate.completed_at,
        ),
        condition=CertificateItem.verification_id.does_not_exist(),
        on_fail=lambda: Contention("verification id taken; draw another"),
    )
