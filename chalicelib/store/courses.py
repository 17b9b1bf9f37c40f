"""Courses, their curriculum and their live sessions: one partition per course.

Table `<prefix>courses`, polymorphic on `kind` (PynamoDB discriminator)
    hash key   course_id
    range key  item: "course" | "curriculum" | "session#<session_id>"

    course      the summary: title, price, status, instructor, counters
                (enrollment_count, rating_sum, rating_count) and the sparse
                index attributes below, set only while the course is listed
    curriculum  sections and lessons as one JSON document with a version, so
                inserting or moving a lesson is one conditional write
    session     a live session: starts_at, capacity, booked, join_url (shown only
                to those who booked, from shortly before it starts)

Indexes (all sparse: only course items that carry the attribute are in them)
    catalog_<sort>_by_category   listed_category, <sort key>   browse one category
    catalog_<sort>_all           listed_all ("all"), <sort key> browse everything
        sort keys: popular = enrollment_count, rating = rating_score,
                   newest = published_at, price = price_amount (asc or desc)
    by_instructor                instructor_id, created_at     an instructor's courses
    scheduled                    scheduled ("scheduled"), publish_at   courses due to publish
    sessions_by_hour             starts_hour ("YYYY-MM-DDTHH"), starts_at   session reminders

Access patterns
    course detail (course, curriculum, sessions)   one Query on the course partition
    catalog page for a sort, in a category or all  one Query on a catalog index
    an instructor's courses                        Query by_instructor
    courses due to publish                         Query scheduled, publish_at <= now
    sessions starting in an hour                   Query sessions_by_hour
    take a seat                                    Update booked + 1 if booked < capacity
    seats left before retrying a purchase          GetItem session, consistent (after contention)
"""

from dataclasses import dataclass, field
from datetime import datetime

import msgspec
from pynamodb.attributes import (
    DiscriminatorAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.exceptions import DoesNotExist
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.money import Money
from chalicelib.store.base import table_meta
from chalicelib.store.transactions import UnitOfWork

COURSE = "course"
CURRICULUM = "curriculum"
SESSION_PREFIX = "session#"
ALL_PARTITION = "all"
SCHEDULED = "scheduled"

# sort name -> (attribute holding its key, newest/highest first?)
CATALOG_SORTS = {
    "popular": ("enrollment_count", True),
    "rating": ("rating_score", True),
    "newest": ("published_at", True),
    "price_asc": ("price_amount", False),
    "price_desc": ("price_amount", True),
}


def _index(name: str, hash_name: str, range_name: str, range_type) -> GlobalSecondaryIndex:
    meta = type("Meta", (), {"index_name": name, "projection": AllProjection()})
    attrs = {"Meta": meta, hash_name: UnicodeAttribute(hash_key=True), range_name: range_type(range_key=True)}
    return type(name, (GlobalSecondaryIndex,), attrs)()


_SORT_KEY_TYPES = {"enrollment_count": NumberAttribute, "rating_score": NumberAttribute,
                   "published_at": UnicodeAttribute, "price_amount": NumberAttribute}


class CatalogItem(Model):
    Meta = table_meta("courses")

    course_id = UnicodeAttribute(hash_key=True)
    item = UnicodeAttribute(range_key=True)
    kind = DiscriminatorAttribute()

    # Sparse index attributes (declared here: indexes live on the table's base model).
    listed_category = UnicodeAttribute(null=True)
    listed_all = UnicodeAttribute(null=True)
    enrollment_count = NumberAttribute(null=True)
    rating_score = NumberAttribute(null=True)
    published_at = UnicodeAttribute(null=True)
    price_amount = NumberAttribute(null=True)
    instructor_id = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute(null=True)
    scheduled = UnicodeAttribute(null=True)
    publish_at = UnicodeAttribute(null=True)
    starts_hour = UnicodeAttribute(null=True)
    starts_at = UnicodeAttribute(null=True)

    by_instructor = _index("by_instructor", "instructor_id", "created_at", UTCDateTimeAttribute)
    scheduled_index = _index("scheduled", "scheduled", "publish_at", UnicodeAttribute)
    sessions_by_hour = _index("sessions_by_hour", "starts_hour", "starts_at", UnicodeAttribute)
    catalog_popular_by_category = _index("catalog_popular_by_category", "listed_category", "enrollment_count",
                                         NumberAttribute)
    catalog_popular_all = _index("catalog_popular_all", "listed_all", "enrollment_count", NumberAttribute)
    catalog_rating_by_category = _index("catalog_rating_by_category", "listed_category", "rating_score",
                                        NumberAttribute)
    catalog_rating_all = _index("catalog_rating_all", "listed_all", "rating_score", NumberAttribute)
    catalog_newest_by_category = _index("catalog_newest_by_category", "listed_category", "published_at",
                                        UnicodeAttribute)
    catalog_newest_all = _index("catalog_newest_all", "listed_all", "published_at", UnicodeAttribute)
    catalog_price_by_category = _index("catalog_price_by_category", "listed_category", "price_amount",
                                       NumberAttribute)
    catalog_price_all = _index("catalog_price_all", "listed_all", "price_amount", NumberAttribute)


class CourseItem(CatalogItem, discriminator=COURSE):
    title = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    category = UnicodeAttribute()
    level = UnicodeAttribute(default="all")
    language = UnicodeAttribute(default="ko")
    thumbnail_url = UnicodeAttribute(null=True)
    price_currency = UnicodeAttribute()
    instructor_name = UnicodeAttribute()
    # Copied from the instructor's profile (`copy_instructor_profile`): a course page is one Query, and a
    # purchase counts its dashboard day in the instructor's time zone without reading the profile.
    instructor_bio = UnicodeAttribute(default="")
    instructor_timezone = UnicodeAttribute(null=True)  # IANA name; none: the default zone
    status = UnicodeAttribute(default="draft")
    lesson_count = NumberAttribute(default=0)
    rating_sum = NumberAttribute(default=0)
    rating_count = NumberAttribute(default=0)
    search_terms = UnicodeSetAttribute(null=True)  # the terms written to course_terms, to replace them later
    updated_at = UTCDateTimeAttribute()
    # No version attribute: purchases and reviews update counters here concurrently with studio edits;
    # every writer changes only its own attributes (UpdateItem actions), so none can overwrite another.


class CurriculumItem(CatalogItem, discriminator=CURRICULUM):
    document = UnicodeAttribute(default="[]")
    version = VersionAttribute()


class SessionItem(CatalogItem, discriminator="session"):
    session_id = UnicodeAttribute()
    duration_minutes = NumberAttribute()
    capacity = NumberAttribute()
    booked = NumberAttribute(default=0)
    course_title = UnicodeAttribute()
    join_url = UnicodeAttribute(null=True)


# --- records the services work with ----------------------------------------------------------------

class Lesson(msgspec.Struct):
    lesson_id: str
    title: str
    kind: str
    duration_seconds: int = 0
    preview: bool = False
    file_key: str | None = None
    content_type: str | None = None
    # An upload URL handed out but not yet completed: learners keep the file above until it is.
    pending_file_key: str | None = None
    pending_content_type: str | None = None


class Section(msgspec.Struct):
    section_id: str
    title: str
    lessons: list[Lesson] = []


@dataclass(frozen=True)
class Course:
    course_id: str
    instructor_id: str
    instructor_name: str
    title: str
    description: str
    category: str
    level: str
    language: str
    thumbnail_url: str | None
    price: Money
    status: str
    publish_at: str | None
    published_at: str | None
    lesson_count: int
    enrollment_count: int
    rating_sum: int
    rating_count: int
    created_at: datetime
    updated_at: datetime
    instructor_bio: str = ""


@dataclass(frozen=True)
class LiveSession:
    course_id: str
    session_id: str
    starts_at: str
    duration_minutes: int
    capacity: int
    booked: int
    join_url: str | None = None

    @property
    def seats_left(self) -> int:
        return max(self.capacity - self.booked, 0)


@dataclass
class CourseDetail:
    course: Course
    sections: list[Section] = field(default_factory=list)
    sessions: list[LiveSession] = field(default_factory=list)


def to_course(item: CourseItem) -> Course:
    return Course(
        course_id=item.course_id, instructor_id=item.instructor_id, instructor_name=item.instructor_name,
        title=item.title, description=item.description, category=item.category, level=item.level,
        language=item.language, thumbnail_url=item.thumbnail_url,
        price=Money(int(item.price_amount), item.price_currency), status=item.status,
        publish_at=item.publish_at, published_at=item.published_at, lesson_count=int(item.lesson_count),
        enrollment_count=int(item.enrollment_count or 0), rating_sum=int(item.rating_sum),
        rating_count=int(item.rating_count), created_at=item.created_at, updated_at=item.updated_at,
        instructor_bio=item.instructor_bio or "",
    )


def to_session(item: SessionItem) -> LiveSession:
    return LiveSession(item.course_id, item.session_id, item.starts_at, int(item.duration_minutes),
                       int(item.capacity), int(item.booked), item.join_url)


def session_key(session_id: str) -> str:
    return SESSION_PREFIX + session_id


def decode_sections(document: str) -> list[Section]:
    return msgspec.json.decode(document, type=list[Section])


def encode_sections(sections: list[Section]) -> str:
    return msgspec.json.encode(sections).decode()


# --- reads ---------------------------------------------------------------------------------------

def get_course_item(course_id: str) -> CourseItem | None:
    try:
        return CourseItem.get(course_id, COURSE)
    except DoesNotExist:  # each discriminated class raises its own DoesNotExist
        return None


def get_course(course_id: str) -> Course | None:
    item = get_course_item(course_id)
    return to_course(item) if item else None


def get_detail(course_id: str) -> tuple[CourseItem, CurriculumItem | None, list[SessionItem]] | None:
    """Everything about a course in one Query on its partition."""
    course, curriculum, sessions = None, None, []
    for item in CatalogItem.query(course_id):
        if isinstance(item, CourseItem):
            course = item
        elif isinstance(item, CurriculumItem):
            curriculum = item
        elif isinstance(item, SessionItem):
            sessions.append(item)
    if course is None:
        return None
    sessions.sort(key=lambda s: (s.starts_at, s.session_id))
    return course, curriculum, sessions


def get_curriculum_item(course_id: str) -> CurriculumItem | None:
    try:
        return CurriculumItem.get(course_id, CURRICULUM)
    except DoesNotExist:  # each discriminated class raises its own DoesNotExist
        return None


def get_session_item(course_id: str, session_id: str, consistent: bool = False) -> SessionItem | None:
    try:
        return SessionItem.get(course_id, session_key(session_id), consistent_read=consistent)
    except DoesNotExist:  # each discriminated class raises its own DoesNotExist
        return None


def get_session(course_id: str, session_id: str, consistent: bool = False) -> LiveSession | None:
    item = get_session_item(course_id, session_id, consistent)
    return to_session(item) if item else None


def catalog_index(sort: str, category: str | None) -> tuple[GlobalSecondaryIndex, str, str, bool]:
    """(index, partition attribute, partition value, newest/highest first) for a catalog listing."""
    key_attribute, descending = CATALOG_SORTS[sort]
    short = {"enrollment_count": "popular", "rating_score": "rating", "published_at": "newest",
             "price_amount": "price"}[key_attribute]
    if category:
        return getattr(CatalogItem, f"catalog_{short}_by_category"), "listed_category", category, descending
    return getattr(CatalogItem, f"catalog_{short}_all"), "listed_all", ALL_PARTITION, descending


def list_catalog(sort: str, category: str | None, limit: int, start_key: dict | None):
    """One Query on the index for `sort`; returns (course items, last evaluated key)."""
    index, _attribute, partition, descending = catalog_index(sort, category)
    result = index.query(partition, scan_index_forward=not descending, limit=limit,
                         last_evaluated_key=start_key)
    items = [item for item in result if isinstance(item, CourseItem)]
    return items, result.last_evaluated_key


def list_by_instructor(instructor_id: str, limit: int, start_key: dict | None, *, published_only: bool = False):
    condition = CourseItem.status == "published" if published_only else None
    result = CatalogItem.by_instructor.query(instructor_id, scan_index_forward=False, limit=limit,
                                             last_evaluated_key=start_key, filter_condition=condition)
    return [item for item in result if isinstance(item, CourseItem)], result.last_evaluated_key


def copy_instructor_profile(instructor_id: str, **copies: str | None) -> None:
    """Write the instructor's `name`, `bio` and/or `timezone` onto each of their courses that differs."""
    attributes = {f"instructor_{field}": value for field, value in copies.items()}  # name -> instructor_name
    start = None
    while True:
        items, start = list_by_instructor(instructor_id, 100, start)
        for item in items:
            changed = [getattr(CourseItem, attribute).set(value) for attribute, value in attributes.items()
                       if getattr(item, attribute) != value]
            if changed:
                item.update(actions=changed)
        if not start:
            return


def batch_get_courses(course_ids: list[str]) -> dict[str, CourseItem]:
    found = {}
    for item in CatalogItem.batch_get([(course_id, COURSE) for course_id in course_ids]):
        if isinstance(item, CourseItem):
            found[item.course_id] = item
    return found


def due_to_publish(now_iso: str) -> list[CourseItem]:
    return [item for item in CatalogItem.scheduled_index.query(SCHEDULED, CatalogItem.publish_at <= now_iso)
            if isinstance(item, CourseItem)]


def sessions_starting(hour: str) -> list[SessionItem]:
    return [item for item in CatalogItem.sessions_by_hour.query(hour) if isinstance(item, SessionItem)]


# --- writes that ride in other use cases' transactions --------------------------------------------------

def add_count_enrollment(uow: UnitOfWork, course_id: str, delta: int, on_fail) -> None:
    """Keep `enrollment_count` (the catalog's popular sort) in step with purchases and refunds."""
    condition = CourseItem.status == "published" if delta > 0 else CourseItem.enrollment_count >= -delta
    uow.update(CourseItem(course_id, COURSE), actions=[CourseItem.enrollment_count.add(delta)], condition=condition,
               on_fail=on_fail)


def add_take_seat(uow: UnitOfWork, course_id: str, session_id: str, now_iso: str, on_fail) -> None:
    """One seat more, only while seats are left and the session has not started."""
    uow.update(
        SessionItem(course_id, session_key(session_id)),
        actions=[SessionItem.booked.add(1)],
        condition=(SessionItem.item.exists() & (SessionItem.booked < SessionItem.capacity)
                   & (SessionItem.starts_at > now_iso)),
        on_fail=on_fail,
    )


def add_release_seat(uow: UnitOfWork, course_id: str, session_id: str) -> None:
    uow.update(SessionItem(course_id, session_key(session_id)), actions=[SessionItem.booked.add(-1)],
               condition=SessionItem.booked > 0)


def batch_get_course_parts(keys: list[tuple[str, str]]) -> dict[tuple[str, str], CatalogItem]:
    """Course, curriculum and session items by (course_id, item) key, in one BatchGet per 100 keys."""
    found = {}
    for item in CatalogItem.batch_get(list(dict.fromkeys(keys))):
        found[(item.course_id, item.item)] = item
    return found
