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
from pathlib import Path

import boto3

from chalicelib import roles, store

PROJECT_DIR = Path(__file__).resolve().parent.parent
PASSWORD_POLICY = {
    "MinimumLength": 8,
    "RequireUppercase": True,
    "RequireLowercase": True,
    "RequireNumbers": True,
    "RequireSymbols": False,
}


def stage_environment(stage: str) -> dict[str, str]:
    """The stage's environment variables from `.chalice/config.json`."""
    config = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text())
    return dict(config["stages"][stage]["environment_variables"])


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
        pool_id = cognito.create_user_pool(
            PoolName=pool_name,
            UsernameAttributes=["email"],
            AutoVerifiedAttributes=["email"],
            Policies={"PasswordPolicy": PASSWORD_POLICY},
            Schema=[{"Name": "name", "AttributeDataType": "String", "Mutable": True, "Required": False}],
        )["UserPool"]["Id"]
    clients = cognito.list_user_pool_clients(UserPoolId=pool_id, MaxResults=60)["UserPoolClients"]
    web = [c for c in clients if c["ClientName"] == "classpay-web"]
    if web:
        client_id = web[0]["ClientId"]
    else:
        client_id = cognito.create_user_pool_client(
            UserPoolId=pool_id,
            ClientName="classpay-web",
            GenerateSecret=False,
            ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            PreventUserExistenceErrors="ENABLED",
        )["UserPoolClient"]["ClientId"]
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
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"}),
        },
    )


def verify_sender(address: str) -> None:
    boto3.client("ses").verify_email_identity(EmailAddress=address)


def create_stage_resources(stage: str) -> dict[str, str]:
    """Create everything `stage` needs; `os.environ` must already hold the stage's variables."""
    create_tables()
    identifiers = create_user_pool(stage)
    create_bucket(os.environ["LESSON_BUCKET"])
    create_queue(os.environ["PAYOUT_QUEUE"])
    verify_sender(os.environ["MAIL_SENDER"])
    return identifiers
