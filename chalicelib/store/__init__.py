"""DynamoDB through PynamoDB: the only layer that touches a table.

Each model module opens with its keys, its indexes and the access patterns
they serve. No Scan outside admin tooling and tests.
"""

import functools

from botocore.exceptions import ClientError
from pynamodb.exceptions import PynamoDBException


@functools.cache
def all_models() -> tuple:
    """Every table the app expects; the bootstrap creates them and `/health` checks them (also `ALL_MODELS`).

    Imported here on first use, not with the package: a function loads only the models its code reaches."""
    from chalicelib.store import ledger
    from chalicelib.store.auth_attempts import AuthAttemptItem
    from chalicelib.store.certificates import CertificateItem
    from chalicelib.store.checkouts import CheckoutItem
    from chalicelib.store.coupons import CouponItem
    from chalicelib.store.courses import CatalogItem
    from chalicelib.store.daily_stats import DailyStatsItem
    from chalicelib.store.enrollments import EnrollmentItem
    from chalicelib.store.idempotency import IdempotencyItem
    from chalicelib.store.orders import OrderItem
    from chalicelib.store.payout_accounts import PayoutAccountItem
    from chalicelib.store.payouts import PayoutItem
    from chalicelib.store.questions import QnaItem
    from chalicelib.store.reconciliation_runs import ReconciliationRunItem
    from chalicelib.store.reviews import ReviewItem
    from chalicelib.store.search_terms import CourseTermItem
    from chalicelib.store.sent_mail import SentMailItem
    from chalicelib.store.topups import TopupItem
    from chalicelib.store.users import UserItem
    from chalicelib.store.webhook_events import WebhookEventItem

    return (
        UserItem, CatalogItem, CourseTermItem, EnrollmentItem, *ledger.MODELS, IdempotencyItem, TopupItem, OrderItem,
        CouponItem, CertificateItem, ReviewItem, QnaItem, PayoutAccountItem, PayoutItem, DailyStatsItem, SentMailItem,
        ReconciliationRunItem, AuthAttemptItem, CheckoutItem, WebhookEventItem,
    )


def __getattr__(name: str):
    if name == "ALL_MODELS":
        return all_models()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def table_status() -> dict[str, dict]:
    """For `/health`: each expected table, its schema version and whether it is there."""
    statuses = {}
    for model in all_models():
        try:
            status = model.describe_table().get("TableStatus", "UNKNOWN")
        except (PynamoDBException, ClientError):  # missing, unreachable or not ours to read: reported, not raised
            status = "MISSING"
        statuses[model.Meta.short_name] = {"schema_version": model.Meta.schema_version, "status": status}
    return statuses
