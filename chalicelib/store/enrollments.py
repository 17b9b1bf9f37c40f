"""Enrollments: who may learn a course, and how far they got.

Table `<prefix>enrollments`
    hash key   learner_id
    range key  course_id      one enrollment per learner and course (a refund ends it; buying again revives it)

Indexes
    newest_by_learner (LSI)   learner_id, enrolled_at    "my learning", newest first
    by_course (GSI)           course_id, enrolled_at     an instructor's learners of a course
    by_session (GSI)          session_id, learner_id     learners booked on a live session (reminders);
                              sparse (only enrollments with a seat), projects `status`

Access patterns
    may this learner open this course? ........ GetItem (learner_id, course_id)
    my enrollments, newest first .............. Query newest_by_learner
    learners of a course ....................... Query by_course
    learners booked on a live session .......... Query by_session
    enroll (inside the purchase transaction) .. Put if absent or ended
    end (inside the refund transaction) ....... Update status=ended if active|completed

    record progress ............................ Update: ADD the lesson to completed_lessons, guarded by the
                                                 set's size as read (so the percent written matches the set)
    complete (once) ............................ the same Update with status active -> completed, in one
                                                 transaction with the certificate's Put

Progress lives on the enrollment: `completed_lessons` (a set of lesson ids) and
`progress_percent`, so no request recounts a curriculum. Lessons only ever join the
set (a learner cannot un-complete one), so progress and completion only move forward.
"""

from dataclasses import dataclass
from datetime import datetime

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UnicodeSetAttribute, UTCDateTimeAttribute
from pynamodb.expressions.condition import size
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, IncludeProjection, LocalSecondaryIndex
from pynamodb.models import Model

from chalicelib import errors
from chalicelib.store.base import table_meta
from chalicelib.store.cursors import decode_cursor, encode_cursor
from chalicelib.store.transactions import Contention, UnitOfWork, conditional_write

ACTIVE, COMPLETED, ENDED = "active", "completed", "ended"


class NewestByLearner(LocalSecondaryIndex):
    class Meta:
        index_name = "newest_by_learner"
        projection = AllProjection()

    learner_id = UnicodeAttribute(hash_key=True)
    enrolled_at = UnicodeAttribute(range_key=True)


class ByCourse(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_course"
        projection = AllProjection()

    course_id = UnicodeAttribute(hash_key=True)
    enrolled_at = UnicodeAttribute(range_key=True)


class BySession(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_session"
        projection = IncludeProjection(["status"])  # progress updates do not rewrite the index

    session_id = UnicodeAttribute(hash_key=True)
    learner_id = UnicodeAttribute(range_key=True)


class EnrollmentItem(Model):
    Meta = table_meta("enrollments")

    learner_id = UnicodeAttribute(hash_key=True)
    course_id = UnicodeAttribute(range_key=True)
    enrollment_id = UnicodeAttribute()
    order_id = UnicodeAttribute()
    instructor_id = UnicodeAttribute()
    session_id = UnicodeAttribute(null=True)
    status = UnicodeAttribute(default=ACTIVE)
    enrolled_at = UnicodeAttribute()  # RFC 3339, sorts by time
    completed_lessons = UnicodeSetAttribute(null=True)
    progress_percent = NumberAttribute(default=0)
    last_lesson_id = UnicodeAttribute(null=True)
    completed_at = UTCDateTimeAttribute(null=True)
    ended_at = UTCDateTimeAttribute(null=True)
    last_position_seconds = NumberAttribute(null=True)  # where to resume last_lesson_id
    certificate_id = UnicodeAttribute(null=True)  # the certificate's verification id, set on completion

    newest_by_learner = NewestByLearner()
    by_course = ByCourse()
    by_session = BySession()


@dataclass(frozen=True)
class Enrollment:
    enrollment_id: str
    learner_id: str
    course_id: str
    instructor_id: str
    order_id: str
    session_id: str | None
    status: str
    enrolled_at: str
    completed_lessons: frozenset[str]
    progress_percent: int
    last_lesson_id: str | None
    completed_at: datetime | None
    last_position_seconds: int | None = None
    certificate_id: str | None = None

    @property
    def grants_access(self) -> bool:
        return self.status in (ACTIVE, COMPLETED)


def to_enrollment(item: EnrollmentItem) -> Enrollment:
    return Enrollment(
        item.enrollment_id, item.learner_id, item.course_id, item.instructor_id, item.order_id, item.session_id,
        item.status, item.enrolled_at, frozenset(item.completed_lessons or ()), int(item.progress_percent or 0),
        item.last_lesson_id, item.completed_at,
        None if item.last_position_seconds is None else int(item.last_position_seconds), item.certificate_id,
    )


def get_enrollment(learner_id: str, course_id: str) -> Enrollment | None:
    try:
        return to_enrollment(EnrollmentItem.get(learner_id, course_id))
    except EnrollmentItem.DoesNotExist:
        return None


def new_enrollment_item(enrollment: Enrollment) -> EnrollmentItem:
    return EnrollmentItem(
        enrollment.learner_id, enrollment.course_id, enrollment_id=enrollment.enrollment_id,
        order_id=enrollment.order_id, instructor_id=enrollment.instructor_id, session_id=enrollment.session_id,
        status=ACTIVE, enrolled_at=enrollment.enrolled_at, progress_percent=0,
    )


def add_enroll(uow: UnitOfWork, enrollment: Enrollment) -> None:
    """Add the enrollment to a purchase's unit of work; refused (`AlreadyEnrolled`) if one grants access."""
    uow.put(
        new_enrollment_item(enrollment),
        condition=EnrollmentItem.course_id.does_not_exist() | (EnrollmentItem.status == ENDED),
        on_fail=lambda: errors.AlreadyEnrolled(),
    )


def add_end(uow: UnitOfWork, learner_id: str, course_id: str, ended_at: datetime, *,
            progress_below: int | None = None) -> None:
    """Add ending the enrollment to a refund's unit of work; refused unless it grants access now,
    and with `progress_below` (a learner's own refund) unless less than that percent of the course
    is complete at commit time: a lesson completed while the refund runs cannot slip past the limit."""
    condition = EnrollmentItem.status.is_in(ACTIVE, COMPLETED)
    failure = errors.Conflict("The enrollment has already ended")
    if progress_below is not None:
        condition &= EnrollmentItem.progress_percent < progress_below
        failure = errors.RefundNotAllowed(
            f"This order cannot be refunded: refunds are possible below {progress_below}% of lessons completed")
    uow.update(
        EnrollmentItem(learner_id, course_id),
        actions=[EnrollmentItem.status.set(ENDED), EnrollmentItem.ended_at.set(ended_at)],
        condition=condition,
        on_fail=lambda: failure,
    )


def add_unchanged_usage(uow: UnitOfWork, enrollment: Enrollment) -> None:
    """Add to a learner's partial refund: the enrollment still grants access, with the lessons completed and
    the last lesson opened as read (the refund was computed from them)."""
    last_lesson = (EnrollmentItem.last_lesson_id.does_not_exist() if enrollment.last_lesson_id is None
                   else EnrollmentItem.last_lesson_id == enrollment.last_lesson_id)
    uow.check(EnrollmentItem, enrollment.learner_id, enrollment.course_id,
              condition=(EnrollmentItem.status.is_in(ACTIVE, COMPLETED)
                         & _unchanged_since_read(len(enrollment.completed_lessons)) & last_lesson),
              on_fail=lambda: errors.Conflict("Your progress changed while the refund was computed; try again"))


def list_for_learner(learner_id: str, limit: int, cursor: str | None, *,
                     booked_only: bool = False) -> tuple[list[Enrollment], str | None]:
    """A learner's enrollments, newest first (one Query on newest_by_learner); (enrollments, next cursor).

    `booked_only` keeps those that booked a live session and still grant access; PynamoDB reads on
    until `limit` match, so those pages are read 100 enrollments at a time (a learner's list is short).
    """
    condition, page_size = None, limit
    if booked_only:
        condition = EnrollmentItem.session_id.exists() & EnrollmentItem.status.is_in(ACTIVE, COMPLETED)
        page_size = 100
    start = decode_cursor(cursor, partition={"learner_id": learner_id})
    result = EnrollmentItem.newest_by_learner.query(learner_id, scan_index_forward=False, limit=limit,
                                                    page_size=page_size, last_evaluated_key=start,
                                                    filter_condition=condition)
    return [to_enrollment(item) for item in result], encode_cursor(result.last_evaluated_key)


def list_for_course(course_id: str, limit: int, cursor: str | None) -> tuple[list[Enrollment], str | None]:
    """A course's enrollments, newest first (one Query on by_course); (enrollments, next cursor)."""
    result = EnrollmentItem.by_course.query(course_id, scan_index_forward=False, limit=limit,
                                            last_evaluated_key=decode_cursor(cursor, partition={"course_id": course_id}))
    return [to_enrollment(item) for item in result], encode_cursor(result.last_evaluated_key)


def _changed_since_read() -> Contention:
    return Contention("the enrollment changed since it was read")


def _unchanged_since_read(completed_before: int):
    """The completed-lessons set still has the size it had when read (none yet: the attribute is absent)."""
    if completed_before == 0:
        return EnrollmentItem.completed_lessons.does_not_exist()
    return size(EnrollmentItem.completed_lessons) == completed_before


def _position_actions(lesson_id: str, position_seconds: int) -> list:
    return [EnrollmentItem.last_lesson_id.set(lesson_id), EnrollmentItem.last_position_seconds.set(position_seconds)]


def save_position(learner_id: str, course_id: str, lesson_id: str, position_seconds: int) -> Enrollment:
    """Remember where the learner is; refused (`Contention`: read again) unless the enrollment grants access."""
    item = EnrollmentItem(learner_id, course_id)
    with conditional_write(_changed_since_read):
        item.update(
            actions=_position_actions(lesson_id, position_seconds),
            condition=EnrollmentItem.status.is_in(ACTIVE, COMPLETED),
        )
    return to_enrollment(item)


def record_completed_lesson(learner_id: str, course_id: str, lesson_id: str, position_seconds: int, *,
                            completed_before: int, progress_percent: int) -> Enrollment:
    """Add one lesson to the completed set and write the percent computed from the size read, at once.

    Refused (`Contention`) if the set changed since it was read, or if the enrollment no longer grants
    access; the caller reads again and retries.
    """
    item = EnrollmentItem(learner_id, course_id)
    with conditional_write(_changed_since_read):
        item.update(
            actions=[EnrollmentItem.completed_lessons.add({lesson_id}),
                     EnrollmentItem.progress_percent.set(progress_percent),
                     *_position_actions(lesson_id, position_seconds)],
            condition=EnrollmentItem.status.is_in(ACTIVE, COMPLETED) & _unchanged_since_read(completed_before),
        )
    return to_enrollment(item)


def add_completion(uow: UnitOfWork, learner_id: str, course_id: str, lesson_id: str, position_seconds: int, *,
                   completed_before: int, completed_at: datetime, certificate_id: str) -> None:
    """Add the last lesson and complete the enrollment (active -> completed, once) to a transaction."""
    uow.update(
        EnrollmentItem(learner_id, course_id),
        actions=[EnrollmentItem.completed_lessons.add({lesson_id}),
                 EnrollmentItem.progress_percent.set(100),
                 EnrollmentItem.status.set(COMPLETED),
                 EnrollmentItem.completed_at.set(completed_at),
                 EnrollmentItem.certificate_id.set(certificate_id),
                 *_position_actions(lesson_id, position_seconds)],
        condition=(EnrollmentItem.status == ACTIVE) & _unchanged_since_read(completed_before),
        on_fail=_changed_since_read,
    )


def booked_learners(session_id: str) -> list[str]:
    """Learners holding a seat on a live session now (their enrollment grants access)."""
    return [item.learner_id for item in EnrollmentItem.by_session.query(session_id)
            if item.status in (ACTIVE, COMPLETED)]
