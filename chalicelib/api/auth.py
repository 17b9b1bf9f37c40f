"""Accounts: sign-up, log-in, refresh and `/me`."""

from typing import Annotated, Literal

import msgspec

from chalicelib import errors
from chalicelib.api.routing import PUBLIC, SIGNED_IN, ApiBlueprint, Call
from chalicelib.api.schemas import DisplayName, Email, Input, Password, Timestamp, Token
from chalicelib.roles import ROLE_OF_GROUP
from chalicelib.services import attempt_limits, identity

auth_api = ApiBlueprint(__name__, tag="auth")


class SignupRequest(Input):
    email: Email
    password: Password
    name: DisplayName
    roles: Annotated[list[Literal["learner", "instructor"]], msgspec.Meta(min_length=1, max_length=2)] = msgspec.field(
        default_factory=lambda: ["learner"]
    )


SIGNUP_ACCEPTED = ("Sign-up accepted. Log in with this email and password; if the email already had an account, "
                   "nothing was changed and its owner was told by mail.")


class SignupResponse(msgspec.Struct):
    """The same whether or not the email had an account (no user id: it would tell); `/me` gives the id."""

    message: str = SIGNUP_ACCEPTED


class LoginRequest(Input):
    email: Email
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]


class RefreshRequest(Input):
    refresh_token: Token


class TokensResponse(msgspec.Struct):
    id_token: str
    access_token: str
    expires_in: int
    token_type: str = "Bearer"
    refresh_token: str | None = None


class ProfileResponse(msgspec.Struct):
    user_id: str
    email: str
    name: str
    roles: list[str]
    created_at: Timestamp


def _tokens(tokens: identity.Tokens) -> TokensResponse:
    return TokensResponse(
        id_token=tokens.id_token,
        access_token=tokens.access_token,
        expires_in=tokens.expires_in,
        refresh_token=tokens.refresh_token,
    )


@auth_api.endpoint(
    "POST", "/auth/signup", policy=PUBLIC, body=SignupRequest, response=SignupResponse, status=202,
    summary="Create an account as a learner, an instructor or both (202 either way: an email that has an "
            "account is not told apart; its owner is mailed instead)",
)
def signup(call: Call):
    body: SignupRequest = call.body
    identity.register(body.email, body.password, body.name, body.roles)
    return SignupResponse()


@auth_api.endpoint(
    "POST", "/auth/login", policy=PUBLIC, body=LoginRequest, response=TokensResponse,
    summary="Exchange email and password for tokens (429 after too many failures from one address for one "
            "email, with Retry-After)", errors=(errors.InvalidCredentials, errors.TooManyRequests),
)
def login(call: Call):
    with attempt_limits.login_attempt(_source_ip(), call.body.email):
        return _tokens(identity.log_in(call.body.email, call.body.password))


def _source_ip() -> str:
    """The client's address as API Gateway saw it (`chalice local` reports 127.0.0.1 for every client)."""
    context = auth_api.current_request.context or {}
    return str((context.get("identity") or {}).get("sourceIp") or "unknown")


@auth_api.endpoint(
    "POST", "/auth/refresh", policy=PUBLIC, body=RefreshRequest, response=TokensResponse,
    summary="Exchange a refresh token for new id and access tokens", errors=(errors.Unauthenticated,),
)
def refresh(call: Call):
    return _tokens(identity.refresh(call.body.refresh_token))


@auth_api.endpoint(
    "GET", "/me", policy=SIGNED_IN, response=ProfileResponse,
    summary="The caller's profile and roles", errors=(errors.NotFound,),
)
def me(call: Call):
    profile = identity.profile_of(call.caller)
    return ProfileResponse(
        user_id=profile.user_id,
        email=profile.email,
        name=profile.name,
        roles=sorted(ROLE_OF_GROUP[g] for g in profile.groups if g in ROLE_OF_GROUP),
        created_at=profile.created_at,
    )
