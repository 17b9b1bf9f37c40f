"""Course Q&A: enrolled learners ask; the instructor and enrolled learners answer; unanswered ones are listed."""

import pytest

from tests.support.courses import make_course
from tests.support.learning import enroll, refund


def _ask(api, token, course_id, title="How do I install it?", body="pip fails on my machine"):
    return api.post(f"/courses/{course_id}/questions", {"title": title, "body": body}, token=token)


def _answer(api, token, question_id, body="Try a virtualenv"):
    return api.post(f"/questions/{question_id}/answers", {"body": body}, token=token)


def _unanswered_ids(api, token):
    return [q["question_id"] for q in api.get("/instructor/questions/unanswered?limit=100", token=token)
            .json_body["items"]]


@pytest.fixture
def instructor(api):
    return api.token_for(roles=["instructor"], name="Ina Instructor")


@pytest.fixture
def course(api, instructor):
    return make_course(api, instructor, title="Questioned course", category="programming")


@pytest.fixture
def learner(api, course):
    token = api.token_for(name="Asking Learner")
    enroll(api, token, course)
    return token


def test_a_learner_asks_a_peer_answers_and_the_instructor_answer_closes_it(api, instructor, course, learner):
    asked = _ask(api, learner, course)
    assert asked.status_code == 201
    question = asked.json_body
    assert question["status"] == "unanswered" and question["learner_name"] == "Asking Learner"
    assert question["question_id"] in _unanswered_ids(api, instructor)

    peer = api.token_for(name="Peer")
    enroll(api, peer, course)
    assert _answer(api, peer, question["question_id"]).json_body["author_role"] == "learner"
    thread = api.get(f"/questions/{question['question_id']}", token=learner).json_body
    assert thread["status"] == "unanswered" and thread["answer_count"] == 1
    assert question["question_id"] in _unanswered_ids(api, instructor)

    answered = _answer(api, instructor, question["question_id"], "Use Python 3.11")
    assert answered.status_code == 201 and answered.json_body["author_role"] == "instructor"
    assert answered.json_body["author_name"] == "Ina Instructor"
    thread = api.get(f"/questions/{question['question_id']}", token=instructor).json_body
    assert thread["status"] == "answered" and thread["answer_count"] == 2
    assert [a["body"] for a in thread["answers"]] == ["Try a virtualenv", "Use Python 3.11"]
    assert question["question_id"] not in _unanswered_ids(api, instructor)


def test_who_may_ask_read_and_answer(api, instructor, course, learner):
    question_id = _ask(api, learner, course).json_body["question_id"]
    refunded = api.token_for()
    refund(api, refunded, enroll(api, refunded, course))
    stranger, other_instructor, admin = api.token_for(), api.token_for(roles=["instructor"]), api.admin_token()

    assert _ask(api, refunded, course).status_code == 403
    assert _ask(api, stranger, course).status_code == 403
    assert _ask(api, instructor, course).status_code == 403  # the learners' route
    assert _ask(api, None, course).status_code == 401
    assert _ask(api, learner, "01NOSUCHCOURSE").status_code == 404

    listing = f"/courses/{course}/questions"
    for token in (learner, instructor, admin):
        assert api.get(listing, token=token).status_code == 200
        assert api.get(f"/questions/{question_id}", token=token).status_code == 200
    for token in (refunded, stranger, other_instructor):
        assert api.get(listing, token=token).status_code == 403
        assert api.get(f"/questions/{question_id}", token=token).status_code == 403
        assert _answer(api, token, question_id).status_code == 403
    assert api.get(listing).status_code == 401
    assert _answer(api, admin, question_id).status_code == 403  # admins read, they do not answer
    assert _answer(api, learner, "01NOSUCHQUESTION").status_code == 404
    assert api.get(f"/questions/{question_id}", token=learner).json_body["answer_count"] == 0


def test_questions_list_newest_first_filtered_by_status(api, instructor, course, learner):
    first = _ask(api, learner, course, title="First").json_body["question_id"]
    second = _ask(api, learner, course, title="Second").json_body["question_id"]
    third = _ask(api, learner, course, title="Third").json_body["question_id"]
    _answer(api, instructor, second)
    listed, cursor = [], None
    while True:
        page = api.get(f"/courses/{course}/questions?limit=2" + (f"&cursor={cursor}" if cursor else ""),
                       token=learner).json_body
        listed += [q["question_id"] for q in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert listed == [third, second, first]
    unanswered = api.get(f"/courses/{course}/questions?status=unanswered", token=instructor).json_body["items"]
    assert [q["question_id"] for q in unanswered] == [third, first]
    answered = api.get(f"/courses/{course}/questions?status=answered", token=instructor).json_body["items"]
    assert [q["question_id"] for q in answered] == [second]
    assert api.get(f"/courses/{course}/questions?status=maybe", token=instructor).status_code == 422


def test_unanswered_questions_are_per_instructor_and_read_without_a_scan(api, instructor, course, learner, aws_calls):
    other_instructor = api.token_for(roles=["instructor"])
    other_course = make_course(api, other_instructor, title="Someone else's")
    enroll(api, learner, other_course)
    mine = _ask(api, learner, course).json_body["question_id"]
    theirs = _ask(api, learner, other_course).json_body["question_id"]
    aws_calls.clear()
    assert _unanswered_ids(api, instructor) == [mine]
    assert aws_calls.of("dynamodb") == ["Query"]
    assert _unanswered_ids(api, other_instructor) == [theirs]
    assert api.get("/instructor/questions/unanswered", token=learner).status_code == 403


@pytest.mark.parametrize(("body", "field"), [
    ({"title": "", "body": "x"}, "title"),
    ({"title": "t" * 121, "body": "x"}, "title"),
    ({"title": "ok", "body": ""}, "body"),
    ({"title": "ok", "body": "  "}, "body"),
    ({"title": "ok", "body": "b" * 5001}, "body"),
    ({"title": "ok"}, "body"),
    ({"title": "ok", "body": "x", "status": "answered"}, "status"),
])
def test_bad_question_input_names_the_field(api, course, learner, body, field):
    response = api.post(f"/courses/{course}/questions", body, token=learner)
    assert response.status_code == 422 and response.json_body["errors"][0]["field"] == field
    assert api.get(f"/courses/{course}/questions", token=learner).json_body["items"] == []


def test_question_text_is_plain_text(api, instructor, course, learner):
    markup = "<script>alert(1)</script><b>why?</b>"
    question_id = _ask(api, learner, course, title="<i>Title</i>", body=markup).json_body["question_id"]
    _answer(api, instructor, question_id, body="<a href='javascript:x'>see</a>")
    thread = api.get(f"/questions/{question_id}", token=learner).json_body
    assert (thread["title"], thread["body"]) == ("<i>Title</i>", markup)
    assert thread["answers"][0]["body"] == "<a href='javascript:x'>see</a>"
    assert _answer(api, instructor, question_id, body="").json_body["errors"][0]["field"] == "body"
