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

Progress lives on the enrollment: `completed_lessons` (a set of lesson ids) and
`progress_percent`, so no request recounts a curriculum.
"""

from dataclasses import dataclass
from datetime import datetime

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UnicodeSetAttribute, UTCDateTimeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, IncludeProjection, LocalSecondaryIndex
from pynamodb.models import Model

from chalicelib import errors
from chalicelib.store.base import table_meta
from chalicelib.store.transactions import UnitOfWork

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

    @property
    def grants_access(self) -> bool:
        return self.status in (ACTIVE, COMPLETED)


def to_enrollment(item: EnrollmentItem) -> Enrollment:
    return Enrollment(
        item.enrollment_id, item.learner_id, item.course_id, item.instructor_id, item.order_id, item.session_id,
        item.status, item.enrolled_at, frozenset(item.completed_lessons or ()), int(item.progress_percent or 0),
        item.last_lesson_id, item.completed_at,
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


def add_end(uow: UnitOfWork, learner_id: str, course_id: str, ended_at: datetime) -> None:
    """Add ending the enrollment to a refund's unit of work; refused unless it grants access now."""
    uow.update(
        EnrollmentItem(learner_id, course_id),
        actions=[EnrollmentItem.status.set(ENDED), EnrollmentItem.ended_at.set(ended_at)],
        condition=EnrollmentItem.status.is_in(ACTIVE, COMPLETED),
        on_fail=lambda: errors.Conflict("The enrollment has already ended"),
    )


def booked_learners(session_id: str) -> list[str]:
    """Learners holding a seat on a live session now (their enrollment grants access)."""
    return [item.learner_id for item in EnrollmentItem.by_session.query(session_id)
            if item.status in (ACTIVE, COMPLETED)]
