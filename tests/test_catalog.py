"""The instructor studio and the public catalog, as instructors and learners use them."""

from datetime import UTC, datetime, timedelta

import pytest
import requests

from chalicelib.services import studio
from tests.support.courses import STUDIO, make_course
from tests.support.learning import enroll


def _in(hours: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


@pytest.fixture
def instructor(api):
    return api.token_for(roles=["instructor"], name="Ina Instructor")


def _catalog_ids(api, **params):
    """Every course id of a catalog listing, following cursors."""
    ids, cursor = [], None
    while True:
        query = "&".join(f"{k}={v}" for k, v in {**params, **({"cursor": cursor} if cursor else {})}.items())
        page = api.get(f"/courses?{query}")
        assert page.status_code == 200, page.body
        ids += [c["course_id"] for c in page.json_body["items"]]
        cursor = page.json_body["next_cursor"]
        if not cursor:
            return ids


# --- the instructor flow end to end ----------------------------------------------------------------

def test_instructor_builds_uploads_publishes_and_learners_find_the_course(api, instructor):
    created = api.post(STUDIO, {"title": "데이터 분석 입문", "description": "파이썬으로 배우는 데이터 분석",
                                "category": "data", "price": {"amount": 39000, "currency": "KRW"}}, token=instructor)
    assert created.status_code == 201
    course = created.json_body
    assert course["status"] == "draft" and course["price"] == {"amount": 39000, "currency": "KRW"}
    course_id = course["course_id"]
    assert api.get(f"/courses/{course_id}").status_code == 404  # drafts are not public

    intro = api.post(f"{STUDIO}/{course_id}/sections", {"title": "Intro"}, token=instructor).json_body
    first = api.post(f"{STUDIO}/{course_id}/sections", {"title": "First steps", "position": 0}, token=instructor)
    assert first.status_code == 201 and first.json_body["lessons"] == []
    lesson = api.post(f"{STUDIO}/{course_id}/sections/{intro['section_id']}/lessons",
                      {"title": "Welcome", "kind": "video", "duration_seconds": 120, "preview": True},
                      token=instructor).json_body
    api.post(f"{STUDIO}/{course_id}/sections/{intro['section_id']}/lessons",
             {"title": "Slides", "kind": "document", "position": 0}, token=instructor)

    ticket = api.post(f"{STUDIO}/{course_id}/lessons/{lesson['lesson_id']}/upload-url",
                      {"content_type": "video/mp4", "size_bytes": 11}, token=instructor)
    assert ticket.status_code == 200, ticket.body
    assert f"courses/{course_id}/lessons/{lesson['lesson_id']}/" in ticket.json_body["url"]
    assert ticket.json_body["headers"]["Content-Type"] == "video/mp4"
    uploaded = requests.put(ticket.json_body["url"], data=b"hello video", headers=ticket.json_body["headers"])
    assert uploaded.status_code == 200
    completed = api.post(f"{STUDIO}/{course_id}/lessons/{lesson['lesson_id']}/upload-complete", token=instructor)
    assert completed.status_code == 200 and completed.json_body["has_file"] is True

    session = api.post(f"{STUDIO}/{course_id}/sessions",
                       {"starts_at": _in(48), "duration_minutes": 90, "capacity": 12}, token=instructor)
    assert session.status_code == 201 and session.json_body["seats_left"] == 12

    published = api.post(f"{STUDIO}/{course_id}/publish", token=instructor)
    assert published.status_code == 200 and published.json_body["status"] == "published"

    page = api.get(f"/courses/{course_id}")
    assert page.status_code == 200
    detail = page.json_body
    assert [s["title"] for s in detail["sections"]] == ["First steps", "Intro"]
    assert [lsn["title"] for lsn in detail["sections"][1]["lessons"]] == ["Slides", "Welcome"]
    assert detail["sections"][1]["lessons"][1]["preview"] is True
    assert "file_key" not in page.body.decode() and "amazonaws" not in page.body.decode()
    assert detail["sessions"][0]["seats_left"] == 12
    assert detail["instructor"]["name"] == "Ina Instructor" and detail["instructor"]["bio"] == ""
    assert detail["rating"] == {"average": None, "count": 0}
    assert course_id in _catalog_ids(api, category="data", sort="newest", limit=3)
    assert course_id in [c["course_id"] for c in api.get("/courses?q=파이썬").json_body["items"]]
    assert course_id in [c["course_id"] for c in api.get("/courses?q=데이터%20입문").json_body["items"]]

    studio_view = api.get(f"{STUDIO}/{course_id}", token=instructor).json_body
    assert studio_view["sections"][1]["lessons"][1]["has_file"] is True


def test_catalog_sorts_by_price_both_ways_and_pages_without_gaps(api, instructor):
    mine = {make_course(api, instructor, title=f"Music {n}", category="music", amount=amount): amount
            for n, amount in enumerate([30000, 10000, 20000])}
    ascending = [i for i in _catalog_ids(api, category="music", sort="price_asc", limit=2) if i in mine]
    descending = [i for i in _catalog_ids(api, category="music", sort="price_desc", limit=1) if i in mine]
    assert [mine[i] for i in ascending] == [10000, 20000, 30000]
    assert descending == list(reversed(ascending))
    everything = _catalog_ids(api, sort="newest", limit=7)
    assert len(everything) == len(set(everything)) and set(mine) <= set(everything)


def test_popular_and_rating_sorts_are_highest_first_and_page_without_gaps_or_repeats(api, instructor):
    """The popular and rating sorts read indexes keyed on counters that purchases and reviews move:
    real purchases and reviews must reorder the listing, and cursors must walk it without a repeat."""
    many, few, none = (make_course(api, instructor, title=f"Korean {n}", category="language", amount=10_000)
                       for n in ("many", "few", "none"))
    ratings = {many: [3, 4], few: [5], none: []}  # averages 3.5, 5.0, unrated
    for course_id, given in ratings.items():
        for rating in given:
            learner = api.token_for()
            enroll(api, learner, course_id)
            review = api.post(f"/courses/{course_id}/reviews", {"rating": rating, "text": "ok"}, token=learner)
            assert review.status_code == 201, review.body
    mine = {many, few, none}

    for sort, expected, key in (
        ("popular", [many, few, none], lambda c: c["enrollment_count"]),
        ("rating", [few, many, none], lambda c: c["rating"]["average"] or 0),
    ):
        # small pages in the category and bigger ones overall: both must keep the order, each course once
        for params in ({"category": "language", "limit": 1}, {"category": "language", "limit": 2},
                       {"limit": 25}):
            listed = _catalog_ids(api, sort=sort, **params)
            assert len(listed) == len(set(listed)), (sort, params)
            assert [i for i in listed if i in mine] == expected, (sort, params)
        # and the whole category is in that order, not just our three
        page = api.get(f"/courses?category=language&sort={sort}&limit=100").json_body["items"]
        keys = [key(c) for c in page]
        assert keys == sorted(keys, reverse=True), (sort, keys)
    summary = {c["course_id"]: c for c in api.get("/courses?category=language&sort=rating&limit=100").json_body["items"]}
    assert summary[many]["enrollment_count"] == 2 and summary[many]["rating"] == {"average": 3.5, "count": 2}
    assert summary[few]["enrollment_count"] == 1 and summary[few]["rating"] == {"average": 5.0, "count": 1}
    assert summary[none]["enrollment_count"] == 0 and summary[none]["rating"] == {"average": None, "count": 0}


def test_newest_first_in_the_all_partition(api, instructor):
    older = make_course(api, instructor, title="Older", category="finance")
    newer = make_course(api, instructor, title="Newer", category="finance")
    listing = [i for i in _catalog_ids(api, sort="newest") if i in (older, newer)]
    assert listing == [newer, older]


def test_search_finds_english_words_by_prefix_and_needs_every_word(api, instructor):
    course_id = make_course(api, instructor, title="Photography Masterclass", category="photography",
                            description="Lighting and composition")
    found = lambda q: [c["course_id"] for c in api.get(f"/courses?q={q}").json_body["items"]]  # noqa: E731
    assert course_id in found("photo")
    assert course_id in found("PHOTOGRAPHY%20lighting")
    assert course_id not in found("photography%20cooking")
    assert course_id in [c["course_id"] for c in api.get("/courses?q=photo&category=photography").json_body["items"]]
    assert course_id not in [c["course_id"] for c in api.get("/courses?q=photo&category=music").json_body["items"]]


def test_catalog_and_detail_are_one_query_each_and_never_scan(api, instructor, aws_calls):
    course_id = make_course(api, instructor, title="Counted", category="design")
    aws_calls.clear()
    assert api.get("/courses?category=design&sort=popular").status_code == 200
    assert aws_calls.of("dynamodb") == ["Query"]
    aws_calls.clear()
    assert api.get(f"/courses/{course_id}").status_code == 200
    assert aws_calls.of("dynamodb") == ["Query"]
    instructor_id = api.get(f"/courses/{course_id}").json_body["instructor"]["instructor_id"]
    aws_calls.clear()
    found = api.get("/courses?q=counted")
    page = api.get(f"/instructors/{instructor_id}")
    assert "Scan" not in aws_calls.of("dynamodb")
    # and reading by key and index still finds the course: no scan, yet nothing missed
    assert found.status_code == 200 and course_id in [c["course_id"] for c in found.json_body["items"]]
    assert page.status_code == 200 and [c["course_id"] for c in page.json_body["courses"]] == [course_id]


@pytest.mark.parametrize("category", ["design", None])
@pytest.mark.parametrize("sort", ["popular", "rating", "newest", "price_asc", "price_desc"])
def test_every_sort_in_a_category_and_overall_is_one_query_on_its_own_index(api, instructor, aws_calls, sort, category):
    make_course(api, instructor, title=f"Sorted by {sort}", category="design")
    aws_calls.clear()
    page = api.get(f"/courses?sort={sort}&limit=20" + (f"&category={category}" if category else ""))
    assert page.status_code == 200 and page.json_body["items"]
    assert aws_calls.of("dynamodb") == ["Query"]
    prices = [c["price"]["amount"] for c in page.json_body["items"]]
    if sort.startswith("price"):
        assert prices == sorted(prices, reverse=sort == "price_desc")


# --- publishing rules ------------------------------------------------------------------------------

def test_publishing_without_lessons_is_refused_naming_what_is_missing(api, instructor):
    course_id = make_course(api, instructor, lessons=0, publish=False)
    response = api.post(f"{STUDIO}/{course_id}/publish", token=instructor)
    assert response.status_code == 422
    assert response.json_body["code"] == "UNPROCESSABLE"
    assert [e["field"] for e in response.json_body["errors"]] == ["lessons"]
    assert api.get(f"/courses/{course_id}").status_code == 404


def test_scheduled_course_is_published_by_the_job_when_its_time_comes(api, instructor):
    course_id = make_course(api, instructor, publish=False)
    response = api.post(f"{STUDIO}/{course_id}/publish", {"publish_at": _in(2)}, token=instructor)
    assert response.status_code == 200 and response.json_body["status"] == "scheduled"
    assert api.get(f"/courses/{course_id}").status_code == 404
    assert course_id not in studio.publish_due(datetime.now(UTC) + timedelta(hours=1))
    assert course_id in studio.publish_due(datetime.now(UTC) + timedelta(hours=3))
    assert course_id not in studio.publish_due(datetime.now(UTC) + timedelta(hours=3))  # once
    assert api.get(f"/courses/{course_id}").json_body["status"] == "published"


def test_published_curriculum_can_grow_but_not_lose_lessons(api, instructor):
    course_id = make_course(api, instructor)
    detail = api.get(f"{STUDIO}/{course_id}", token=instructor).json_body
    section_id = detail["sections"][0]["section_id"]
    lesson_id = detail["sections"][0]["lessons"][0]["lesson_id"]
    assert api.call("DELETE", f"{STUDIO}/{course_id}/lessons/{lesson_id}", token=instructor).status_code == 409
    assert api.call("DELETE", f"{STUDIO}/{course_id}/sections/{section_id}", token=instructor).status_code == 409
    added = api.post(f"{STUDIO}/{course_id}/sections/{section_id}/lessons", {"title": "Bonus", "kind": "document"},
                     token=instructor)
    assert added.status_code == 201
    assert api.get(f"/courses/{course_id}").json_body["lesson_count"] == 2


def test_draft_lessons_can_be_moved_and_deleted(api, instructor):
    course_id = make_course(api, instructor, lessons=2, publish=False)
    detail = api.get(f"{STUDIO}/{course_id}", token=instructor).json_body
    first, second = detail["sections"][0]["lessons"]
    other = api.post(f"{STUDIO}/{course_id}/sections", {"title": "Other"}, token=instructor).json_body
    moved = api.call("PATCH", f"{STUDIO}/{course_id}/lessons/{second['lesson_id']}",
                     body={"section_id": other["section_id"], "title": "Renamed"}, token=instructor)
    assert moved.status_code == 200 and moved.json_body["title"] == "Renamed"
    assert api.call("DELETE", f"{STUDIO}/{course_id}/lessons/{first['lesson_id']}", token=instructor).status_code == 204
    sections = api.get(f"{STUDIO}/{course_id}", token=instructor).json_body["sections"]
    assert [[lsn["title"] for lsn in s["lessons"]] for s in sections] == [[], ["Renamed"]]
    assert api.get(f"{STUDIO}/{course_id}", token=instructor).json_body["lesson_count"] == 1


def test_editing_a_published_course_moves_it_between_categories(api, instructor):
    course_id = make_course(api, instructor, category="business")
    changed = api.call("PATCH", f"{STUDIO}/{course_id}", body={"category": "marketing", "title": "Growth"},
                       token=instructor)
    assert changed.status_code == 200 and changed.json_body["title"] == "Growth"
    assert course_id in _catalog_ids(api, category="marketing")
    assert course_id not in _catalog_ids(api, category="business")
    assert course_id in [c["course_id"] for c in api.get("/courses?q=growth").json_body["items"]]


# --- live sessions ---------------------------------------------------------------------------------

def test_capacity_can_be_raised_never_below_bookings(api, instructor):
    from chalicelib.store.courses import SessionItem, session_key

    course_id = make_course(api, instructor)
    session = api.post(f"{STUDIO}/{course_id}/sessions", {"starts_at": _in(24), "duration_minutes": 60,
                                                          "capacity": 3}, token=instructor).json_body
    SessionItem(course_id, session_key(session["session_id"])).update(actions=[SessionItem.booked.set(2)])
    path = f"{STUDIO}/{course_id}/sessions/{session['session_id']}"
    raised = api.call("PATCH", path, body={"capacity": 5}, token=instructor)
    assert raised.status_code == 200 and raised.json_body["seats_left"] == 3
    lowered = api.call("PATCH", path, body={"capacity": 1}, token=instructor)
    assert lowered.status_code == 422 and lowered.json_body["errors"][0]["field"] == "capacity"
    assert api.get(f"/courses/{course_id}").json_body["sessions"][0]["capacity"] == 5


# --- ownership ----------------------------------------------------------------------------------------

def test_only_the_owner_may_see_or_change_a_course(api, instructor):
    course_id = make_course(api, instructor, publish=False)
    other = api.token_for(roles=["instructor"])
    learner = api.token_for(roles=["learner"])
    assert api.get(f"{STUDIO}/{course_id}", token=other).status_code == 404
    assert api.call("PATCH", f"{STUDIO}/{course_id}", body={"title": "Mine now"}, token=other).status_code == 404
    assert api.post(f"{STUDIO}/{course_id}/publish", token=other).status_code == 404
    assert api.post(f"{STUDIO}/{course_id}/sessions", {"starts_at": _in(5), "duration_minutes": 60, "capacity": 2},
                    token=other).status_code == 404
    assert api.call("PATCH", f"{STUDIO}/{course_id}", body={"title": "x"}, token=learner).status_code == 403
    assert api.call("PATCH", f"{STUDIO}/{course_id}", body={"title": "x"}).status_code == 401
    assert api.get(f"{STUDIO}/{course_id}", token=instructor).json_body["title"] == "Python for Data"
    assert course_id not in [c["course_id"] for c in api.get(STUDIO, token=other).json_body["items"]]
    assert course_id in [c["course_id"] for c in api.get(STUDIO, token=instructor).json_body["items"]]


def test_instructor_profile_is_public_and_renames_their_courses(api):
    token = api.token_for(roles=["instructor"], name="Old Name")
    course_id = make_course(api, token, category="lifestyle")
    instructor_id = api.get("/me", token=token).json_body["user_id"]
    saved = api.call("PUT", "/instructor/profile", body={"name": "New Name", "bio": "Teaches yoga",
                                                         "links": ["https://yoga.example"]}, token=token)
    assert saved.status_code == 200
    page = api.get(f"/instructors/{instructor_id}").json_body
    assert page["name"] == "New Name" and page["bio"] == "Teaches yoga"
    assert [c["course_id"] for c in page["courses"]] == [course_id]
    assert api.get(f"/courses/{course_id}").json_body["instructor"] == {
        "instructor_id": instructor_id, "name": "New Name", "bio": "Teaches yoga"}
    later = make_course(api, token, category="lifestyle", title="Yoga at home")
    assert api.get(f"/courses/{later}").json_body["instructor"]["bio"] == "Teaches yoga"
    assert "bio" not in api.get("/courses?category=lifestyle&sort=newest").json_body["items"][0]["instructor"]
    assert api.get(f"/instructors/{api.get('/me', token=api.token_for()).json_body['user_id']}").status_code == 404


# --- bad input ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "", "category": "music", "price": {"amount": 1000, "currency": "KRW"}}, "title"),
        ({"title": "T" * 121, "category": "music", "price": {"amount": 1000, "currency": "KRW"}}, "title"),
        ({"title": "T", "category": "music", "price": {"amount": -1, "currency": "KRW"}}, "price.amount"),
        ({"title": "T", "category": "music", "price": {"amount": 10.5, "currency": "KRW"}}, "price.amount"),
        ({"title": "T", "category": "music", "price": {"amount": "100", "currency": "KRW"}}, "price.amount"),
        ({"title": "T", "category": "music", "price": {"amount": 100, "currency": "BTC"}}, "price.currency"),
        ({"title": "T", "category": "music", "price": {"amount": 100}}, "price.currency"),
        ({"title": "T", "category": "music", "price": {"amount": 100, "currency": "USD"}}, "price.currency"),
        ({"title": "T", "category": "cooking", "price": {"amount": 100, "currency": "KRW"}}, "category"),
        ({"title": "T", "category": "music", "price": {"amount": 100, "currency": "KRW"}, "description": "d" * 5001},
         "description"),
        ({"title": "T", "category": "music", "price": {"amount": 100, "currency": "KRW"},
          "thumbnail_url": "javascript:alert(1)"}, "thumbnail_url"),
    ],
)
def test_bad_course_input_names_the_field_and_creates_nothing(api, instructor, body, field):
    before = len(api.get(STUDIO, token=instructor).json_body["items"])
    response = api.post(STUDIO, body, token=instructor)
    assert response.status_code == 422, response.body
    assert response.json_body["errors"][0]["field"] == field
    assert len(api.get(STUDIO, token=instructor).json_body["items"]) == before


def test_a_course_on_sale_keeps_a_price_above_zero_in_the_wallets_currency(api, instructor):
    course_id = make_course(api, instructor, amount=30_000)
    for price, field in (({"amount": 0, "currency": "KRW"}, "price.amount"),
                         ({"amount": 30, "currency": "USD"}, "price.currency")):
        response = api.call("PATCH", f"{STUDIO}/{course_id}", {"price": price}, token=instructor)
        assert response.status_code == 422, response.body
        assert response.json_body["errors"][0]["field"] == field
    assert api.get(f"/courses/{course_id}").json_body["price"] == {"amount": 30_000, "currency": "KRW"}
    draft = make_course(api, instructor, publish=False)
    free_draft = api.call("PATCH", f"{STUDIO}/{draft}", {"price": {"amount": 0, "currency": "KRW"}}, token=instructor)
    assert free_draft.status_code == 200 and free_draft.json_body["price"]["amount"] == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"starts_at": _in(24), "duration_minutes": 60, "capacity": 0}, "capacity"),
        ({"starts_at": _in(-1), "duration_minutes": 60, "capacity": 5}, "starts_at"),
        ({"starts_at": "2030-01-01T10:00:00", "duration_minutes": 60, "capacity": 5}, "starts_at"),
        ({"starts_at": "tomorrow", "duration_minutes": 60, "capacity": 5}, "starts_at"),
        ({"starts_at": _in(24), "duration_minutes": 0, "capacity": 5}, "duration_minutes"),
    ],
)
def test_bad_session_input_names_the_field(api, instructor, body, field):
    course_id = make_course(api, instructor, publish=False)
    response = api.post(f"{STUDIO}/{course_id}/sessions", body, token=instructor)
    assert response.status_code == 422, response.body
    assert response.json_body["errors"][0]["field"] == field
    assert api.get(f"{STUDIO}/{course_id}", token=instructor).json_body["sessions"] == []


def test_publish_at_in_the_past_is_refused(api, instructor):
    course_id = make_course(api, instructor, publish=False)
    response = api.post(f"{STUDIO}/{course_id}/publish", {"publish_at": _in(-2)}, token=instructor)
    assert response.status_code == 422 and response.json_body["errors"][0]["field"] == "publish_at"
    assert api.get(f"{STUDIO}/{course_id}", token=instructor).json_body["status"] == "draft"


def test_unknown_course_lesson_and_section_are_404(api, instructor):
    course_id = make_course(api, instructor, publish=False)
    assert api.get("/courses/01NOSUCHCOURSE").status_code == 404
    assert api.get(f"{STUDIO}/01NOSUCHCOURSE", token=instructor).status_code == 404
    assert api.call("PATCH", f"{STUDIO}/01NOSUCHCOURSE", body={"title": "x"}, token=instructor).status_code == 404
    assert api.post(f"{STUDIO}/01NOSUCHCOURSE/publish", token=instructor).status_code == 404
    assert api.post(f"{STUDIO}/{course_id}/lessons/nope/upload-url", {"content_type": "video/mp4", "size_bytes": 5},
                    token=instructor).status_code == 404
    assert api.post(f"{STUDIO}/{course_id}/sections/nope/lessons", {"title": "x", "kind": "video"},
                    token=instructor).status_code == 404


def test_upload_url_refuses_a_type_the_lesson_cannot_hold_and_oversize_files(api, instructor):
    course_id = make_course(api, instructor, publish=False)
    lesson_id = api.get(f"{STUDIO}/{course_id}", token=instructor).json_body["sections"][0]["lessons"][0]["lesson_id"]
    wrong_type = api.post(f"{STUDIO}/{course_id}/lessons/{lesson_id}/upload-url",
                          {"content_type": "application/x-msdownload", "size_bytes": 5}, token=instructor)
    assert wrong_type.status_code == 422 and wrong_type.json_body["errors"][0]["field"] == "content_type"
    too_big = api.post(f"{STUDIO}/{course_id}/lessons/{lesson_id}/upload-url",
                       {"content_type": "video/mp4", "size_bytes": 10**13}, token=instructor)
    assert too_big.status_code == 422 and too_big.json_body["errors"][0]["field"] == "size_bytes"


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=abc", "sort=cheapest", "cursor=%%%",
                                   "cursor=eyJ4Ijp7IlMiOiJ5In19", "category=cooking"])
def test_bad_catalog_queries_name_the_parameter(api, query):
    response = api.get(f"/courses?{query}")
    assert response.status_code == 422, response.body
    assert response.json_body["errors"][0]["field"] == query.split("=")[0]
