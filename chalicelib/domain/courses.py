"""The rules of a course's life: its status, who owns it, when it is on sale, when it may be published.

A course is a draft while it is built, `scheduled` once its instructor picks a moment to list it,
and `published` (listed in the catalog, bought, reviewed) from then on; it never goes back.
"""

from enum import StrEnum
from typing import Protocol

from chalicelib.money import Money


class CourseStatus(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    PUBLISHED = "published"


class OwnedCourse(Protocol):
    """What the rules read of a course (the store's `Course` record, or anything shaped like it)."""

    status: str
    instructor_id: str


def owned_by(course: OwnedCourse, user_id: str) -> bool:
    return course.instructor_id == user_id


def on_sale(course: OwnedCourse) -> bool:
    """Listed in the catalog: anyone may see it, learners may buy it, review it and ask about it."""
    return course.status == CourseStatus.PUBLISHED


# Publishing (now or at its scheduled moment) lists a course in one of these, once.
LISTABLE = (CourseStatus.DRAFT, CourseStatus.SCHEDULED)


def keeps_price(status: str) -> bool:
    """A course on sale, or scheduled to be, keeps a price above zero (a draft may be free while built)."""
    return status != CourseStatus.DRAFT


def allows_removal(status: str) -> bool:
    """Sections and lessons are deleted from drafts only: no enrolled learner loses a lesson or a bookmark."""
    return status == CourseStatus.DRAFT


def missing_for_publishing(title: str, price: Money, lesson_count: int) -> list[tuple[str, str]]:
    """What a course lacks to be published, as (field, message) pairs; empty when it is ready."""
    missing = []
    if not title.strip():
        missing.append(("title", "a title is required"))
    if price.amount <= 0:
        missing.append(("price", "a price above zero is required"))
    if lesson_count < 1:
        missing.append(("lessons", "at least one lesson is required"))
    return missing
