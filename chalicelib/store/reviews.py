"""Course reviews: one per learner per course, with at most one reply from the course's instructor.

Table `<prefix>reviews`
    hash key   course_id
    range key  learner_id     the key itself makes "one review per learner per course"

Indexes (local: same partition, strongly consistent if asked)
    newest (LSI)         course_id, created_at   a course's reviews, newest first
    by_review_id (LSI)   course_id, review_id    find a review by its public id (the instructor's reply)

Access patterns
    a course's reviews, newest first ........... Query newest
    a course's reviews posted in a window ...... Query newest, created_at >= since (the daily digest)
    my review of a course ...................... GetItem (course_id, learner_id)
    write / edit a review ...................... Put if absent / Update if rating unchanged since read,
                                                 in ONE transaction with the course's rating counters
    reply once ................................. Update if reply_text does not exist

The course's `rating_sum`, `rating_count` and `rating_score` (the catalog's rating sort
key) are changed only here, always together with the review in the same transaction and
guarded by the values read, so the aggregate never drifts from the reviews.
Texts are stored as given (plain text): nothing here renders or strips markup.
"""

from datetime import datetime

import msgspec
from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.indexes import AllProjection, LocalSecondaryIndex
from pynamodb.models import Model

from chalicelib import errors
from chalicelib.store.base import table_meta
from chalicelib.store.courses import COURSE, CourseItem
from chalicelib.store.cursors import decode_cursor, encode_cursor
from chalicelib.store.transactions import Contention, OnFail, UnitOfWork, conditional_write


class Newest(LocalSecondaryIndex):
    class Meta:
        index_name = "newest"
        projection = AllProjection()

    course_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class ByReviewId(LocalSecondaryIndex):
    class Meta:
        index_name = "by_review_id"
        projection = AllProjection()

    course_id = UnicodeAttribute(hash_key=True)
    review_id = UnicodeAttribute(range_key=True)


class ReviewItem(Model):
    Meta = table_meta("reviews")

    course_id = UnicodeAttribute(hash_key=True)
    learner_id = UnicodeAttribute(range_key=True)
    review_id = UnicodeAttribute()
    learner_name = UnicodeAttribute()
    rating = NumberAttribute()
    text = UnicodeAttribute()
    created_at = UnicodeAttribute()  # RFC 3339, sorts by time
    updated_at = UTCDateTimeAttribute()
    reply_text = UnicodeAttribute(null=True)
    replied_at = UTCDateTimeAttribute(null=True)

    newest = Newest()
    by_review_id = ByReviewId()


class Review(msgspec.Struct, frozen=True):
    review_id: str
    course_id: str
    learner_id: str
    learner_name: str
    rating: int
    text: str
    created_at: str
    updated_at: datetime
    reply_text: str | None
    replied_at: datetime | None


class RatingTotals(msgspec.Struct, frozen=True):
    """A course's rating counters as read; the write that changes them is guarded by these values."""

    rating_sum: int
    rating_count: int

    def score(self) -> int:
        return rating_score(self.rating_sum, self.rating_count)


def rating_score(rating_sum: int, rating_count: int) -> int:
    """The catalog's rating sort key: round(average * 1000) in exact integers (halves to even, as `round`)."""
    if not rating_count:
        return 0
    quotient, remainder = divmod(rating_sum * 1000, rating_count)
    if 2 * remainder > rating_count or (2 * remainder == rating_count and quotient % 2):
        return quotient + 1
    return quotient


def to_review(item: ReviewItem) -> Review:
    return Review(item.review_id, item.course_id, item.learner_id, item.learner_name, int(item.rating), item.text,
                  item.created_at, item.updated_at, item.reply_text, item.replied_at)


def get_review(course_id: str, learner_id: str) -> Review | None:
    try:
        return to_review(ReviewItem.get(course_id, learner_id))
    except ReviewItem.DoesNotExist:
        return None


def find_review(course_id: str, review_id: str) -> Review | None:
    for item in ReviewItem.by_review_id.query(course_id, ReviewItem.review_id == review_id, limit=1):
        return to_review(item)
    return None


def list_newest(course_id: str, limit: int, cursor: str | None) -> tuple[list[Review], str | None]:
    """A course's reviews, newest first; (reviews, the next page's cursor)."""
    result = ReviewItem.newest.query(course_id, scan_index_forward=False, limit=limit,
                                     last_evaluated_key=decode_cursor(cursor, partition={"course_id": course_id}))
    return [to_review(item) for item in result], encode_cursor(result.last_evaluated_key)


def count_posted_between(course_id: str, since: str, until: str) -> int:
    """How many reviews of the course were first posted in [since, until) (RFC 3339 UTC strings)."""
    posted = ReviewItem.newest.query(course_id, ReviewItem.created_at >= since,
                                     attributes_to_get=["course_id", "learner_id", "created_at"])
    return sum(1 for item in posted if item.created_at < until)


def _add_rating_change(uow: UnitOfWork, course_id: str, before: RatingTotals, after: RatingTotals) -> None:
    """Move the course's counters from `before` to `after`, only if they still are `before`."""
    uow.update(
        CourseItem(course_id, COURSE),
        actions=[CourseItem.rating_sum.set(after.rating_sum), CourseItem.rating_count.set(after.rating_count),
                 CourseItem.rating_score.set(after.score())],
        condition=(CourseItem.rating_sum == before.rating_sum) & (CourseItem.rating_count == before.rating_count),
        on_fail=lambda: Contention("the course's rating moved since it was read"),
    )


def add_new_review(uow: UnitOfWork, review: Review, totals: RatingTotals) -> None:
    """A first review: Put if absent, and count its rating in the same transaction."""
    uow.put(
        ReviewItem(review.course_id, review.learner_id, review_id=review.review_id, learner_name=review.learner_name,
                   rating=review.rating, text=review.text, created_at=review.created_at,
                   updated_at=review.updated_at),
        condition=ReviewItem.learner_id.does_not_exist(),
        on_fail=lambda: errors.AlreadyReviewed(
            "You have reviewed this course already; edit it with PATCH /courses/{course_id}/reviews/mine"),
    )
    after = RatingTotals(totals.rating_sum + review.rating, totals.rating_count + 1)
    _add_rating_change(uow, review.course_id, totals, after)


def add_review_edit(uow: UnitOfWork, before: Review, rating: int, text: str, updated_at: datetime,
                    totals: RatingTotals) -> None:
    """An edit: the review changes only if its rating is still the one read, and the sum moves by the difference."""
    uow.update(
        ReviewItem(before.course_id, before.learner_id),
        actions=[ReviewItem.rating.set(rating), ReviewItem.text.set(text), ReviewItem.updated_at.set(updated_at)],
        condition=ReviewItem.learner_id.exists() & (ReviewItem.rating == before.rating),
        on_fail=lambda: Contention("the review changed since it was read"),
    )
    if rating != before.rating:
        after = RatingTotals(totals.rating_sum + rating - before.rating, totals.rating_count)
        _add_rating_change(uow, before.course_id, totals, after)


def write_reply(course_id: str, learner_id: str, text: str, replied_at: datetime, on_fail: OnFail) -> None:
    """The instructor's one reply; `on_fail` if the review has one already."""
    with conditional_write(on_fail):
        ReviewItem(course_id, learner_id).update(
            actions=[ReviewItem.reply_text.set(text), ReviewItem.replied_at.set(replied_at)],
            condition=ReviewItem.learner_id.exists() & ReviewItem.reply_text.does_not_exist(),
        )
