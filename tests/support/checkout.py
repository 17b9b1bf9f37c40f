"""Helpers for the checkout tests: start a checkout, confirm it, read it back, as a client would."""

from datetime import UTC, datetime, timedelta

from chalicelib.jobs import JOBS
from tests.support.money import new_key


def start_checkout(api, token, items, key=None, **extra):
    """POST /checkouts of `items` ([{course_id, session_id?}]) with `coupon_code` or `wallet_amount` in `extra`."""
    return api.post("/checkouts", {"items": items, **extra}, token=token,
                    headers={"Idempotency-Key": key or new_key("checkout")})


def started_checkout(api, token, items, **extra) -> dict:
    """`start_checkout`, which must succeed: the checkout as POST /checkouts answered it."""
    created = start_checkout(api, token, items, **extra)
    assert created.status_code == 201, created.body
    return created.json_body


def pay_checkout(api, token, checkout, key=None, virtual_account=False, **overrides):
    """Confirm `checkout` (as POST /checkouts answered it) with the fake gateway's card key, or its virtual
    account's with `virtual_account`."""
    body = {"amount": checkout["amount_due"]}
    if checkout["payment"]:
        kind = "virtual_account_payment_key" if virtual_account else "payment_key"
        body["payment_key"] = checkout["payment"][kind]
    return api.post(f"/checkouts/{checkout['checkout_id']}/confirm", {**body, **overrides}, token=token,
                    headers={"Idempotency-Key": key or new_key("confirm")})


def checkout_status(api, token, checkout):
    response = api.get(f"/checkouts/{checkout['checkout_id']}", token=token)
    assert response.status_code == 200, response.body
    return response.json_body["status"]


def expire_checkouts(minutes=41):
    """The checkout expiry job, run `minutes` from now (40 minutes is a card checkout's time)."""
    return JOBS["checkout_expiry"].run(datetime.now(UTC) + timedelta(minutes=minutes))


def seats_left(api, course_id):
    """Seats left in the course's first session."""
    return api.get(f"/courses/{course_id}").json_body["sessions"][0]["seats_left"]


def orders_of(api, token):
    response = api.get("/orders", token=token)
    assert response.status_code == 200, response.body
    return response.json_body["items"]
