"""Accounts: sign-up, log-in, token refresh and the caller's profile, over Cognito.

Cognito owns credentials and groups (roles); the users table keeps the
display name for everything else. Sign-up confirms the account at once (no
email round trip in this version) and is safe to retry: a second attempt with
the same email is refused by Cognito, and the profile write is conditional.

`register` is sign-up as the API offers it: it never tells the caller whether the email had an account.
A new email gets one; an email with an account leaves it as it is and its owner is told by mail (once a
day at most, however many attempts: `mail.send_once`).
"""

import logging
from dataclasses import dataclass

from chalicelib import clock, config, errors
from chalicelib.aws import client
from chalicelib.roles import ADMINS, SIGNUP_ROLES, Caller
from chalicelib.services import mail
from chalicelib.store import users
from chalicelib.store.users import UserProfile

log = logging.getLogger("classpay.identity")


@dataclass(frozen=True)
class Tokens:
    id_token: str
    access_token: str
    refresh_token: str | None
    expires_in: int


def sign_up(email: str, password: str, name: str, roles: list[str]) -> UserProfile:
    cognito = client("cognito-idp")
    email = email.strip().lower()
    try:
        created = cognito.sign_up(
            ClientId=config.user_pool_client_id(),
            Username=email,
            Password=password,
            UserAttributes=[{"Name": "email", "Value": email}, {"Name": "name", "Value": name}],
        )
    except cognito.exceptions.UsernameExistsException:
        raise errors.EmailTaken(f"{email} already has an account") from None
    except cognito.exceptions.InvalidPasswordException as error:
        raise errors.ValidationFailed.on("password", error.response["Error"]["Message"]) from None
    except cognito.exceptions.InvalidParameterException as error:
        raise errors.ValidationFailed.on("email", error.response["Error"]["Message"]) from None
    pool_id = config.user_pool_id()
    cognito.admin_confirm_sign_up(UserPoolId=pool_id, Username=email)
    groups = sorted({SIGNUP_ROLES[role] for role in roles})
    for group in groups:
        cognito.admin_add_user_to_group(UserPoolId=pool_id, Username=email, GroupName=group)
    return users.create_profile(
        UserProfile(created["UserSub"], email, name, frozenset(groups), clock.now())
    )


def register(email: str, password: str, name: str, roles: list[str]) -> None:
    """Sign up, or tell the owner of an existing account by mail: the caller learns neither."""
    try:
        sign_up(email, password, name, roles)
    except errors.EmailTaken:
        _tell_owner_of_signup_attempt(email.strip().lower())


def _tell_owner_of_signup_attempt(email: str) -> None:
    cognito = client("cognito-idp")
    user = cognito.admin_get_user(UserPoolId=config.user_pool_id(), Username=email)
    attributes = {a["Name"]: a["Value"] for a in user.get("UserAttributes", [])}
    owner_id, now = attributes.get("sub", user["Username"]), clock.now()
    notice = mail.Mail(
        to_address=attributes.get("email", email),
        subject="[classpay] Someone tried to sign up with your email",
        text=(f"Hi {attributes.get('name', '')},\n\nOn {now:%Y-%m-%d %H:%M} UTC someone asked for a new classpay "
              "account with this email address. You already have one, so nothing was created or changed.\n\n"
              "If it was you, log in with your existing password. If it was not, you can ignore this mail: "
              "your account and password are as they were.\n\nclasspay\n"),
    )
    try:
        mail.send_once(f"signup-attempt:{owner_id}:{now:%Y-%m-%d}", notice, kind="signup_attempt",
                       recipient_id=owner_id, now=now)
    except Exception:  # noqa: BLE001 - the caller's answer must not depend on the mail (it would tell)
        log.exception("signup attempt notice not sent", extra={"fields": {"recipient_id": owner_id}})


def _authenticate(flow: str, parameters: dict[str, str]) -> dict:
    cognito = client("cognito-idp")
    try:
        answer = cognito.initiate_auth(
            AuthFlow=flow, ClientId=config.user_pool_client_id(), AuthParameters=parameters
        )
    except (cognito.exceptions.NotAuthorizedException, cognito.exceptions.UserNotFoundException):
        # One answer for a wrong password and an unknown user: never reveal who has an account.
        raise errors.InvalidCredentials() from None
    if "AuthenticationResult" not in answer:
        raise errors.InvalidCredentials(f"Cognito asks for a {answer.get('ChallengeName')} challenge")
    return answer["AuthenticationResult"]


def log_in(email: str, password: str) -> Tokens:
    result = _authenticate("USER_PASSWORD_AUTH", {"USERNAME": email.strip().lower(), "PASSWORD": password})
    return Tokens(result["IdToken"], result["AccessToken"], result["RefreshToken"], result["ExpiresIn"])


def refresh(refresh_token: str) -> Tokens:
    try:
        result = _authenticate("REFRESH_TOKEN_AUTH", {"REFRESH_TOKEN": refresh_token})
    except errors.InvalidCredentials:
        raise errors.Unauthenticated("The refresh token is not valid") from None
    return Tokens(result["IdToken"], result["AccessToken"], result.get("RefreshToken"), result["ExpiresIn"])


def profile_of(caller: Caller) -> UserProfile:
    """The caller's profile; roles always come from the verified token."""
    profile = users.get_profile(caller.user_id)
    if profile is None:
        raise errors.NotFound("No profile for this account")
    return UserProfile(profile.user_id, profile.email, profile.name, caller.groups, profile.created_at)


def admins() -> list[tuple[str, str]]:
    """(user id, email) of every member of the `admins` group (Cognito's ListUsersInGroup, page by page)."""
    cognito = client("cognito-idp")
    found, token = [], None
    while True:
        page = cognito.list_users_in_group(UserPoolId=config.user_pool_id(), GroupName=ADMINS, Limit=60,
                                           **({"NextToken": token} if token else {}))
        for user in page.get("Users", []):
            attributes = {a["Name"]: a["Value"] for a in user.get("Attributes", [])}
            if attributes.get("email"):
                found.append((attributes.get("sub", user["Username"]), attributes["email"]))
        token = page.get("NextToken")
        if not token:
            return found
