"""Whole-table reads for admin tooling only (reconciliation). Nothing on a request or job path uses these.

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
