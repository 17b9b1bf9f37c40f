"""Operations: JSON log lines with request and caller ids that never hold a secret; EMF metrics."""

import io
import json
import logging

import pytest

from chalicelib import logs, metrics
from tests.support.api import PASSWORD
from tests.support.courses import make_course
from tests.support.money import buy, confirm, refund, start_topup


@pytest.fixture
def log_lines():
    """Every line the app logs during the test, formatted as on Lambda (root and `classpay` loggers)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    watched = [logging.getLogger(), logging.getLogger("classpay")]
    for logger in watched:
        logger.addHandler(handler)
    yield lambda: stream.getvalue()
    for logger in watched:
        logger.removeHandler(handler)


def test_the_apps_own_log_handler_writes_json_lines(chalice_app):
    own = [h for h in chalice_app.log.handlers if type(h) is logging.StreamHandler]  # not pytest's capture
    assert own and all(isinstance(h.formatter, logs.JsonFormatter) for h in own)


def test_auth_flows_log_json_with_request_and_caller_ids_and_never_a_password_or_token(api, log_lines):
    email, user_id = api.sign_up()
    tokens = api.log_in(email)
    assert api.get("/me", token=tokens["access_token"]).status_code == 200
    assert api.get("/me", token=tokens["id_token"]).status_code == 200
    refreshed = api.post("/auth/refresh", {"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200
    assert api.post("/auth/login", {"email": email, "password": "Wrong-pass-1"}).status_code == 401
    assert api.get("/me", token=tokens["access_token"][:-4] + "AAAA").status_code == 403
    assert api.post("/auth/signup", {"email": "weak@classpay.test", "password": "weak", "name": "W"}).status_code == 422

    text = log_lines()
    secrets = [PASSWORD, "Wrong-pass-1", tokens["access_token"], tokens["id_token"], tokens["refresh_token"],
               refreshed.json_body["access_token"], refreshed.json_body["id_token"]]
    for secret in secrets:
        assert secret not in text
    for token in (tokens["access_token"], tokens["id_token"]):  # not even a signature or a payload
        for part in token.split("."):
            assert part not in text

    lines = [json.loads(line) for line in text.splitlines()]
    requests = [line for line in lines if line["logger"] == "classpay.http" and line["message"] == "request"]
    assert len(requests) == 7  # the forged token never reaches the app: the authorizer denies it
    assert all(line["request_id"] for line in requests)
    me = [line for line in requests if line["path"] == "/me" and line["status"] == 200]
    assert [line["caller_id"] for line in me] == [user_id, user_id]
    denied = [line for line in requests if line["status"] in (401, 403, 422)]
    assert denied and all(line["caller_id"] is None for line in denied)


def test_lines_logged_inside_a_request_carry_its_ids(api, chalice_app, log_lines, monkeypatch):
    token = api.token_for()
    from chalicelib.services import identity

    original = identity.profile_of

    def profile_of(caller):
        logging.getLogger("classpay.identity").info("profile read", extra={"fields": {"password": "leak-me"}})
        return original(caller)

    monkeypatch.setattr(identity, "profile_of", profile_of)
    response = api.get("/me", token=token)
    assert response.status_code == 200
    (line,) = [json.loads(x) for x in log_lines().splitlines() if '"profile read"' in x]
    assert line["request_id"] == response.headers["X-Request-Id"]
    assert line["caller_id"] == response.json_body["user_id"]
    assert line["password"] == logs.REDACTED


def test_secret_fields_and_secret_shaped_text_are_redacted_anywhere():
    jwt_like = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    entry = logs.redact({
        "password": "p", "new_password": "p", "refresh_token": "r", "Authorization": "Bearer abc",
        "payment_key": "pk", "account_number": "110-123-456789",
        "payout": {"bank_code": "088", "accountNumber": "123"},
        "message": f"verify {jwt_like} failed; header was Bearer abc.def",
        "items": [{"secret": "s"}], "token_use": "access", "status": 200,
    })
    assert entry["password"] == entry["new_password"] == entry["refresh_token"] == logs.REDACTED
    assert entry["Authorization"] == entry["payment_key"] == entry["account_number"] == logs.REDACTED
    assert entry["payout"] == {"bank_code": "088", "accountNumber": logs.REDACTED}
    assert jwt_like not in entry["message"] and "abc.def" not in entry["message"]
    assert entry["items"] == [{"secret": logs.REDACTED}]
    assert entry["status"] == 200


def test_a_logged_exception_is_json_and_redacted():
    record = logging.LogRecord("classpay", logging.ERROR, __file__, 1, "failed", None, None)
    try:
        raise ValueError("token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln was refused")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    line = json.loads(logs.JsonFormatter().format(record))
    assert "ValueError" in line["exception"] and "eyJzdWIiOiJ4In0" not in line["exception"]


def test_metrics_are_one_embedded_metric_format_line_on_stdout(capsys, monkeypatch):
    monkeypatch.setenv("STAGE", "prod")
    metrics.emit(metrics.ORDER_REVENUE, 55000, unit="None", Currency="KRW")
    (line,) = capsys.readouterr().out.splitlines()
    document = json.loads(line)
    declared = document["_aws"]["CloudWatchMetrics"][0]
    assert declared["Namespace"] == metrics.NAMESPACE
    assert declared["Dimensions"] == [["Currency", "Stage"]]
    assert declared["Metrics"] == [{"Name": "OrderRevenue", "Unit": "None"}]
    assert document["OrderRevenue"] == 55000 and document["Stage"] == "prod" and document["Currency"] == "KRW"
    with pytest.raises(ValueError):
        metrics.emit(metrics.ORDERS_PAID, unit="Dollars")


def test_money_flows_log_neither_payment_keys_nor_account_numbers_and_emit_order_and_refund_metrics(
        api, log_lines, capfd):
    instructor = api.token_for(roles=["instructor"])
    account = api.call("PUT", "/instructor/payout-account", body={
        "bank_code": "088", "account_number": "110-987-654321", "holder_name": "김강사"}, token=instructor)
    assert account.status_code == 200, account.body
    learner = api.token_for()
    topup = start_topup(api, learner, 30_000)
    assert confirm(api, learner, topup).status_code == 200
    declined = start_topup(api, learner, 5_000)
    assert confirm(api, learner, declined, payment_key="decline").status_code == 402
    capfd.readouterr()  # the metrics of what came before
    order = buy(api, learner, make_course(api, instructor, amount=25_000))
    assert order.status_code == 201, order.body
    assert refund(api, learner, order.json_body["order_id"]).status_code == 200

    text = log_lines()
    for secret in ("110-987-654321", "110987654321", topup["checkout"]["payment_key"]):
        assert secret not in text
    emitted = {}
    for line in capfd.readouterr().out.splitlines():
        document = json.loads(line) if line.startswith('{"_aws"') else {}
        for metric in document.get("_aws", {}).get("CloudWatchMetrics", [{}])[0].get("Metrics", []):
            emitted[metric["Name"]] = document[metric["Name"]]
    assert emitted == {metrics.ORDERS_PAID: 1, metrics.ORDER_REVENUE: 25_000,
                       metrics.REFUNDS: 1, metrics.REFUNDED_AMOUNT: 25_000}
