"""The CloudFormation that `chalice package --merge-template` merges into Chalice's SAM template.

    python -m infra.template --stage prod --output build/merge-prod.json

Nothing here is written by hand per resource: it is derived, so it follows what other
areas add without edits here.
- Tables come from the PynamoDB models in `chalicelib.store.ALL_MODELS` (keys, GSIs, LSIs,
  TTL), on demand, with point-in-time recovery, kept when the stack goes.
- Buckets and queues come from the stage's variables in `.chalice/config.json`: every
  `*_BUCKET` is a private, encrypted bucket with CORS for presigned uploads from the
  stage's origins; every `*_QUEUE` an encrypted queue with a dead-letter queue.
- Functions come from Chalice's own template for the stage (built in-process, without
  the deployment package): each gets its settings by kind (route handler, authorizer,
  scheduled job, queue worker), an alias with a canary deployment that rolls back on its
  alarms, a log group with retention, alarms on errors and throttles, and the identifiers
  only CloudFormation knows (user pool, app client, key) as environment variables.
  A function named in `infra/function_layers.py` also gets its own layer, which the other
  functions do not carry.
- The routes that answer a drawing (an image or a PDF: the dashboard chart, the certificate) are
  served by `DrawingHandler`, a second function made from the same code and app, the only one
  with Pillow (its layer) and with more memory. The API function carries no Pillow.
- The user pool, app client and groups match `infra/bootstrap.py` (the same settings).
- API Gateway's own answers (no token, denied token, throttled, ...) are RFC 9457 problem
  documents with the CORS headers, like every answer of the app.
"""

import argparse
import copy
import json
import re
import sys
from pathlib import Path

from chalicelib import metrics, roles, store
from chalicelib.api.problems import PROBLEM_CONTENT_TYPE
from infra import bootstrap
from infra.function_layers import FUNCTION_LAYERS, dependencies_digest

PROJECT_DIR = Path(__file__).resolve().parent.parent
APP_NAME = "classpay"
ALIAS = "live"

# The identifiers CloudFormation creates, as every function's environment sees them.
ENVIRONMENT_REFS = {
    "USER_POOL_ID": "UserPool",
    "USER_POOL_CLIENT_ID": "UserPoolClient",
    "MAIL_SENDER": "MailSender",
    "PAYOUT_ACCOUNT_KEY_ID": "PayoutAccountKey",
}

# Per kind of function: jobs run longer than routes; API Gateway gives a route 29 s at most.
# Drawing gets more memory: Lambda's CPU grows with it, and a certificate is a 200 dpi A4 page.
FUNCTION_SETTINGS = {
    "api": {"MemorySize": 512, "Timeout": 28},
    "drawing": {"MemorySize": 1024, "Timeout": 28},
    "authorizer": {"MemorySize": 256, "Timeout": 10},
    "job": {"MemorySize": 512, "Timeout": 300},
    "worker": {"MemorySize": 512, "Timeout": 60},
    "function": {"MemorySize": 256, "Timeout": 30},
}
# A queue worker's concurrency is reserved (it cannot starve the API, nor be starved) and capped
# (it cannot overrun the tables or the payment gateway). SQS event sources need at least 2.
WORKER_CONCURRENCY = 5
# AWS's advice: a queue's visibility timeout is at least six times its consumer's timeout.
VISIBILITY_TIMEOUT_FACTOR = 6
LOG_RETENTION_DAYS = 30
# Chalice's per-function settings in config.json win over the defaults above.
_CHALICE_SETTINGS = {"lambda_memory_size": "MemorySize", "lambda_timeout": "Timeout",
                     "reserved_concurrency": "ReservedConcurrentExecutions"}


# The routes whose answer may be drawn with Pillow go to a function of their own (same code, same app).
DRAWING_FUNCTION = "DrawingHandler"
DRAWN_MEDIA_TYPES = frozenset({"image/png", "application/pdf"})


# --- naming -----------------------------------------------------------------------------------

def logical_id(*words: str) -> str:
    """`payout` + `queue` -> `PayoutQueue`; `instructor_digest` -> `InstructorDigest`."""
    parts = [p for w in words for p in re.split(r"[^A-Za-z0-9]+", w) if p]
    return "".join(p[0].upper() + p[1:] for p in parts)


def resource_of_variable(variable: str, suffix: str) -> str:
    """`PAYOUT_QUEUE` -> `Payout` (the queue is `PayoutQueue`)."""
    return logical_id(variable.removesuffix(suffix).lower())


def table_logical_id(model) -> str:
    return logical_id(model.Meta.short_name, "table")


def _sub(text: str) -> dict:
    return {"Fn::Sub": text}


def _retained(resource: dict) -> dict:
    """Stateful resources outlive the stack (and a replacement): money and identities are kept."""
    return {**resource, "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}


# --- tables -------------------------------------------------------------------------------------

def _key_schema(elements) -> list[dict]:
    """HASH first, then RANGE, as CloudFormation requires (PynamoDB lists them in attribute order)."""
    return sorted((dict(e) for e in elements), key=lambda e: e["KeyType"] != "HASH")


def table_properties(model, table_prefix: str) -> dict:
    """The `AWS::DynamoDB::Table` properties of a PynamoDB model: what `create_table` would create."""
    schema = model._get_schema()
    properties = {
        "TableName": table_prefix + model.Meta.short_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": sorted((dict(a) for a in schema["attribute_definitions"]),
                                       key=lambda a: a["AttributeName"]),
        "KeySchema": _key_schema(schema["key_schema"]),
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
    }
    for source, target in (("global_secondary_indexes", "GlobalSecondaryIndexes"),
                           ("local_secondary_indexes", "LocalSecondaryIndexes")):
        indexes = [
            {"IndexName": index["index_name"], "KeySchema": _key_schema(index["key_schema"]),
             "Projection": dict(index["projection"])}
            for index in schema[source]
        ]
        if indexes:
            properties[target] = sorted(indexes, key=lambda i: i["IndexName"])
    ttl = model._ttl_attribute()
    if ttl is not None:
        properties["TimeToLiveSpecification"] = {"AttributeName": ttl.attr_name, "Enabled": True}
    return properties


def table_resources(table_prefix: str) -> dict:
    return {
        table_logical_id(model): _retained({"Type": "AWS::DynamoDB::Table",
                                             "Properties": table_properties(model, table_prefix)})
        for model in store.ALL_MODELS
    }


# --- identity -----------------------------------------------------------------------------------

def identity_resources(stage: str) -> dict:
    pool = bootstrap.USER_POOL
    resources = {
        "UserPool": _retained({
            "Type": "AWS::Cognito::UserPool",
            "Properties": {
                "UserPoolName": f"{APP_NAME}-{stage}",
                **copy.deepcopy(pool),
                # Threat protection (advanced security) in audit mode: Cognito scores every sign-in's risk and
                # checks passwords against leaked credentials, and publishes both, without blocking anyone. Not
                # ENFORCED: the app signs in server-side, so every attempt comes from Lambda's addresses, and
                # adaptive authentication would judge them all as one client (README, "Security"). It needs the
                # Plus tier, billed per monthly active user.
                "UserPoolTier": "PLUS",
                "UserPoolAddOns": {"AdvancedSecurityMode": "AUDIT"},
                "AccountRecoverySetting": {"RecoveryMechanisms": [{"Name": "verified_email", "Priority": 1}]},
                "DeletionProtection": "ACTIVE",
            },
        }),
        "UserPoolClient": {
            "Type": "AWS::Cognito::UserPoolClient",
            "Properties": {"UserPoolId": {"Ref": "UserPool"}, **copy.deepcopy(bootstrap.APP_CLIENT)},
        },
    }
    for group in roles.ALL_GROUPS:
        resources[logical_id(group, "group")] = {
            "Type": "AWS::Cognito::UserPoolGroup",
            "Properties": {"UserPoolId": {"Ref": "UserPool"}, "GroupName": group},
        }
    return resources


# --- buckets, queues, key -----------------------------------------------------------------------

def _origins(environment: dict) -> list[str]:
    return sorted({o.strip() for o in environment.get("CORS_ALLOWED_ORIGINS", "").split(",") if o.strip()})


def bucket_resources(environment: dict) -> dict:
    resources = {}
    for variable, name in bootstrap.named_resources(environment, "_BUCKET").items():
        bucket = logical_id(resource_of_variable(variable, "_BUCKET"), "bucket")
        resources[bucket] = _retained({
            "Type": "AWS::S3::Bucket",
            "Properties": {
                "BucketName": name,
                "BucketEncryption": {"ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True, "IgnorePublicAcls": True,
                    "BlockPublicPolicy": True, "RestrictPublicBuckets": True},
                "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
                "VersioningConfiguration": {"Status": "Enabled"},
                "LifecycleConfiguration": {"Rules": [
                    {"Id": "abort-incomplete-uploads", "Status": "Enabled",
                     "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}},
                    {"Id": "expire-replaced-versions", "Status": "Enabled",
                     "NoncurrentVersionExpiration": {"NoncurrentDays": 30}}]},
                # Browsers PUT lesson files straight to S3 with a presigned URL, and read them back.
                "CorsConfiguration": {"CorsRules": [{
                    "AllowedMethods": ["GET", "HEAD", "PUT"],
                    "AllowedOrigins": _origins(environment) or ["*"],
                    "AllowedHeaders": ["Content-Type", "Content-MD5", "x-amz-*"],
                    "ExposedHeaders": ["ETag"],
                    "MaxAge": 3000,
                }]},
            },
        })
        resources[bucket + "Policy"] = {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": {"Ref": bucket},
                "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
                    "Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                    "Resource": [_sub(f"arn:${{AWS::Partition}}:s3:::{name}"),
                                 _sub(f"arn:${{AWS::Partition}}:s3:::{name}/*")],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }]},
            },
        }
    return resources


def queue_logical_ids(environment: dict) -> dict[str, tuple[str, str]]:
    """{queue name: (queue logical id, dead-letter queue logical id)} for every `*_QUEUE`."""
    return {
        name: (logical_id(resource_of_variable(variable, "_QUEUE"), "queue"),
               logical_id(resource_of_variable(variable, "_QUEUE"), "dead", "letter", "queue"))
        for variable, name in bootstrap.named_resources(environment, "_QUEUE").items()
    }


def queue_resources(environment: dict, consumer_timeouts: dict[str, int]) -> dict:
    resources = {}
    for name, (queue, dead_letters) in queue_logical_ids(environment).items():
        timeout = consumer_timeouts.get(name, FUNCTION_SETTINGS["worker"]["Timeout"])
        resources[dead_letters] = {
            "Type": "AWS::SQS::Queue",
            "Properties": {"QueueName": f"{name}-dlq", "SqsManagedSseEnabled": True,
                           "MessageRetentionPeriod": 14 * 24 * 3600},
        }
        resources[queue] = {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": name,
                "SqsManagedSseEnabled": True,
                "VisibilityTimeout": timeout * VISIBILITY_TIMEOUT_FACTOR,
                "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": [dead_letters, "Arn"]},
                                  "maxReceiveCount": bootstrap.MAX_RECEIVE_COUNT},
            },
        }
    return resources


def key_resources(stage: str) -> dict:
    return {
        "PayoutAccountKey": _retained({
            "Type": "AWS::KMS::Key",
            "Properties": {
                "Description": f"{APP_NAME} {stage}: payout account numbers",
                "EnableKeyRotation": True,
                "KeyPolicy": {"Version": "2012-10-17", "Statement": [{
                    # The account's IAM policies decide who uses the key (the app's role: see
                    # .chalice/policy-<stage>.json), as with the default key policy.
                    "Sid": "AccountIamPoliciesDecide", "Effect": "Allow",
                    "Principal": {"AWS": _sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")},
                    "Action": "kms:*", "Resource": "*",
                }]},
            },
        }),
        "PayoutAccountKeyAlias": {
            "Type": "AWS::KMS::Alias",
            "Properties": {"AliasName": bootstrap.payout_account_key_alias(stage),
                           "TargetKeyId": {"Ref": "PayoutAccountKey"}},
        },
    }


# --- API Gateway's own answers ------------------------------------------------------------------

def _problem_template(status: int | None, code: str, title: str, detail: str) -> str:
    """A problem document as an API Gateway response template (VTL).

    Without a status (the gateway's catch-all answers) the code is the gateway's response type
    (`THROTTLED`, `INTEGRATION_TIMEOUT`, ...) and the title its message.
    """
    if status is None:
        return ('{"type": "about:blank", "title": $context.error.messageString, '
                '"detail": $context.error.messageString, "code": "$context.error.responseType"}')
    problem = {"type": f"urn:classpay:problem:{code.lower().replace('_', '-')}", "title": title,
               "status": status, "detail": detail, "code": code}
    return json.dumps(problem)


def gateway_responses(environment: dict) -> dict:
    """What API Gateway answers itself, before the app runs: problem documents with CORS headers.

    The allowed origin cannot be picked from a list by the gateway: with one allowed origin
    it is named; with several it echoes the request's `Origin`. These answers carry a fixed
    document and never credentials, so echoing reveals nothing.
    """
    origins = _origins(environment)
    if "*" in origins:
        allow_origin = "'*'"
    elif len(origins) == 1:
        allow_origin = f"'{origins[0]}'"
    else:
        allow_origin = "method.request.header.Origin"
    headers = {
        "gatewayresponse.header.Access-Control-Allow-Origin": allow_origin,
        "gatewayresponse.header.Access-Control-Expose-Headers": "'X-Request-Id'",
        "gatewayresponse.header.Vary": "'Origin'",
        "gatewayresponse.header.Content-Type": f"'{PROBLEM_CONTENT_TYPE}'",
        "gatewayresponse.header.X-Request-Id": "context.requestId",
    }
    from chalicelib import errors

    answers = {
        # No bearer token: API Gateway answers before the authorizer runs.
        "UNAUTHORIZED": (401, errors.Unauthenticated.code, errors.Unauthenticated.title,
                         "A bearer token is required"),
        # The authorizer denied the token (forged, expired, another pool's or client's).
        "ACCESS_DENIED": (403, errors.Forbidden.code, errors.Forbidden.title,
                          "The bearer token is not valid for this API"),
        # Anything else the gateway refuses or fails with: its own type name is the code.
        "DEFAULT_4XX": (None, "", "", ""),
        "DEFAULT_5XX": (None, "", "", ""),
    }
    responses = {}
    for response_type, (status, code, title, detail) in answers.items():
        response = {
            "responseParameters": dict(headers),
            "responseTemplates": {"application/json": _problem_template(status, code, title, detail)},
        }
        if status:
            response["statusCode"] = str(status)
        responses[response_type] = response
    return responses


# --- functions: settings, aliases, canaries, alarms ---------------------------------------------

def chalice_template(stage: str) -> dict:
    """Chalice's SAM template for `stage`, built in-process without the deployment package.

    Loading the app applies the stage's environment variables, as `chalice package` does.
    """
    from chalice.cli.factory import CLIFactory
    from chalice.deploy.appgraph import ApplicationGraphBuilder, DependencyBuilder
    from chalice.deploy.deployer import BuildStage, InjectDefaults, PolicyGenerator, SwaggerBuilder
    from chalice.deploy.swagger import CFNSwaggerGenerator
    from chalice.package import SAMTemplateGenerator
    from chalice.policy import AppPolicyGenerator
    from chalice.utils import OSUtils

    class _Options:
        def service_principal(self, service: str) -> str:
            return f"{service}.amazonaws.com"

    import os

    # environ=os.environ, as the `chalice` CLI does: the app is imported with the stage's variables set.
    factory = CLIFactory(project_dir=str(PROJECT_DIR), environ=os.environ)
    config = factory.create_config_obj(chalice_stage_name=stage)
    resources = DependencyBuilder().build_dependencies(ApplicationGraphBuilder().build(config, stage))
    osutils = OSUtils()
    BuildStage([InjectDefaults(), PolicyGenerator(AppPolicyGenerator(osutils), osutils),
                SwaggerBuilder(CFNSwaggerGenerator())]).execute(config, resources)
    return json.loads(json.dumps(SAMTemplateGenerator(config, _Options()).generate(resources), default=str))


def _authorizer_functions(chalice: dict) -> set[str]:
    api = chalice["Resources"].get("RestAPI", {}).get("Properties", {}).get("DefinitionBody", {})
    names = set()
    for scheme in api.get("securityDefinitions", {}).values():
        uri = scheme.get("x-amazon-apigateway-authorizer", {}).get("authorizerUri", {})
        names.update(re.findall(r"\$\{(\w+)\.Arn\}", json.dumps(uri)))
    return names


def function_kinds(chalice: dict) -> dict[str, str]:
    """{function logical id: api | authorizer | job | worker | function}."""
    authorizers = _authorizer_functions(chalice)
    kinds = {}
    for name, resource in chalice["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        events = {e["Type"] for e in resource["Properties"].get("Events", {}).values()}
        if name == "APIHandler":
            kinds[name] = "api"
        elif name == DRAWING_FUNCTION:
            kinds[name] = "drawing"
        elif name in authorizers:
            kinds[name] = "authorizer"
        elif "SQS" in events:
            kinds[name] = "worker"
        elif events & {"Schedule", "CloudWatchEvent"}:
            kinds[name] = "job"
        else:
            kinds[name] = "function"
    return kinds


def _queue_name_of(event_queue) -> str:
    text = event_queue["Fn::Sub"] if isinstance(event_queue, dict) else event_queue
    return text.rsplit(":", 1)[-1]


def function_name(stage: str, function: str) -> str:
    """Named after the stage, so the role's policy can name their log groups before they exist."""
    return f"{APP_NAME}-{stage}-{function}"


def _chalice_function_settings(stage_config: dict, chalice_function) -> dict:
    settings = stage_config.get("lambda_functions", {}).get(chalice_function, {})
    return {target: settings[source] for source, target in _CHALICE_SETTINGS.items() if source in settings}


def _function_alarms(function: str) -> dict:
    alarms = {}
    for metric in ("Errors", "Throttles"):
        alarms[f"{function}{metric}Alarm"] = {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmDescription": f"{function}: {metric.lower()} (rolls a deployment back)",
                "Namespace": "AWS/Lambda", "MetricName": metric,
                "Dimensions": [{"Name": "FunctionName", "Value": {"Ref": function}}],
                "Statistic": "Sum", "Period": 60, "EvaluationPeriods": 1,
                "Threshold": 1, "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                "TreatMissingData": "notBreaching",
                "AlarmActions": [{"Ref": "AlarmTopic"}], "OKActions": [{"Ref": "AlarmTopic"}],
            },
        }
    return alarms


def function_resources(chalice: dict, stage: str, stage_config: dict) -> tuple[dict, dict[str, int]]:
    """Overrides of Chalice's functions, their alarms and log groups; and each queue's consumer timeout."""
    resources: dict = {}
    consumer_timeouts: dict[str, int] = {}
    queues = queue_logical_ids(stage_config.get("environment_variables", {}))
    for function, kind in sorted(function_kinds(chalice).items()):
        chalice_function = chalice["Resources"][function]
        chalice_name = "api_handler" if kind in ("api", "drawing") else _chalice_name(chalice_function)
        settings = {**FUNCTION_SETTINGS[kind], **_chalice_function_settings(stage_config, chalice_name)}
        alarms = _function_alarms(function)
        rollback_alarms = [{"Ref": name} for name in sorted(alarms)]
        if kind in ("api", "drawing", "authorizer"):
            rollback_alarms.insert(0, {"Ref": "Api5xxAlarm"})
        properties = {
            "FunctionName": function_name(stage, function),
            **settings,
            "Environment": {"Variables": {**{name: {"Ref": ref} for name, ref in ENVIRONMENT_REFS.items()},
                                          # read by nothing: a new layer publishes a new version (see the function)
                                          "DEPENDENCIES_DIGEST": dependencies_digest(function)}},
            "AutoPublishAlias": ALIAS,
            # A new version when any property changes (by default only the code, environment and memory
            # count: a new timeout would stay on $LATEST). Layers are Refs SAM does not resolve for this:
            # DEPENDENCIES_DIGEST in the environment stands for them.
            "AutoPublishAliasAllProperties": True,
            "DeploymentPreference": {"Type": {"Ref": "DeploymentType"}, "Alarms": rollback_alarms},
        }
        events = {}
        for event_name, event in chalice_function["Properties"].get("Events", {}).items():
            if event["Type"] != "SQS":
                continue
            queue_name = _queue_name_of(event["Properties"]["Queue"])
            if queue_name not in queues:
                raise SystemExit(f"{function} consumes the queue {queue_name!r}, which no *_QUEUE variable of "
                                 f"the stage names in .chalice/config.json: add it there")
            consumer_timeouts[queue_name] = max(consumer_timeouts.get(queue_name, 0), settings["Timeout"])
            event_properties = {
                # Fn::Sub like Chalice's (the merge would keep both keys of two different functions);
                # naming the queue resource makes CloudFormation create it before the event source.
                "Queue": {"Fn::Sub": "${" + queues[queue_name][0] + ".Arn}"},
                "FunctionResponseTypes": ["ReportBatchItemFailures"],
            }
            if "ScalingConfig" not in event["Properties"]:
                event_properties["ScalingConfig"] = {"MaximumConcurrency": WORKER_CONCURRENCY}
            events[event_name] = {"Properties": event_properties}
            properties.setdefault("ReservedConcurrentExecutions", WORKER_CONCURRENCY)
        if events:
            properties["Events"] = events
        for layer in FUNCTION_LAYERS:
            if layer.function == function:
                # The merge replaces lists: Chalice's own layers (automatic_layer) are kept first.
                properties["Layers"] = [*chalice_function["Properties"].get("Layers", []), {"Ref": layer.logical_id}]
                resources[layer.logical_id] = {
                    "Type": "AWS::Serverless::LayerVersion",
                    "Properties": {
                        "Description": f"{function} only: {', '.join(layer.packages())}",
                        "ContentUri": f"./{layer.zip_name}",  # built by `python -m infra.function_layers out/`
                        "LayerName": f"{APP_NAME}-{stage}-{layer.logical_id}",
                        "CompatibleRuntimes": [chalice_function["Properties"]["Runtime"]],
                        "CompatibleArchitectures": ["x86_64"],  # the wheels of function_layers.PLATFORM
                    },
                }
        resources[function] = {"Properties": properties, "DependsOn": [f"{function}LogGroup"]}
        resources[f"{function}LogGroup"] = {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {"LogGroupName": f"/aws/lambda/{function_name(stage, function)}",
                           "RetentionInDays": LOG_RETENTION_DAYS},
        }
        resources.update(alarms)
    return resources, consumer_timeouts


def drawing_paths() -> set[str]:
    """API paths with a route that may answer an image or a PDF (the app is loaded: its routes are declared)."""
    from chalicelib.api.routing import ENDPOINTS

    return {e.path for e in ENDPOINTS if {e.content_type, *e.alternatives} & DRAWN_MEDIA_TYPES}


def with_drawing_function(chalice: dict) -> dict:
    """Chalice's template with `DrawingHandler`: the API function again (same code, handler and role)."""
    if "APIHandler" not in chalice["Resources"] or not drawing_paths():
        return chalice
    chalice = copy.deepcopy(chalice)
    drawing = copy.deepcopy(chalice["Resources"]["APIHandler"])
    drawing["Properties"]["CodeUri"] = "./deployment.zip"  # where `chalice package` puts every function's code
    chalice["Resources"][DRAWING_FUNCTION] = drawing
    return chalice


def _chalice_name(function_resource: dict) -> str:
    handler = function_resource["Properties"]["Handler"]
    return handler.rsplit(".", 1)[-1]


# --- throttling ---------------------------------------------------------------------------------

# API Gateway's token buckets (requests per second, burst), for the whole stage (all clients together: API
# Gateway has no per-client limit without usage plans and API keys) and tighter on the routes that guess
# passwords, create accounts or move money. The per-client limits are the app's (attempt_limits).
# Sized for a launch (bench/launch_day.py: 200 buyers of one course within a second, each signed up that day),
# far below the account's 10,000 rps, so that a script cannot flood the routes behind them.
STAGE_THROTTLE = (500, 1000)
AUTH_THROTTLE = (50, 100)       # every /auth/* route
SIGNUP_THROTTLE = (20, 50)      # accounts are created by people (a campaign's burst), not scripts
MONEY_THROTTLE = (100, 250)     # every route that takes an Idempotency-Key (orders, refunds, top-ups, confirms)
MONEY_ROUTES = {("PUT", "/instructor/payout-account")}  # where payouts go: money, without an Idempotency-Key


def _money_routes() -> set[tuple[str, str]]:
    from app import app  # noqa: F401 - declares every endpoint
    from chalicelib.api.routing import ENDPOINTS

    return {(e.method, e.path) for e in ENDPOINTS if e.idempotent} | MONEY_ROUTES


def route_throttles(chalice: dict) -> dict[tuple[str, str], tuple[int, int]]:
    """(method, path) -> (rate, burst) of each route with a limit tighter than the stage's."""
    money = _money_routes()
    limits = {}
    for path, methods in chalice["Resources"]["RestAPI"]["Properties"]["DefinitionBody"].get("paths", {}).items():
        for method in methods:
            route = (method.upper(), path)
            if route == ("POST", "/auth/signup"):
                limits[route] = SIGNUP_THROTTLE
            elif path.startswith("/auth/") and method.upper() != "OPTIONS":
                limits[route] = AUTH_THROTTLE
            elif route in money:
                limits[route] = MONEY_THROTTLE
    return limits


def resource_path(path: str) -> str:
    """A route as a method setting names it: `/orders/{order_id}` is `/~1orders~1{order_id}` (/ escaped as ~1)."""
    return "/" + path.replace("/", "~1")


def method_settings(chalice: dict) -> list[dict]:
    """The stage's `MethodSettings`: its default throttle (`/*`, `*`), then each tighter route's."""
    def setting(path: str, method: str, rate: int, burst: int) -> dict:
        return {"ResourcePath": path, "HttpMethod": method,
                "ThrottlingRateLimit": rate, "ThrottlingBurstLimit": burst}

    settings = [setting("/*", "*", *STAGE_THROTTLE)]
    for (method, path), (rate, burst) in sorted(route_throttles(chalice).items(), key=lambda r: (r[0][1], r[0][0])):
        settings.append(setting(resource_path(path), method, rate, burst))
    return settings


def api_resources(chalice: dict, environment: dict) -> dict:
    """Route the API and its authorizers to the functions' aliases, so canaries carry real traffic."""
    if "RestAPI" not in chalice["Resources"]:
        return {}
    body = chalice["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    drawn = drawing_paths() if DRAWING_FUNCTION in chalice["Resources"] else set()
    paths = {}
    for path, methods in body.get("paths", {}).items():
        for method, operation in methods.items():
            integration = operation.get("x-amazon-apigateway-integration")
            if integration is not None:
                uri = _alias_invocation_uri(integration["uri"], DRAWING_FUNCTION if path in drawn else None)
                paths.setdefault(path, {})[method] = {"x-amazon-apigateway-integration": {"uri": uri}}
    security = {}
    for scheme, definition in body.get("securityDefinitions", {}).items():
        authorizer = definition.get("x-amazon-apigateway-authorizer")
        if authorizer is None:
            continue
        security[scheme] = {"x-amazon-apigateway-authorizer": {
            "authorizerUri": _alias_invocation_uri(authorizer["authorizerUri"])}}
    resources = {
        "RestAPI": {"Properties": {
            "MethodSettings": method_settings(chalice),
            "DefinitionBody": {"paths": paths, "securityDefinitions": security,
                               "x-amazon-apigateway-gateway-responses": gateway_responses(environment)},
        }},
        "Api5xxAlarm": {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmDescription": "The API answers 5xx (rolls a deployment back)",
                "Namespace": "AWS/ApiGateway", "MetricName": "5XXError",
                "Dimensions": [{"Name": "ApiName", "Value": body.get("info", {}).get("title", APP_NAME)},
                               {"Name": "Stage", "Value": chalice["Resources"]["RestAPI"]["Properties"]["StageName"]}],
                "Statistic": "Sum", "Period": 60, "EvaluationPeriods": 1,
                "Threshold": 5, "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                "TreatMissingData": "notBreaching",
                "AlarmActions": [{"Ref": "AlarmTopic"}], "OKActions": [{"Ref": "AlarmTopic"}],
            },
        },
    }
    # API Gateway invokes the aliases, so it needs their permission too (Chalice's own permissions
    # name the unqualified functions; they stay, and the merge cannot swap their Fn::GetAtt).
    for name, resource in chalice["Resources"].items():
        if resource["Type"] == "AWS::Lambda::Permission" and name.endswith("InvokePermission"):
            function = name.removesuffix("InvokePermission")
            for invoked in [function, *([DRAWING_FUNCTION] if drawn and function == "APIHandler" else [])]:
                resources[f"{invoked}AliasInvokePermission"] = {
                    "Type": "AWS::Lambda::Permission",
                    "Properties": {**resource["Properties"], "FunctionName": {"Ref": f"{invoked}.Alias"}},
                }
    return resources


def _alias_invocation_uri(function_uri, function: str | None = None) -> dict:
    """Chalice's `...functions/${Fn.Arn}/invocations` as the same URI for the alias of its function (or `function`)."""
    function = function or re.search(r"\$\{(\w+)\.Arn\}", json.dumps(function_uri)).group(1)
    return {"Fn::Sub": [
        "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Alias}/invocations",
        {"Alias": {"Ref": f"{function}.Alias"}},
    ]}


# --- operations: alarm topic, queue and reconciliation alarms -----------------------------------

def operations_resources(stage: str, environment: dict) -> dict:
    resources = {
        # Not encrypted with alias/aws/sns: that key's policy does not let CloudWatch alarms publish.
        "AlarmTopic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": f"{APP_NAME}-{stage}-alarms"}},
        "AlarmEmailSubscription": {
            "Type": "AWS::SNS::Subscription", "Condition": "HasAlarmEmail",
            "Properties": {"TopicArn": {"Ref": "AlarmTopic"}, "Protocol": "email",
                           "Endpoint": {"Ref": "AlarmEmail"}},
        },
        "ReconciliationFailureAlarm": {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmDescription": "The ledger reconciliation found a broken invariant",
                "Namespace": metrics.NAMESPACE, "MetricName": metrics.RECONCILIATION_FAILURES,
                "Dimensions": [{"Name": "Stage", "Value": stage}],
                "Statistic": "Sum", "Period": 3600, "EvaluationPeriods": 1,
                "Threshold": 1, "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                "TreatMissingData": "notBreaching",
                "AlarmActions": [{"Ref": "AlarmTopic"}], "OKActions": [{"Ref": "AlarmTopic"}],
            },
        },
    }
    for _name, (queue, dead_letters) in queue_logical_ids(environment).items():
        resources[f"{dead_letters}Alarm"] = {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmDescription": f"Messages of {queue} failed {bootstrap.MAX_RECEIVE_COUNT} times",
                "Namespace": "AWS/SQS", "MetricName": "ApproximateNumberOfMessagesVisible",
                "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": [dead_letters, "QueueName"]}}],
                "Statistic": "Maximum", "Period": 300, "EvaluationPeriods": 1,
                "Threshold": 1, "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                "TreatMissingData": "notBreaching",
                "AlarmActions": [{"Ref": "AlarmTopic"}], "OKActions": [{"Ref": "AlarmTopic"}],
            },
        }
    return resources


# --- the whole merge template -------------------------------------------------------------------

def stage_config(stage: str) -> dict:
    config = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text())
    return config["stages"][stage]


def generate(stage: str, chalice: dict | None = None) -> dict:
    """The merge template for `stage` (`chalice`: Chalice's own template, built when not given)."""
    config = stage_config(stage)
    environment = config["environment_variables"]
    chalice = with_drawing_function(chalice if chalice is not None else chalice_template(stage))
    functions, consumer_timeouts = function_resources(chalice, stage, config)
    if DRAWING_FUNCTION in functions:  # not in Chalice's template: the whole resource, not an override
        functions[DRAWING_FUNCTION] = merged({"Resources": {DRAWING_FUNCTION: functions[DRAWING_FUNCTION]}},
                                             {"Resources": {DRAWING_FUNCTION: chalice["Resources"][DRAWING_FUNCTION]}}
                                             )["Resources"][DRAWING_FUNCTION]
    resources = {
        **table_resources(environment["TABLE_PREFIX"]),
        **identity_resources(stage),
        **bucket_resources(environment),
        **queue_resources(environment, consumer_timeouts),
        **key_resources(stage),
        **operations_resources(stage, environment),
        **api_resources(chalice, environment),
        **functions,
    }
    outputs = {
        "UserPoolId": {"Value": {"Ref": "UserPool"}},
        "UserPoolClientId": {"Value": {"Ref": "UserPoolClient"}},
        "AlarmTopicArn": {"Value": {"Ref": "AlarmTopic"}},
    }
    for name, (queue, _) in queue_logical_ids(environment).items():
        outputs[f"{queue}Url"] = {"Value": {"Ref": queue}, "Description": name}
    return {
        "Parameters": {
            "MailSender": {"Type": "String", "Default": environment["MAIL_SENDER"],
                           "Description": "The SES identity (verified address) mail is sent from"},
            "AlarmEmail": {"Type": "String", "Default": "",
                           "Description": "Where alarms are mailed (empty: subscribe to AlarmTopic yourself)"},
            "DeploymentType": {
                "Type": "String", "Default": "Canary10Percent5Minutes",
                "AllowedValues": ["Canary10Percent5Minutes", "Canary10Percent10Minutes",
                                  "Linear10PercentEvery1Minute", "AllAtOnce"],
                "Description": "How a new version takes traffic; its alarms roll it back"},
        },
        "Conditions": {"HasAlarmEmail": {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}},
        "Resources": resources,
        "Outputs": outputs,
    }


def merged(overrides: dict, chalice: dict) -> dict:
    """What `chalice package --merge-template` makes of the two (Chalice's own deep merge)."""
    from chalice.package import TemplateDeepMerger

    return TemplateDeepMerger().merge(overrides, chalice)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="prod")
    parser.add_argument("--output", help="file to write (default: stdout)")
    parser.add_argument("--merged", action="store_true",
                        help="print the merge template and Chalice's, merged as `chalice package` does")
    args = parser.parse_args(argv)
    if args.merged:
        chalice = chalice_template(args.stage)
        document = {"merge": generate(args.stage, chalice), "merged": merged(generate(args.stage, chalice), chalice)}
    else:
        document = generate(args.stage)
    text = json.dumps(document, indent=2, sort_keys=True) + "\n"
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
