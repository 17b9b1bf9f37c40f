"""Verifies Cognito bearer tokens: RS256 signature against the pool's JWKS,
issuer, client (audience), `token_use` and expiry.

The JWKS is fetched from the resolved Cognito endpoint (moto locally, AWS in
production; the same code) and cached for the life of the container; an
unknown key id triggers one refetch, so key rotation needs no deploy.
PyJWT, cryptography and requests are imported on first use to keep them out
of the cold start of routes that need no token.
"""

import threading
import time

from chalicelib import config
from chalicelib.aws import client
from chalicelib.roles import Caller

_JWKS_REFETCH_SECONDS = 60  # at most one refetch a minute for unknown key ids
_jwks_lock = threading.Lock()
_jwks_by_url: dict[str, tuple[float, dict[str, dict]]] = {}


class InvalidToken(Exception):
    """The token is missing, malformed, forged, foreign or expired."""


def issuer() -> str:
    pool_id = config.user_pool_id()
    region = pool_id.split("_", 1)[0]
    return f"https://cognito-idp.{region}.amazonaws.com/{pool_id}"


def jwks_url() -> str:
    return f"{client('cognito-idp').meta.endpoint_url}/{config.user_pool_id()}/.well-known/jwks.json"


def _signing_key(kid: str) -> dict:
    url = jwks_url()
    with _jwks_lock:
        fetched_at, keys = _jwks_by_url.get(url, (0.0, {}))
        if kid not in keys and time.monotonic() - fetched_at > _JWKS_REFETCH_SECONDS:
            import requests

            response = requests.get(url, timeout=5)
            response.raise_for_status()
            keys = {key["kid"]: key for key in response.json()["keys"]}
            _jwks_by_url[url] = (time.monotonic(), keys)
    if kid not in keys:
        raise InvalidToken("unknown signing key")
    return keys[kid]


def verify(token: str) -> Caller:
    """The caller a token names, or `InvalidToken`."""
    import jwt

    if token.lower().startswith("bearer "):
        token = token[7:].strip()
    try:
        header = jwt.get_unverified_header(token)
        if header.get("alg") != "RS256":
            raise InvalidToken("unexpected algorithm")
        key = jwt.PyJWK(_signing_key(header.get("kid", ""))).key
        claims = jwt.decode(
            token,
            key,
            algorithms=["RS256"],
            issuer=issuer(),
            options={"require": ["exp", "iat", "iss", "sub", "token_use"], "verify_aud": False},
            leeway=5,
        )
    except jwt.PyJWTError as error:
        raise InvalidToken(str(error)) from None
    audience = {"access": claims.get("client_id"), "id": claims.get("aud")}
    if claims["token_use"] not in audience:
        raise InvalidToken("unexpected token_use")
    if audience[claims["token_use"]] != config.user_pool_client_id():
        raise InvalidToken("token was issued to another client")
    return Caller(user_id=claims["sub"], groups=frozenset(claims.get("cognito:groups", [])))
