"""After checkout: my learning, protected lesson files, progress and completion, booked live sessions.

Who may open a lesson's file: a learner whose enrollment grants access (active or
completed; a refund ends it), the course's instructor, and admins; a lesson flagged
`preview` is open to anyone signed in. Everyone else gets 403, never the file.
Enrollments are created and ended by purchases and refunds (`store.enrollments.add_enroll`
/ `add_end`); nothing here creates one.

Progress only moves forward: a lesson joins the enrollment's completed set once, the
percent is computed from the set's size as read and written with a condition on that
size (no recount of the curriculum), and the enrollment completes exactly once, in the
same transaction that issues its certificate.
"""

import dataclasses
from datetime import datetime, timedelta

import msgspec

from chalicelib import clock, config, errors
from chalicelib.aws import client
from chalicelib.domain.courses import on_sale, owned_by
from chalicelib.roles import ADMINS, Caller
from chalicelib.services import stats
from chalicelib.store import certificates, courses, enrollments, users
from chalicelib.store.courses import Course, Lesson, LiveSession
from chalicelib.store.enrollments import ACTIVE, Enrollment
from chalicelib.store.transactions import Contention, UnitOfWork

PROGRESS_ATTEMPTS = 5  # concurrent progress writes of one learner on one course are rare; each retry re-reads


# Records are msgspec Structs rather than dataclasses: a tenth of the import time, paid at every cold start.
class LessonFile(msgspec.Struct, frozen=True):
    lesson_id: str
    url: str
    content_type: str | None
    expires_at: datetime


class MyEnrollment(msgspec.Struct, frozen=True):
    enrollment: Enrollment
    course: Course | None
    next_session: LiveSession | None


class BookedSession(msgspec.Struct, frozen=True):
    session: LiveSession
    course_title: str
    join_opens_at: datetime
    join_url: str | None  # only from join_opens_at until the session ends


# --- who may learn ---------------------------------------------------------------------------------

def enrollment_granting_access(caller: Caller, course_id: str) -> Enrollment | None:
    """The caller's enrollment in the course if it grants access now (active or completed), else None."""
    enrollment = enrollments.get_enrollment(caller.user_id, course_id)
    return enrollment if enrollment is not None and enrollment.grants_access else None


def _course_and_lessons(course_id: str) -> tuple[Course | None, list[Lesson]]:
    """The course summary and its lessons in curriculum order: one BatchGet."""
    course, curriculum = courses.get_course_and_curriculum(course_id)
    return course, curriculum.lessons


def _lesson(lessons: list[Lesson], lesson_id: str) -> Lesson:
    for lesson in lessons:
        if lesson.lesson_id == lesson_id:
            return lesson
    raise errors.NotFound(f"No lesson {lesson_id} in this course")


# --- protected content -----------------------------------------------------------------------------

def lesson_file(caller: Caller, course_id: str, lesson_id: str) -> LessonFile:
    """A short-lived presigned GET of the lesson's file, for those allowed to open it."""
    course, lessons = _course_and_lessons(course_id)
    privileged = course is not None and (owned_by(course, caller.user_id) or caller.is_in(ADMINS))
    if course is None or (not on_sale(course) and not privileged):
        raise errors.NotFound(f"No course {course_id}")
    lesson = _lesson(lessons, lesson_id)
    if not (privileged or lesson.preview or enrollment_granting_access(caller, course_id)):
        raise errors.Forbidden("Enroll in this course to open its lessons")
    if not lesson.file_key:
        raise errors.Conflict("This lesson has no file yet")
    seconds = config.lesson_url_seconds()
    params = {"Bucket": config.lesson_bucket(), "Key": lesson.file_key}
    if lesson.content_type:
        params["ResponseContentType"] = lesson.content_type
    url = client("s3").generate_presigned_url("get_object", Params=params, ExpiresIn=seconds)
    return LessonFile(lesson_id, url, lesson.content_type, clock.now() + timedelta(seconds=seconds))


# --- my learning -----------------------------------------------------------------------------------

def _session_is_over(session: LiveSession, now: datetime) -> bool:
    return datetime.fromisoformat(session.starts_at) + timedelta(minutes=session.duration_minutes) <= now


def my_enrollments(caller: Caller, limit: int, cursor: str | None) -> tuple[list[MyEnrollment], str | None]:
    """Newest first: one Query for the page, one BatchGet for its courses and booked sessions."""
    page, next_cursor = enrollments.list_for_learner(caller.user_id, limit, cursor)
    found_courses, found_sessions = courses.batch_get_courses_and_sessions(
        [e.course_id for e in page], [(e.course_id, e.session_id) for e in page if e.session_id])
    now = clock.now()
    found = []
    for enrollment in page:
        next_session = found_sessions.get((enrollment.course_id, enrollment.session_id))
        if next_session is not None and _session_is_over(next_session, now):
            next_session = None
        found.append(MyEnrollment(enrollment, found_courses.get(enrollment.course_id), next_session))
    return found, next_cursor


def my_enrollment(caller: Caller, course_id: str) -> Enrollment:
    enrollment = enrollments.get_enrollment(caller.user_id, course_id)
    if enrollment is None:
        raise errors.NotFound(f"You are not enrolled in course {course_id}")
    return enrollment


def my_sessions(caller: Caller, limit: int, cursor: str | None) -> tuple[list[BookedSession], str | None]:
    """Live sessions the caller booked (with an enrollment that grants access), soonest first within a page.

    The join URL is revealed from `join_opens_minutes` before the start until the session ends.
    """
    page, next_cursor = enrollments.list_for_learner(caller.user_id, limit, cursor, booked_only=True)
    keys = [(e.course_id, e.session_id) for e in page if e.session_id]
    _, found_sessions = courses.batch_get_courses_and_sessions([], keys)
    now, opens_before = clock.now(), timedelta(minutes=config.join_opens_minutes())
    booked = []
    for key in keys:
        session = found_sessions.get(key)
        if session is None:
            continue
        opens_at = datetime.fromisoformat(session.starts_at) - opens_before
        revealed = opens_at <= now and not _session_is_over(session, now)
        booked.append(BookedSession(session, session.course_title, opens_at, session.join_url if revealed else None))
    booked.sort(key=lambda b: (b.session.starts_at, b.session.session_id))
    return booked, next_cursor


# --- progress and completion -----------------------------------------------------------------------

def record_progress(caller: Caller, course_id: str, lesson_id: str, completed: bool,
                    position_seconds: int) -> Enrollment:
    """Remember the position; with `completed`, add the lesson to the completed set (idempotent).

    `completed: false` never un-completes a lesson: progress only moves forward.
    """
    course, lessons = _course_and_lessons(course_id)
    if course is None:
        raise errors.NotFound(f"No course {course_id}")
    _lesson(lessons, lesson_id)
    for _attempt in range(PROGRESS_ATTEMPTS):
        enrollment = enrollments.get_enrollment(caller.user_id, course_id)
        if enrollment is None:
            raise errors.NotFound(f"You are not enrolled in course {course_id}")
        if not enrollment.grants_access:
            raise errors.Forbidden("Your enrollment in this course has ended")
        try:
            if not completed or lesson_id in enrollment.completed_lessons:
                return enrollments.save_position(caller.user_id, course_id, lesson_id, position_seconds)
            done_before = len(enrollment.completed_lessons)
            if enrollment.status == ACTIVE and done_before + 1 >= len(lessons):
                return _complete(caller, course, enrollment, lesson_id, position_seconds)
            return enrollments.record_completed_lesson(
                caller.user_id, course_id, lesson_id, position_seconds, completed_before=done_before,
                progress_percent=min(100, (done_before + 1) * 100 // max(len(lessons), 1)))
        except Contention:
            continue  # the enrollment changed since it was read (another device, or a refund): read again
    raise errors.Conflict("Your progress changed while saving; try again")


def _complete(caller: Caller, course: Course, enrollment: Enrollment, lesson_id: str,
              position_seconds: int) -> Enrollment:
    """The last lesson: complete the enrollment and issue its certificate, in one transaction."""
    now = clock.now()
    profile = users.get_profile(caller.user_id)
    certificate = certificates.Certificate(
        verification_id=certificates.new_verification_id(), learner_id=caller.user_id,
        course_id=course.course_id, enrollment_id=enrollment.enrollment_id,
        learner_name=profile.name if profile else "Learner", course_title=course.title,
        instructor_name=course.instructor_name, completed_at=now,
    )
    uow = UnitOfWork()
    certificates.add_issue(uow, certificate)
    enrollments.add_completion(uow, caller.user_id, course.course_id, lesson_id, position_seconds,
                               completed_before=len(enrollment.completed_lessons), completed_at=now,
                               certificate_id=certificate.verification_id)
    stats.add_event(uow, course_id=course.course_id, instructor_id=course.instructor_id, at=now, completions=1)
    uow.commit()
    return dataclasses.replace(
        enrollment, status=enrollments.COMPLETED, completed_lessons=enrollment.completed_lessons | {lesson_id},
        progress_percent=100, last_lesson_id=lesson_id, last_position_seconds=position_seconds, completed_at=now,
        certificate_id=certificate.verification_id,
    )
