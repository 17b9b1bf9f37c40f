"""How tests put a learner into a course, and take them out again (a refund): ONE place.

Purchases (`POST /orders`) and refunds (`POST /orders/{order_id}/refund`) are built on
main in parallel. Until they land, `enroll` writes the enrollment the way the purchase
transaction will (`store.enrollments.add_enroll`, plus the seat of a live session), with a
fake order id, and `refund` ends it the way the refund transaction will (`add_end`).
After the merge, switch the bodies of `enroll` and `refund` to the real routes (top up,
`POST /orders`, `POST /orders/{order_id}/refund`); no test calls the store for this itself.
"""

from dataclasses import dataclass

from chalicelib import clock, ids


@dataclass(frozen=True)
class Enrolled:
    learner_id: str
    course_id: str
    enrollment_id: str
    order_id: str
    session_id: str | None = None


def enroll(api, token: str, course_id: str, session_id: str | None = None) -> Enrolled:
    """The learner behind `token` buys `course_id` (booking `session_id` if given)."""
    from chalicelib.store import enrollments
    from chalicelib.store.base import transact_write
    from chalicelib.store.courses import SessionItem, session_key

    learner_id = api.get("/me", token=token).json_body["user_id"]
    course = api.get(f"/courses/{course_id}")
    assert course.status_code == 200, course.body
    enrollment = enrollments.Enrollment(
        enrollment_id=ids.new_id(), learner_id=learner_id, course_id=course_id,
        instructor_id=course.json_body["instructor"]["instructor_id"], order_id="fake-order-" + ids.new_id(),
        session_id=session_id, status=enrollments.ACTIVE, enrolled_at=clock.to_rfc3339(clock.now()),
        completed_lessons=frozenset(), progress_percent=0, last_lesson_id=None, completed_at=None,
    )
    with transact_write() as transaction:
        enrollments.add_enroll(transaction, enrollment)
        if session_id:
            transaction.update(SessionItem(course_id, session_key(session_id)), actions=[SessionItem.booked.add(1)],
                               condition=SessionItem.booked < SessionItem.capacity)
    return Enrolled(learner_id, course_id, enrollment.enrollment_id, enrollment.order_id, session_id)


def refund(api, token: str, enrolled: Enrolled) -> None:
    """The learner refunds the order behind `enrolled`: the enrollment ends."""
    from chalicelib.store import enrollments
    from chalicelib.store.base import transact_write

    with transact_write() as transaction:
        enrollments.add_end(transaction, enrolled.learner_id, enrolled.course_id, clock.now())
