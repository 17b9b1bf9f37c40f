"""How tests put a learner into a course, and take them out again (a refund): ONE place, through the API.

`enroll` tops the wallet up (fake gateway) and buys the course with `POST /orders`;
`refund` refunds that order with `POST /orders/{order_id}/refund`.
"""

from dataclasses import dataclass

from tests.money import buy, confirm, start_topup
from tests.money import refund as refund_order


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
