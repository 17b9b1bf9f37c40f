"""The API over HTTP, for tools that drive a running local stack from outside (`infra.stack`).

`bench/launch_day.py` and `tests/test_local_stack_races.py` use it: sign up and
log in, fund a wallet through a top-up that the stage's fake gateway confirms
(as a learner's browser would, with the checkout's payment key), build and
publish a course with live sessions, and read the admin's reconciliation.
Every request opens its own connection (`chalice local` answers HTTP/1.0 and
closes it anyway), so threads racing through one `Client` really race. It
talks to the loopback interface only.
"""

import ipaddress
import urllib.parse
import uuid
from datetime import UTC, datetime, timedelta

import requests

PASSWORD = "Classpay-stack-1"
DEMO_ADMIN = ("admin@classpay.test", "Classpay-demo-1")  # seeded by infra/seed.py


def krw(amount: int) -> dict:
    return {"amount": amount, "currency": "KRW"}


def new_key(prefix: str = "key") -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


class UnexpectedAnswer(AssertionError):
    pass


def expect(response: requests.Response, status: int) -> dict:
    if response.status_code != status:
        raise UnexpectedAnswer(f"{response.request.method} {response.request.path_url}: expected {status}, "
                               f"got {response.status_code} {response.text[:500]}")
    return response.json()


class Client:
    """One caller of the API at `base_url` (a loopback URL), with its access token once logged in."""

    def __init__(self, base_url: str, token: str | None = None, timeout: float = 60) -> None:
        host = urllib.parse.urlsplit(base_url).hostname or ""
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"the local stack is on the loopback interface, not {base_url!r}")
        self.base_url, self.token, self.timeout = base_url.rstrip("/"), token, timeout
        self.user_id: str | None = None

    def request(self, method: str, path: str, body: dict | None = None, key: str | None = None) -> requests.Response:
        headers = {}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if key is not None:
            headers["Idempotency-Key"] = key
        return requests.request(method, self.base_url + path, json=body, headers=headers, timeout=self.timeout)

    def get(self, path: str) -> requests.Response:
        return self.request("GET", path)

    def post(self, path: str, body: dict | None = None, key: str | None = None) -> requests.Response:
        return self.request("POST", path, body, key)

    # --- accounts -------------------------------------------------------------------------------------

    def log_in(self, email: str, password: str = PASSWORD) -> "Client":
        self.token = expect(self.post("/auth/login", {"email": email, "password": password}), 200)["access_token"]
        return self

    def sign_up(self, roles: tuple[str, ...] = ("learner",), name: str = "Stack User") -> "Client":
        """A new account (a unique email) with `roles`, logged in."""
        email = f"stack-{uuid.uuid4().hex[:16]}@classpay.test"
        expect(self.post("/auth/signup", {"email": email, "password": PASSWORD, "name": name,
                                          "roles": list(roles)}), 202)
        self.log_in(email)
        self.user_id = expect(self.get("/me"), 200)["user_id"]  # sign-up's answer names no one
        return self

    # --- money ----------------------------------------------------------------------------------------

    def start_topup(self, amount: int) -> dict:
        return expect(self.post("/wallet/topups", {"amount": krw(amount)}, key=new_key("topup")), 201)

    def confirm(self, topup: dict, key: str | None = None) -> requests.Response:
        return self.post(f"/wallet/topups/{topup['topup_id']}/confirm",
                         {"payment_key": topup["checkout"]["payment_key"]}, key=key or new_key("confirm"))

    def fund(self, amount: int) -> None:
        """Top up `amount` and confirm it (the fake gateway captures the checkout's payment key)."""
        expect(self.confirm(self.start_topup(amount)), 200)

    def balance(self) -> int:
        return expect(self.get("/wallet"), 200)["balance"]["amount"]

    def entries(self) -> list[dict]:
        """Every entry of the wallet, following cursors."""
        found, cursor = [], None
        while True:
            after = f"&cursor={urllib.parse.quote(cursor)}" if cursor else ""
            page = expect(self.get(f"/wallet/entries?limit=100{after}"), 200)
            found += page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return found

    def buy(self, course_id: str, session_id: str | None = None, key: str | None = None) -> requests.Response:
        body = {"course_id": course_id, **({"session_id": session_id} if session_id else {})}
        return self.post("/orders", body, key=key or new_key("order"))

    def refund(self, order_id: str, key: str | None = None) -> requests.Response:
        return self.post(f"/orders/{order_id}/refund", {"reason": "changed my mind"}, key=key or new_key("refund"))

    # --- the studio -----------------------------------------------------------------------------------

    def publish_course(self, price: int, seats: tuple[int, ...] = (), title: str = "Launch day") -> tuple[str, list]:
        """A published course at `price` KRW with one lesson and a live session per capacity in `seats`
        (three days ahead); returns (course_id, session ids)."""
        studio = "/instructor/courses"
        course_id = expect(self.post(studio, {"title": title, "description": "A course for the local stack",
                                              "category": "programming", "price": krw(price)}), 201)["course_id"]
        section = expect(self.post(f"{studio}/{course_id}/sections", {"title": "Basics"}), 201)["section_id"]
        expect(self.post(f"{studio}/{course_id}/sections/{section}/lessons",
                         {"title": "Hello", "kind": "video", "duration_seconds": 300}), 201)
        starts = datetime.now(UTC) + timedelta(days=3)
        sessions = [expect(self.post(f"{studio}/{course_id}/sessions", {
            "starts_at": (starts + timedelta(hours=n)).strftime("%Y-%m-%dT%H:%M:%SZ"), "duration_minutes": 60,
            "capacity": capacity}), 201)["session_id"] for n, capacity in enumerate(seats)]
        expect(self.post(f"{studio}/{course_id}/publish"), 200)
        return course_id, sessions

    # --- the admin ------------------------------------------------------------------------------------

    def reconciliation(self) -> dict:
        return expect(self.get("/admin/reconciliation"), 200)


def demo_admin(base_url: str) -> Client:
    return Client(base_url).log_in(*DEMO_ADMIN)
