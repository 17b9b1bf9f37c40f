"""What every call to Toss Payments shares: the API base, HTTP Basic auth with the merchant's secret key
(`<secret key>:`, the key read from SSM once per container), a timeout, and no retries: each caller
retries under its own idempotency key. The secret key is never logged.
"""

import base64

from chalicelib import http
from chalicelib.adapters import secrets


class TossApi:
    def __init__(self, api_base: str, secret_parameter: str, timeout_seconds: float):
        self.api_base = api_base.rstrip("/")
        self.secret_parameter = secret_parameter
        self.timeout_seconds = timeout_seconds

    def request(self, method: str, path: str, *, headers: dict[str, str] | None = None,
                body: bytes | str | None = None, json_body: dict | None = None) -> http.Response:
        """One call as the merchant; raises `http.Unreachable` when Toss does not answer."""
        secret = secrets.parameter(self.secret_parameter)
        authorization = "Basic " + base64.b64encode(f"{secret}:".encode()).decode()
        return http.request(method, self.api_base + path, timeout=self.timeout_seconds, body=body,
                            json_body=json_body, headers={"Authorization": authorization, **(headers or {})})
