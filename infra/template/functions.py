"""Functions, from Chalice's own template for the stage: each gets its settings by kind (route handler,
authorizer, scheduled job, queue worker), an alias with a canary deployment that rolls back on its alarms,
a log group with retention, alarms on errors and throttles, and the identifiers only CloudFormation knows
(user pool, app client, key) as environment variables. A function named in `infra/function_layers.py`
also gets its own layer, which the other functions do not carry.

The routes that answer a drawing (an image or a PDF: the dashboard chart, the certificate) are served by
`DrawingHandler`, a second function made from the same code and app, the only one with Pillow (its layer)
and with more memory. The API function carries no Pillow.
"""

import copy
import json
import re

from infra.function_layers import FUNCTION_LAYERS, dependencies_digest
from infra.template.operations import alarm
from infra.template.shared import ALIAS, APP_NAME, TemplateError, function_name, queue_logical_ids

# The identifiers CloudFormation creates, as every function's environment sees them.
ENVIRONMENT_REFS = {
    "USER_POOL_ID": "UserPool",
    "USER_POOL_CLIENT_ID": "UserPoolClient",
    "MAIL_SENDER": "MailSender",
    "PUBLIC_BASE_URL": "PublicBaseUrl",
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
LOG_RETENTION_DAYS = 30
# Chalice's per-function settings in config.json win over the defaults above.
_CHALICE_SETTINGS = {"lambda_memory_size": "MemorySize", "lambda_timeout": "Timeout",
                     "reserved_concurrency": "ReservedConcurrentExecutions"}

# The routes whose answer may be drawn with Pillow go to a function of their own (same code, same app).
DRAWING_FUNCTION = "DrawingHandler"
DRAWN_MEDIA_TYPES = frozenset({"image/png", "application/pdf"})


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


def invoked_functions(uri) -> list[str]:
    """The functions a Chalice invocation URI names (`...functions/${Bearer.Arn}/invocations` -> `Bearer`)."""
    return re.findall(r"\$\{(\w+)\.Arn\}", json.dumps(uri))


def _authorizer_functions(chalice: dict) -> set[str]:
    api = chalice["Resources"].get("RestAPI", {}).get("Properties", {}).get("DefinitionBody", {})
    names = set()
    for scheme in api.get("securityDefinitions", {}).values():
        names.update(invoked_functions(scheme.get("x-amazon-apigateway-authorizer", {}).get("authorizerUri", {})))
    return names


def function_kinds(chalice: dict) -> dict[str, str]:
    """{function logical id: api | drawing | authorizer | job | worker | function}."""
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


def _chalice_name(function_resource: dict) -> str:
    handler = function_resource["Properties"]["Handler"]
    return handler.rsplit(".", 1)[-1]


def _chalice_function_settings(stage_config: dict, chalice_function) -> dict:
    settings = stage_config.get("lambda_functions", {}).get(chalice_function, {})
    return {target: settings[source] for source, target in _CHALICE_SETTINGS.items() if source in settings}


def _function_alarms(function: str) -> dict:
    return {
        f"{function}{metric}Alarm": alarm(f"{function}: {metric.lower()} (rolls a deployment back)", "AWS/Lambda",
                                          metric, {"FunctionName": {"Ref": function}})
        for metric in ("Errors", "Throttles")
    }


def _layer_resources(function: str, chalice_function: dict, stage: str) -> tuple[list[dict], dict]:
    """The function's layers (Chalice's, then its own) and its own layer's resources, if it has one."""
    layers, resources = chalice_function["Properties"].get("Layers", []), {}
    for layer in FUNCTION_LAYERS:
        if layer.function == function:
            # The merge replaces lists: Chalice's own layers (automatic_layer) are kept first.
            layers = [*layers, {"Ref": layer.logical_id}]
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
    return layers, resources


def function_resources(chalice: dict, stage: str, stage_config: dict) -> tuple[dict, dict[str, int]]:
    """Overrides of Chalice's functions, their alarms and log groups; and each queue's consumer timeout.

    Raises `TemplateError` for a worker on a queue the stage does not declare.
    """
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
                raise TemplateError(f"{function} consumes the queue {queue_name!r}, which no *_QUEUE variable of "
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
        layers, layer_resources = _layer_resources(function, chalice_function, stage)
        if layer_resources:
            properties["Layers"] = layers
            resources.update(layer_resources)
        resources[function] = {"Properties": properties, "DependsOn": [f"{function}LogGroup"]}
        resources[f"{function}LogGroup"] = {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {"LogGroupName": f"/aws/lambda/{function_name(stage, function)}",
                           "RetentionInDays": LOG_RETENTION_DAYS},
        }
        resources.update(alarms)
    return resources, consumer_timeouts
