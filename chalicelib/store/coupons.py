"""Coupons an instructor makes for one of their courses.

Table `<prefix>coupons`
    hash key   course_id
    range key  code          upper-case, unique per course

Access patterns
    look a coupon up at checkout ......... GetItem (course_id, code)
    redeem inside the purchase ........... Update redemptions + 1 if redemptions < max_redemptions
                                           and not expired (never over-redeemed under concurrency)
    give back (a checkout not paid) ...... Update redemptions - 1, inside the release of its holds
    a course's coupons (studio) .......... Query course_id
    create ............................... PutItem if the code is new for the course
"""

from dataclasses import dataclass
from datetime import datetime

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.models import Model

from chalicelib import errors
from chalicelib.store.base import table_meta
from chalicelib.store.transactions import UnitOfWork, conditional_write

PERCENT, FIXED = "percent", "fixed"


class CouponItem(Model):
    Meta = table_meta("coupons")

    course_id = UnicodeAttribute(hash_key=True)
    code = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute()
    value = NumberAttribute()  # percent (1..100) or a fixed amount in the course currency's minor unit
    currency = UnicodeAttribute()
    max_redemptions = NumberAttribute()
    redemptions = NumberAttribute(default=0)
    expires_at = UnicodeAttribute()  # RFC 3339 UTC, compared as a string in conditions
    created_at = UTCDateTimeAttribute()


@dataclass(frozen=True)
class Coupon:
    course_id: str
    code: str
    kind: str
    value: int
    currency: str
    max_redemptions: int
    redemptions: int
    expires_at: str
    created_at: datetime


def to_coupon(item: CouponItem) -> Coupon:
    return Coupon(item.course_id, item.code, item.kind, int(item.value), item.currency, int(item.max_redemptions),
                  int(item.redemptions or 0), item.expires_at, item.created_at)


def create(coupon: Coupon) -> Coupon:
    item = CouponItem(coupon.course_id, coupon.code, kind=coupon.kind, value=coupon.value, currency=coupon.currency,
                      max_redemptions=coupon.max_redemptions, redemptions=0, expires_at=coupon.expires_at,
                      created_at=coupon.created_at)
    with conditional_write(lambda: errors.Conflict(f"Coupon {coupon.code} already exists for this course")):
        item.save(condition=CouponItem.code.does_not_exist())
    return to_coupon(item)


def get(course_id: str, code: str) -> Coupon | None:
    try:
        return to_coupon(CouponItem.get(course_id, code))
    except CouponItem.DoesNotExist:
        return None


def of_course(course_id: str) -> list[Coupon]:
    return [to_coupon(item) for item in CouponItem.query(course_id)]


def add_redeem(uow: UnitOfWork, course_id: str, code: str, now_iso: str, on_fail) -> None:
    uow.update(
        CouponItem(course_id, code),
        actions=[CouponItem.redemptions.add(1)],
        condition=(CouponItem.redemptions < CouponItem.max_redemptions) & (CouponItem.expires_at > now_iso),
        on_fail=on_fail,
    )


def add_give_back(uow: UnitOfWork, course_id: str, code: str) -> None:
    """Undo a redemption held by a checkout that was never paid (declined, expired or cancelled)."""
    uow.update(CouponItem(course_id, code), actions=[CouponItem.redemptions.add(-1)],
               condition=CouponItem.redemptions > 0)
