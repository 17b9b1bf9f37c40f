"""The catalog's word index: which listed courses a normalized word (or word prefix) points to.

Table `<prefix>course_terms`
    hash key   term        a normalized word or prefix ("파이썬", "pyth")
    range key  course_id   ULIDs sort by creation, so a Query reads newest first

Access patterns
    courses matching a term, newest first ... Query term (paged)
    index a course's terms ................... BatchWrite puts
    drop a course's old terms ................ BatchWrite deletes of the terms it had

Written when a course is listed (published) and when a listed course's title or
description changes; the course item keeps the list of terms it wrote, so
replacing them needs no scan.
"""

from pynamodb.attributes import UnicodeAttribute
from pynamodb.models import Model

from chalicelib.store.base import table_meta
from chalicelib.store.cursors import decode_cursor, encode_cursor


class CourseTermItem(Model):
    Meta = table_meta("course_terms")

    term = UnicodeAttribute(hash_key=True)
    course_id = UnicodeAttribute(range_key=True)


def replace_terms(course_id: str, old_terms: set[str], new_terms: set[str]) -> None:
    with CourseTermItem.batch_write() as batch:
        for term in old_terms - new_terms:
            batch.delete(CourseTermItem(term, course_id))
        for term in new_terms - old_terms:
            batch.save(CourseTermItem(term, course_id))


def course_ids_for(term: str, limit: int, after_course_id: str | None = None) -> list[str]:
    """Newest-first course ids under `term`, strictly older than `after_course_id` when given."""
    condition = CourseTermItem.course_id < after_course_id if after_course_id else None
    return [item.course_id for item in
            CourseTermItem.query(term, condition, scan_index_forward=False, limit=limit)]


def cursor_after(term: str, course_id: str) -> str:
    """The cursor of a search that read `term`'s courses down to `course_id`."""
    return encode_cursor({"term": {"S": term}, "course_id": {"S": course_id}})


def course_after(cursor: str | None, term: str) -> str | None:
    """The course id a search cursor for `term` stopped at (none: from the newest)."""
    key = decode_cursor(cursor, partition={"term": term})
    return next(iter(key.get("course_id", {}).values()), None) if key else None
