"""Course reviews: one per enrolled learner per course, editable; one reply from the instructor.

A second POST of a review is refused with 409 `ALREADY_REVIEWED`; the learner edits
it with `PATCH /courses/{course_id}/reviews/mine`. Every write that changes a
rating moves the course's `rating_sum`/`rating_count`/`rating_score` in the same
transaction, guarded by the values read (a concurrent review makes it retry with
fresh values), so the catalog's rating sort stays a Query and never needs a recount.
Texts are plain text, stored and returned as given.
"""

from chalicelib import clock, errors, ids
from chalicelib.domain.courses import owned_by
from chalicelib.roles import Caller
from chalicelib.services import stats
from chalicelib.services.course_access import course_on_sale
from chalicelib.services.learning import enrollment_granting_access
from chalicelib.store import reviews, users
from chalicelib.store.courses import Course
from chalicelib.store.reviews import RatingTotals, Review
from chalicelib.store.transactions import UnitOfWork, retry_on_contention


def _totals(course: Course) -> RatingTotals:
    return RatingTotals(course.rating_sum, course.rating_count)


def list_reviews(course_id: str, limit: int, cursor: str | None) -> tuple[list[Review], str | None]:
    course_on_sale(course_id)
    return reviews.list_newest(course_id, limit, cursor)


def write_review(caller: Caller, course_id: str, rating: int, text: str) -> Review:
    course = course_on_sale(course_id)
    if enrollment_granting_access(caller, course_id) is None:
        raise errors.Forbidden("Only learners enrolled in this course may review it")
    profile = users.get_profile(caller.user_id)
    now = clock.now()
    review = Review(ids.new_id(), course_id, caller.user_id, profile.name if profile else "Learner", rating, text,
                    clock.to_rfc3339(now), now, None, None)

    read = [course]  # the first try uses the course read above; a retry reads its counters again

    def attempt() -> Review:
        current = read.pop() if read else course_on_sale(course_id)
        uow = UnitOfWork()
        reviews.add_new_review(uow, review, _totals(current))
        stats.add_event(uow, course_id=course_id, instructor_id=current.instructor_id, at=now, reviews=1,
                        rating_sum=review.rating, rating_count=1)
        uow.commit()
        return review

    return retry_on_contention(attempt)


def my_review(caller: Caller, course_id: str) -> Review:
    review = reviews.get_review(course_id, caller.user_id)
    if review is None:
        raise errors.NotFound("You have not reviewed this course")
    return review


def edit_review(caller: Caller, course_id: str, rating: int | None, text: str | None) -> Review:
    my_review(caller, course_id)  # no review of mine: nothing to edit (404), whoever asks
    if enrollment_granting_access(caller, course_id) is None:
        raise errors.Forbidden("Only learners enrolled in this course may review it")

    def attempt() -> Review:
        course = course_on_sale(course_id)  # the review and the counters are read again on every try
        before = my_review(caller, course_id)
        new_rating = before.rating if rating is None else rating
        new_text = before.text if text is None else text
        now = clock.now()
        uow = UnitOfWork()
        reviews.add_review_edit(uow, before, new_rating, new_text, now, _totals(course))
        # an edit moves only the rating sum, by the difference, on the day of the edit
        stats.add_event(uow, course_id=course_id, instructor_id=course.instructor_id, at=now,
                        rating_sum=new_rating - before.rating)
        uow.commit()
        return Review(before.review_id, course_id, caller.user_id, before.learner_name, new_rating, new_text,
                      before.created_at, now, before.reply_text, before.replied_at)

    return retry_on_contention(attempt)


def reply(caller: Caller, course_id: str, review_id: str, text: str) -> Review:
    """The course's instructor answers a review, once."""
    course = course_on_sale(course_id)
    if not owned_by(course, caller.user_id):
        # another instructor's course through the owner's route: 404, as for every owner route
        raise errors.NotFound(f"No course {course_id} of yours")
    review = reviews.find_review(course_id, review_id)
    if review is None:
        raise errors.NotFound(f"No review {review_id} on this course")
    now = clock.now()
    reviews.write_reply(course_id, review.learner_id, text, now,
                        on_fail=lambda: errors.Conflict("This review has a reply already"))
    return Review(review.review_id, course_id, review.learner_id, review.learner_name, review.rating, review.text,
                  review.created_at, review.updated_at, text, now)
