"""The API: routes and authorizers invoke the functions' aliases (so canaries carry real traffic), API
Gateway's throttles, its alarm on 5xx answers, and its own answers (no token, denied token, throttled,
...) as RFC 9457 problem documents with the CORS headers, like every answer of the app."""

import json

from chalicelib import errors
from chalicelib.api.problems import PROBLEM_CONTENT_TYPE, problem_of
from infra.template.functions import DRAWING_FUNCTION, drawing_paths, invoked_functions
from infra.template.operations import alarm
from infra.template.shared import APP_NAME, allowed_origins

# --- API Gateway's own answers ------------------------------------------------------------------


def _problem_template(error: errors.DomainError | None) -> str:
    """A problem document as an API Gateway response template (VTL).

    Without an error (the gateway's catch-all answers) the code is the gateway's response type
    (`THROTTLED`, `INTEGRATION_TIMEOUT`, ...) and the title its message; `status` is left out there,
    since a gateway response template has no variable for its status code (the HTTP status says it).
    `errors` is always there, empty, as in every problem document the app sends.
    """
    if error is None:
        return ('{"type": "about:blank", "title": $context.error.messageString, '
                '"detail": $context.error.messageString, "code": "$context.error.responseType", "errors": []}')
    problem = problem_of(error)
    return json.dumps({"type": problem.type, "title": problem.title, "status": problem.status,
                       "detail": problem.detail, "code": problem.code, "errors": []})


def gateway_responses(environment: dict) -> dict:
    """What API Gateway answers itself, before the app runs: problem documents with CORS headers.

    The allowed origin cannot be picked from a list by the gateway: with one allowed origin
    it is named; with several it echoes the request's `Origin`. These answers carry a fixed
    document and never credentials, so echoing reveals nothing.
    """
    origins = allowed_origins(environment)
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
    answers = {
        # No bearer token: API Gateway answers before the authorizer runs.
        "UNAUTHORIZED": errors.Unauthenticated("A bearer token is required"),
        # The authorizer denied the token (forged, expired, another pool's or client's).
        "ACCESS_DENIED": errors.Forbidden("The bearer token is not valid for this API"),
        # Anything else the gateway refuses or fails with: its own type name is the code.
        "DEFAULT_4XX": None,
        "DEFAULT_5XX": None,
    }
    responses = {}
    for response_type, error in answers.items():
        response = {
            "responseParameters": dict(headers),
            "responseTemplates": {"application/json": _problem_template(error)},
        }
        if error is not None:
            response["statusCode"] = str(problem_of(error).status)
        responses[response_type] = response
    return responses


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
# Money without an Idempotency-Key: where payouts go, the personal numbers their taxes are withheld by, and who
# shares a course's revenue.
MONEY_ROUTES = {("PUT", "/instructor/payout-account"), ("PUT", "/instructor/tax-profile"),
                ("PUT", "/instructor/courses/{course_id}/revenue-split")}


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


# --- routes to aliases --------------------------------------------------------------------------


def _alias_invocation_uri(function_uri, function: str | None = None) -> dict:
    """Chalice's `...functions/${Fn.Arn}/invocations` as the same URI for the alias of its function (or `function`)."""
    function = function or invoked_functions(function_uri)[0]
    return {"Fn::Sub": [
        "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Alias}/invocations",
        {"Alias": {"Ref": f"{function}.Alias"}},
    ]}


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
        "Api5xxAlarm": alarm(
            "The API answers 5xx (rolls a deployment back)", "AWS/ApiGateway", "5XXError",
            {"ApiName": body.get("info", {}).get("title", APP_NAME),
             "Stage": chalice["Resources"]["RestAPI"]["Properties"]["StageName"]},
            threshold=5),
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
