"""How tests put a learner into a course, and take them out again (a refund): ONE place, through the API;
and how lessons get their files and learners their progress.

`enroll` tops the wallet up (fake gateway) and buys the course with `POST /orders`;
`refund` refunds that order with `POST /orders/{order_id}/refund`.
"""

from dataclasses import dataclass

import requests

from tests.support.courses import STUDIO
from tests.support.money import buy, confirm, start_topup
from tests.support.money import refund as refund_order


@dataclass(frozen=True)
class Enrolled:
    learner_id: str
    course_id: str
    enrollment_id: str
    order_id: str
    session_id: str | None = None


def enroll(api, token: str, course_id: str, session_id: str | None = None) -> Enrolled:
    """The learner behind `token` buys `course_id` (booking `session_id` if given)."""
    learner_id = api.get("/me", token=token).json_body["user_id"]
    price = api.get(f"/courses/{course_id}").json_body["price"]["amount"]
    assert confirm(api, token, start_topup(api, token, max(price, 1_000))).status_code == 200
    extra = {"session_id": session_id} if session_id else {}
    order = buy(api, token, course_id, **extra)
    assert order.status_code == 201, order.body
    return Enrolled(learner_id, course_id, order.json_body["enrollment_id"], order.json_body["order_id"], session_id)


def refund(api, token: str, enrolled: Enrolled) -> None:
    """The learner refunds the order behind `enrolled`: the money goes back and the enrollment ends."""
    response = refund_order(api, token, enrolled.order_id)
    assert response.status_code == 200, response.body


def lesson_ids(api, course_id):
    sections = api.get(f"/courses/{course_id}").json_body["sections"]
    return [lesson["lesson_id"] for section in sections for lesson in section["lessons"]]


def upload(api, token, course_id, lesson_id, data=b"lesson video bytes"):
    """Ask for an upload URL, PUT the file to S3, then complete the upload: the lesson's file is replaced."""
    ticket = api.post(f"{STUDIO}/{course_id}/lessons/{lesson_id}/upload-url",
                      {"content_type": "video/mp4", "size_bytes": len(data)}, token=token).json_body
    assert requests.put(ticket["url"], data=data, headers=ticket["headers"]).status_code == 200
    completed = api.post(f"{STUDIO}/{course_id}/lessons/{lesson_id}/upload-complete", token=token)
    assert completed.status_code == 200, completed.body
    assert completed.json_body["has_file"] is True and completed.json_body["upload_pending"] is False


def progress(api, token, course_id, lesson_id, completed=True, position=0):
    return api.call("PUT", f"/me/enrollments/{course_id}/lessons/{lesson_id}/progress",
                    body={"completed": completed, "position_seconds": position}, token=token)


def complete_all(api, token, course_id):
    for lesson_id in lesson_ids(api, course_id):
        assert progress(api, token, course_id, lesson_id).status_code == 200
