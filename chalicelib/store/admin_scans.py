"""Whole-table reads for the reconciliation audit only (`GET /admin/reconciliation` and its daily
job). No other route or job uses these, and no other module scans (`tests/test_conventions.py`).

Each yields records page by page (DynamoDB Scan pages), so memory stays flat however large the table.
"""

from collections.abc import Iterator

from chalicelib.store.courses import LiveSession, SessionItem, to_session
from chalicelib.store.enrollments import Enrollment, EnrollmentItem, to_enrollment
from chalicelib.store.orders import Order, OrderItem, to_order


def admin_scan_enrollments() -> Iterator[Enrollment]:
    for item in EnrollmentItem.scan(page_size=500):
        yield to_enrollment(item)


def admin_scan_orders() -> Iterator[Order]:
    for item in OrderItem.scan(page_size=500):
        yield to_order(item)


def admin_scan_sessions() -> Iterator[LiveSession]:
    for item in SessionItem.scan(page_size=500):  # the discriminator limits it to session items
        yield to_session(item)
