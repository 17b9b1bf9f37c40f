"""Identity: sign-up, log-in, refresh and `/me`, and every way a token can be wrong."""

import json
import logging
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from moto.utilities.utils import load_resource

from chalicelib import config
from tests.support.api import PASSWORD
from tests.support.mail import mails_to


def _moto_signing_key():
    """The private key moto signs its Cognito tokens with (public test material)."""
    return jwt.PyJWK(load_resource("cognitoidp/resources/jwks-private.json")).key


def _claims(**overrides):
    now = int(time.time())
    claims = {
        "iss": f"https://cognito-idp.ap-northeast-2.amazonaws.com/{config.user_pool_id()}",
        "sub": "forged-user",
        "client_id": config.user_pool_client_id(),
        "token_use": "access",
        "iat": now,
        "exp": now + 600,
        "cognito:groups": ["admins"],
    }
    claims.update(overrides)
    return claims


def _sign(claims, key=None):
    return jwt.encode(claims, key or _moto_signing_key(), algorithm="RS256", headers={"kid": "dummy"})


def _segment(data: dict) -> str:
    return jwt.utils.base64url_encode(json.dumps(data).encode()).decode()


def _unsigned(claims):
    return f"{_segment({'alg': 'none', 'kid': 'dummy'})}.{_segment(claims)}."


def _sign_with_hash(claims, hash_name):
    """RS256 in the header, but a valid PKCS#1 v1.5 signature of the SHA-1 digest (a downgrade)."""
    import hashlib

    from rsa.pkcs1 import HASH_ASN1

    numbers = load_resource("cognitoidp/resources/jwks-private.json")
    as_int = lambda name: int.from_bytes(jwt.utils.base64url_decode(numbers[name]), "big")  # noqa: E731
    n, d = as_int("n"), as_int("d")
    signed = f"{_segment({'alg': 'RS256', 'kid': 'dummy'})}.{_segment(claims)}"
    digest_info = HASH_ASN1[hash_name] + hashlib.new(hash_name.replace("-", "").lower(), signed.encode()).digest()
    size = (n.bit_length() + 7) // 8
    padded = b"\x00\x01" + b"\xff" * (size - len(digest_info) - 3) + b"\x00" + digest_info
    signature = pow(int.from_bytes(padded, "big"), d, n).to_bytes(size, "big")
    return f"{signed}.{jwt.utils.base64url_encode(signature).decode()}"


def test_sign_up_then_log_in_then_me_shows_profile_and_roles(api):
    email, user_id = api.sign_up(roles=["learner", "instructor"], name="Kim Minji")
    tokens = api.log_in(email)
    assert set(tokens) >= {"id_token", "access_token", "refresh_token", "expires_in"}
    assert tokens["expires_in"] > 0

    me = api.get("/me", token=tokens["access_token"])

    assert me.status_code == 200
    assert me.json_body["user_id"] == user_id
    assert me.json_body["email"] == email
    assert me.json_body["name"] == "Kim Minji"
    assert me.json_body["roles"] == ["instructor", "learner"]


def test_id_token_is_accepted_too(api):
    email, user_id = api.sign_up()
    tokens = api.log_in(email)
    assert api.get("/me", token=tokens["id_token"]).json_body["user_id"] == user_id


def test_sign_up_answers_alike_whether_or_not_the_email_has_an_account_and_mails_its_owner(api, caplog):
    """No account enumeration: a taken email gets the new sign-up's status and body, nothing of the account
    changes (the old password still works, the new one does not), and its owner is told by mail, once a day
    however many attempts."""
    from chalicelib import logs

    caplog.set_level(logging.INFO)
    email, user_id = api.sign_up(name="Owner")
    fresh = api.post("/auth/signup", {"email": f"fresh-{user_id}@classpay.test", "password": PASSWORD,
                                      "name": "Fresh", "roles": ["learner"]})
    attempts = [api.post("/auth/signup", {"email": body_email, "password": "Other-pass-1", "name": "Again",
                                          "roles": ["instructor"]}) for body_email in (email, email.upper())]
    for again in attempts:
        assert (again.status_code, again.json_body) == (fresh.status_code, fresh.json_body)
        assert again.headers["Content-Type"] == fresh.headers["Content-Type"]
    assert fresh.status_code == 202 and set(fresh.json_body) == {"message"}

    (notice,) = mails_to(email)
    assert "sign up" in notice.subject and "nothing was created or changed" in notice.body
    assert mails_to(f"fresh-{user_id}@classpay.test") == []
    assert api.post("/auth/login", {"email": email, "password": "Other-pass-1"}).status_code == 401
    me = api.get("/me", token=api.log_in(email)["access_token"]).json_body
    assert (me["user_id"], me["name"], me["roles"]) == (user_id, "Owner", ["learner"])
    text = "\n".join(logs.JsonFormatter().format(record) for record in caplog.records)  # as on Lambda
    assert email not in text and email.upper() not in text and "Other-pass-1" not in text
    assert any(getattr(record, "fields", {}).get("kind") == "signup_attempt"  # logged by the recipient's id
               and record.fields["recipient_id"] == user_id for record in caplog.records)


def test_the_sign_up_answer_does_not_wait_on_the_owners_mail(api, monkeypatch):
    from chalicelib.services import mail

    email, _ = api.sign_up()

    def ses_down(*args, **kwargs):
        raise RuntimeError("SES throttled")

    monkeypatch.setattr(mail, "send", ses_down)
    again = api.post("/auth/signup", {"email": email, "password": PASSWORD, "name": "Again", "roles": ["learner"]})
    assert again.status_code == 202


def test_sign_up_cannot_ask_for_admin(api):
    response = api.post("/auth/signup", {"email": "boss@classpay.test", "password": PASSWORD, "name": "B", "roles": ["admin"]})
    assert response.status_code == 422
    assert response.json_body["errors"][0]["field"] == "roles[0]"


def test_weak_password_is_refused_naming_the_field(api):
    response = api.post("/auth/signup", {"email": "weak@classpay.test", "password": "alllowercase", "name": "W"})
    assert response.status_code == 422
    assert response.json_body["errors"] == [{"field": "password", "message": response.json_body["errors"][0]["message"]}]
    assert api.post("/auth/login", {"email": "weak@classpay.test", "password": "alllowercase"}).status_code == 401


@pytest.mark.parametrize("who", ["wrong password", "unknown user"])
def test_bad_credentials_get_one_answer(api, who):
    email, _ = api.sign_up()
    body = {"email": email, "password": "Wrong-password-1"} if who == "wrong password" else {
        "email": "nobody@classpay.test", "password": PASSWORD}
    response = api.post("/auth/login", body)
    assert response.status_code == 401
    assert response.json_body["code"] == "INVALID_CREDENTIALS"
    assert response.headers["Content-Type"] == "application/problem+json"


def test_refresh_gives_a_working_access_token(api):
    email, user_id = api.sign_up()
    tokens = api.log_in(email)
    refreshed = api.post("/auth/refresh", {"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200
    assert api.get("/me", token=refreshed.json_body["access_token"]).json_body["user_id"] == user_id


def test_refresh_with_an_unknown_token_is_unauthenticated(api):
    response = api.post("/auth/refresh", {"refresh_token": "not-a-refresh-token"})
    assert response.status_code == 401
    assert response.json_body["code"] == "UNAUTHENTICATED"


def _deployed_refusal(response_type):
    """The body API Gateway answers for its `response_type` on the test stage (infra/template/api.py)."""
    from infra.project import stage_config
    from infra.template.api import gateway_responses

    response = gateway_responses(stage_config("test")["environment_variables"])[response_type]
    return json.loads(response["responseTemplates"]["application/json"])


def test_missing_token_is_401_as_a_problem_document_as_deployed(api):
    response = api.get("/me")
    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/problem+json" and response.headers["X-Request-Id"]
    assert response.json_body == _deployed_refusal("UNAUTHORIZED")
    assert response.json_body["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda: _sign(_claims(exp=int(time.time()) - 60, iat=int(time.time()) - 3660)), id="expired"),
        pytest.param(lambda: _sign(_claims(iss="https://cognito-idp.ap-northeast-2.amazonaws.com/ap-northeast-2_other")),
                     id="foreign issuer"),
        pytest.param(lambda: _sign(_claims(client_id="another-app")), id="another client"),
        pytest.param(lambda: _sign(_claims(token_use="refresh")), id="wrong token_use"),
        pytest.param(lambda: _sign(_claims(), key=rsa.generate_private_key(public_exponent=65537, key_size=2048)),
                     id="signed by another key"),
        pytest.param(lambda: jwt.encode(_claims(), "secret", algorithm="HS256", headers={"kid": "dummy"}), id="hs256"),
        pytest.param(lambda: "not.a.jwt", id="garbage"),
        pytest.param(lambda: _unsigned(_claims()), id="alg none"),
        pytest.param(lambda: _sign_with_hash(_claims(), "SHA-1"), id="sha1 signature"),
        pytest.param(lambda: jwt.encode(_claims(), _moto_signing_key(), algorithm="RS256", headers={"kid": "other"}),
                     id="unknown key id"),
        pytest.param(lambda: _sign({**_claims(), "exp": "tomorrow"}), id="malformed exp"),
    ],
)
def test_invalid_tokens_are_denied_by_the_authorizer(api, make_token):
    response = api.get("/me", token=make_token())
    assert response.status_code == 403
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json_body == _deployed_refusal("ACCESS_DENIED")
    assert response.json_body["code"] == "FORBIDDEN"


def test_tampered_token_is_denied(api):
    email, _ = api.sign_up()
    token = api.log_in(email)["access_token"]
    header, payload, signature = token.split(".")
    claims = jwt.decode(token, options={"verify_signature": False})
    claims["cognito:groups"] = ["admins"]
    forged_payload = jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()
    assert api.get("/me", token=f"{header}.{forged_payload}.{signature}").status_code == 403


def test_a_correctly_signed_token_for_a_user_without_profile_is_404_not_500(api):
    response = api.get("/me", token=_sign(_claims()))
    assert response.status_code == 404
    assert response.json_body["code"] == "NOT_FOUND"
