"""Whole-table reads for the reconciliation audit only (`GET /admin/reconciliation` and its daily
job). No other route or job uses these, and no other module scans (`tests/test_conventions.py`).

Each yields items page by page (DynamoDB Scan pages), so memory stays flat however large the table.
"""

from collections.abc import Iterator

from chalicelib.store.courses import SessionItem
from chalicelib.store.enrollments import EnrollmentItem
from chalicelib.store.orders import OrderItem


def admin_scan_enrollments() -> Iterator[EnrollmentItem]:
    yield from EnrollmentItem.scan(page_size=500)


def admin_scan_orders() -> Iterator[OrderItem]:
    yield from OrderItem.scan(page_size=500)


def admin_scan_sessions() -> Iterator[SessionItem]:
    yield from SessionItem.scan(page_size=500)  # the discriminator limits it to session items
