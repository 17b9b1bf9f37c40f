"""What anyone can see: the catalog of listed courses, a course's page, an instructor's page.

Only published courses are visible here; drafts and scheduled courses are the
instructor's own business (see `studio`).
"""

from dataclasses import dataclass

from chalicelib import errors
from chalicelib.domain.courses import on_sale
from chalicelib.services import search
from chalicelib.store import courses, search_terms, users
from chalicelib.store.courses import Course, CourseDetail

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
    return CoursePage(*courses.list_catalog(sort, category, limit, cursor))


def search_courses(q: str, category: str | None, limit: int, cursor: str | None) -> CoursePage:
    """Courses whose title or description has every word of `q`, newest first.

    The most selective word is read from the term index (a Query, newest first);
    the other words are checked against the terms each candidate course wrote.
    """
    terms = search.query_terms(q)
    if not terms:  # no word of two or more characters: nothing can match every word
        return CoursePage([], None)
    first, others = terms[0], set(terms[1:])
    after = search_terms.course_after(cursor, first)
    found: list[Course] = []
    for _ in range(SEARCH_ROUNDS):
        candidates = search_terms.course_ids_for(first, limit=max(limit * 2, 20), after_course_id=after)
        if not candidates:
            return CoursePage(found, None)
        listed = courses.batch_get_courses(candidates)
        for course_id in candidates:
            after = course_id
            course = listed.get(course_id)
            if (course is not None and on_sale(course) and others <= course.search_terms
                    and (category is None or course.category == category)):
                found.append(course)
                if len(found) == limit:
                    return CoursePage(found, search_terms.cursor_after(first, after))
    return CoursePage(found, search_terms.cursor_after(first, after))


def course_page(course_id: str) -> CourseDetail:
    """A listed course with its curriculum (no file locations) and live sessions: one Query."""
    found = courses.get_detail(course_id)
    if found is None or not on_sale(found.course):
        raise errors.NotFound(f"No course {course_id}")
    return found


def instructor_page(instructor_id: str, limit: int = 50) -> InstructorPage:
    profile = users.get_profile(instructor_id)
    if profile is None or "instructors" not in profile.groups:
        raise errors.NotFound(f"No instructor {instructor_id}")
    listed, _ = courses.list_by_instructor(instructor_id, limit, None, published_only=True)
    return InstructorPage(instructor_id, profile.name, profile.bio, list(profile.links), listed)
