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
    a course and its lessons; pages' courses        one BatchGet
    catalog page for a sort, in a category or all  one Query on a catalog index
    an instructor's courses                        Query by_instructor
    courses due to publish                         Query scheduled, publish_at <= now
    sessions starting in an hour                   Query sessions_by_hour
    take a seat                                    Update booked + 1 if booked < capacity
    set the revenue split                          Update revenue_split if the instructor is as read
    seats left before retrying a purchase          GetItem session, consistent (after contention)
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import msgspec
from pynamodb.attributes import (
    DiscriminatorAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.exceptions import DoesNotExist
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib import clock, errors
from chalicelib.domain.courses import LISTABLE, CourseStatus
from chalicelib.money import Money
from chalicelib.store.base import table_meta
from chalicelib.store.cursors import decode_cursor, encode_cursor
from chalicelib.store.transactions import OnFail, UnitOfWork, conditional_write

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


class SplitShareMap(MapAttribute):
    instructor_id = UnicodeAttribute()
    bps = NumberAttribute()


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
    status = UnicodeAttribute(default=CourseStatus.DRAFT)
    lesson_count = NumberAttribute(default=0)
    rating_sum = NumberAttribute(default=0)
    rating_count = NumberAttribute(default=0)
    search_terms = UnicodeSetAttribute(null=True)  # the terms written to course_terms, to replace them later
    # The revenue split of sales from now on (the owner among the parties); absent: all to the instructor.
    revenue_split = ListAttribute(of=SplitShareMap, null=True)
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
    status: CourseStatus
    publish_at: str | None
    published_at: str | None
    lesson_count: int
    enrollment_count: int
    rating_sum: int
    rating_count: int
    created_at: datetime
    updated_at: datetime
    instructor_bio: str = ""
    instructor_timezone: str | None = None  # IANA name; none: the default zone
    search_terms: frozenset[str] = frozenset()  # the terms the listed course wrote to the word index
    revenue_split: tuple[tuple[str, int], ...] = ()  # (instructor id, bps) of sales from now on; (): all the owner's


@dataclass(frozen=True)
class Curriculum:
    """A course's sections as read, with the version its next write is conditional on (None: never written)."""

    course_id: str
    sections: list[Section]
    version: int | None = None

    @property
    def lessons(self) -> list[Lesson]:
        """Every lesson in curriculum order."""
        return [lesson for section in self.sections for lesson in section.lessons]


@dataclass(frozen=True)
class LiveSession:
    course_id: str
    session_id: str
    starts_at: str
    duration_minutes: int
    capacity: int
    booked: int
    join_url: str | None = None
    course_title: str = ""

    @property
    def seats_left(self) -> int:
        return max(self.capacity - self.booked, 0)


@dataclass
class CourseDetail:
    course: Course
    sections: list[Section] = field(default_factory=list)
    sessions: list[LiveSession] = field(default_factory=list)


def _to_course(item: CourseItem) -> Course:
    return Course(
        course_id=item.course_id, instructor_id=item.instructor_id, instructor_name=item.instructor_name,
        title=item.title, description=item.description, category=item.category, level=item.level,
        language=item.language, thumbnail_url=item.thumbnail_url,
        price=Money(int(item.price_amount), item.price_currency), status=CourseStatus(item.status),
        publish_at=item.publish_at, published_at=item.published_at, lesson_count=int(item.lesson_count),
        enrollment_count=int(item.enrollment_count or 0), rating_sum=int(item.rating_sum or 0),
        rating_count=int(item.rating_count or 0), created_at=item.created_at, updated_at=item.updated_at,
        instructor_bio=item.instructor_bio or "", instructor_timezone=item.instructor_timezone,
        search_terms=frozenset(item.search_terms or ()),
        revenue_split=tuple((share.instructor_id, int(share.bps)) for share in item.revenue_split or ()),
    )


def to_session(item: SessionItem) -> LiveSession:
    return LiveSession(item.course_id, item.session_id, item.starts_at, int(item.duration_minutes),
                       int(item.capacity), int(item.booked), item.join_url, item.course_title)


def _to_curriculum(course_id: str, item: CurriculumItem | None) -> Curriculum:
    if item is None:
        return Curriculum(course_id, [])
    return Curriculum(course_id, msgspec.json.decode(item.document, type=list[Section]), item.version)


def session_key(session_id: str) -> str:
    return SESSION_PREFIX + session_id


# --- reads ---------------------------------------------------------------------------------------

def get_course(course_id: str) -> Course | None:
    try:
        return _to_course(CourseItem.get(course_id, COURSE))
    except DoesNotExist:  # each discriminated class raises its own DoesNotExist
        return None


def get_detail(course_id: str) -> CourseDetail | None:
    """Everything about a course in one Query on its partition."""
    course, curriculum, sessions = None, None, []
    for item in CatalogItem.query(course_id):
        if isinstance(item, CourseItem):
            course = item
        elif isinstance(item, CurriculumItem):
            curriculum = item
        elif isinstance(item, SessionItem):
            sessions.append(to_session(item))
    if course is None:
        return None
    sessions.sort(key=lambda s: (s.starts_at, s.session_id))
    return CourseDetail(_to_course(course), _to_curriculum(course_id, curriculum).sections, sessions)


def get_curriculum(course_id: str) -> Curriculum:
    """The course's sections (none yet: empty) and the version to write them back with."""
    try:
        item = CurriculumItem.get(course_id, CURRICULUM)
    except DoesNotExist:  # each discriminated class raises its own DoesNotExist
        item = None
    return _to_curriculum(course_id, item)


def get_course_and_curriculum(course_id: str) -> tuple[Course | None, Curriculum]:
    """The course summary and its curriculum: one BatchGet."""
    course, curriculum = None, None
    for item in CatalogItem.batch_get([(course_id, COURSE), (course_id, CURRICULUM)]):
        if isinstance(item, CourseItem):
            course = _to_course(item)
        elif isinstance(item, CurriculumItem):
            curriculum = item
    return course, _to_curriculum(course_id, curriculum)


def get_session(course_id: str, session_id: str, consistent: bool = False) -> LiveSession | None:
    try:
        return to_session(SessionItem.get(course_id, session_key(session_id), consistent_read=consistent))
    except DoesNotExist:  # each discriminated class raises its own DoesNotExist
        return None


def _catalog_index(sort: str, category: str | None) -> tuple[GlobalSecondaryIndex, str, str, bool]:
    """(index, partition attribute, partition value, newest/highest first) for a catalog listing."""
    key_attribute, descending = CATALOG_SORTS[sort]
    short = {"enrollment_count": "popular", "rating_score": "rating", "published_at": "newest",
             "price_amount": "price"}[key_attribute]
    if category:
        return getattr(CatalogItem, f"catalog_{short}_by_category"), "listed_category", category, descending
    return getattr(CatalogItem, f"catalog_{short}_all"), "listed_all", ALL_PARTITION, descending


def list_catalog(sort: str, category: str | None, limit: int, cursor: str | None) -> tuple[list[Course], str | None]:
    """One Query on the index for `sort`; returns (listed courses, the next page's cursor)."""
    index, attribute, partition, descending = _catalog_index(sort, category)
    result = index.query(partition, scan_index_forward=not descending, limit=limit,
                         last_evaluated_key=decode_cursor(cursor, partition={attribute: partition}))
    courses = [_to_course(item) for item in result if isinstance(item, CourseItem)]
    return courses, encode_cursor(result.last_evaluated_key)


def _by_instructor(instructor_id: str, limit: int | None, start_key: dict | None, published_only: bool):
    condition = CourseItem.status == CourseStatus.PUBLISHED if published_only else None
    return CatalogItem.by_instructor.query(instructor_id, scan_index_forward=False, limit=limit,
                                           last_evaluated_key=start_key, filter_condition=condition)


def list_by_instructor(instructor_id: str, limit: int | None, cursor: str | None, *,
                       published_only: bool = False) -> tuple[list[Course], str | None]:
    """An instructor's courses, newest first (all of them without `limit`); (courses, next cursor)."""
    start = decode_cursor(cursor, partition={"instructor_id": instructor_id})
    result = _by_instructor(instructor_id, limit, start, published_only)
    courses = [_to_course(item) for item in result if isinstance(item, CourseItem)]
    return courses, encode_cursor(result.last_evaluated_key)


def batch_get_courses(course_ids: Iterable[str]) -> dict[str, Course]:
    found = {}
    for item in CatalogItem.batch_get([(course_id, COURSE) for course_id in dict.fromkeys(course_ids)]):
        if isinstance(item, CourseItem):
            found[item.course_id] = _to_course(item)
    return found


def batch_get_courses_and_sessions(
        course_ids: Iterable[str], sessions: Iterable[tuple[str, str]],
) -> tuple[dict[str, Course], dict[tuple[str, str], LiveSession]]:
    """Courses by id and live sessions by (course_id, session_id), in one BatchGet per 100 keys."""
    keys = [(course_id, COURSE) for course_id in course_ids]
    keys += [(course_id, session_key(session_id)) for course_id, session_id in sessions]
    found_courses, found_sessions = {}, {}
    for item in CatalogItem.batch_get(list(dict.fromkeys(keys))) if keys else ():
        if isinstance(item, CourseItem):
            found_courses[item.course_id] = _to_course(item)
        elif isinstance(item, SessionItem):
            found_sessions[(item.course_id, item.session_id)] = to_session(item)
    return found_courses, found_sessions


def due_to_publish(now_iso: str) -> list[Course]:
    return [_to_course(item) for item in CatalogItem.scheduled_index.query(SCHEDULED, CatalogItem.publish_at <= now_iso)
            if isinstance(item, CourseItem)]


def sessions_starting(hour: str) -> list[LiveSession]:
    return [to_session(item) for item in CatalogItem.sessions_by_hour.query(hour) if isinstance(item, SessionItem)]


# --- the studio's writes -------------------------------------------------------------------------------

def _course_key(course_id: str) -> CourseItem:
    return CourseItem(course_id, COURSE)


def _terms_action(terms: set[str]):
    return CourseItem.search_terms.set(terms) if terms else CourseItem.search_terms.remove()


def add_new_course(uow: UnitOfWork, course: Course) -> None:
    """A new draft and its empty curriculum, in the caller's unit of work (a course id is never reused)."""
    uow.put(
        CourseItem(
            course.course_id, COURSE, instructor_id=course.instructor_id, instructor_name=course.instructor_name,
            instructor_bio=course.instructor_bio, instructor_timezone=course.instructor_timezone,
            title=course.title, description=course.description, category=course.category, level=course.level,
            language=course.language, thumbnail_url=course.thumbnail_url, price_amount=course.price.amount,
            price_currency=course.price.currency, status=course.status, created_at=course.created_at,
            updated_at=course.updated_at, enrollment_count=0, rating_score=0,
        ),
        condition=CourseItem.course_id.does_not_exist(),
        on_fail=lambda: errors.Conflict(f"A course {course.course_id} exists already"),
    )
    uow.put(CurriculumItem(course.course_id, CURRICULUM))


def _write_course(course_id: str, actions: list, now: datetime, condition=None, on_fail: OnFail | None = None) -> Course:
    """Change only the named attributes, so counters written by purchases and reviews are never overwritten."""
    item = _course_key(course_id)
    with conditional_write(on_fail):
        item.update(actions=[*actions, CourseItem.updated_at.set(now)], condition=condition)
    return _to_course(item)  # UpdateItem answers with the whole item as written


def write_course_changes(course: Course, changes: dict, now: datetime, *, search_terms: set[str] | None = None
                         ) -> Course:
    """Set the named fields of `course` (`price` a Money) and, given, the search terms it wrote.
    A listed course keeps its catalog entry in step with its category."""
    fields = dict(changes)
    if "price" in fields:
        price: Money = fields.pop("price")
        fields["price_amount"], fields["price_currency"] = price.amount, price.currency
    actions = [getattr(CourseItem, name).set(value) for name, value in fields.items()]
    if course.status == CourseStatus.PUBLISHED and "category" in fields:
        actions.append(CourseItem.listed_category.set(fields["category"]))
    if search_terms is not None:
        actions.append(_terms_action(search_terms))
    if not actions:
        return course
    return _write_course(course.course_id, actions, now)


def write_revenue_split(course: Course, shares: list[tuple[str, int]], now: datetime, on_fail: OnFail) -> Course:
    """Replace the course's revenue split, if its instructor is still the one read (the owner's own write)."""
    return _write_course(course.course_id, [CourseItem.revenue_split.set(
        [SplitShareMap(instructor_id=instructor_id, bps=bps) for instructor_id, bps in shares])], now,
        condition=CourseItem.instructor_id == course.instructor_id, on_fail=on_fail)


def write_schedule(course_id: str, publish_at_iso: str, now: datetime) -> Course:
    """Scheduled: the scheduled-publishing job lists the course at `publish_at`."""
    return _write_course(course_id, [CourseItem.status.set(CourseStatus.SCHEDULED), CourseItem.scheduled.set(SCHEDULED),
                                     CourseItem.publish_at.set(publish_at_iso)], now)


def write_listing(course: Course, search_terms: set[str], now: datetime, on_fail: OnFail) -> Course:
    """List a draft or scheduled course in the catalog (status, index attributes and the terms it wrote),
    in one write conditional on its status (`on_fail` when it is listed already or changed meanwhile)."""
    return _write_course(course.course_id, [
        _terms_action(search_terms),
        CourseItem.status.set(CourseStatus.PUBLISHED),
        CourseItem.published_at.set(clock.to_rfc3339(now)),
        CourseItem.scheduled.remove(),
        CourseItem.publish_at.remove(),
        CourseItem.listed_all.set(ALL_PARTITION),
        CourseItem.listed_category.set(course.category),
    ], now, condition=CourseItem.status.is_in(*LISTABLE), on_fail=on_fail)


def add_curriculum_edit(uow: UnitOfWork, curriculum: Curriculum, sections: list[Section], now: datetime,
                        on_fail: OnFail) -> None:
    """The new sections, if the curriculum's version is still the one read (else `on_fail`), and the
    course's lesson count with them, in the caller's unit of work."""
    item = CurriculumItem(curriculum.course_id, CURRICULUM, document=msgspec.json.encode(sections).decode(),
                          version=curriculum.version)
    uow.put(item, on_fail=on_fail)
    lesson_count = sum(len(section.lessons) for section in sections)
    uow.update(_course_key(curriculum.course_id),
               actions=[CourseItem.lesson_count.set(lesson_count), CourseItem.updated_at.set(now)])


def create_session(session: LiveSession) -> LiveSession:
    """A new live session (its id is new: never overwrites one)."""
    item = SessionItem(
        session.course_id, session_key(session.session_id), session_id=session.session_id,
        starts_at=session.starts_at, starts_hour=session.starts_at[:13], duration_minutes=session.duration_minutes,
        capacity=session.capacity, booked=session.booked, course_title=session.course_title,
        join_url=session.join_url,
    )
    with conditional_write(lambda: errors.Conflict(f"A live session {session.session_id} exists already")):
        item.save(condition=SessionItem.item.does_not_exist())
    return session


def write_session_capacity(course_id: str, session_id: str, capacity: int, on_fail: OnFail) -> LiveSession:
    """The new capacity, unless fewer seats than are booked (`on_fail`)."""
    item = SessionItem(course_id, session_key(session_id))
    with conditional_write(on_fail):
        item.update(actions=[SessionItem.capacity.set(capacity)],
                    condition=SessionItem.item.exists() & (SessionItem.booked <= capacity))
    return to_session(item)


def write_session_join_url(course_id: str, session_id: str, join_url: str | None) -> LiveSession:
    item = SessionItem(course_id, session_key(session_id))
    action = SessionItem.join_url.set(join_url) if join_url else SessionItem.join_url.remove()
    with conditional_write(lambda: errors.NotFound(f"No session {session_id} in this course")):
        item.update(actions=[action], condition=SessionItem.item.exists())
    return to_session(item)


def copy_instructor_profile(instructor_id: str, **copies: str | None) -> None:
    """Write the instructor's `name`, `bio` and/or `timezone` onto each of their courses that differs."""
    attributes = {f"instructor_{field}": value for field, value in copies.items()}  # name -> instructor_name
    start = None
    while True:
        result = _by_instructor(instructor_id, 100, start, published_only=False)
        for item in result:
            if not isinstance(item, CourseItem):
                continue
            changed = [getattr(CourseItem, attribute).set(value) for attribute, value in attributes.items()
                       if getattr(item, attribute) != value]
            if changed:
                item.update(actions=changed)
        start = result.last_evaluated_key
        if not start:
            return


# --- writes that ride in other use cases' transactions --------------------------------------------------

def add_count_enrollment(uow: UnitOfWork, course_id: str, delta: int, on_fail: OnFail) -> None:
    """Keep `enrollment_count` (the catalog's popular sort) in step with purchases and refunds."""
    condition = CourseItem.status == CourseStatus.PUBLISHED if delta > 0 else CourseItem.enrollment_count >= -delta
    uow.update(_course_key(course_id), actions=[CourseItem.enrollment_count.add(delta)], condition=condition,
               on_fail=on_fail)


def add_take_seat(uow: UnitOfWork, course_id: str, session_id: str, now_iso: str, on_fail: OnFail) -> None:
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
