"""Course Q&A: enrolled learners ask, the instructor and enrolled learners answer."""

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Literal

import msgspec

from chalicelib import errors
from chalicelib.api.routing import INSTRUCTOR, LEARNER, SIGNED_IN, ApiBlueprint, Call
from chalicelib.api.schemas import VISIBLE, Input, Page, PageQuery, Timestamp, Title
from chalicelib.services import questions

if TYPE_CHECKING:
    from chalicelib.store.questions import Answer, Question

questions_api = ApiBlueprint(__name__, tag="questions")

PlainText = Annotated[str, msgspec.Meta(min_length=1, max_length=5000, pattern=VISIBLE,
                                        description="plain text, returned as sent (never rendered as HTML)")]
QuestionStatus = StrEnum("QuestionStatus", ["answered", "unanswered"])


class NewQuestion(Input):
    title: Title
    body: PlainText


class NewAnswer(Input):
    body: PlainText


class QuestionsQuery(PageQuery):
    status: QuestionStatus | None = None


class QuestionOut(msgspec.Struct):
    question_id: str
    course_id: str
    title: str
    body: str
    learner_name: str
    status: QuestionStatus
    answer_count: int
    created_at: Timestamp
    last_answered_at: Timestamp | None


class AnswerOut(msgspec.Struct):
    answer_id: str
    question_id: str
    author_name: str
    author_role: Literal["instructor", "learner"]
    body: str
    created_at: Timestamp


class ThreadOut(QuestionOut):
    answers: list[AnswerOut]


def question_out(question: "Question") -> QuestionOut:
    return QuestionOut(question.question_id, question.course_id, question.title, question.body,
                       question.learner_name, question.status, question.answer_count, question.created_at,
                       question.last_answered_at)


def answer_out(answer: "Answer") -> AnswerOut:
    return AnswerOut(answer.answer_id, answer.question_id, answer.author_name, answer.author_role, answer.body,
                     answer.created_at)


ACCESS_ERRORS = (errors.NotFound, errors.Forbidden)


@questions_api.endpoint("POST", "/courses/{course_id}/questions", policy=LEARNER, body=NewQuestion,
                        response=QuestionOut, status=201, summary="Ask a question about a course you are enrolled in",
                        errors=ACCESS_ERRORS)
def ask(call: Call, course_id: str):
    return question_out(questions.ask(call.caller, course_id, call.body.title, call.body.body))


@questions_api.endpoint("GET", "/courses/{course_id}/questions", policy=SIGNED_IN, query=QuestionsQuery,
                        response=Page[QuestionOut],
                        summary="A course's questions, newest first (its learners, its instructor, admins)",
                        errors=ACCESS_ERRORS)
def list_questions(call: Call, course_id: str):
    query: QuestionsQuery = call.query
    items, next_cursor = questions.list_questions(call.caller, course_id, query.status, query.limit, query.cursor)
    return Page(items=[question_out(q) for q in items], next_cursor=next_cursor)


@questions_api.endpoint("GET", "/questions/{question_id}", policy=SIGNED_IN, response=ThreadOut,
                        summary="A question with its answers, oldest answer first", errors=ACCESS_ERRORS)
def get_question(call: Call, question_id: str):
    found = questions.thread(call.caller, question_id)
    return ThreadOut(**msgspec.structs.asdict(question_out(found.question)),
                     answers=[answer_out(a) for a in found.answers])


@questions_api.endpoint("POST", "/questions/{question_id}/answers", policy=SIGNED_IN, body=NewAnswer,
                        response=AnswerOut, status=201,
                        summary="Answer a question (the course's instructor, or its enrolled learners); "
                                "the instructor's answer marks it answered",
                        errors=ACCESS_ERRORS)
def answer(call: Call, question_id: str):
    return answer_out(questions.answer(call.caller, question_id, call.body.body))


@questions_api.endpoint("GET", "/instructor/questions/unanswered", policy=INSTRUCTOR, query=PageQuery,
                        response=Page[QuestionOut], summary="Questions on your courses waiting for you, oldest first")
def unanswered(call: Call):
    items, next_cursor = questions.unanswered_for_me(call.caller, call.query.limit, call.query.cursor)
    return Page(items=[question_out(q) for q in items], next_cursor=next_cursor)
