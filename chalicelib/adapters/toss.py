"""What every call to Toss Payments shares: the API base, HTTP Basic auth with the merchant's secret key
(`<secret key>:`, the key read from SSM once per container), a timeout, and no retries: each caller
retries under its own idempotency key. The secret key is never logged. And how Toss signs its payout and seller
webhooks (`webhook_signature_valid`).
"""

import base64
import binascii
import hashlib
import hmac

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


def webhook_signature(payload: bytes, transmission_time: str, security_key: str) -> str:
    """One signature as Toss sends it in `tosspayments-webhook-signature`: `v1:` and the base64 of
    HMAC-SHA256 over `{payload}:{tosspayments-webhook-transmission-time}` keyed with the merchant's security
    key (Toss's webhook docs for `payout.changed` and `seller.changed`). The key is used as the text Toss
    issues (its UTF-8 bytes): the docs do not say otherwise; check against the sandbox before going live."""
    digest = hmac.new(security_key.encode(), payload + b":" + transmission_time.encode(), hashlib.sha256).digest()
    return "v1:" + base64.b64encode(digest).decode()


def webhook_signature_valid(payload: bytes, transmission_time: str, header: str, security_key: str) -> bool:
    """Whether any `v1:` signature of the header (Toss sends two, `v1:<sig>,v1:<sig>`, while it rotates keys)
    is the payload's; compared in constant time, over the raw body exactly as received."""
    expected = base64.b64decode(webhook_signature(payload, transmission_time, security_key)[3:])
    valid = False
    for part in header.split(","):
        version, _, encoded = part.strip().partition(":")
        try:
            candidate = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            continue
        valid |= version == "v1" and hmac.compare_digest(candidate, expected)
    return valid
