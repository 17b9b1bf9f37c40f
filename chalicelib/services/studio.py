"""The instructor studio: build a course, its curriculum and live sessions, and publish it.

Only the owning instructor may change a course; anyone else is told it does
not exist (404), so drafts are not revealed. Published courses keep their
curriculum stable for enrolled learners: sections and lessons may be added,
renamed, moved and re-uploaded, but not deleted (deletion is for drafts).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from pynamodb.exceptions import UpdateError

from chalicelib import clock, config, errors, ids
from chalicelib.aws import client
from chalicelib.money import Money
from chalicelib.roles import Caller
from chalicelib.services import search
from chalicelib.store import courses, search_terms, users
from chalicelib.store.courses import (
    COURSE,
    CURRICULUM,
    CourseItem,
    CurriculumItem,
    Lesson,
    Section,
    SessionItem,
)
from chalicelib.store.cursors import decode_cursor, encode_cursor
from chalicelib.store.transactions import UnitOfWork

DRAFT, SCHEDULED, PUBLISHED = "draft", "scheduled", "published"
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


# --- ownership -------------------------------------------------------------------------------------

def _own_course_item(caller: Caller, course_id: str) -> CourseItem:
    item = courses.get_course_item(course_id)
    if item is None or item.instructor_id != caller.user_id:
        raise errors.NotFound(f"No course {course_id} in your studio")
    return item


def own_course(caller: Caller, course_id: str) -> courses.CourseDetail:
    found = courses.get_detail(course_id)
    if found is None or found[0].instructor_id != caller.user_id:
        raise errors.NotFound(f"No course {course_id} in your studio")
    course, curriculum, sessions = found
    return courses.CourseDetail(
        course=courses.to_course(course),
        sections=courses.decode_sections(curriculum.document) if curriculum else [],
        sessions=[courses.to_session(s) for s in sessions],
    )


def my_courses(caller: Caller, limit: int, cursor: str | None):
    start = decode_cursor(cursor, partition={"instructor_id": caller.user_id})
    items, last_key = courses.list_by_instructor(caller.user_id, limit, start)
    return [courses.to_course(item) for item in items], encode_cursor(last_key)


# --- courses ---------------------------------------------------------------------------------------

def _check_price(price: Money, status: str) -> None:
    """Courses are bought from wallets, which hold the stage's wallet currency; a course on sale
    (published or scheduled) keeps a price above zero, as publishing required."""
    currency = config.wallet_currency()
    if price.currency != currency:
        raise errors.ValidationFailed.on("price.currency", f"courses are sold in {currency}, the wallets' currency")
    if status != DRAFT and price.amount <= 0:
        raise errors.ValidationFailed.on("price.amount", "a course on sale keeps a price above zero")


def create_course(caller: Caller, draft: CourseDraft) -> courses.Course:
    _check_price(draft.price, DRAFT)
    profile = users.get_profile(caller.user_id)
    now = clock.now()
    course = CourseItem(
        ids.new_id(), COURSE, instructor_id=caller.user_id,
        instructor_name=profile.name if profile else "Instructor", instructor_bio=profile.bio if profile else "",
        instructor_timezone=profile.timezone if profile else None,
        title=draft.title,
        description=draft.description, category=draft.category, level=draft.level, language=draft.language,
        thumbnail_url=draft.thumbnail_url, price_amount=draft.price.amount, price_currency=draft.price.currency,
        status=DRAFT, created_at=now, updated_at=now, enrollment_count=0, rating_score=0,
    )
    uow = UnitOfWork()
    uow.put(course, condition=CourseItem.course_id.does_not_exist())
    uow.put(CurriculumItem(course.course_id, CURRICULUM))
    uow.commit()
    return courses.to_course(course)


def _update(item: CourseItem, actions: list, condition=None) -> None:
    """Change only the named attributes, so counters written by purchases and reviews are never overwritten."""
    try:
        item.update(actions=actions + [CourseItem.updated_at.set(clock.now())], condition=condition)
    except UpdateError as error:
        raise _conflict_or(error) from None


def update_course(caller: Caller, course_id: str, changes: dict) -> courses.Course:
    item = _own_course_item(caller, course_id)
    if "price" in changes:
        price: Money = changes.pop("price")
        _check_price(price, item.status)
        changes["price_amount"], changes["price_currency"] = price.amount, price.currency
    actions = [getattr(CourseItem, name).set(value) for name, value in changes.items()]
    if item.status == PUBLISHED:
        if "category" in changes:
            actions.append(CourseItem.listed_category.set(changes["category"]))
        if {"title", "description"} & changes.keys():
            actions.append(_replace_terms(item, changes.get("title", item.title),
                                          changes.get("description", item.description)))
    if actions:
        _update(item, actions)
    return courses.to_course(item)


def _conflict_or(error: Exception) -> Exception:
    if getattr(error, "cause_response_code", None) in ("ConditionalCheckFailedException",
                                                         "TransactionCanceledException"):
        return errors.Conflict("The course changed while you edited it; reload and try again")
    return error


def _replace_terms(item: CourseItem, title: str, description: str):
    """Rewrite the course's search terms; returns the action recording them on the course."""
    new_terms = search.index_terms(title, description)
    search_terms.replace_terms(item.course_id, set(item.search_terms or ()), new_terms)
    return CourseItem.search_terms.set(new_terms) if new_terms else CourseItem.search_terms.remove()


def publish(caller: Caller, course_id: str, publish_at: datetime | None) -> courses.Course:
    item = _own_course_item(caller, course_id)
    if item.status == PUBLISHED:
        return courses.to_course(item)
    missing = []
    if not item.title.strip():
        missing.append(errors.FieldError("title", "a title is required"))
    if not item.price_amount or item.price_amount <= 0:
        missing.append(errors.FieldError("price", "a price above zero is required"))
    curriculum = courses.get_curriculum_item(course_id)
    if not curriculum or not any(s.lessons for s in courses.decode_sections(curriculum.document)):
        missing.append(errors.FieldError("lessons", "at least one lesson is required"))
    if missing:
        raise errors.Unprocessable("The course is not ready to publish: " +
                                   ", ".join(m.field for m in missing), errors=missing)
    now = clock.now()
    if publish_at is None:
        return _list(item, now)
    if publish_at <= now:
        raise errors.ValidationFailed.on("publish_at", "must be in the future")
    _update(item, [CourseItem.status.set(SCHEDULED), CourseItem.scheduled.set(courses.SCHEDULED),
                   CourseItem.publish_at.set(clock.to_rfc3339(publish_at))])
    return courses.to_course(item)


def _list(item: CourseItem, now: datetime) -> courses.Course:
    """Make a course visible: terms first, then the status and index attributes in one conditional write."""
    terms_action = _replace_terms(item, item.title, item.description)
    _update(item, [
        terms_action,
        CourseItem.status.set(PUBLISHED),
        CourseItem.published_at.set(clock.to_rfc3339(now)),
        CourseItem.scheduled.remove(),
        CourseItem.publish_at.remove(),
        CourseItem.listed_all.set(courses.ALL_PARTITION),
        CourseItem.listed_category.set(item.category),
    ], condition=CourseItem.status.is_in(DRAFT, SCHEDULED))
    return courses.to_course(item)


def publish_due(now: datetime) -> list[str]:
    """Publish every scheduled course whose time has come (the scheduled-publishing job)."""
    published = []
    for item in courses.due_to_publish(clock.to_rfc3339(now)):
        try:
            _list(item, now)
        except errors.Conflict:
            continue  # another run published it, or the instructor edited it: the next run sees the new state
        published.append(item.course_id)
    return published


# --- curriculum ------------------------------------------------------------------------------------

def _edit_curriculum(caller: Caller, course_id: str, edit) -> list[Section]:
    """Read, change and write the curriculum with its version, and the course's lesson count with it."""
    course = _own_course_item(caller, course_id)
    curriculum = courses.get_curriculum_item(course_id) or CurriculumItem(course_id, CURRICULUM)
    sections = courses.decode_sections(curriculum.document)
    result = edit(course, sections)
    curriculum.document = courses.encode_sections(sections)
    lesson_count = sum(len(s.lessons) for s in sections)
    uow = UnitOfWork()
    uow.put(curriculum, on_fail=lambda: errors.Conflict("The curriculum changed meanwhile; reload and try again"))
    uow.update(course, actions=[CourseItem.lesson_count.set(lesson_count), CourseItem.updated_at.set(clock.now())])
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


def _refuse_removal(course: CourseItem) -> None:
    if course.status != DRAFT:
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
        if not _in_lesson_bucket(lesson.pending_file_key):
            raise errors.Conflict("The file has not arrived yet: PUT it to the upload URL first")
        lesson.file_key, lesson.content_type = lesson.pending_file_key, lesson.pending_content_type
        lesson.pending_file_key = lesson.pending_content_type = None
        return lesson

    return _edit_curriculum(caller, course_id, edit)


def _in_lesson_bucket(key: str) -> bool:
    from botocore.exceptions import ClientError

    try:
        client("s3").head_object(Bucket=config.lesson_bucket(), Key=key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
            raise
        return False
    return True


# --- live sessions ---------------------------------------------------------------------------------

def add_session(caller: Caller, course_id: str, starts_at: datetime, duration_minutes: int,
                capacity: int, join_url: str | None = None) -> courses.LiveSession:
    course = _own_course_item(caller, course_id)
    if starts_at <= clock.now():
        raise errors.ValidationFailed.on("starts_at", "must be in the future")
    session_id = ids.new_id()
    starts = clock.to_rfc3339(starts_at)
    item = SessionItem(
        course_id, courses.session_key(session_id), session_id=session_id, starts_at=starts,
        starts_hour=starts[:13], duration_minutes=duration_minutes, capacity=capacity, booked=0,
        course_title=course.title, join_url=join_url,
    )
    item.save(condition=SessionItem.item.does_not_exist())
    return courses.to_session(item)


def update_session_capacity(caller: Caller, course_id: str, session_id: str, capacity: int) -> courses.LiveSession:
    _own_course_item(caller, course_id)
    item = courses.get_session_item(course_id, session_id)
    if item is None:
        raise errors.NotFound(f"No session {session_id} in this course")
    try:
        item.update(actions=[SessionItem.capacity.set(capacity)],
                    condition=SessionItem.item.exists() & (SessionItem.booked <= capacity))
    except UpdateError as error:
        if getattr(error, "cause_response_code", None) != "ConditionalCheckFailedException":
            raise
        raise errors.ValidationFailed.on("capacity", f"{item.booked} seats are booked; capacity cannot go below") \
            from None
    return courses.to_session(item)


def set_session_join_url(caller: Caller, course_id: str, session_id: str, join_url: str | None) -> courses.LiveSession:
    """Where learners join the live session (a meeting link); shown only to bookers shortly before it starts."""
    _own_course_item(caller, course_id)
    item = courses.get_session_item(course_id, session_id)
    if item is None:
        raise errors.NotFound(f"No session {session_id} in this course")
    action = SessionItem.join_url.set(join_url) if join_url else SessionItem.join_url.remove()
    item.update(actions=[action], condition=SessionItem.item.exists())
    return courses.to_session(item)


# --- instructor profile ----------------------------------------------------------------------------

def update_profile(caller: Caller, name: str, bio: str, links: list[str]) -> users.UserProfile:
    """Change the public profile, and the name and bio shown on every course of this instructor."""
    profile = users.update_public_profile(caller.user_id, name, bio, links)
    courses.copy_instructor_profile(caller.user_id, name=name, bio=bio)
    return profile
