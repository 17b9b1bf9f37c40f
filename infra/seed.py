"""Demo data for `make run`: accounts first; later areas add courses, wallets and orders.

Seeding goes through the services, like a user would, and is idempotent:
an account that exists is left as it is.
"""

from dataclasses import dataclass

import boto3

from chalicelib import config, errors, roles
from chalicelib.services import identity

DEMO_PASSWORD = "Classpay-demo-1"


@dataclass(frozen=True)
class DemoAccount:
    email: str
    name: str
    roles: tuple[str, ...]
    admin: bool = False


DEMO_ACCOUNTS = (
    DemoAccount("admin@classpay.test", "Ada Admin", ("learner",), admin=True),
    DemoAccount("instructor@classpay.test", "Ina Instructor", ("instructor",)),
    DemoAccount("instructor2@classpay.test", "Ivan Instructor", ("instructor",)),
    DemoAccount("learner@classpay.test", "Lea Learner", ("learner",)),
    DemoAccount("learner2@classpay.test", "Leo Learner", ("learner",)),
    DemoAccount("both@classpay.test", "Bo Both", ("learner", "instructor")),
)


def seed_accounts() -> list[DemoAccount]:
    for account in DEMO_ACCOUNTS:
        try:
            identity.sign_up(account.email, DEMO_PASSWORD, account.name, list(account.roles))
        except errors.EmailTaken:
            continue
        if account.admin:
            boto3.client("cognito-idp").admin_add_user_to_group(
                UserPoolId=config.user_pool_id(), Username=account.email, GroupName=roles.ADMINS
            )
    return list(DEMO_ACCOUNTS)


def seed_demo() -> list[DemoAccount]:
    return seed_accounts()
