"""Demo data for `make run`: accounts and funded learner wallets; later areas add courses and orders.

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


DEMO_WALLETS = {"learner@classpay.test": 200_000, "learner2@classpay.test": 50_000}


def _user_id(email: str) -> str:
    user = boto3.client("cognito-idp").admin_get_user(UserPoolId=config.user_pool_id(), Username=email)
    return next(a["Value"] for a in user["UserAttributes"] if a["Name"] == "sub")


def seed_wallets() -> None:
    """Fund demo learners through a real top-up confirmed by the fake gateway; an empty wallet only,
    so running the seed again adds nothing."""
    from chalicelib.money import Money
    from chalicelib.services import wallet
    from chalicelib.services.gateway import FakeGateway

    for email, amount in DEMO_WALLETS.items():
        user_id = _user_id(email)
        if wallet.balance(user_id).amount > 0:
            continue
        topup = wallet.create_topup(user_id, Money(amount, config.wallet_currency()), gateway=FakeGateway())
        wallet.confirm_topup(user_id, topup.topup_id, topup.checkout.payment_key, gateway=FakeGateway())


def seed_demo() -> list[DemoAccount]:
    accounts = seed_accounts()
    seed_wallets()
    return accounts
