"""Verifies Cognito bearer tokens: RS256 signature against the pool's JWKS,
issuer, client (audience), `token_use` and expiry.

The JWKS is fetched from the resolved Cognito endpoint (moto locally, AWS in
production; the same code) and cached for the life of the container; an
unknown key id triggers at most one refetch a minute, so key rotation needs
no deploy.

The signature is checked with `rsa` (pure Python, PKCS#1 v1.5), and only
RS256 is accepted: the algorithm is fixed here, never taken from the token.
The claims are checked by hand below. This keeps `cryptography` (4.7 MB, most
of the package) out of the Lambda bundle.
"""

import base64
import binascii
import json
import threading
import time

import rsa

from chalicelib import config, http
from chalicelib.aws import client
from chalicelib.roles import Caller

LEEWAY_SECONDS = 5
_JWKS_REFETCH_SECONDS = 60
_jwks_lock = threading.Lock()
_jwks_by_url: dict[str, tuple[float, dict]] = {}


class InvalidToken(Exception):
    """The token is missing, malformed, forged, foreign or expired."""


def issuer() -> str:
    pool_id = config.user_pool_id()
    region = pool_id.split("_", 1)[0]
    return f"https://cognito-idp.{region}.amazonaws.com/{pool_id}"


def jwks_url() -> str:
    return f"{client('cognito-idp').meta.endpoint_url}/{config.user_pool_id()}/.well-known/jwks.json"


def _b64url(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _public_key(jwk: dict):
    if jwk.get("kty") != "RSA":
        return None
    return rsa.PublicKey(int.from_bytes(_b64url(jwk["n"]), "big"), int.from_bytes(_b64url(jwk["e"]), "big"))


def _signing_key(kid: str):
    url = jwks_url()
    with _jwks_lock:
        fetched_at, keys = _jwks_by_url.get(url, (0.0, {}))
        if kid not in keys and time.monotonic() - fetched_at > _JWKS_REFETCH_SECONDS:
            response = http.request("GET", url, timeout=5)
            if response.status != 200:
                raise http.Unreachable(f"the JWKS answered {response.status}")
            keys = {jwk["kid"]: _public_key(jwk) for jwk in response.json()["keys"] if "kid" in jwk}
            _jwks_by_url[url] = (time.monotonic(), keys)
    if keys.get(kid) is None:
        raise InvalidToken("unknown signing key")
    return keys[kid]


def _decode(token: str) -> tuple[dict, dict, bytes, bytes]:
    """(header, claims, signed bytes, signature) of a compact JWS, or `InvalidToken`."""
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidToken("not a JWT")
    try:
        header, claims = json.loads(_b64url(parts[0])), json.loads(_b64url(parts[1]))
        return header, claims, f"{parts[0]}.{parts[1]}".encode("ascii"), _b64url(parts[2])
    except (ValueError, binascii.Error, UnicodeError):
        raise InvalidToken("malformed JWT") from None


def _check_claims(claims: dict) -> None:
    now = time.time()
    for name, kind in (("exp", (int, float)), ("iat", (int, float)), ("iss", str), ("sub", str),
                       ("token_use", str)):
        if not isinstance(claims.get(name), kind) or isinstance(claims.get(name), bool):
            raise InvalidToken(f"missing or malformed claim {name}")
    if claims["exp"] + LEEWAY_SECONDS < now:
        raise InvalidToken("expired")
    if claims["iat"] - LEEWAY_SECONDS > now:
        raise InvalidToken("issued in the future")
    if claims["iss"] != issuer():
        raise InvalidToken("issued by another user pool")
    audience = {"access": claims.get("client_id"), "id": claims.get("aud")}
    if claims["token_use"] not in audience:
        raise InvalidToken("unexpected token_use")
    if audience[claims["token_use"]] != config.user_pool_client_id():
        raise InvalidToken("token was issued to another client")


def verify(token: str) -> Caller:
    """The caller a token names, or `InvalidToken`."""
    if token.lower().startswith("bearer "):
        token = token[7:].strip()
    header, claims, signed, signature = _decode(token)
    if not isinstance(header, dict) or not isinstance(claims, dict) or header.get("alg") != "RS256":
        raise InvalidToken("only RS256 tokens are accepted")
    key = _signing_key(str(header.get("kid", "")))
    try:
        if rsa.verify(signed, signature, key) != "SHA-256":
            raise InvalidToken("signed with another hash than SHA-256")
    except rsa.VerificationError:
        raise InvalidToken("bad signature") from None
    _check_claims(claims)
    groups = claims.get("cognito:groups", [])
    if not isinstance(groups, list):
        raise InvalidToken("malformed claim cognito:groups")
    return Caller(user_id=claims["sub"], groups=frozenset(str(g) for g in groups))
