"""After checkout: my learning, protected lesson files, progress and completion, certificates, booked sessions."""

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.courses import STUDIO, make_course
from tests.support.learning import complete_all, enroll, lesson_ids, progress, refund, upload
from tests.support.money import new_key


def _in(minutes: float) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat()


@pytest.fixture
def instructor(api):
    return api.token_for(roles=["instructor"], name="Ina Instructor")


@pytest.fixture
def course(api, instructor):
    """A published course of three lessons: the first a preview with a file, the second with a file, the third without."""
    course_id = make_course(api, instructor, title="Async Python", lessons=3)
    first, second, _third = lesson_ids(api, course_id)
    api.call("PATCH", f"{STUDIO}/{course_id}/lessons/{first}", body={"preview": True}, token=instructor)
    upload(api, instructor, course_id, first, b"preview bytes")
    upload(api, instructor, course_id, second, b"paid lesson bytes")
    return course_id


# --- protected content: the access matrix ---------------------------------------------------------

def test_lesson_file_access_matrix(api, instructor, course):
    _preview, paid, _no_file = lesson_ids(api, course)
    path = f"/courses/{course}/lessons/{paid}/content"
    learner = api.token_for(name="Enrolled")
    enroll(api, learner, course)
    refunded = api.token_for(name="Refunded")
    refund(api, refunded, enroll(api, refunded, course))

    finished = api.token_for(name="Completed")
    enroll(api, finished, course)
    complete_all(api, finished, course)

    for token in (learner, finished, instructor, api.admin_token()):
        response = api.get(path, token=token)
        assert response.status_code == 200, response.body
        assert requests.get(response.json_body["url"]).content == b"paid lesson bytes"
    for token in (refunded, api.token_for(name="Other learner"), api.token_for(roles=["instructor"])):
        response = api.get(path, token=token)
        assert response.status_code == 403 and response.json_body["code"] == "FORBIDDEN"
        assert "url" not in response.json_body
    assert api.get(path).status_code == 401


def test_the_lesson_url_is_short_lived_and_names_the_file_type(api, course):
    learner = api.token_for()
    enroll(api, learner, course)
    paid = lesson_ids(api, course)[1]
    body = api.get(f"/courses/{course}/lessons/{paid}/content", token=learner).json_body
    query = parse_qs(urlparse(body["url"]).query)
    assert query["X-Amz-Expires"] == ["300"]
    assert body["content_type"] == "video/mp4" and body["method"] == "GET"
    expires_in = datetime.fromisoformat(body["expires_at"]) - datetime.now(UTC)
    assert timedelta(minutes=4) < expires_in <= timedelta(minutes=5)


def test_preview_lessons_are_open_to_anyone_signed_in(api, course):
    preview = lesson_ids(api, course)[0]
    path = f"/courses/{course}/lessons/{preview}/content"
    stranger = api.get(path, token=api.token_for())
    assert stranger.status_code == 200
    assert requests.get(stranger.json_body["url"]).content == b"preview bytes"
    assert api.get(path, token=api.token_for(roles=["instructor"])).status_code == 200
    assert api.get(path).status_code == 401


def test_unknown_course_or_lesson_is_404_and_a_lesson_without_a_file_is_409(api, instructor, course):
    learner = api.token_for()
    enroll(api, learner, course)
    other_course = make_course(api, instructor, title="Another")
    no_file = lesson_ids(api, course)[2]
    assert api.get(f"/courses/01NOSUCHCOURSE/lessons/{no_file}/content", token=learner).status_code == 404
    assert api.get(f"/courses/{course}/lessons/01NOSUCHLESSON/content", token=learner).status_code == 404
    foreign = api.get(f"/courses/{course}/lessons/{lesson_ids(api, other_course)[0]}/content", token=learner)
    assert foreign.status_code == 404
    missing = api.get(f"/courses/{course}/lessons/{no_file}/content", token=learner)
    assert missing.status_code == 409 and missing.headers["Content-Type"] == "application/problem+json"
    # someone who may not open the lesson learns nothing about its file
    assert api.get(f"/courses/{course}/lessons/{no_file}/content", token=api.token_for()).status_code == 403


def test_a_draft_course_is_open_to_its_instructor_only(api, instructor):
    draft = make_course(api, instructor, publish=False)
    lesson = api.get(f"{STUDIO}/{draft}", token=instructor).json_body["sections"][0]["lessons"][0]["lesson_id"]
    upload(api, instructor, draft, lesson)
    assert api.get(f"/courses/{draft}/lessons/{lesson}/content", token=instructor).status_code == 200
    assert api.get(f"/courses/{draft}/lessons/{lesson}/content", token=api.token_for()).status_code == 404


def test_replacing_a_published_lessons_file_changes_nothing_for_learners_until_the_upload_completes(
        api, instructor, course):
    learner = api.token_for()
    enroll(api, learner, course)
    paid = lesson_ids(api, course)[1]
    path, upload = f"/courses/{course}/lessons/{paid}/content", f"{STUDIO}/{course}/lessons/{paid}"

    def learners_file():
        return requests.get(api.get(path, token=learner).json_body["url"]).content

    new_file = b"re-recorded lesson"
    ticket = api.post(f"{upload}/upload-url", {"content_type": "video/mp4", "size_bytes": len(new_file)},
                      token=instructor).json_body
    assert learners_file() == b"paid lesson bytes"  # a URL handed out breaks nothing
    early = api.post(f"{upload}/upload-complete", token=instructor)
    assert early.status_code == 409 and early.json_body["code"] == "CONFLICT"  # S3 has no file yet
    assert requests.put(ticket["url"], data=new_file, headers=ticket["headers"]).status_code == 200
    assert learners_file() == b"paid lesson bytes"
    lesson = api.post(f"{upload}/upload-complete", token=instructor)
    assert lesson.status_code == 200 and lesson.json_body["upload_pending"] is False
    assert learners_file() == new_file
    again = api.post(f"{upload}/upload-complete", token=instructor)
    assert again.status_code == 409  # nothing waiting any more
    other = api.post(f"{upload}/upload-complete", token=api.token_for(roles=["instructor"]))
    assert other.status_code == 404


# --- my learning ---------------------------------------------------------------------------------

def test_my_enrollments_newest_first_with_course_progress_and_next_session(api, instructor):
    first = make_course(api, instructor, title="First course", lessons=4)
    second = make_course(api, instructor, title="Second course", lessons=2)
    session = api.post(f"{STUDIO}/{second}/sessions", {"starts_at": _in(60 * 24), "duration_minutes": 60,
                                                       "capacity": 5}, token=instructor).json_body
    learner = api.token_for()
    enroll(api, learner, first)
    enroll(api, learner, second, session_id=session["session_id"])
    progress(api, learner, first, lesson_ids(api, first)[0], position=42)

    page = api.get("/me/enrollments", token=learner)
    assert page.status_code == 200
    items = page.json_body["items"]
    assert [e["course"]["title"] for e in items] == ["Second course", "First course"]
    newest, oldest = items
    assert newest["next_session"] == {"session_id": session["session_id"], "starts_at": session["starts_at"],
                                      "duration_minutes": 60}
    assert newest["status"] == "active" and newest["progress_percent"] == 0
    assert oldest["progress_percent"] == 25 and oldest["last_lesson_id"] == lesson_ids(api, first)[0]
    assert oldest["last_position_seconds"] == 42 and oldest["next_session"] is None
    assert oldest["course"]["instructor"]["name"] == "Ina Instructor" and oldest["course"]["lesson_count"] == 4


def test_my_enrollments_page_with_a_cursor_that_only_works_for_me(api, instructor):
    learner = api.token_for()
    courses = [make_course(api, instructor, title=f"Paged {n}") for n in range(3)]
    for course_id in courses:
        enroll(api, learner, course_id)
    seen, cursor = [], None
    while True:
        page = api.get("/me/enrollments?limit=2" + (f"&cursor={cursor}" if cursor else ""), token=learner).json_body
        seen += [e["course_id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(courses))
    first_page = api.get("/me/enrollments?limit=1", token=learner).json_body
    stolen = api.get(f"/me/enrollments?cursor={first_page['next_cursor']}", token=api.token_for())
    assert stolen.status_code == 422 and stolen.json_body["errors"][0]["field"] == "cursor"


def test_my_learning_is_for_learners_only(api):
    assert api.get("/me/enrollments", token=api.token_for(roles=["instructor"])).status_code == 403
    assert api.get("/me/enrollments").status_code == 401
    assert api.get("/me/enrollments", token=api.token_for()).json_body == {"items": [], "next_cursor": None}


# --- progress ------------------------------------------------------------------------------------

def test_progress_is_idempotent_and_resumable(api, course):
    learner = api.token_for()
    enroll(api, learner, course)
    lesson = lesson_ids(api, course)[1]
    once = progress(api, learner, course, lesson, position=120)
    twice = progress(api, learner, course, lesson, position=130)
    assert once.status_code == twice.status_code == 200
    assert once.json_body["progress_percent"] == twice.json_body["progress_percent"] == 33
    assert twice.json_body["completed_lessons"] == [lesson]
    assert twice.json_body["last_lesson_id"] == lesson and twice.json_body["last_position_seconds"] == 130
    mine = api.get(f"/me/enrollments/{course}", token=learner).json_body
    assert mine["completed_lesson_count"] == 1 and mine["last_position_seconds"] == 130


def test_uncompleted_progress_saves_the_position_and_never_undoes_a_lesson(api, course):
    learner = api.token_for()
    enroll(api, learner, course)
    done, watching = lesson_ids(api, course)[:2]
    progress(api, learner, course, done)
    response = progress(api, learner, course, watching, completed=False, position=61)
    assert response.json_body["completed_lessons"] == [done] and response.json_body["progress_percent"] == 33
    again = progress(api, learner, course, done, completed=False, position=5)
    assert again.json_body["completed_lessons"] == [done]
    assert again.json_body["last_lesson_id"] == done and again.json_body["last_position_seconds"] == 5


def test_progress_on_a_lesson_of_another_course_or_an_unknown_one_is_404(api, instructor, course):
    learner = api.token_for()
    enroll(api, learner, course)
    other = make_course(api, instructor, title="Elsewhere")
    assert progress(api, learner, course, lesson_ids(api, other)[0]).status_code == 404
    assert progress(api, learner, course, "01NOSUCHLESSON").status_code == 404
    assert progress(api, learner, "01NOSUCHCOURSE", "x").status_code == 404
    assert api.get(f"/me/enrollments/{course}", token=learner).json_body["completed_lesson_count"] == 0


def test_progress_needs_an_enrollment_that_still_grants_access(api, course):
    lesson = lesson_ids(api, course)[0]
    stranger = progress(api, api.token_for(), course, lesson)
    assert stranger.status_code == 404
    refunded = api.token_for()
    refund(api, refunded, enroll(api, refunded, course))
    response = progress(api, refunded, course, lesson)
    assert response.status_code == 403 and response.json_body["code"] == "FORBIDDEN"


@pytest.mark.parametrize(("body", "field"), [
    ({"completed": "yes", "position_seconds": 1}, "completed"),
    ({"position_seconds": 1}, "completed"),
    ({"completed": True, "position_seconds": -1}, "position_seconds"),
    ({"completed": True, "position_seconds": 1.5}, "position_seconds"),
    ({"completed": True, "position_seconds": 86_401}, "position_seconds"),
    ({"completed": True, "percent": 100}, "percent"),
])
def test_bad_progress_input_names_the_field(api, course, body, field):
    learner = api.token_for()
    enroll(api, learner, course)
    response = api.call("PUT", f"/me/enrollments/{course}/lessons/{lesson_ids(api, course)[0]}/progress",
                        body=body, token=learner)
    assert response.status_code == 422 and response.json_body["errors"][0]["field"] == field


def test_completing_every_lesson_completes_the_enrollment_once_and_issues_one_certificate(api, course):
    learner = api.token_for(name="Kim Learner")
    enroll(api, learner, course)
    lessons = lesson_ids(api, course)
    for lesson in lessons[:-1]:
        assert progress(api, learner, course, lesson).json_body["status"] == "active"
    last = progress(api, learner, course, lessons[-1])
    assert last.json_body["status"] == "completed" and last.json_body["progress_percent"] == 100
    completed_at, certificate_id = last.json_body["completed_at"], last.json_body["certificate_id"]
    assert completed_at and certificate_id

    for lesson in lessons:  # repeating progress changes neither the completion nor the certificate
        again = progress(api, learner, course, lesson).json_body
        assert (again["status"], again["completed_at"], again["certificate_id"]) == \
            ("completed", completed_at, certificate_id)
    certificate = api.get(f"/me/certificates/{course}", token=learner)
    assert certificate.status_code == 200
    assert certificate.json_body["verification_id"] == certificate_id
    assert certificate.json_body["learner_name"] == "Kim Learner"
    assert certificate.json_body["course_title"] == "Async Python"


def test_a_stale_read_is_retried_and_never_double_counts(api, course, monkeypatch):
    """Two devices saving progress at once: the write guarded by the set's size refuses the stale one."""
    from chalicelib.services import learning
    from chalicelib.store import enrollments

    learner = api.token_for()
    enroll(api, learner, course)
    first, second, _ = lesson_ids(api, course)
    stale = enrollments.get_enrollment(api.get("/me", token=learner).json_body["user_id"], course)
    progress(api, learner, course, first)
    reads = iter([stale])
    real = enrollments.get_enrollment
    monkeypatch.setattr(learning.enrollments, "get_enrollment",
                        lambda *key: next(reads, None) or real(*key))
    response = progress(api, learner, course, second)
    assert response.status_code == 200
    assert response.json_body["completed_lessons"] == sorted([first, second])
    assert response.json_body["progress_percent"] == 66


def test_lessons_added_after_completion_count_without_reopening_the_course(api, instructor, course):
    learner = api.token_for()
    enroll(api, learner, course)
    complete_all(api, learner, course)
    section = api.get(f"/courses/{course}").json_body["sections"][0]["section_id"]
    bonus = api.post(f"{STUDIO}/{course}/sections/{section}/lessons", {"title": "Bonus", "kind": "video"},
                     token=instructor).json_body["lesson_id"]
    response = progress(api, learner, course, bonus)
    assert response.json_body["status"] == "completed" and response.json_body["progress_percent"] == 100
    assert response.json_body["completed_lesson_count"] == 4


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lesson_count=st.integers(1, 5),
       saves=st.lists(st.tuples(st.integers(0, 4), st.booleans()), min_size=1, max_size=12))
def test_completion_percent_always_equals_a_recount(api, instructor, lesson_count, saves):
    """Any sequence of saves (repeats, positions only, any order): the kept percent equals a recount."""
    course_id = make_course(api, instructor, title="Counted lessons", lessons=lesson_count)
    lessons = lesson_ids(api, course_id)
    learner = api.token_for()
    enroll(api, learner, course_id)
    done: set[str] = set()
    completion = None
    for index, completed in saves:
        lesson = lessons[index % lesson_count]
        response = progress(api, learner, course_id, lesson, completed=completed, position=index)
        assert response.status_code == 200, response.body
        if completed:
            done.add(lesson)
        body = response.json_body
        assert set(body["completed_lessons"]) == done
        assert body["progress_percent"] == len(done) * 100 // lesson_count
        assert body["status"] == ("completed" if done == set(lessons) else "active")
        if body["status"] == "completed":
            completion = completion or (body["completed_at"], body["certificate_id"])
            assert (body["completed_at"], body["certificate_id"]) == completion
    kept = api.get(f"/me/enrollments/{course_id}", token=learner).json_body
    assert kept["progress_percent"] == len(done) * 100 // lesson_count


# --- certificates ----------------------------------------------------------------------------------

def test_certificate_access_matrix(api, instructor, course):
    completed = api.token_for(name="Done Learner")
    enroll(api, completed, course)
    complete_all(api, completed, course)
    incomplete = api.token_for()
    enroll(api, incomplete, course)
    refunded = api.token_for()
    refund(api, refunded, enroll(api, refunded, course))
    path = f"/me/certificates/{course}"

    assert api.get(path, token=completed).status_code == 200
    not_yet = api.get(path, token=incomplete)
    assert not_yet.status_code == 409 and not_yet.json_body["code"] == "COURSE_NOT_COMPLETED"
    assert api.get(path, token=refunded).status_code == 403
    assert api.get(path, token=api.token_for()).status_code == 404  # another learner has none
    assert api.get(path, token=instructor).status_code == 403  # not a learner route for the owner
    assert api.get(path, token=api.token_for(roles=["instructor"])).status_code == 403
    assert api.get(path, token=api.admin_token()).status_code == 404  # admins are learners with no enrollment
    assert api.get(path).status_code == 401


def test_anyone_verifies_a_certificate_and_sees_only_name_title_and_date(api, course):
    learner = api.token_for(name="김민지")
    enroll(api, learner, course)
    complete_all(api, learner, course)
    mine = api.get(f"/me/certificates/{course}", token=learner).json_body
    public = api.get(mine["verify_path"])
    assert public.status_code == 200
    assert public.json_body == {"verification_id": mine["verification_id"], "learner_name": "김민지",
                                "course_title": "Async Python", "completed_on": mine["completed_at"][:10]}
    assert api.get(f"/certificates/{mine['verification_id'].lower()}").status_code == 200
    assert api.get("/certificates/AAAA-BBBB-CCCC-DDDD").status_code == 404


def test_a_certificate_no_longer_verifies_once_an_admin_refunded_its_enrollment(api, course):
    learner = api.token_for()
    enrolled = enroll(api, learner, course)
    complete_all(api, learner, course)
    verification_id = api.get(f"/me/certificates/{course}", token=learner).json_body["verification_id"]
    assert api.get(f"/certificates/{verification_id}").status_code == 200
    refunded = api.post(f"/orders/{enrolled.order_id}/refund", {"reason": "fraud"}, token=api.admin_token(),
                        headers={"Idempotency-Key": new_key()})
    assert refunded.status_code == 200, refunded.body
    for path in (f"/certificates/{verification_id}", f"/certificates/{verification_id}?format=pdf"):
        gone = api.call("GET", path, headers={"Accept": "*/*"})
        assert gone.status_code == 404 and gone.json_body["code"] == "NOT_FOUND"
    assert api.get(f"/me/certificates/{course}", token=learner).status_code == 403


def test_a_pdf_needs_an_accept_header_that_allows_it(api, course):
    learner = api.token_for()
    enroll(api, learner, course)
    complete_all(api, learner, course)
    response = api.call("GET", f"/me/certificates/{course}?format=pdf", token=learner,
                        headers={"Accept": "application/json"})
    assert response.status_code == 406 and response.json_body["errors"][0]["field"] == "Accept"
    assert api.get(f"/me/certificates/{course}?format=docx", token=learner).json_body["errors"][0]["field"] == "format"


# --- booked live sessions ------------------------------------------------------------------------

def test_join_details_appear_only_to_bookers_from_fifteen_minutes_before_the_start(api, instructor):
    course_id = make_course(api, instructor, title="Live Python")
    soon = api.post(f"{STUDIO}/{course_id}/sessions", {"starts_at": _in(10), "duration_minutes": 60, "capacity": 5,
                                                       "join_url": "https://meet.example/soon"}, token=instructor)
    later = api.post(f"{STUDIO}/{course_id}/sessions", {"starts_at": _in(120), "duration_minutes": 60, "capacity": 5,
                                                        "join_url": "https://meet.example/later"}, token=instructor)
    assert soon.status_code == 201 and soon.json_body["join_url"] == "https://meet.example/soon"
    other_course = make_course(api, instructor, title="Also live")
    early = api.post(f"{STUDIO}/{other_course}/sessions", {"starts_at": _in(120), "duration_minutes": 30,
                                                           "capacity": 5, "join_url": "https://meet.example/later"},
                     token=instructor).json_body

    booker, late_booker = api.token_for(), api.token_for()
    enroll(api, booker, course_id, session_id=soon.json_body["session_id"])
    enroll(api, late_booker, other_course, session_id=early["session_id"])
    enroll(api, api.token_for(), course_id)

    mine = api.get("/me/sessions", token=booker)
    assert mine.status_code == 200
    [booked] = mine.json_body["items"]
    assert booked["session_id"] == soon.json_body["session_id"] and booked["course_title"] == "Live Python"
    assert booked["join_url"] == "https://meet.example/soon"
    [waiting] = api.get("/me/sessions", token=late_booker).json_body["items"]
    assert waiting["join_url"] is None
    assert datetime.fromisoformat(waiting["join_opens_at"]) == \
        datetime.fromisoformat(early["starts_at"]) - timedelta(minutes=15)
    assert later.json_body["session_id"] not in [s["session_id"] for s in mine.json_body["items"]]
    # the public course page never shows where to join
    assert "meet.example" not in api.get(f"/courses/{course_id}").body.decode()


def test_a_refunded_booking_is_no_longer_listed(api, instructor):
    course_id = make_course(api, instructor)
    session = api.post(f"{STUDIO}/{course_id}/sessions", {"starts_at": _in(5), "duration_minutes": 30, "capacity": 5,
                                                          "join_url": "https://meet.example/x"},
                       token=instructor).json_body
    learner = api.token_for()
    refund(api, learner, enroll(api, learner, course_id, session_id=session["session_id"]))
    assert api.get("/me/sessions", token=learner).json_body["items"] == []


def test_the_instructor_sets_or_clears_a_join_url(api, instructor):
    course_id = make_course(api, instructor)
    session = api.post(f"{STUDIO}/{course_id}/sessions", {"starts_at": _in(60), "duration_minutes": 30,
                                                          "capacity": 5}, token=instructor).json_body
    path = f"{STUDIO}/{course_id}/sessions/{session['session_id']}"
    assert session["join_url"] is None
    assert api.call("PATCH", path, body={"join_url": "https://meet.example/a"},
                    token=instructor).json_body["join_url"] == "https://meet.example/a"
    assert api.call("PATCH", path, body={"join_url": None}, token=instructor).json_body["join_url"] is None
    bad = api.call("PATCH", path, body={"join_url": "http://insecure.example"}, token=instructor)
    assert bad.status_code == 422 and bad.json_body["errors"][0]["field"] == "join_url"
    assert api.call("PATCH", path, body={}, token=instructor).status_code == 422
    assert api.call("PATCH", path, body={"join_url": "https://x.example"},
                    token=api.token_for(roles=["instructor"])).status_code == 404


def test_an_unknown_course_id_is_404_on_every_route_that_reads_the_course_item(api, instructor):
    """Regression: the course store caught the base model's DoesNotExist, not the discriminated class's (500)."""
    learner = api.token_for()
    assert api.call("PATCH", f"{STUDIO}/01NOSUCHCOURSE", body={"title": "x"}, token=instructor).status_code == 404
    assert api.post(f"{STUDIO}/01NOSUCHCOURSE/publish", token=instructor).status_code == 404
    assert api.post("/courses/01NOSUCHCOURSE/reviews", {"rating": 5, "text": "x"}, token=learner).status_code == 404
    assert api.get("/courses/01NOSUCHCOURSE/questions", token=learner).status_code == 404


def test_learning_reads_go_through_keys_and_indexes_never_a_scan(api, instructor, course, aws_calls):
    learner = api.token_for()
    enroll(api, learner, course)
    paid = lesson_ids(api, course)[1]
    aws_calls.clear()
    api.get("/me/enrollments", token=learner)
    assert sorted(aws_calls.of("dynamodb")) == ["BatchGetItem", "Query"]  # one page, one read of its courses
    aws_calls.clear()
    api.get(f"/courses/{course}/lessons/{paid}/content", token=learner)
    assert sorted(aws_calls.of("dynamodb")) == ["BatchGetItem", "GetItem"]
    aws_calls.clear()
    progress(api, learner, course, paid)
    assert sorted(aws_calls.of("dynamodb")) == ["BatchGetItem", "GetItem", "UpdateItem"]
