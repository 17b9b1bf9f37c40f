"""What anyone can see: the catalog of listed courses, a course's page, an instructor's page.

Only published courses are visible here; drafts and scheduled courses are the
instructor's own business (see `studio`).
"""

from dataclasses import dataclass

from chalicelib import errors
from chalicelib.services import search
from chalicelib.store import courses, search_terms, users
from chalicelib.store.courses import Course, CourseDetail
from chalicelib.store.cursors import decode_cursor, encode_cursor

PUBLISHED = "published"
CATEGORIES = ("programming", "data", "design", "business", "marketing", "music", "language", "photography",
              "lifestyle", "finance")
LEVELS = ("beginner", "intermediate", "advanced", "all")
SEARCH_ROUNDS = 4  # term pages read per request before answering with a partial page


@dataclass(frozen=True)
class CoursePage:
    courses: list[Course]
    next_cursor: str | None


@dataclass(frozen=True)
class InstructorPage:
    instructor_id: str
    name: str
    bio: str
    links: list[str]
    courses: list[Course]


def list_courses(sort: str, category: str | None, limit: int, cursor: str | None) -> CoursePage:
    """One Query on the catalog index built for `sort` (and `category`, or all)."""
    _index, attribute, partition, _descending = courses.catalog_index(sort, category)
    start = decode_cursor(cursor, partition={attribute: partition})
    items, last_key = courses.list_catalog(sort, category, limit, start)
    return CoursePage([courses.to_course(item) for item in items], encode_cursor(last_key))


def search_courses(q: str, category: str | None, limit: int, cursor: str | None) -> CoursePage:
    """Courses whose title or description has every word of `q`, newest first.

    The most selective word is read from the term index (a Query, newest first);
    the other words are checked against the terms each candidate course wrote.
    """
    terms = search.query_terms(q)
    if not terms:  # no word of two or more characters: nothing can match every word
        return CoursePage([], None)
    first, others = terms[0], set(terms[1:])
    start = decode_cursor(cursor, partition={"term": first})
    after = start["course_id"]["S"] if start else None
    found: list[Course] = []
    for _ in range(SEARCH_ROUNDS):
        candidates = search_terms.course_ids_for(first, limit=max(limit * 2, 20), after_course_id=after)
        if not candidates:
            return CoursePage(found, None)
        items = courses.batch_get_courses(candidates)
        for course_id in candidates:
            after = course_id
            item = items.get(course_id)
            if (item is not None and item.status == PUBLISHED and others <= set(item.search_terms or ())
                    and (category is None or item.category == category)):
                found.append(courses.to_course(item))
                if len(found) == limit:
                    return CoursePage(found, encode_cursor({"term": {"S": first}, "course_id": {"S": after}}))
    return CoursePage(found, encode_cursor({"term": {"S": first}, "course_id": {"S": after}}))


def course_page(course_id: str) -> CourseDetail:
    """A listed course with its curriculum (no file locations) and live sessions: one Query."""
    found = courses.get_detail(course_id)
    if found is None or found[0].status != PUBLISHED:
        raise errors.NotFound(f"No course {course_id}")
    course, curriculum, sessions = found
    return CourseDetail(
        course=courses.to_course(course),
        sections=courses.decode_sections(curriculum.document) if curriculum else [],
        sessions=[courses.to_session(s) for s in sessions],
    )


def instructor_page(instructor_id: str, limit: int = 50) -> InstructorPage:
    profile = users.get_profile(instructor_id)
    if profile is None or "instructors" not in profile.groups:
        raise errors.NotFound(f"No instructor {instructor_id}")
    items, _ = courses.list_by_instructor(instructor_id, limit, None, published_only=True)
    return InstructorPage(instructor_id, profile.name, profile.bio, list(profile.links),
                          [courses.to_course(item) for item in items])
