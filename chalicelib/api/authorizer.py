"""The built-in authorizer in front of every protected route.

API Gateway (and `chalice local`, and the test client) call it with the bearer
token; it verifies the token and hands the caller's id and groups to the route
as context. A token that fails verification gets an explicit Deny, which API
Gateway answers with 403 and `chalice local` does too; no token at all is a
401 from the gateway before this runs.
"""

from chalice import AuthResponse, Blueprint

from chalicelib.services import tokens

authorizer_blueprint = Blueprint(__name__)


# API Gateway caches the answer per token: 60 s bounds how long a token outlives its expiry.
@authorizer_blueprint.authorizer(name="bearer", ttl_seconds=60)
def bearer(auth_request):
    try:
        caller = tokens.verify(auth_request.token or "")
    except tokens.InvalidToken:
        return _deny(auth_request.method_arn)
    return AuthResponse(
        routes=["*"],
        principal_id=caller.user_id,
        context={"groups": ",".join(sorted(caller.groups))},
    )


def _deny(method_arn: str) -> dict:
    # Deny the whole API for this token: API Gateway caches the answer per token.
    api_arn = "/".join(method_arn.split("/")[:1]) + "/*"
    return {
        "principalId": "anonymous",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": [api_arn]}],
        },
        "context": {},
    }
