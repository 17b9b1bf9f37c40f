"""Course Q&A: enrolled learners ask; the course's instructor and enrolled learners answer.

Who sees a course's questions: its enrolled learners (active or completed), its
instructor and admins; Q&A is part of what a learner paid for, so other signed-in
users get 403. A question is `unanswered` until the course's instructor answers it
(answers from other learners are welcome but do not close it): that is the list the
instructor's daily digest counts, read from a sparse index without a scan.
"""

import msgspec

from chalicelib import clock, errors, ids
from chalicelib.roles import ADMINS, Caller
from chalicelib.services import stats
from chalicelib.services.course_access import course_on_sale
from chalicelib.services.learning import enrollment_granting_access
from chalicelib.store import questions, users
from chalicelib.store.questions import Answer, Question
from chalicelib.store.transactions import UnitOfWork, retry_on_contention

INSTRUCTOR, LEARNER, ADMIN = "instructor", "learner", "admin"


class Thread(msgspec.Struct, frozen=True):
    question: Question
    answers: list[Answer]


def _role(caller: Caller, course_id: str, instructor_id: str) -> str | None:
    """How the caller takes part in a course's Q&A, if at all (the enrollment is read only when needed)."""
    if caller.user_id == instructor_id:
        return INSTRUCTOR
    if enrollment_granting_access(caller, course_id) is not None:
        return LEARNER
    if caller.is_in(ADMINS):
        return ADMIN
    return None


def _display_name(user_id: str, fallback: str) -> str:
    profile = users.get_profile(user_id)
    return profile.name if profile else fallback


def ask(caller: Caller, course_id: str, title: str, body: str) -> Question:
    course = course_on_sale(course_id)
    if enrollment_granting_access(caller, course_id) is None:
        raise errors.Forbidden("Only learners enrolled in this course may ask about it")
    now = clock.now()
    question = Question(
        question_id=ids.new_id(), course_id=course_id, instructor_id=course.instructor_id,
        learner_id=caller.user_id, learner_name=_display_name(caller.user_id, "Learner"), title=title, body=body,
        status=questions.UNANSWERED, answer_count=0, created_at=clock.to_rfc3339(now),
        last_answered_at=None,
    )
    uow = UnitOfWork()
    questions.add_question(uow, question)
    stats.add_event(uow, course_id=course_id, instructor_id=course.instructor_id, at=now, questions=1)
    uow.commit()
    return question


def list_questions(caller: Caller, course_id: str, status: str | None, limit: int,
                   cursor: str | None) -> tuple[list[Question], str | None]:
    course = course_on_sale(course_id)
    if _role(caller, course_id, course.instructor_id) is None:
        raise errors.Forbidden("Only the course's learners and instructor see its questions")
    return questions.list_for_course(course_id, limit, cursor, status)


def thread(caller: Caller, question_id: str) -> Thread:
    found = questions.get_thread(question_id)
    if found is None:
        raise errors.NotFound(f"No question {question_id}")
    question, answers = found
    if _role(caller, question.course_id, question.instructor_id) is None:
        raise errors.Forbidden("Only the course's learners and instructor see its questions")
    return Thread(question, answers)


def answer(caller: Caller, question_id: str, body: str) -> Answer:
    question = questions.get_question(question_id)
    if question is None:
        raise errors.NotFound(f"No question {question_id}")
    role = _role(caller, question.course_id, question.instructor_id)
    if role not in (INSTRUCTOR, LEARNER):
        raise errors.Forbidden("Only the course's instructor and its enrolled learners may answer")
    now = clock.now()
    reply = Answer(ids.new_id(), question_id, caller.user_id, _display_name(caller.user_id, role.title()), role,
                   body, clock.to_rfc3339(now))
    by_instructor = role == INSTRUCTOR
    read = [question]  # the first try uses the question read above; a retry reads it again

    def attempt() -> Answer:
        current = read.pop() if read else questions.get_question(question_id)
        if current is None:
            raise errors.NotFound(f"No question {question_id}")
        first = by_instructor and current.status == questions.UNANSWERED
        uow = UnitOfWork()
        questions.add_answer(uow, reply, by_instructor=by_instructor, answered_at=now, first_by_instructor=first)
        if first:  # the dashboard counts a question answered once: when its instructor first answers it
            stats.add_event(uow, course_id=current.course_id, instructor_id=current.instructor_id, at=now,
                            answered=1)
        uow.commit()
        return reply

    return retry_on_contention(attempt)


def unanswered_for_me(caller: Caller, limit: int, cursor: str | None) -> tuple[list[Question], str | None]:
    """The caller's (an instructor's) unanswered questions across their courses, oldest first."""
    return questions.unanswered_for_instructor(caller.user_id, limit, cursor)
