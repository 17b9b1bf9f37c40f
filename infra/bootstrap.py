"""Creates every resource a stage needs, on whatever endpoint boto3 resolves.

`make run` points it at the embedded moto server, the tests at in-process
moto; the tables come from the PynamoDB models themselves, so the app, the
tests and the deploy template describe the same tables. Every step is
idempotent: running it twice leaves one of each thing.

Returns the generated identifiers (user pool and app client) as environment
variables for the app to run with.
"""

import json
import os
import secrets

import boto3

from chalicelib import config, roles, store
from infra.project import stage_environment

PASSWORD_POLICY = {
    "MinimumLength": 8,
    "RequireUppercase": True,
    "RequireLowercase": True,
    "RequireNumbers": True,
    "RequireSymbols": False,
}
# The user pool and its web client, as `create_user_pool` / `create_user_pool_client` take them;
# `infra/template/identity.py` declares the deployed pool from the same settings.
USER_POOL = {
    "UsernameAttributes": ["email"],
    "AutoVerifiedAttributes": ["email"],
    "Policies": {"PasswordPolicy": PASSWORD_POLICY},
    "Schema": [{"Name": "name", "AttributeDataType": "String", "Mutable": True, "Required": False}],
}
APP_CLIENT = {
    "ClientName": "classpay-web",
    "GenerateSecret": False,
    "ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    "PreventUserExistenceErrors": "ENABLED",
}
# A message that fails this often goes to the queue's dead-letter queue.
MAX_RECEIVE_COUNT = 5


def create_tables() -> None:
    for model in store.ALL_MODELS:
        if not model.exists():
            model.create_table(billing_mode="PAY_PER_REQUEST", wait=True)


def create_user_pool(stage: str) -> dict[str, str]:
    cognito = boto3.client("cognito-idp")
    pool_name = f"classpay-{stage}"
    pools = [p for p in cognito.list_user_pools(MaxResults=60)["UserPools"] if p["Name"] == pool_name]
    if pools:
        pool_id = pools[0]["Id"]
    else:
        pool_id = cognito.create_user_pool(PoolName=pool_name, **USER_POOL)["UserPool"]["Id"]
    clients = cognito.list_user_pool_clients(UserPoolId=pool_id, MaxResults=60)["UserPoolClients"]
    web = [c for c in clients if c["ClientName"] == APP_CLIENT["ClientName"]]
    if web:
        client_id = web[0]["ClientId"]
    else:
        client_id = cognito.create_user_pool_client(UserPoolId=pool_id, **APP_CLIENT)["UserPoolClient"]["ClientId"]
    existing = {g["GroupName"] for g in cognito.list_groups(UserPoolId=pool_id)["Groups"]}
    for group in roles.ALL_GROUPS:
        if group not in existing:
            cognito.create_group(UserPoolId=pool_id, GroupName=group)
    return {"USER_POOL_ID": pool_id, "USER_POOL_CLIENT_ID": client_id}


def create_bucket(name: str) -> None:
    s3 = boto3.client("s3")
    if name in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        return
    region = s3.meta.region_name
    location = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=name, **location)
    s3.put_public_access_block(
        Bucket=name,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )


def create_queue(name: str) -> None:
    sqs = boto3.client("sqs")
    dead_letters = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dead_letters, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.create_queue(
        QueueName=name,
        Attributes={
            "VisibilityTimeout": "120",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(MAX_RECEIVE_COUNT)}),
        },
    )


def verify_sender(address: str) -> None:
    boto3.client("ses").verify_email_identity(EmailAddress=address)


def payout_account_key_alias(stage: str) -> str:
    return f"alias/classpay-{stage}-payout-accounts"


def create_payout_account_key(stage: str) -> dict[str, str]:
    """The KMS key that encrypts instructors' payout account numbers."""
    kms = boto3.client("kms")
    alias = payout_account_key_alias(stage)
    aliases = {a["AliasName"]: a.get("TargetKeyId") for a in kms.list_aliases()["Aliases"]}
    if aliases.get(alias):
        return {"PAYOUT_ACCOUNT_KEY_ID": aliases[alias]}
    key_id = kms.create_key(Description=f"classpay {stage}: payout account numbers")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName=alias, TargetKeyId=key_id)
    return {"PAYOUT_ACCOUNT_KEY_ID": key_id}


def create_secret(environment: dict[str, str], short_name: str, value: str, description: str) -> None:
    """A random SecureString of the stage, made once (a bootstrap run again keeps it, so what it signed stays
    good). In prod an operator sets it."""
    ssm = boto3.client("ssm")
    try:
        ssm.put_parameter(Name=environment["SECRETS_PATH"] + short_name, Value=value, Type="SecureString",
                          Description=description)
    except ssm.exceptions.ParameterAlreadyExists:
        pass


def create_cursor_key(environment: dict[str, str]) -> None:
    """The stage's pagination cursor key (`chalicelib/api/pagination.py`)."""
    create_secret(environment, config.CURSOR_KEY_NAME, secrets.token_urlsafe(32),
                  "classpay: authenticates pagination cursors")


def create_toss_security_key(environment: dict[str, str]) -> None:
    """The stage's stand-in for Toss's security key (64 hex digits, as Toss issues it), which signs the payout
    and seller webhooks (`chalicelib/services/webhooks.py`); tests sign their events with it."""
    create_secret(environment, config.TOSS_SECURITY_KEY_NAME, secrets.token_hex(32),
                  "classpay: Toss's security key (a local stand-in)")


def named_resources(environment: dict[str, str], suffix: str) -> dict[str, str]:
    """The stage's resources of one kind by variable: every `*_QUEUE`, every `*_BUCKET`."""
    return {name: value for name, value in sorted(environment.items()) if name.endswith(suffix)}


def create_stage_resources(stage: str) -> dict[str, str]:
    """Create everything `stage` needs; `os.environ` must already hold the stage's variables."""
    environment = stage_environment(stage)
    create_tables()
    identifiers = create_user_pool(stage)
    for bucket in named_resources(environment, "_BUCKET").values():
        create_bucket(bucket)
    for queue in named_resources(environment, "_QUEUE").values():
        create_queue(queue)
    verify_sender(os.environ["MAIL_SENDER"])
    identifiers.update(create_payout_account_key(stage))
    create_cursor_key(environment)
    create_toss_security_key(environment)
    return identifiers
