"""Input an attacker sends on purpose (issue 18): every such request is a 4xx problem naming the field.

Bytes that are not UTF-8, cursors the API did not issue to this caller for this list, dates outside the
range the product accepts: each answers its exact status with a problem document naming `body`, `cursor`
or the date's field, never a 500 and never another caller's items.
"""

import os
import re

import boto3
import pytest

from chalicelib.api.routing import ENDPOINTS
from tests.money import new_key

PROBLEM = "application/problem+json"
SOME_ID = "01J00000000000000000000000"


def assert_problem(response, status, field):
    assert response.status_code == status, (response.status_code, response.body)
    assert response.headers["Content-Type"] == PROBLEM
    assert field in [e["field"] for e in response.json_body["errors"]], response.json_body


@pytest.fixture(scope="module")
def everyone_token(api):
    """A caller in every group (learner, instructor, admin): every route's role check lets it through."""
    email, _ = api.sign_up(("learner", "instructor"), "Every Role")
    boto3.client("cognito-idp").admin_add_user_to_group(
        UserPoolId=os.environ["USER_POOL_ID"], Username=email, GroupName="admins")
    return api.log_in(email)["access_token"]


# --- bodies: strict UTF-8 -------------------------------------------------------------------------

NOT_UTF8 = (
    b'{"email": "\xff\xfe@classpay.test", "password": "x"}',  # bytes that never start a character
    b'{"title": "\xc3\x28"}',  # a lead byte without its continuation
    b'{"title": "\xed\xa0\x80"}',  # a UTF-16 surrogate encoded as UTF-8 (CESU), which UTF-8 forbids
    b'{"rating": 4.0, "text": "\xe0\x80\xaf"}',  # an overlong encoding, after a field that needs a second pass
    b'\xef\xbb\xbf\xff',  # a byte-order mark, then garbage
)


@pytest.mark.parametrize("raw", NOT_UTF8)
@pytest.mark.parametrize("path", ["/auth/login", "/instructor/courses", "/orders"])
def test_a_body_that_is_not_utf8_is_400_naming_the_body(api, everyone_token, path, raw):
    headers = {"Idempotency-Key": new_key()} if path == "/orders" else {}
    response = api.post(path, raw=raw, token=everyone_token, headers=headers)
    assert_problem(response, 400, "body")
    assert response.json_body["code"] == "MALFORMED_REQUEST"


def test_every_route_with_a_body_refuses_bytes_that_are_not_utf8(api, everyone_token):
    """Each declared route that takes a body, with a caller its policy admits: 400 naming `body`."""
    with_body = [e for e in ENDPOINTS if e.body is not None]
    assert len(with_body) > 20
    for endpoint in with_body:
        path = re.sub(r"\{[^}]+\}", SOME_ID, endpoint.path)
        headers = {"Idempotency-Key": new_key()} if endpoint.idempotent else {}
        response = api.call(endpoint.method, path, raw=b'{"a": "\x80"}', token=everyone_token, headers=headers)
        assert response.status_code == 400, (endpoint.method, endpoint.path, response.body)
        assert [e["field"] for e in response.json_body["errors"]] == ["body"], (endpoint.path, response.body)


def test_json_nested_too_deeply_is_400_naming_the_body(api, everyone_token):
    """A whole number written as 4.0 makes the body decode a second time, untyped: deep nesting there is 400."""
    deep = b'{"rating": 4.0, "text": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    response = api.post(f"/courses/{SOME_ID}/reviews", raw=deep, token=everyone_token)
    assert_problem(response, 400, "body")
    array = b"[" * 100_000 + b"]" * 100_000
    assert_problem(api.post("/auth/login", raw=array), 422, "body")
