"""The instructor studio: courses, curriculum, lesson uploads, publishing, live sessions, profile.

Every route is for instructors; the services check that the course is the caller's.
"""

from typing import Annotated, ClassVar

import msgspec
from msgspec import UNSET, UnsetType

from chalicelib import errors
from chalicelib.api.courses import (
    Category,
    CourseSummary,
    Language,
    LessonKind,
    Level,
    SessionOut,
    StudioCourse,
    StudioLesson,
    StudioSection,
    course_summary,
    session_out,
    studio_course,
    studio_lesson,
    studio_section,
)
from chalicelib.api.routing import INSTRUCTOR, ApiBlueprint, Call
from chalicelib.api.schemas import (
    AwareDateTime,
    DisplayName,
    HttpsUrl,
    Input,
    LongText,
    MoneyBody,
    Page,
    PageQuery,
    Position,
    Timestamp,
    Title,
)
from chalicelib.domain.revenue import MAX_PARTIES
from chalicelib.services import studio
from chalicelib.store.courses import Lesson

studio_api = ApiBlueprint(__name__, tag="studio")

DurationSeconds = Annotated[int, msgspec.Meta(ge=0, le=86_400)]
Capacity = Annotated[int, msgspec.Meta(ge=1, le=10_000)]
COURSE_ERRORS = (errors.NotFound, errors.Conflict)


class NewCourse(Input):
    title: Title
    category: Category
    price: MoneyBody
    description: LongText = ""
    level: Level = "all"
    language: Language = "ko"
    thumbnail_url: HttpsUrl | None = None


class CourseChanges(Input):
    title: Title | UnsetType = UNSET
    description: LongText | UnsetType = UNSET
    category: Category | UnsetType = UNSET
    price: MoneyBody | UnsetType = UNSET
    level: Level | UnsetType = UNSET
    language: Language | UnsetType = UNSET
    thumbnail_url: HttpsUrl | None | UnsetType = UNSET


class NewSection(Input):
    title: Title
    position: Position | None = None


class SectionChanges(Input):
    title: Title | None = None
    position: Position | None = None


class NewLesson(Input):
    title: Title
    kind: LessonKind
    duration_seconds: DurationSeconds = 0
    preview: bool = False
    position: Position | None = None


class LessonChanges(Input):
    title: Title | UnsetType = UNSET
    duration_seconds: DurationSeconds | UnsetType = UNSET
    preview: bool | UnsetType = UNSET
    section_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None
    position: Position | None = None


class UploadRequest(Input):
    content_type: Annotated[str, msgspec.Meta(min_length=3, max_length=100)]
    size_bytes: Annotated[int, msgspec.Meta(ge=1)]


class UploadTicketOut(msgspec.Struct):
    url: str
    method: str
    headers: dict[str, str]
    expires_at: Timestamp


class PublishRequest(Input):
    publish_at: AwareDateTime | None = None


class NewSession(Input):
    starts_at: AwareDateTime
    duration_minutes: Annotated[int, msgspec.Meta(ge=1, le=600)]
    capacity: Capacity
    join_url: HttpsUrl | None = None


class SessionChanges(Input):
    json_schema_extra: ClassVar[dict] = {"minProperties": 1}  # an empty change is refused
    capacity: Capacity | UnsetType = UNSET
    join_url: HttpsUrl | None | UnsetType = UNSET


class StudioSessionOut(SessionOut):
    join_url: str | None


def studio_session(session) -> StudioSessionOut:
    return StudioSessionOut(**msgspec.structs.asdict(session_out(session)), join_url=session.join_url)


class ProfileChanges(Input):
    name: DisplayName
    bio: Annotated[str, msgspec.Meta(max_length=2000)] = ""
    links: Annotated[list[HttpsUrl], msgspec.Meta(max_length=5)] = msgspec.field(default_factory=list)


class InstructorProfileOut(msgspec.Struct):
    instructor_id: str
    name: str
    bio: str
    links: list[str]


def _changes(struct: msgspec.Struct, *skip: str) -> dict:
    return {name: value for name, value in msgspec.structs.asdict(struct).items()
            if value is not UNSET and name not in skip}


@studio_api.endpoint("GET", "/instructor/courses", policy=INSTRUCTOR, query=PageQuery,
                     response=Page[CourseSummary], summary="Your courses, newest first, drafts included")
def my_courses(call: Call):
    items, next_cursor = studio.my_courses(call.caller, call.query.limit, call.query.cursor)
    return Page(items=[course_summary(c) for c in items], next_cursor=next_cursor)


@studio_api.endpoint("POST", "/instructor/courses", policy=INSTRUCTOR, body=NewCourse, response=CourseSummary,
                     status=201, summary="Create a draft course")
def create_course(call: Call):
    body: NewCourse = call.body
    draft = studio.CourseDraft(
        title=body.title, description=body.description, category=body.category, price=body.price.to_money(),
        level=body.level, language=body.language, thumbnail_url=body.thumbnail_url,
    )
    return course_summary(studio.create_course(call.caller, draft))


@studio_api.endpoint("GET", "/instructor/courses/{course_id}", policy=INSTRUCTOR, response=StudioCourse,
                     summary="One of your courses with its curriculum and sessions", errors=(errors.NotFound,))
def get_my_course(call: Call, course_id: str):
    return studio_course(studio.own_course(call.caller, course_id))


@studio_api.endpoint("PATCH", "/instructor/courses/{course_id}", policy=INSTRUCTOR, body=CourseChanges,
                     response=CourseSummary, summary="Change a course's details", errors=COURSE_ERRORS)
def update_course(call: Call, course_id: str):
    changes = _changes(call.body)
    if "price" in changes:
        changes["price"] = call.body.price.to_money()
    return course_summary(studio.update_course(call.caller, course_id, changes))


@studio_api.endpoint("POST", "/instructor/courses/{course_id}/sections", policy=INSTRUCTOR, body=NewSection,
                     response=StudioSection, status=201, summary="Add a section (at `position`, or last)",
                     errors=COURSE_ERRORS)
def add_section(call: Call, course_id: str):
    return studio_section(studio.add_section(call.caller, course_id, call.body.title, call.body.position))


@studio_api.endpoint("PATCH", "/instructor/courses/{course_id}/sections/{section_id}", policy=INSTRUCTOR,
                     body=SectionChanges, response=StudioSection, summary="Rename or move a section",
                     errors=COURSE_ERRORS)
def update_section(call: Call, course_id: str, section_id: str):
    section = studio.update_section(call.caller, course_id, section_id, call.body.title, call.body.position)
    return studio_section(section)


@studio_api.endpoint("DELETE", "/instructor/courses/{course_id}/sections/{section_id}", policy=INSTRUCTOR,
                     status=204, summary="Delete a section of a draft course", errors=COURSE_ERRORS)
def delete_section(call: Call, course_id: str, section_id: str):
    studio.delete_section(call.caller, course_id, section_id)


@studio_api.endpoint("POST", "/instructor/courses/{course_id}/sections/{section_id}/lessons", policy=INSTRUCTOR,
                     body=NewLesson, response=StudioLesson, status=201,
                     summary="Add a lesson to a section (at `position`, or last)", errors=COURSE_ERRORS)
def add_lesson(call: Call, course_id: str, section_id: str):
    body: NewLesson = call.body
    lesson = Lesson(lesson_id="", title=body.title, kind=body.kind, duration_seconds=body.duration_seconds,
                    preview=body.preview)
    return studio_lesson(studio.add_lesson(call.caller, course_id, section_id, lesson, body.position))


@studio_api.endpoint("PATCH", "/instructor/courses/{course_id}/lessons/{lesson_id}", policy=INSTRUCTOR,
                     body=LessonChanges, response=StudioLesson,
                     summary="Change a lesson, or move it (to another section and/or position)",
                     errors=COURSE_ERRORS)
def update_lesson(call: Call, course_id: str, lesson_id: str):
    body: LessonChanges = call.body
    lesson = studio.update_lesson(call.caller, course_id, lesson_id, _changes(body, "section_id", "position"),
                                  body.section_id, body.position)
    return studio_lesson(lesson)


@studio_api.endpoint("DELETE", "/instructor/courses/{course_id}/lessons/{lesson_id}", policy=INSTRUCTOR,
                     status=204, summary="Delete a lesson of a draft course", errors=COURSE_ERRORS)
def delete_lesson(call: Call, course_id: str, lesson_id: str):
    studio.delete_lesson(call.caller, course_id, lesson_id)


@studio_api.endpoint("POST", "/instructor/courses/{course_id}/lessons/{lesson_id}/upload-url", policy=INSTRUCTOR,
                     body=UploadRequest, response=UploadTicketOut,
                     summary="A presigned S3 PUT for the lesson's file, bound to its type and size",
                     errors=COURSE_ERRORS)
def lesson_upload_url(call: Call, course_id: str, lesson_id: str):
    ticket = studio.lesson_upload_url(call.caller, course_id, lesson_id, call.body.content_type,
                                      call.body.size_bytes)
    return UploadTicketOut(ticket.url, ticket.method, ticket.headers, ticket.expires_at)


@studio_api.endpoint("POST", "/instructor/courses/{course_id}/lessons/{lesson_id}/upload-complete",
                     policy=INSTRUCTOR, response=StudioLesson,
                     summary="After the PUT: the uploaded file becomes the lesson's file (409 until S3 has it)",
                     errors=COURSE_ERRORS)
def complete_upload(call: Call, course_id: str, lesson_id: str):
    return studio_lesson(studio.complete_upload(call.caller, course_id, lesson_id))


@studio_api.endpoint("POST", "/instructor/courses/{course_id}/publish", policy=INSTRUCTOR, body=PublishRequest,
                     body_required=False, response=CourseSummary,
                     summary="Publish now, or at `publish_at`; needs a title, a price and a lesson",
                     errors=COURSE_ERRORS + (errors.Unprocessable,))
def publish(call: Call, course_id: str):
    return course_summary(studio.publish(call.caller, course_id, call.body.publish_at))


@studio_api.endpoint("POST", "/instructor/courses/{course_id}/sessions", policy=INSTRUCTOR, body=NewSession,
                     response=StudioSessionOut, status=201,
                     summary="Add a live session with limited seats (and where to join it)", errors=COURSE_ERRORS)
def add_session(call: Call, course_id: str):
    body: NewSession = call.body
    return studio_session(studio.add_session(call.caller, course_id, body.starts_at, body.duration_minutes,
                                             body.capacity, body.join_url))


@studio_api.endpoint("PATCH", "/instructor/courses/{course_id}/sessions/{session_id}", policy=INSTRUCTOR,
                     body=SessionChanges, response=StudioSessionOut,
                     summary="Change a session's capacity (never below the seats booked) or its join URL",
                     errors=COURSE_ERRORS)
def update_session(call: Call, course_id: str, session_id: str):
    body: SessionChanges = call.body
    session = None
    if body.capacity is not UNSET:
        session = studio.update_session_capacity(call.caller, course_id, session_id, body.capacity)
    if body.join_url is not UNSET:
        session = studio.set_session_join_url(call.caller, course_id, session_id, body.join_url)
    if session is None:
        raise errors.ValidationFailed.on("body", "change capacity or join_url")
    return studio_session(session)


@studio_api.endpoint("PUT", "/instructor/profile", policy=INSTRUCTOR, body=ProfileChanges,
                     response=InstructorProfileOut, summary="Your public name, bio and links")
def update_profile(call: Call):
    body: ProfileChanges = call.body
    profile = studio.update_profile(call.caller, body.name, body.bio, body.links)
    return InstructorProfileOut(profile.user_id, profile.name, profile.bio, list(profile.links))




# --- co-instructors' revenue split ------------------------------------------------------------------

InstructorId = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class RevenueShare(Input):
    instructor_id: InstructorId
    bps: Annotated[int, msgspec.Meta(ge=1, le=10_000)]  # summing to 10000 (checked with the split's other rules)


class RevenueSplitIn(Input):
    shares: Annotated[list[RevenueShare], msgspec.Meta(min_length=1, max_length=MAX_PARTIES)]


class RevenueSplitOut(msgspec.Struct):
    course_id: str
    owner_id: str
    shares: list[RevenueShare]


def _split_out(split) -> RevenueSplitOut:
    return RevenueSplitOut(split.course_id, split.owner_id,
                           [RevenueShare(instructor_id, bps) for instructor_id, bps in split.shares])


@studio_api.endpoint("GET", "/instructor/courses/{course_id}/revenue-split", policy=INSTRUCTOR,
                     response=RevenueSplitOut, summary="The course's revenue split (its owner and co-instructors)",
                     errors=(errors.NotFound,))
def get_revenue_split(call: Call, course_id: str):
    from chalicelib.services import revenue_splits  # with the orders' models: not on every cold start

    return _split_out(revenue_splits.revenue_split(call.caller, course_id))


@studio_api.endpoint("PUT", "/instructor/courses/{course_id}/revenue-split", policy=INSTRUCTOR,
                     body=RevenueSplitIn, response=RevenueSplitOut,
                     summary="Share the course's revenue with co-instructors (its owner; sales from now on)",
                     errors=(errors.NotFound,))
def set_revenue_split(call: Call, course_id: str):
    from chalicelib.services import revenue_splits

    shares = [(share.instructor_id, share.bps) for share in call.body.shares]
    return _split_out(revenue_splits.set_revenue_split(call.caller, course_id, shares))
