"""Per-client limits on the auth routes, as a client meets them: after too many failed log-ins for
one email from one address, 429 `TOO_MANY_REQUESTS` with Retry-After, even with the right password."""

from chalicelib import config
from tests.support.api import PASSWORD
from tests.support.jobs import clock_at, later


def _log_in(api, email, password):
    return api.post("/auth/login", {"email": email, "password": password})


def test_too_many_failed_log_ins_answer_429_with_retry_after_even_with_the_right_password(api):
    email, _ = api.sign_up()
    limit = config.login_failures_per_window()
    for _ in range(limit):
        assert _log_in(api, email, "Wrong-pass-1").status_code == 401
    for password in ("Wrong-pass-1", PASSWORD):
        refused = _log_in(api, email, password)
        assert refused.status_code == 429, refused.body
        assert refused.headers["Content-Type"] == "application/problem+json"
        assert refused.json_body["code"] == "TOO_MANY_REQUESTS" and refused.json_body["status"] == 429
        assert 1 <= int(refused.headers["Retry-After"]) <= config.login_window_seconds() + 1
        assert email.encode() not in refused.body
    # another account from the same address is not locked out by it
    other, _ = api.sign_up()
    assert _log_in(api, other, PASSWORD).status_code == 200


def test_successful_log_ins_do_not_count_and_the_window_ends(api, monkeypatch):
    email, _ = api.sign_up()
    limit = config.login_failures_per_window()
    for _ in range(3 * limit):
        assert _log_in(api, email, PASSWORD).status_code == 200
    for _ in range(limit):
        assert _log_in(api, email, "Wrong-pass-1").status_code == 401
    assert _log_in(api, email, PASSWORD).status_code == 429
    with clock_at(monkeypatch, later(seconds=config.login_window_seconds() + 1)):
        assert _log_in(api, email, PASSWORD).status_code == 200


def test_concurrent_guesses_cannot_overshoot_the_limit(api, threads):
    email, _ = api.sign_up()
    limit = config.login_failures_per_window()
    statuses = list(threads.map(lambda _: _log_in(api, email, "Wrong-pass-1").status_code, range(3 * limit)))
    assert statuses.count(401) == limit and statuses.count(429) == 2 * limit


def test_the_document_states_the_429(api):
    assert "429" in api.get("/openapi.json").json_body["paths"]["/auth/login"]["post"]["responses"]
