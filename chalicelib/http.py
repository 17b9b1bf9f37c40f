"""Outbound HTTPS (the Cognito JWKS, the payment and payout providers) through urllib3.

urllib3 and a CA bundle come with botocore, so calling out adds nothing to the Lambda package
(requests would add four packages for three calls). Certificates are checked against the same
bundle botocore uses for AWS.
"""

import functools
import json
from dataclasses import dataclass

import urllib3
from botocore.httpsession import get_cert_path


class Unreachable(Exception):
    """No answer: connection refused or reset, TLS failure, timeout."""


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self):
        """The body as JSON (`ValueError` when it is not)."""
        return json.loads(self.body)

    def json_object(self) -> dict:
        """The body as a JSON object; `{}` when it is anything else (a provider's error page, an empty body)."""
        try:
            payload = self.json()
        except ValueError:
            return {}
        return payload if isinstance(payload, dict) else {}


@functools.cache
def _pool():
    return urllib3.PoolManager(cert_reqs="CERT_REQUIRED", ca_certs=get_cert_path(True))


def request(method: str, url: str, *, timeout: float, headers: dict[str, str] | None = None,
            body: bytes | str | None = None, json_body: dict | None = None) -> Response:
    """One request, no retries and no redirects: the callers decide (a payment call is retried
    under its idempotency key)."""
    headers = dict(headers or {})
    if json_body is not None:
        body = json.dumps(json_body).encode()
        headers.setdefault("Content-Type", "application/json")
    try:
        answer = _pool().request(method, url, body=body, headers=headers, timeout=timeout, retries=False,
                                 redirect=False)
    except urllib3.exceptions.HTTPError as error:
        raise Unreachable(type(error).__name__) from None
    return Response(answer.status, answer.data)
