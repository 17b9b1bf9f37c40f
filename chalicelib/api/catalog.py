"""The public catalog: browse, search, a course's page, an instructor's page."""

from typing import Annotated, Literal

import msgspec

from chalicelib import errors
from chalicelib.api.courses import Category, CourseDetailOut, CourseSummary, course_detail, course_summary
from chalicelib.api.routing import PUBLIC, ApiBlueprint, Call
from chalicelib.api.schemas import Page, PageQuery
from chalicelib.services import catalog

catalog_api = ApiBlueprint(__name__, tag="catalog")


class CatalogQuery(PageQuery):
    q: Annotated[str, msgspec.Meta(min_length=1, max_length=100,
                                   description="words of two or more characters; every one must match")] | None = None
    category: Category | None = None
    sort: Literal["popular", "rating", "newest", "price_asc", "price_desc"] = "popular"


class InstructorOut(msgspec.Struct):
    instructor_id: str
    name: str
    bio: str
    links: list[str]
    courses: list[CourseSummary]


@catalog_api.endpoint(
    "GET", "/courses", policy=PUBLIC, query=CatalogQuery, response=Page[CourseSummary],
    summary="Published courses: browse by category and sort, or search with q (newest first)",
)
def list_courses(call: Call):
    query: CatalogQuery = call.query
    if query.q is not None:
        page = catalog.search_courses(query.q, query.category, query.limit, query.cursor)
    else:
        page = catalog.list_courses(query.sort, query.category, query.limit, query.cursor)
    return Page(items=[course_summary(c) for c in page.courses], next_cursor=page.next_cursor)


@catalog_api.endpoint(
    "GET", "/courses/{course_id}", policy=PUBLIC, response=CourseDetailOut,
    summary="A published course with its curriculum, instructor, rating and live sessions",
    errors=(errors.NotFound,),
)
def get_course(call: Call, course_id: str):
    return course_detail(catalog.course_page(course_id))


@catalog_api.endpoint(
    "GET", "/instructors/{instructor_id}", policy=PUBLIC, response=InstructorOut,
    summary="An instructor's public profile and published courses", errors=(errors.NotFound,),
)
def get_instructor(call: Call, instructor_id: str):
    page = catalog.instructor_page(instructor_id)
    return InstructorOut(page.instructor_id, page.name, page.bio, page.links,
                         [course_summary(c) for c in page.courses])
