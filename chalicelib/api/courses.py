"""How courses look on the wire, shared by the catalog and the studio."""

from enum import StrEnum
from typing import Annotated, Literal

import msgspec

from chalicelib.api.schemas import MoneyBody, Timestamp
from chalicelib.domain.courses import CourseStatus
from chalicelib.services.catalog import CATEGORIES, LEVELS
from chalicelib.store.courses import Course, CourseDetail, LiveSession, Section

Category = Literal[CATEGORIES]  # type: ignore[valid-type]
Level = Literal[LEVELS]  # type: ignore[valid-type]
Language = Annotated[str, msgspec.Meta(pattern=r"^[a-z]{2}$", description="ISO 639-1 code")]
LessonKind = StrEnum("LessonKind", ["video", "document"])


class InstructorRef(msgspec.Struct):
    instructor_id: str
    name: str


class InstructorIntro(InstructorRef):
    bio: str


class Rating(msgspec.Struct):
    average: float | None
    count: int


class CourseSummary(msgspec.Struct):
    course_id: str
    title: str
    description: str
    category: str
    level: str
    language: str
    thumbnail_url: str | None
    price: MoneyBody
    status: CourseStatus
    instructor: InstructorRef
    rating: Rating
    enrollment_count: int
    lesson_count: int
    published_at: Timestamp | None
    publish_at: Timestamp | None


class LessonOut(msgspec.Struct):
    lesson_id: str
    title: str
    kind: LessonKind
    duration_seconds: int
    preview: bool


class StudioLesson(LessonOut):
    has_file: bool
    content_type: str | None
    upload_pending: bool  # an upload URL was handed out and its upload not completed yet


class SectionOut(msgspec.Struct):
    section_id: str
    title: str
    lessons: list[LessonOut]


class StudioSection(msgspec.Struct):
    section_id: str
    title: str
    lessons: list[StudioLesson]


class SessionOut(msgspec.Struct):
    session_id: str
    starts_at: Timestamp
    duration_minutes: int
    capacity: int
    seats_left: int


class CourseDetailOut(CourseSummary):
    instructor: InstructorIntro
    sections: list[SectionOut]
    sessions: list[SessionOut]


class StudioCourse(CourseSummary):
    sections: list[StudioSection]
    sessions: list[SessionOut]
    created_at: Timestamp
    updated_at: Timestamp


def course_summary(course: Course) -> CourseSummary:
    return CourseSummary(
        course_id=course.course_id, title=course.title, description=course.description,
        category=course.category, level=course.level, language=course.language,
        thumbnail_url=course.thumbnail_url, price=MoneyBody.of(course.price), status=course.status,
        instructor=InstructorRef(course.instructor_id, course.instructor_name),
        rating=Rating(round(course.rating_sum / course.rating_count, 2) if course.rating_count else None,
                      course.rating_count),
        enrollment_count=course.enrollment_count, lesson_count=course.lesson_count,
        published_at=course.published_at, publish_at=course.publish_at,
    )


def session_out(session: LiveSession) -> SessionOut:
    return SessionOut(session.session_id, session.starts_at, session.duration_minutes, session.capacity,
                      session.seats_left)


def lesson_out(lesson) -> LessonOut:
    return LessonOut(lesson.lesson_id, lesson.title, lesson.kind, lesson.duration_seconds, lesson.preview)


def studio_lesson(lesson) -> StudioLesson:
    return StudioLesson(lesson.lesson_id, lesson.title, lesson.kind, lesson.duration_seconds, lesson.preview,
                        has_file=lesson.file_key is not None, content_type=lesson.content_type,
                        upload_pending=lesson.pending_file_key is not None)


def section_out(section: Section) -> SectionOut:
    return SectionOut(section.section_id, section.title, [lesson_out(lesson) for lesson in section.lessons])


def studio_section(section: Section) -> StudioSection:
    return StudioSection(section.section_id, section.title, [studio_lesson(lesson) for lesson in section.lessons])


def course_detail(detail: CourseDetail) -> CourseDetailOut:
    summary = course_summary(detail.course)
    course = detail.course
    return CourseDetailOut(
        **{**msgspec.structs.asdict(summary),
           "instructor": InstructorIntro(course.instructor_id, course.instructor_name, course.instructor_bio)},
        sections=[section_out(s) for s in detail.sections],
        sessions=[session_out(s) for s in detail.sessions],
    )


def studio_course(detail: CourseDetail) -> StudioCourse:
    summary = course_summary(detail.course)
    return StudioCourse(
        **msgspec.structs.asdict(summary),
        sections=[studio_section(s) for s in detail.sections],
        sessions=[session_out(s) for s in detail.sessions],
        created_at=detail.course.created_at, updated_at=detail.course.updated_at,
    )
