"""Least privilege for the app's role: the policy is exactly what the test suite saw the app do.

PynamoDB's calls are invisible to Chalice's policy generator, so a deployed stage uses
`autogen_policy: false` and `.chalice/policy-<stage>.json`. That file is not written by hand:

- The recorder (`RECORDER`, installed by `tests/conftest.py` before any botocore session
  exists) hooks botocore's `before-parameter-build` event, which every API call and every
  presigned URL passes through, PynamoDB's included. It keeps the calls made by the app's
  code (a frame of `app.py` or `chalicelib/` on the stack; the bootstrap's and the tests'
  own calls do not count) as IAM actions on resources named through the stage's variables
  (`<TABLE_PREFIX>users`, `<PAYOUT_QUEUE>`, `<USER_POOL_ID>`), so that one test run on the
  `test` stage speaks for every stage.
- Each call is also attributed to the Lambda function whose handler made it (the outermost
  frame of the app's code: `bearer` for the authorizer, a job's function, ...). A function given
  its own `iam_policy_file` under the stage's `lambda_functions` in `.chalice/config.json` gets
  exactly its own calls (the authorizer: none but its logs); every other function shares the
  stage's file, which holds all the rest.
- `policy_document` renders those uses for a stage, plus what Lambda itself does with the
  role (write the functions' logs, poll the queues the function consumes).
- `tests/test_iam_policy.py` fails when a file does not allow a recorded call, or allows
  one that no test made; `make policy` rewrites the files from a full run, for review.

A call the recorder cannot name a resource for fails that test with what to add here.
"""

import json
import re
import sys
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from infra.project import PROJECT_DIR, chalice_config

APP_SOURCES = (str(PROJECT_DIR / "app.py"), str(PROJECT_DIR / "chalicelib") + "/")
ARN = "arn:${AWS::Partition}"
REGIONAL = "${AWS::Region}:${AWS::AccountId}"

# Where botocore's signing name is not the IAM prefix.
IAM_PREFIX = {"monitoring": "cloudwatch", "email": "ses"}
# Stage variables whose value starts resource names (the others name one resource each).
PREFIX_SUFFIXES = ("_PREFIX", "_PATH")
# Stage variables that name no resource.
NOT_NAMES = frozenset({"STAGE", "CORS_ALLOWED_ORIGINS"})


class Use(NamedTuple):
    """One IAM action on one resource, the resource named through the stage's variables."""

    action: str
    resource: str


class Unnamed(Exception):
    """A call whose resource the recorder cannot name: the message says what to add."""


# --- naming resources through the stage's variables ---------------------------------------------

def neutral(name: str, environment: dict[str, str]) -> str:
    """`classpay-test-users` -> `<TABLE_PREFIX>users`; `classpay-test-payouts` -> `<PAYOUT_QUEUE>`."""
    candidates = {var: value for var, value in environment.items() if var not in NOT_NAMES and len(value) >= 4}
    for var, value in sorted(candidates.items(), key=lambda kv: -len(kv[1])):
        if name == value:
            return f"<{var}>"
    for var, value in sorted(candidates.items(), key=lambda kv: -len(kv[1])):
        if var.endswith(PREFIX_SUFFIXES) and name.startswith(value):
            return f"<{var}>{name[len(value):]}"
    raise Unnamed(f"the resource {name!r} is named by no stage variable: name it in .chalice/config.json "
                  f"(each stage its own) and read it through chalicelib.config, so each stage's policy names its own")


def render(resource: str, stage_environment: dict[str, str], refs: dict[str, str]) -> str:
    """A neutral resource for one stage: `<TABLE_PREFIX>` -> `classpay-prod-`, `<USER_POOL_ID>` -> `${UserPool}`."""

    def value(match: re.Match) -> str:
        var = match.group(1)
        if var in refs:
            return "${" + refs[var] + "}"
        if var not in stage_environment:
            raise KeyError(f"{var} is not set for this stage in .chalice/config.json")
        return stage_environment[var]

    return re.sub(r"<([A-Z0-9_]+)>", value, resource)


# --- which actions on which resources a call needs ----------------------------------------------

def _address(sender: str) -> str:
    match = re.search(r"<([^>]+)>", sender)
    return match.group(1) if match else sender.strip()


def _dynamodb(op: str, params: dict, name) -> list[tuple[str, str]]:
    def table(table_name: str, index: str | None = None) -> str:
        return f"{ARN}:dynamodb:{REGIONAL}:table/{name(table_name)}" + (f"/index/{index}" if index else "")

    if op == "TransactWriteItems":
        kinds = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem"}
        return [(kinds[kind], table(body["TableName"])) for item in params["TransactItems"] for kind, body in item.items()]
    if op == "TransactGetItems":
        return [("GetItem", table(item["Get"]["TableName"])) for item in params["TransactItems"]]
    if op in ("BatchGetItem", "BatchWriteItem"):
        return [(op, table(table_name)) for table_name in params["RequestItems"]]
    if "TableName" in params:
        return [(op, table(params["TableName"], params.get("IndexName")))]
    raise Unnamed(f"dynamodb:{op} names no table: teach infra/iam.py's _dynamodb")


_S3_ACTIONS = {
    "HeadObject": "GetObject", "CopyObject": "PutObject", "CreateMultipartUpload": "PutObject",
    "UploadPart": "PutObject", "CompleteMultipartUpload": "PutObject", "DeleteObjects": "DeleteObject",
    "ListObjectsV2": "ListBucket", "ListObjects": "ListBucket", "HeadBucket": "ListBucket",
    "ListObjectVersions": "ListBucketVersions", "ListParts": "ListMultipartUploadParts",
}


def _s3(op: str, params: dict, name) -> list[tuple[str, str]]:
    if "Bucket" not in params:
        raise Unnamed(f"s3:{op} names no bucket: teach infra/iam.py's _s3")
    bucket = name(params["Bucket"])
    object_level = "Key" in params or op == "DeleteObjects"
    return [(_S3_ACTIONS.get(op, op), f"{ARN}:s3:::{bucket}" + ("/*" if object_level else ""))]


_SQS_ACTIONS = {"SendMessageBatch": "SendMessage", "DeleteMessageBatch": "DeleteMessage",
                "ChangeMessageVisibilityBatch": "ChangeMessageVisibility"}


def _sqs(op: str, params: dict, name) -> list[tuple[str, str]]:
    queue = params.get("QueueName") or params.get("QueueUrl", "").rstrip("/").rsplit("/", 1)[-1]
    if not queue:
        raise Unnamed(f"sqs:{op} names no queue: teach infra/iam.py's _sqs")
    return [(_SQS_ACTIONS.get(op, op), f"{ARN}:sqs:{REGIONAL}:{name(queue)}")]


def _cognito(op: str, params: dict, name) -> list[tuple[str, str]]:
    if "UserPoolId" not in params:
        raise Unnamed(f"cognito-idp:{op} names no user pool: teach infra/iam.py's _cognito")
    return [(op, f"{ARN}:cognito-idp:{REGIONAL}:userpool/{name(params['UserPoolId'])}")]


def _ses(op: str, params: dict, name) -> list[tuple[str, str]]:
    sender = params.get("Source") or params.get("FromEmailAddress")
    if not sender:
        raise Unnamed(f"ses:{op} names no sender: pass Source/FromEmailAddress, or teach infra/iam.py's _ses")
    action = {"SendBulkEmail": "SendBulkTemplatedEmail"}.get(op, op)
    return [(action, f"{ARN}:ses:{REGIONAL}:identity/{name(_address(sender))}")]


def _kms(op: str, params: dict, name) -> list[tuple[str, str]]:
    key = params.get("KeyId") or params.get("DestinationKeyId")
    if not key:
        raise Unnamed(f"kms:{op} names no key: pass KeyId (the stage's key id) so the policy can name the key")
    if key.startswith("alias/"):
        raise Unnamed(f"kms:{op} names the key by alias {key!r}: pass its id (e.g. PAYOUT_ACCOUNT_KEY_ID), "
                      "which is what IAM authorizes against")
    return [(op, f"{ARN}:kms:{REGIONAL}:key/{name(key.rsplit('/', 1)[-1])}")]


def _ssm(op: str, params: dict, name) -> list[tuple[str, str]]:
    names = params.get("Names") or [params.get("Name") or params.get("Path")]
    if not names or not names[0]:
        raise Unnamed(f"ssm:{op} names no parameter: teach infra/iam.py's _ssm")
    # The ARN of the parameter `/a/b` is `...:parameter/a/b`: its name's own leading slash is the separator
    # (it may sit inside a variable's value, e.g. SECRETS_PATH `/classpay/prod/`).
    return [(op, f"{ARN}:ssm:{REGIONAL}:parameter{'' if n.startswith('/') else '/'}{name(n)}") for n in names]


# IAM service prefix -> how a call on it names its resources. Add services here as the app uses them.
RESOURCE_RULES = {
    "dynamodb": _dynamodb,
    "s3": _s3,
    "sqs": _sqs,
    "cognito-idp": _cognito,
    "ses": _ses,
    "kms": _kms,
    "ssm": _ssm,
}


def needs_no_permission(operation_model) -> bool:
    """Operations AWS serves without signature checks (Cognito's SignUp, InitiateAuth, ...)."""
    auth = getattr(operation_model, "auth", None) or []
    return operation_model.auth_type == "none" or "smithy.api#noAuth" in auth


def uses_of(operation_model, params: dict, environment: dict[str, str]) -> list[Use]:
    """The IAM actions and resources one call needs, its resources named through `environment`."""
    if needs_no_permission(operation_model):
        return []
    service_model = operation_model.service_model
    signing = service_model.signing_name or service_model.endpoint_prefix
    prefix = IAM_PREFIX.get(signing, signing)
    rule = RESOURCE_RULES.get(prefix)
    if rule is None:
        raise Unnamed(f"{prefix}:{operation_model.name}: infra/iam.py has no rule naming {prefix} resources; "
                      "add one to RESOURCE_RULES")
    return [Use(f"{prefix}:{action}", resource)
            for action, resource in rule(operation_model.name, params, lambda n: neutral(n, environment))]


# --- the recorder -------------------------------------------------------------------------------

def handler_of(frame) -> str | None:
    """The name of the outermost function of the app's code on the stack (None: not the app's call).

    For a Lambda handler (the authorizer `bearer`, a job) that is the Chalice function's name.
    """
    handler = None
    while frame is not None:
        filename = frame.f_code.co_filename
        if filename == APP_SOURCES[0] or filename.startswith(APP_SOURCES[1]):
            handler = frame.f_code.co_name
        frame = frame.f_back
    return handler


def _current_test() -> str:
    import os

    return os.environ.get("PYTEST_CURRENT_TEST", "?").rsplit(" ", 1)[0]


class Recorder:
    """Every AWS call the app's code makes while installed.

    `calls` {(handler, Use): first test}; `unnamed` {why: first test}.
    """

    def __init__(self):
        self.calls: dict[tuple[str, Use], str] = {}
        self.unnamed: dict[str, str] = {}
        self.environment: dict[str, str] = {}
        self._lock = threading.Lock()

    def install(self) -> None:
        """Hook every botocore session created from now on (as moto does)."""
        from botocore.handlers import BUILTIN_HANDLERS

        if ("before-parameter-build", self._on_call) not in BUILTIN_HANDLERS:
            BUILTIN_HANDLERS.append(("before-parameter-build", self._on_call))

    @property
    def uses(self) -> dict[Use, str]:
        """{Use: first test}, whichever function made the call."""
        uses: dict[Use, str] = {}
        for (_handler, use), test in self.calls.items():
            uses.setdefault(use, test)
        return uses

    def uses_by(self, handlers: set[str], exclude: bool = False) -> dict[Use, str]:
        """The uses made by `handlers` (or, with `exclude`, by every other handler)."""
        uses: dict[Use, str] = {}
        for (handler, use), test in self.calls.items():
            if (handler in handlers) != exclude:
                uses.setdefault(use, test)
        return uses

    def dump(self) -> dict:
        """What was recorded, as JSON (a parallel test run merges its workers' recordings)."""
        return {"calls": [[handler, *use, test] for (handler, use), test in self.calls.items()],
                "unnamed": self.unnamed}

    def merge(self, recorded: dict) -> None:
        with self._lock:
            for handler, action, resource, test in recorded["calls"]:
                self.calls.setdefault((handler, Use(action, resource)), test)
            for why, test in recorded["unnamed"].items():
                self.unnamed.setdefault(why, test)

    def _on_call(self, params=None, model=None, **_kwargs) -> None:
        handler = handler_of(sys._getframe(1)) if model is not None else None
        if handler is None:
            return
        try:
            uses = uses_of(model, params or {}, self.environment)
        except Unnamed as why:
            with self._lock:
                self.unnamed.setdefault(str(why), _current_test())
            return
        except Exception as error:  # noqa: BLE001 (a recorder bug must not break the call it watches)
            with self._lock:
                self.unnamed.setdefault(f"{model.name}: the recorder failed: {error!r}", _current_test())
            return
        with self._lock:
            for use in uses:
                self.calls.setdefault((handler, use), _current_test())


RECORDER = Recorder()


# --- the policy ---------------------------------------------------------------------------------

def platform_uses(stage: str, consumed_queues: Iterable[str], function: str | None = None) -> list[Use]:
    """What Lambda does with the role on the app's behalf: write logs, poll the queues it consumes.

    `function`: the Chalice function the role is for (None: every function without its own policy).
    """
    from infra.template.shared import function_name, logical_id

    functions = "*" if function is None else ("APIHandler" if function == "api_handler" else logical_id(function))
    log_groups = f"{ARN}:logs:{REGIONAL}:log-group:/aws/lambda/{function_name(stage, functions)}:*"
    uses = [Use("logs:CreateLogStream", log_groups), Use("logs:PutLogEvents", log_groups)]
    for queue in consumed_queues:
        for action in ("ReceiveMessage", "DeleteMessage", "GetQueueAttributes"):
            uses.append(Use(f"sqs:{action}", f"{ARN}:sqs:{REGIONAL}:{queue}"))
    return uses


def rendered_uses(uses: Iterable[Use], stage: str, stage_environment: dict[str, str]) -> set[Use]:
    from infra.template.functions import ENVIRONMENT_REFS

    return {Use(u.action, render(u.resource, stage_environment, ENVIRONMENT_REFS)) for u in uses}


def policy_document(uses: Iterable[Use]) -> dict:
    """One statement per service and set of actions, its resources as `Fn::Sub` strings."""
    actions_by_resource: dict[str, set[str]] = {}
    for use in uses:
        actions_by_resource.setdefault(use.resource, set()).add(use.action)
    resources_by_actions: dict[tuple[str, ...], list[str]] = {}
    for resource, actions in actions_by_resource.items():
        resources_by_actions.setdefault(tuple(sorted(actions)), []).append(resource)
    statements = []
    counts: dict[str, int] = {}
    for actions, resources in sorted(resources_by_actions.items(), key=lambda item: (item[0][0].split(":")[0], item)):
        service = re.sub(r"[^A-Za-z0-9]", "", actions[0].split(":")[0].title())
        counts[service] = counts.get(service, 0) + 1
        statements.append({
            "Sid": f"{service}{counts[service]}",
            "Effect": "Allow",
            "Action": list(actions),
            "Resource": [{"Fn::Sub": r} if "${" in r else r for r in sorted(resources)],
        })
    return {"Version": "2012-10-17", "Statement": statements}


def allowed(document: dict) -> set[Use]:
    """The (action, resource) pairs a policy document allows (exact names; no wildcards expected)."""
    pairs = set()
    for statement in document.get("Statement", []):
        if statement.get("Effect") != "Allow":
            continue
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for action in actions:
            for resource in resources:
                pairs.add(Use(action, resource["Fn::Sub"] if isinstance(resource, dict) else resource))
    return pairs


class PolicyFile(NamedTuple):
    """A policy file of a deployed stage: for one function, or (function None) for all the others."""

    stage: str
    function: str | None
    path: Path


def policy_files() -> list[PolicyFile]:
    """Every policy file of every stage with `autogen_policy: false`."""
    files = []
    for stage, settings in chalice_config()["stages"].items():
        if settings.get("autogen_policy") is not False or not settings.get("iam_policy_file"):
            continue
        files.append(PolicyFile(stage, None, PROJECT_DIR / ".chalice" / settings["iam_policy_file"]))
        for function, function_settings in sorted(settings.get("lambda_functions", {}).items()):
            if function_settings.get("iam_policy_file"):
                files.append(PolicyFile(stage, function, PROJECT_DIR / ".chalice" / function_settings["iam_policy_file"]))
    return files


def recorded_for(policy: PolicyFile, all_files: list[PolicyFile]) -> dict[Use, str]:
    """The recorded uses a policy file must allow: its function's, or all but those with their own file."""
    if policy.function is not None:
        return RECORDER.uses_by({policy.function})
    own = {f.function for f in all_files if f.stage == policy.stage and f.function is not None}
    return RECORDER.uses_by(own, exclude=True)


def write(document: dict, path: Path) -> None:
    path.write_text(json.dumps(document, indent=2) + "\n")
