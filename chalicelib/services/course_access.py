"""Which courses a caller reaches: an instructor's own (the studio), and those on sale (everyone).

A course the caller may not reach is "not found" (404), never "forbidden": drafts, scheduled
courses and other instructors' courses are not revealed.
"""

from chalicelib import errors
from chalicelib.domain.courses import on_sale, owned_by
from chalicelib.roles import Caller
from chalicelib.store import courses
from chalicelib.store.courses import Course


def own_course(caller: Caller, course_id: str) -> Course:
    """The caller's own course, whatever its status."""
    course = courses.get_course(course_id)
    if course is None or not owned_by(course, caller.user_id):
        raise errors.NotFound(f"No course {course_id} in your studio")
    return course


def course_on_sale(course_id: str) -> Course:
    """A course listed in the catalog."""
    course = courses.get_course(course_id)
    if course is None or not on_sale(course):
        raise errors.NotFound(f"No course {course_id}")
    return course
