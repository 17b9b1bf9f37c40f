"""The course rules on their own: no emulator, no app."""

from dataclasses import dataclass

import pytest

from chalicelib.domain.courses import (
    LISTABLE,
    CourseStatus,
    allows_removal,
    keeps_price,
    missing_for_publishing,
    on_sale,
    owned_by,
)
from chalicelib.money import Money


@dataclass(frozen=True)
class _Course:
    status: str
    instructor_id: str = "ina"


def test_the_statuses_are_the_strings_stored_and_sent():
    assert [str(s) for s in CourseStatus] == ["draft", "scheduled", "published"]
    assert CourseStatus("published") is CourseStatus.PUBLISHED
    assert CourseStatus.PUBLISHED == "published"


def test_a_course_belongs_to_its_instructor_only():
    assert owned_by(_Course("draft"), "ina")
    assert not owned_by(_Course("draft"), "someone-else")
    assert not owned_by(_Course("published"), "INA")


@pytest.mark.parametrize(("status", "expected"), [("draft", False), ("scheduled", False), ("published", True)])
def test_only_a_published_course_is_on_sale(status, expected):
    assert on_sale(_Course(status)) is expected
    assert on_sale(_Course(CourseStatus(status))) is expected


def test_publishing_lists_drafts_and_scheduled_courses_only():
    assert set(LISTABLE) == {CourseStatus.DRAFT, CourseStatus.SCHEDULED}


@pytest.mark.parametrize(("status", "keeps", "removable"),
                         [("draft", False, True), ("scheduled", True, False), ("published", True, False)])
def test_a_draft_may_be_free_and_lose_lessons_a_course_on_sale_may_not(status, keeps, removable):
    assert keeps_price(status) is keeps
    assert allows_removal(status) is removable


def test_a_course_ready_to_publish_lacks_nothing():
    assert missing_for_publishing("파이썬 입문", Money(39000, "KRW"), 1) == []


def test_publishing_names_every_missing_field_in_order():
    missing = missing_for_publishing("  ", Money(0, "KRW"), 0)
    assert [name for name, _ in missing] == ["title", "price", "lessons"]
    assert all(message for _, message in missing)


def test_a_negative_price_is_missing_too():
    assert [name for name, _ in missing_for_publishing("T", Money(-1, "KRW"), 3)] == ["price"]
