"""What every resource family of the template uses: names, and small pieces of CloudFormation."""

import re

from infra import bootstrap
from infra.project import Refusal

APP_NAME = "classpay"
ALIAS = "live"


class TemplateError(Refusal):
    """The project declares something the template cannot deploy (the message says what to change)."""


def logical_id(*words: str) -> str:
    """`payout` + `queue` -> `PayoutQueue`; `instructor_digest` -> `InstructorDigest`."""
    parts = [p for w in words for p in re.split(r"[^A-Za-z0-9]+", w) if p]
    return "".join(p[0].upper() + p[1:] for p in parts)


def resource_of_variable(variable: str, suffix: str) -> str:
    """`PAYOUT_QUEUE` -> `Payout` (the queue is `PayoutQueue`)."""
    return logical_id(variable.removesuffix(suffix).lower())


def function_name(stage: str, function: str) -> str:
    """Named after the stage, so the role's policy can name their log groups before they exist."""
    return f"{APP_NAME}-{stage}-{function}"


def sub(text: str) -> dict:
    return {"Fn::Sub": text}


def retained(resource: dict) -> dict:
    """Stateful resources outlive the stack (and a replacement): money and identities are kept."""
    return {**resource, "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}


def private_bucket() -> dict:
    """The properties of every bucket of the stack: encrypted, never public, objects owned by the bucket."""
    return {
        "BucketEncryption": {"ServerSideEncryptionConfiguration": [
            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
        "PublicAccessBlockConfiguration": {
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True},
        "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
    }


def allowed_origins(environment: dict) -> list[str]:
    """The stage's `CORS_ALLOWED_ORIGINS`, as a sorted list."""
    return sorted({o.strip() for o in environment.get("CORS_ALLOWED_ORIGINS", "").split(",") if o.strip()})


def queue_logical_ids(environment: dict) -> dict[str, tuple[str, str]]:
    """{queue name: (queue logical id, dead-letter queue logical id)} for every `*_QUEUE`."""
    return {
        name: (logical_id(resource_of_variable(variable, "_QUEUE"), "queue"),
               logical_id(resource_of_variable(variable, "_QUEUE"), "dead", "letter", "queue"))
        for variable, name in bootstrap.named_resources(environment, "_QUEUE").items()
    }
