"""Reviews: one per enrolled learner, editable, listed newest first; the rating kept incrementally."""

from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.courses import make_course
from tests.support.learning import enroll, refund


def _review(api, token, course_id, rating=5, text="Great course"):
    return api.post(f"/courses/{course_id}/reviews", {"rating": rating, "text": text}, token=token)


def _edit(api, token, course_id, **changes):
    return api.call("PATCH", f"/courses/{course_id}/reviews/mine", body=changes, token=token)


def _all_reviews(api, course_id, limit=3):
    found, cursor = [], None
    while True:
        page = api.get(f"/courses/{course_id}/reviews?limit={limit}" + (f"&cursor={cursor}" if cursor else ""))
        assert page.status_code == 200, page.body
        found += page.json_body["items"]
        cursor = page.json_body["next_cursor"]
        if not cursor:
            return found


def _counters(course_id):
    from chalicelib.store.courses import COURSE, CourseItem

    item = CourseItem.get(course_id, COURSE)
    return int(item.rating_sum), int(item.rating_count), int(item.rating_score)


@pytest.fixture
def instructor(api):
    return api.token_for(roles=["instructor"], name="Ina Instructor")


@pytest.fixture
def course(api, instructor):
    return make_course(api, instructor, title="Reviewed course", category="design")


def test_an_enrolled_learner_reviews_once_and_the_course_rating_follows(api, course):
    learner = api.token_for(name="Rae Reviewer")
    enroll(api, learner, course)
    created = _review(api, learner, course, 4, "Clear and practical")
    assert created.status_code == 201
    assert created.json_body["learner_name"] == "Rae Reviewer" and created.json_body["rating"] == 4
    assert created.json_body["edited"] is False and created.json_body["reply"] is None
    again = _review(api, learner, course, 1, "Changed my mind")
    assert again.status_code == 409 and again.json_body["code"] == "ALREADY_REVIEWED"
    assert api.get(f"/courses/{course}").json_body["rating"] == {"average": 4.0, "count": 1}
    assert [r["text"] for r in _all_reviews(api, course)] == ["Clear and practical"]


def test_editing_a_review_moves_the_average_by_the_difference(api, course):
    first, second = api.token_for(), api.token_for()
    for token, rating in ((first, 5), (second, 2)):
        enroll(api, token, course)
        _review(api, token, course, rating)
    edited = _edit(api, second, course, rating=3, text="Better on a second look")
    assert edited.status_code == 200 and edited.json_body["edited"] is True
    assert edited.json_body["text"] == "Better on a second look"
    assert api.get(f"/courses/{course}").json_body["rating"] == {"average": 4.0, "count": 2}
    text_only = _edit(api, first, course, text="Still great")
    assert text_only.json_body["rating"] == 5
    assert _counters(course) == (8, 2, 4000)
    assert api.get(f"/courses/{course}/reviews/mine", token=second).json_body["rating"] == 3


def test_who_may_review(api, instructor, course):
    refunded = api.token_for()
    refund(api, refunded, enroll(api, refunded, course))
    assert _review(api, refunded, course).status_code == 403
    assert _review(api, api.token_for(), course).status_code == 403
    assert _review(api, instructor, course).status_code == 403  # instructors are not learners
    assert _review(api, None, course).status_code == 401
    assert _review(api, api.token_for(), "01NOSUCHCOURSE").status_code == 404
    assert _edit(api, api.token_for(), course, rating=1).status_code == 404  # no review of mine to edit
    learner = api.token_for()
    enroll(api, learner, course)
    assert _edit(api, learner, course, rating=1).status_code == 404  # nothing to edit yet
    assert _counters(course) == (0, 0, 0)


@pytest.mark.parametrize(("body", "field"), [
    ({"rating": 0, "text": "x"}, "rating"),
    ({"rating": 6, "text": "x"}, "rating"),
    ({"rating": 4.5, "text": "x"}, "rating"),
    ({"rating": "5", "text": "x"}, "rating"),
    ({"rating": True, "text": "x"}, "rating"),
    ({"text": "x"}, "rating"),
    ({"rating": 5, "text": ""}, "text"),
    ({"rating": 5, "text": "   \n "}, "text"),
    ({"rating": 5, "text": "x" * 2001}, "text"),
    ({"rating": 5}, "text"),
    ({"rating": 5, "text": "x", "stars": 5}, "stars"),
])
def test_bad_review_input_names_the_field_and_counts_nothing(api, course, body, field):
    learner = api.token_for()
    enroll(api, learner, course)
    response = api.post(f"/courses/{course}/reviews", body, token=learner)
    assert response.status_code == 422 and response.headers["Content-Type"] == "application/problem+json"
    assert response.json_body["errors"][0]["field"] == field
    assert _counters(course) == (0, 0, 0)


def test_an_empty_edit_is_refused(api, course):
    learner = api.token_for()
    enroll(api, learner, course)
    _review(api, learner, course)
    response = _edit(api, learner, course)
    assert response.status_code == 422 and response.json_body["errors"][0]["field"] == "body"


def test_markup_is_stored_and_returned_as_plain_text(api, course):
    learner = api.token_for(name="<b>Bold</b>")
    enroll(api, learner, course)
    text = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'
    _review(api, learner, course, 5, text)
    response = api.get(f"/courses/{course}/reviews")
    assert response.headers["Content-Type"] == "application/json"
    [review] = response.json_body["items"]
    assert review["text"] == text and review["learner_name"] == "<b>Bold</b>"


def test_reviews_are_public_newest_first_and_paginated(api, course):
    texts = [f"Review {n}" for n in range(5)]
    for text in texts:
        learner = api.token_for()
        enroll(api, learner, course)
        _review(api, learner, course, 5, text)
    assert [r["text"] for r in _all_reviews(api, course, limit=2)] == list(reversed(texts))
    first_page = api.get(f"/courses/{course}/reviews?limit=1").json_body
    assert "learner_id" not in first_page["items"][0]
    other_course = make_course(api, api.token_for(roles=["instructor"]))
    stolen = api.get(f"/courses/{other_course}/reviews?cursor={first_page['next_cursor']}")
    assert stolen.status_code == 422 and stolen.json_body["errors"][0]["field"] == "cursor"
    assert api.get("/courses/01NOSUCHCOURSE/reviews").status_code == 404


def test_the_instructor_replies_once_to_a_review(api, instructor, course):
    learner = api.token_for()
    enroll(api, learner, course)
    review_id = _review(api, learner, course).json_body["review_id"]
    path = f"/courses/{course}/reviews/{review_id}/reply"
    assert api.post(path, {"text": "Thanks!"}, token=api.token_for(roles=["instructor"])).status_code == 404
    assert api.post(path, {"text": "Thanks!"}, token=learner).status_code == 403
    replied = api.post(path, {"text": "Thanks!"}, token=instructor)
    assert replied.status_code == 201 and replied.json_body["reply"]["text"] == "Thanks!"
    second = api.post(path, {"text": "Thanks again!"}, token=instructor)
    assert second.status_code == 409
    assert _all_reviews(api, course)[0]["reply"]["text"] == "Thanks!"
    assert api.post(f"/courses/{course}/reviews/01NOSUCHREVIEW/reply", {"text": "Hi"},
                    token=instructor).status_code == 404
    assert api.post(path, {"text": ""}, token=instructor).json_body["errors"][0]["field"] == "text"


def test_rating_writes_update_the_catalog_sort_in_the_same_transaction(api, instructor, aws_calls):
    course_id = make_course(api, instructor, title="Sorted by rating", category="photography")
    learner = api.token_for()
    enroll(api, learner, course_id)
    aws_calls.clear()
    _review(api, learner, course_id, 3)
    writes = [op for op in aws_calls.of("dynamodb") if op not in ("GetItem", "Query", "BatchGetItem")]
    assert writes == ["TransactWriteItems"]
    assert _counters(course_id) == (3, 1, 3000)
    rated = [c for c in api.get("/courses?category=photography&sort=rating&limit=100").json_body["items"]]
    assert course_id in [c["course_id"] for c in rated]


# --- the aggregate equals a recount --------------------------------------------------------------

_LEARNERS: list[str] = []


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=st.lists(st.tuples(st.integers(0, 3), st.integers(1, 5)), min_size=1, max_size=10))
def test_rating_average_after_many_reviews_and_edits_equals_a_recount(api, instructor, operations):
    """Each operation is (learner, stars): a learner's first is a review, the next ones are edits."""
    while len(_LEARNERS) < 4:
        _LEARNERS.append(api.token_for())
    course_id = make_course(api, instructor, title="Property course", category="music")
    for token in _LEARNERS:
        enroll(api, token, course_id)
    reviewed: set[int] = set()
    for learner, stars in operations:
        token = _LEARNERS[learner]
        response = _edit(api, token, course_id, rating=stars) if learner in reviewed else \
            _review(api, token, course_id, stars)
        assert response.status_code in (200, 201), response.body
        reviewed.add(learner)

    ratings = [r["rating"] for r in _all_reviews(api, course_id, limit=100)]
    rating_sum, rating_count, rating_score = _counters(course_id)
    assert (rating_sum, rating_count) == (sum(ratings), len(ratings))
    assert rating_score == round(Fraction(sum(ratings) * 1000, len(ratings)))
    assert api.get(f"/courses/{course_id}").json_body["rating"] == \
        {"average": round(sum(ratings) / len(ratings), 2), "count": len(ratings)}


def test_a_concurrent_review_makes_the_write_retry_with_fresh_counters(api, course, monkeypatch):
    """A review that lands between our read and our write: the guard refuses ours, we re-read and count both."""
    from chalicelib.store import courses

    early, late = api.token_for(), api.token_for()
    enroll(api, early, course)
    enroll(api, late, course)
    stale = courses.get_course(course)
    _review(api, early, course, 5)
    reads = iter([stale])
    real = courses.get_course
    monkeypatch.setattr(courses, "get_course", lambda course_id: next(reads, None) or real(course_id))
    assert _review(api, late, course, 1).status_code == 201
    assert _counters(course) == (6, 2, 3000)
