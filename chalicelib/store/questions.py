"""Course Q&A: questions from enrolled learners and their answers, one partition per question.

Table `<prefix>questions`, polymorphic on `kind` (PynamoDB discriminator)
    hash key   question_id
    range key  item: "question" | "answer#<answer_id>"   (answer ids are ULIDs: oldest first)

Indexes (both sparse: only question items carry their attributes)
    by_course                   course_id, created_at            a course's questions, newest first
    unanswered_by_instructor    unanswered_for, created_at       an instructor's unanswered questions,
                                                                 oldest first (the daily digest)

Access patterns
    a question with its answers ............... one Query on the question's partition
    a course's questions ...................... Query by_course (optionally filtered by status)
    unanswered questions of an instructor ..... Query unanswered_by_instructor (no scan)
    how many wait, how many since a moment .... Query unanswered_by_instructor, Select COUNT (the daily digest)
    ask ....................................... Put if absent (with the dashboard's daily count)
    answer .................................... one transaction: Put the answer, Update the question
                                                (answer_count + 1; the instructor's answer marks it answered
                                                and removes it from unanswered_by_instructor)

`unanswered_for` holds the course's instructor id while the question waits for that
instructor, and is removed when the instructor answers: that is what keeps the index sparse.
Texts are stored as given (plain text).
"""

from datetime import datetime

import msgspec
from pynamodb.attributes import DiscriminatorAttribute, NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib import errors
from chalicelib.store.base import table_meta
from chalicelib.store.cursors import decode_cursor, encode_cursor
from chalicelib.store.transactions import Contention, UnitOfWork

QUESTION = "question"
ANSWER_PREFIX = "answer#"
ANSWERED, UNANSWERED = "answered", "unanswered"


class ByCourse(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_course"
        projection = AllProjection()

    course_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class UnansweredByInstructor(GlobalSecondaryIndex):
    class Meta:
        index_name = "unanswered_by_instructor"
        projection = AllProjection()

    unanswered_for = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class QnaItem(Model):
    Meta = table_meta("questions")

    question_id = UnicodeAttribute(hash_key=True)
    item = UnicodeAttribute(range_key=True)
    kind = DiscriminatorAttribute()

    # index attributes, declared on the base model; only question items carry them
    course_id = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute(null=True)  # RFC 3339 (answers have theirs too)
    unanswered_for = UnicodeAttribute(null=True)

    by_course = ByCourse()
    unanswered_by_instructor = UnansweredByInstructor()


class QuestionItem(QnaItem, discriminator=QUESTION):
    instructor_id = UnicodeAttribute()
    learner_id = UnicodeAttribute()
    learner_name = UnicodeAttribute()
    title = UnicodeAttribute()
    body = UnicodeAttribute()
    status = UnicodeAttribute(default=UNANSWERED)
    answer_count = NumberAttribute(default=0)
    last_answered_at = UTCDateTimeAttribute(null=True)


class AnswerItem(QnaItem, discriminator="answer"):
    answer_id = UnicodeAttribute()
    author_id = UnicodeAttribute()
    author_name = UnicodeAttribute()
    author_role = UnicodeAttribute()  # "instructor" | "learner"
    body = UnicodeAttribute()


class Question(msgspec.Struct, frozen=True):
    question_id: str
    course_id: str
    instructor_id: str
    learner_id: str
    learner_name: str
    title: str
    body: str
    status: str
    answer_count: int
    created_at: str
    last_answered_at: datetime | None


class Answer(msgspec.Struct, frozen=True):
    answer_id: str
    question_id: str
    author_id: str
    author_name: str
    author_role: str
    body: str
    created_at: str


def to_question(item: QuestionItem) -> Question:
    return Question(item.question_id, item.course_id, item.instructor_id, item.learner_id, item.learner_name,
                    item.title, item.body, item.status, int(item.answer_count or 0), item.created_at,
                    item.last_answered_at)


def to_answer(item: AnswerItem) -> Answer:
    return Answer(item.answer_id, item.question_id, item.author_id, item.author_name, item.author_role, item.body,
                  item.created_at)


def get_question(question_id: str) -> Question | None:
    try:
        return to_question(QuestionItem.get(question_id, QUESTION))
    except QuestionItem.DoesNotExist:
        return None


def get_thread(question_id: str) -> tuple[Question, list[Answer]] | None:
    """The question and its answers, oldest answer first: one Query on the question's partition."""
    question, answers = None, []
    for item in QnaItem.query(question_id):
        if isinstance(item, QuestionItem):
            question = to_question(item)
        elif isinstance(item, AnswerItem):
            answers.append(to_answer(item))
    return (question, answers) if question else None


def add_question(uow: UnitOfWork, question: Question) -> None:
    """Ask: Put the question if its id is new (in the caller's unit of work, with the dashboard's count)."""
    uow.put(
        QuestionItem(
            question.question_id, QUESTION, course_id=question.course_id, created_at=question.created_at,
            unanswered_for=question.instructor_id, instructor_id=question.instructor_id,
            learner_id=question.learner_id, learner_name=question.learner_name, title=question.title,
            body=question.body, status=UNANSWERED, answer_count=0,
        ),
        condition=QnaItem.question_id.does_not_exist(),
        on_fail=lambda: errors.Conflict("This question exists already"),
    )


def add_answer(uow: UnitOfWork, answer: Answer, *, by_instructor: bool, answered_at: datetime,
               first_by_instructor: bool = False) -> None:
    """The answer and the question's counters, in the caller's unit of work; refused if the question is gone.

    `first_by_instructor` (the instructor answers a question read as unanswered) also requires the
    question to be unanswered still, so the dashboard counts each question answered once: if another
    instructor answer got there first, the transaction fails with `Contention` and the caller re-reads.
    """
    actions = [QuestionItem.answer_count.add(1), QuestionItem.last_answered_at.set(answered_at)]
    if by_instructor:
        actions += [QuestionItem.status.set(ANSWERED), QuestionItem.unanswered_for.remove()]
    uow.put(
        AnswerItem(answer.question_id, ANSWER_PREFIX + answer.answer_id, answer_id=answer.answer_id,
                   created_at=answer.created_at, author_id=answer.author_id, author_name=answer.author_name,
                   author_role=answer.author_role, body=answer.body),
        condition=QnaItem.item.does_not_exist(),
    )
    if first_by_instructor:
        uow.update(QuestionItem(answer.question_id, QUESTION), actions=actions,
                   condition=QnaItem.item.exists() & (QuestionItem.status == UNANSWERED),
                   on_fail=lambda: Contention("the question was answered while this answer was written"))
    else:
        uow.update(QuestionItem(answer.question_id, QUESTION), actions=actions, condition=QnaItem.item.exists(),
                   on_fail=lambda: errors.NotFound(f"No question {answer.question_id}"))


def _page(result) -> tuple[list[Question], str | None]:
    return [to_question(item) for item in result if isinstance(item, QuestionItem)], \
        encode_cursor(result.last_evaluated_key)


def list_for_course(course_id: str, limit: int, cursor: str | None,
                    status: str | None = None) -> tuple[list[Question], str | None]:
    """A course's questions, newest first; a `status` filter reads on (100 a page) until `limit` match."""
    condition = QuestionItem.status == status if status else None
    start = decode_cursor(cursor, partition={"course_id": course_id})
    return _page(QnaItem.by_course.query(course_id, scan_index_forward=False, limit=limit, last_evaluated_key=start,
                                         filter_condition=condition, page_size=100 if status else limit))


def unanswered_for_instructor(instructor_id: str, limit: int,
                              cursor: str | None) -> tuple[list[Question], str | None]:
    """An instructor's unanswered questions, oldest first (what has waited longest comes first)."""
    start = decode_cursor(cursor, partition={"unanswered_for": instructor_id})
    return _page(QnaItem.unanswered_by_instructor.query(instructor_id, limit=limit, last_evaluated_key=start))


def count_unanswered(instructor_id: str, since: str | None = None) -> int:
    """How many questions wait for the instructor (asked at or after `since`, RFC 3339 UTC, if given)."""
    condition = QnaItem.created_at >= since if since else None
    return QnaItem.unanswered_by_instructor.count(instructor_id, condition)
