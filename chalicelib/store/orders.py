"""Orders: a learner's purchase of a course (and maybe a seat), and its refund.

Table `<prefix>orders`
    hash key   order_id      a ULID (sorts by time)

Indexes
    by_learner (GSI)      learner_id, order_id      a learner's orders, newest first
    by_instructor (GSI)   instructor_id, order_id   an instructor's sales (statements, dashboards)
    unsettled (GSI)       settle_shard, settles_at  orders whose instructor share is still pending,
                                                    by the time it may be released (the settlement job);
                                                    sparse: settling or a full refund removes `settle_shard`
                                                    (a partial refund keeps it: the rest still settles)

Access patterns
    a receipt .............................. GetItem order_id (the service checks the owner)
    a refund's order (reconciliation) ...... GetItem order_id, consistent (before reporting it missing)
    my orders .............................. Query by_learner
    sales of an instructor ................. Query by_instructor
    an instructor's sales since a moment ... Query by_instructor, order_id >= the moment's lowest ULID (digest)
    due for settlement ..................... Query unsettled, settles_at <= now
    settle (inside the settlement) ......... Update settled_at, remove settle_shard, if still unsettled
    create (inside the purchase) ........... Put if order_id is new
    refund (inside the refund) ............. Update status paid -> refunded
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib import errors
from chalicelib.money import Money
from chalicelib.store.base import table_meta
from chalicelib.store.cursors import decode_cursor, encode_cursor
from chalicelib.store.transactions import UnitOfWork

PAID, REFUNDED = "paid", "refunded"
UNSETTLED = "unsettled"


class ByLearner(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_learner"
        projection = AllProjection()

    learner_id = UnicodeAttribute(hash_key=True)
    order_id = UnicodeAttribute(range_key=True)


class ByInstructor(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_instructor"
        projection = AllProjection()

    instructor_id = UnicodeAttribute(hash_key=True)
    order_id = UnicodeAttribute(range_key=True)


class Unsettled(GlobalSecondaryIndex):
    class Meta:
        index_name = "unsettled"
        projection = AllProjection()

    settle_shard = UnicodeAttribute(hash_key=True)
    settles_at = UnicodeAttribute(range_key=True)


class OrderItem(Model):
    Meta = table_meta("orders")

    order_id = UnicodeAttribute(hash_key=True)
    learner_id = UnicodeAttribute()
    instructor_id = UnicodeAttribute()
    course_id = UnicodeAttribute()
    course_title = UnicodeAttribute()
    session_id = UnicodeAttribute(null=True)
    enrollment_id = UnicodeAttribute()
    status = UnicodeAttribute()
    currency = UnicodeAttribute()
    price = NumberAttribute()
    discount = NumberAttribute()
    total = NumberAttribute()
    platform_fee = NumberAttribute()
    instructor_share = NumberAttribute()
    coupon_code = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    settle_shard = UnicodeAttribute(null=True)
    settles_at = UnicodeAttribute(null=True)
    settled_at = UTCDateTimeAttribute(null=True)
    refund_id = UnicodeAttribute(null=True)
    refund_amount = NumberAttribute(null=True)
    refund_reason = UnicodeAttribute(null=True)
    refunded_by = UnicodeAttribute(null=True)
    refunded_at = UTCDateTimeAttribute(null=True)
    checkout_id = UnicodeAttribute(null=True)  # the checkout that paid it (None: bought from the wallet)

    by_learner = ByLearner()
    by_instructor = ByInstructor()
    unsettled = Unsettled()


@dataclass(frozen=True)
class Order:
    order_id: str
    learner_id: str
    instructor_id: str
    course_id: str
    course_title: str
    session_id: str | None
    enrollment_id: str
    status: str
    price: Money
    discount: Money
    total: Money
    platform_fee: Money
    instructor_share: Money
    coupon_code: str | None
    created_at: datetime
    settled_at: datetime | None = None
    refund_id: str | None = None
    refund_amount: Money | None = None
    refund_reason: str | None = None
    refunded_at: datetime | None = None
    checkout_id: str | None = None


def to_order(item: OrderItem) -> Order:
    money = lambda amount: Money(int(amount), item.currency)  # noqa: E731
    return Order(
        item.order_id, item.learner_id, item.instructor_id, item.course_id, item.course_title, item.session_id,
        item.enrollment_id, item.status, money(item.price), money(item.discount), money(item.total),
        money(item.platform_fee), money(item.instructor_share), item.coupon_code, item.created_at,
        item.settled_at, item.refund_id, money(item.refund_amount) if item.refund_amount is not None else None,
        item.refund_reason, item.refunded_at, item.checkout_id,
    )


def get(order_id: str, consistent: bool = False) -> Order | None:
    try:
        return to_order(OrderItem.get(order_id, consistent_read=consistent))
    except OrderItem.DoesNotExist:
        return None


def add_create(uow: UnitOfWork, order: Order, settles_at: str) -> None:
    uow.put(
        OrderItem(
            order.order_id, learner_id=order.learner_id, instructor_id=order.instructor_id, course_id=order.course_id,
            course_title=order.course_title, session_id=order.session_id, enrollment_id=order.enrollment_id,
            status=PAID, currency=order.total.currency, price=order.price.amount, discount=order.discount.amount,
            total=order.total.amount, platform_fee=order.platform_fee.amount,
            instructor_share=order.instructor_share.amount, coupon_code=order.coupon_code,
            created_at=order.created_at, settle_shard=UNSETTLED if order.instructor_share.amount else None,
            settles_at=settles_at, checkout_id=order.checkout_id,
        ),
        condition=OrderItem.order_id.does_not_exist(),
        on_fail=lambda: errors.Conflict("This order exists already"),
    )


def add_refund(uow: UnitOfWork, order: Order, refund_id: str, amount: Money, reason: str, refunded_by: str,
               now: datetime) -> None:
    """Mark the order refunded, if it is still paid and still (un)settled as the refund assumed.

    A full refund leaves nothing to settle (the order leaves the `unsettled` index); after a partial
    refund of an unsettled order the rest of the instructor's share still settles when it is due."""
    settled_as_read = OrderItem.settled_at.exists() if order.settled_at else OrderItem.settled_at.does_not_exist()
    actions = [
        OrderItem.status.set(REFUNDED), OrderItem.refund_id.set(refund_id), OrderItem.refund_amount.set(amount.amount),
        OrderItem.refund_reason.set(reason), OrderItem.refunded_by.set(refunded_by), OrderItem.refunded_at.set(now),
    ]
    if amount.amount >= order.total.amount:
        actions.append(OrderItem.settle_shard.remove())
    uow.update(
        OrderItem(order.order_id),
        actions=actions,
        condition=(OrderItem.status == PAID) & settled_as_read,
        on_fail=lambda: errors.Conflict("The order changed while it was being refunded; try again"),
    )


def due_for_settlement(now_iso: str, page_size: int = 100) -> Iterator[Order]:
    """Orders whose instructor share is still pending and may be released by `now_iso`, oldest first.

    Read from the `unsettled` index, which may lag the table by a moment: the settlement's own
    condition (`add_settle`) is what decides."""
    for item in OrderItem.unsettled.query(UNSETTLED, OrderItem.settles_at <= now_iso, page_size=page_size):
        yield to_order(item)


def add_settle(uow: UnitOfWork, order: Order, now: datetime) -> None:
    """Mark the order settled, if it is still unsettled and in the state (paid, or partly refunded) it was read in."""
    uow.update(
        OrderItem(order.order_id),
        actions=[OrderItem.settled_at.set(now), OrderItem.settle_shard.remove()],
        condition=(OrderItem.settle_shard.exists() & OrderItem.settled_at.does_not_exist()
                   & (OrderItem.status == order.status)),
        on_fail=lambda: errors.Conflict(f"Order {order.order_id} was settled or refunded meanwhile"),
    )


def of_instructor_since(instructor_id: str, since_order_id: str) -> Iterator[Order]:
    """An instructor's orders from `since_order_id` on (order ids are ULIDs: from a moment on), oldest first."""
    for item in OrderItem.by_instructor.query(instructor_id, OrderItem.order_id >= since_order_id, page_size=200):
        yield to_order(item)


def of_learner(learner_id: str, limit: int, cursor: str | None) -> tuple[list[Order], str | None]:
    """A learner's orders, newest first; (orders, the next page's cursor)."""
    result = OrderItem.by_learner.query(learner_id, scan_index_forward=False, limit=limit,
                                        last_evaluated_key=decode_cursor(cursor, partition={"learner_id": learner_id}))
    return [to_order(item) for item in result], encode_cursor(result.last_evaluated_key)
