"""The instructor studio: build a course, its curriculum and live sessions, and publish it.

Only the owning instructor may change a course; anyone else is told it does
not exist (404), so drafts are not revealed. Published courses keep their
curriculum stable for enrolled learners: sections and lessons may be added,
renamed, moved and re-uploaded, but not deleted (deletion is for drafts).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib import clock, config, errors, ids
from chalicelib.aws import client, object_exists
from chalicelib.domain.courses import (
    CourseStatus,
    allows_removal,
    keeps_price,
    missing_for_publishing,
    owned_by,
)
from chalicelib.money import Money
from chalicelib.roles import Caller
from chalicelib.services import course_access, search
from chalicelib.store import courses, search_terms, users
from chalicelib.store.courses import Course, Lesson, Section
from chalicelib.store.transactions import UnitOfWork

UPLOAD_CONTENT_TYPES = {
    "video": {"video/mp4", "video/webm", "video/quicktime"},
    "document": {"application/pdf", "application/epub+zip", "text/markdown"},
}


@dataclass(frozen=True)
class CourseDraft:
    title: str
    description: str
    category: str
    price: Money
    level: str = "all"
    language: str = "ko"
    thumbnail_url: str | None = None


@dataclass(frozen=True)
class UploadTicket:
    url: str
    method: str
    headers: dict[str, str]
    key: str
    expires_at: datetime


def own_course(caller: Caller, course_id: str) -> courses.CourseDetail:
    """The caller's own course with its curriculum and live sessions."""
    found = courses.get_detail(course_id)
    if found is None or not owned_by(found.course, caller.user_id):
        raise errors.NotFound(f"No course {course_id} in your studio")
    return found


def my_courses(caller: Caller, limit: int, cursor: str | None) -> tuple[list[Course], str | None]:
    return courses.list_by_instructor(caller.user_id, limit, cursor)


# --- courses ---------------------------------------------------------------------------------------

def _check_price(price: Money, status: str) -> None:
    """Courses are bought from wallets, which hold the stage's wallet currency; a course on sale
    (published or scheduled) keeps a price above zero, as publishing required."""
    currency = config.wallet_currency()
    if price.currency != currency:
        raise errors.ValidationFailed.on("price.currency", f"courses are sold in {currency}, the wallets' currency")
    if keeps_price(status) and price.amount <= 0:
        raise errors.ValidationFailed.on("price.amount", "a course on sale keeps a price above zero")


def create_course(caller: Caller, draft: CourseDraft) -> Course:
    _check_price(draft.price, CourseStatus.DRAFT)
    profile = users.get_profile(caller.user_id)
    now = clock.now()
    course = Course(
        course_id=ids.new_id(), instructor_id=caller.user_id,
        instructor_name=profile.name if profile else "Instructor", instructor_bio=profile.bio if profile else "",
        instructor_timezone=profile.timezone if profile else None,
        title=draft.title, description=draft.description, category=draft.category, level=draft.level,
        language=draft.language, thumbnail_url=draft.thumbnail_url, price=draft.price, status=CourseStatus.DRAFT,
        publish_at=None, published_at=None, lesson_count=0, enrollment_count=0, rating_sum=0, rating_count=0,
        created_at=now, updated_at=now,
    )
    uow = UnitOfWork()
    courses.add_new_course(uow, course)
    uow.commit()
    return course


def update_course(caller: Caller, course_id: str, changes: dict) -> Course:
    course = course_access.own_course(caller, course_id)
    if "price" in changes:
        _check_price(changes["price"], course.status)
    terms = None
    if course.status == CourseStatus.PUBLISHED and {"title", "description"} & changes.keys():
        terms = _replace_terms(course, changes.get("title", course.title),
                               changes.get("description", course.description))
    return courses.write_course_changes(course, changes, clock.now(), search_terms=terms)


def _replace_terms(course: Course, title: str, description: str) -> set[str]:
    """Rewrite the course's entries in the word index; returns the terms, for the course to record."""
    new_terms = search.index_terms(title, description)
    search_terms.replace_terms(course.course_id, set(course.search_terms), new_terms)
    return new_terms


def publish(caller: Caller, course_id: str, publish_at: datetime | None) -> Course:
    course = course_access.own_course(caller, course_id)
    if course.status == CourseStatus.PUBLISHED:
        return course
    missing = missing_for_publishing(course.title, course.price, len(courses.get_curriculum(course_id).lessons))
    if missing:
        raise errors.Unprocessable("The course is not ready to publish: " + ", ".join(name for name, _ in missing),
                                   errors=[errors.FieldError(name, message) for name, message in missing])
    now = clock.now()
    if publish_at is None:
        return _list(course, now)
    if publish_at <= now:
        raise errors.ValidationFailed.on("publish_at", "must be in the future")
    return courses.write_schedule(course_id, clock.to_rfc3339(publish_at), now)


def _list(course: Course, now: datetime) -> Course:
    """Make a course visible: terms first, then the status and index attributes in one conditional write."""
    terms = _replace_terms(course, course.title, course.description)
    return courses.write_listing(course, terms, now, on_fail=_changed_meanwhile)


def _changed_meanwhile() -> errors.Conflict:
    return errors.Conflict("The course changed while you edited it; reload and try again")


def publish_due(now: datetime) -> list[str]:
    """Publish every scheduled course whose time has come (the scheduled-publishing job)."""
    published = []
    for course in courses.due_to_publish(clock.to_rfc3339(now)):
        try:
            _list(course, now)
        except errors.Conflict:
            continue  # another run published it, or the instructor edited it: the next run sees the new state
        published.append(course.course_id)
    return published


# --- curriculum ------------------------------------------------------------------------------------

def _edit_curriculum(caller: Caller, course_id: str, edit) -> list[Section]:
    """Read, change and write the curriculum with its version, and the course's lesson count with it."""
    course = course_access.own_course(caller, course_id)
    curriculum = courses.get_curriculum(course_id)
    sections = curriculum.sections
    result = edit(course, sections)
    uow = UnitOfWork()
    courses.add_curriculum_edit(uow, curriculum, sections, clock.now(),
                                on_fail=lambda: errors.Conflict("The curriculum changed meanwhile; reload and try again"))
    uow.commit()  # the curriculum's version refuses a concurrent edit
    return result


def _find_section(sections: list[Section], section_id: str) -> Section:
    for section in sections:
        if section.section_id == section_id:
            return section
    raise errors.NotFound(f"No section {section_id} in this course")


def _find_lesson(sections: list[Section], lesson_id: str) -> tuple[Section, Lesson]:
    for section in sections:
        for lesson in section.lessons:
            if lesson.lesson_id == lesson_id:
                return section, lesson
    raise errors.NotFound(f"No lesson {lesson_id} in this course")


def _insert(items: list, item, position: int | None) -> None:
    items.insert(len(items) if position is None else min(position, len(items)), item)


def _refuse_removal(course: Course) -> None:
    if not allows_removal(course.status):
        raise errors.Conflict("Lessons and sections of a published or scheduled course cannot be deleted")


def add_section(caller: Caller, course_id: str, title: str, position: int | None) -> Section:
    def edit(_course, sections):
        section = Section(ids.new_id(), title, [])
        _insert(sections, section, position)
        return section
    return _edit_curriculum(caller, course_id, edit)


def update_section(caller: Caller, course_id: str, section_id: str, title: str | None,
                   position: int | None) -> Section:
    def edit(_course, sections):
        section = _find_section(sections, section_id)
        if title is not None:
            section.title = title
        if position is not None:
            sections.remove(section)
            _insert(sections, section, position)
        return section
    return _edit_curriculum(caller, course_id, edit)


def delete_section(caller: Caller, course_id: str, section_id: str) -> None:
    def edit(course, sections):
        _refuse_removal(course)
        sections.remove(_find_section(sections, section_id))
    _edit_curriculum(caller, course_id, edit)


def add_lesson(caller: Caller, course_id: str, section_id: str, lesson: Lesson, position: int | None) -> Lesson:
    def edit(_course, sections):
        _insert(_find_section(sections, section_id).lessons, lesson, position)
        return lesson
    lesson.lesson_id = ids.new_id()
    return _edit_curriculum(caller, course_id, edit)


def update_lesson(caller: Caller, course_id: str, lesson_id: str, changes: dict,
                  section_id: str | None, position: int | None) -> Lesson:
    def edit(_course, sections):
        section, lesson = _find_lesson(sections, lesson_id)
        for name, value in changes.items():
            setattr(lesson, name, value)
        if section_id is not None or position is not None:
            target = _find_section(sections, section_id) if section_id else section
            section.lessons.remove(lesson)
            _insert(target.lessons, lesson, position)
        return lesson
    return _edit_curriculum(caller, course_id, edit)


def delete_lesson(caller: Caller, course_id: str, lesson_id: str) -> None:
    def edit(course, sections):
        _refuse_removal(course)
        section, lesson = _find_lesson(sections, lesson_id)
        section.lessons.remove(lesson)
    _edit_curriculum(caller, course_id, edit)


def lesson_upload_url(caller: Caller, course_id: str, lesson_id: str, content_type: str,
                      size_bytes: int) -> UploadTicket:
    """A presigned S3 PUT bound to the content type and size; the key is unguessable and under the course.

    The key is kept as the lesson's pending file: learners go on getting the current file (if any)
    until `complete_upload` finds the new one in S3, so a URL asked for and never used breaks nothing."""
    if size_bytes > config.max_upload_bytes():
        raise errors.ValidationFailed.on("size_bytes", f"at most {config.max_upload_bytes()} bytes")
    key = f"courses/{course_id}/lessons/{lesson_id}/{ids.new_id()}{ids.new_id()[-10:]}"

    def edit(_course, sections):
        _section, lesson = _find_lesson(sections, lesson_id)
        if content_type not in UPLOAD_CONTENT_TYPES.get(lesson.kind, set()):
            allowed = ", ".join(sorted(UPLOAD_CONTENT_TYPES.get(lesson.kind, set())))
            raise errors.ValidationFailed.on("content_type", f"a {lesson.kind} lesson takes {allowed}")
        lesson.pending_file_key, lesson.pending_content_type = key, content_type

    _edit_curriculum(caller, course_id, edit)
    seconds = config.upload_url_seconds()
    url = client("s3").generate_presigned_url(
        "put_object",
        Params={"Bucket": config.lesson_bucket(), "Key": key, "ContentType": content_type,
                "ContentLength": size_bytes},
        ExpiresIn=seconds,
    )
    return UploadTicket(url, "PUT", {"Content-Type": content_type, "Content-Length": str(size_bytes)}, key,
                        clock.now() + timedelta(seconds=seconds))


def complete_upload(caller: Caller, course_id: str, lesson_id: str) -> Lesson:
    """The file uploaded through the lesson's latest upload URL becomes the lesson's file, once S3
    has it. 409 when no upload is waiting or its file has not arrived (or, through the curriculum's
    version, when another upload URL was asked for meanwhile)."""
    def edit(_course, sections):
        _section, lesson = _find_lesson(sections, lesson_id)
        if not lesson.pending_file_key:
            raise errors.Conflict("No upload is waiting for this lesson: ask for an upload URL first")
        if not object_exists(config.lesson_bucket(), lesson.pending_file_key):
            raise errors.Conflict("The file has not arrived yet: PUT it to the upload URL first")
        lesson.file_key, lesson.content_type = lesson.pending_file_key, lesson.pending_content_type
        lesson.pending_file_key = lesson.pending_content_type = None
        return lesson

    return _edit_curriculum(caller, course_id, edit)


# --- live sessions ---------------------------------------------------------------------------------

def add_session(caller: Caller, course_id: str, starts_at: datetime, duration_minutes: int,
                capacity: int, join_url: str | None = None) -> courses.LiveSession:
    course = course_access.own_course(caller, course_id)
    if starts_at <= clock.now():
        raise errors.ValidationFailed.on("starts_at", "must be in the future")
    return courses.create_session(courses.LiveSession(
        course_id, ids.new_id(), clock.to_rfc3339(starts_at), duration_minutes, capacity, booked=0,
        join_url=join_url, course_title=course.title,
    ))


def _own_session(caller: Caller, course_id: str, session_id: str) -> courses.LiveSession:
    course_access.own_course(caller, course_id)
    session = courses.get_session(course_id, session_id)
    if session is None:
        raise errors.NotFound(f"No session {session_id} in this course")
    return session


def update_session_capacity(caller: Caller, course_id: str, session_id: str, capacity: int) -> courses.LiveSession:
    session = _own_session(caller, course_id, session_id)
    return courses.write_session_capacity(course_id, session_id, capacity, on_fail=lambda: errors.ValidationFailed.on(
        "capacity", f"{session.booked} seats are booked; capacity cannot go below"))


def set_session_join_url(caller: Caller, course_id: str, session_id: str, join_url: str | None) -> courses.LiveSession:
    """Where learners join the live session (a meeting link); shown only to bookers shortly before it starts."""
    _own_session(caller, course_id, session_id)
    return courses.write_session_join_url(course_id, session_id, join_url)


# --- instructor profile ----------------------------------------------------------------------------

def update_profile(caller: Caller, name: str, bio: str, links: list[str]) -> users.UserProfile:
    """Change the public profile, and the name and bio shown on every course of this instructor."""
    profile = users.update_public_profile(caller.user_id, name, bio, links)
    courses.copy_instructor_profile(caller.user_id, name=name, bio=bio)
    return profile
