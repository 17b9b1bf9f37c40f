"""Toss Payments' payouts API (지급대행 v2; `PAYOUT_GATEWAY` `toss`).

The seller (the instructor, `refSellerId`) with its bank account, then `POST /v2/payouts` with
`refPayoutId` = our payout id, both bodies encrypted as JWE (`dir`, `A256GCM`) with the merchant's
security key from SSM, as the merchant (`toss.py`). Verify it against Toss's sandbox before going live;
in particular it assumes that registering a `refSellerId` again answers the existing seller, and it does
not yet update a seller whose bank account changed (see the report of issue 6).

`cryptography` is imported inside the JWE functions only: it ships in the payout worker's own layer
(infra/function_layers.py).
"""

import base64
import hashlib
import json
import logging
import os
from datetime import UTC, datetime

from chalicelib import http
from chalicelib.adapters import secrets
from chalicelib.adapters.payouts import FAILED, PAID, PENDING, PayoutOutcome, PayoutRequest
from chalicelib.adapters.toss import TossApi

log = logging.getLogger("classpay.toss_payouts")

# Toss payout statuses by what they mean for us.
TOSS_PAID = frozenset({"COMPLETED"})
TOSS_FAILED = frozenset({"FAILED", "CANCELED"})
# REQUESTED, IN_PROGRESS (and anything unknown): pending.


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jwe_encrypt(payload: dict, security_key_hex: str, now: datetime | None = None) -> str:
    """A compact JWE of `payload`: `alg` dir, `enc` A256GCM, with `iat` and `nonce` headers (Toss's form)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    header = {"alg": "dir", "enc": "A256GCM",
              "iat": (now or datetime.now(UTC)).astimezone().isoformat(timespec="seconds"),
              "nonce": os.urandom(16).hex()}
    protected = _b64url(json.dumps(header, separators=(",", ":")).encode())
    iv = os.urandom(12)
    sealed = AESGCM(bytes.fromhex(security_key_hex)).encrypt(iv, json.dumps(payload).encode(), protected.encode())
    ciphertext, tag = sealed[:-16], sealed[-16:]
    return ".".join((protected, "", _b64url(iv), _b64url(ciphertext), _b64url(tag)))


def jwe_decrypt(token: str, security_key_hex: str) -> dict:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    protected, _key, iv, ciphertext, tag = token.split(".")
    plain = AESGCM(bytes.fromhex(security_key_hex)).decrypt(
        _b64url_decode(iv), _b64url_decode(ciphertext) + _b64url_decode(tag), protected.encode())
    return json.loads(plain)


def _entity(payload: dict) -> dict:
    """Toss wraps what it answers in `entityBody`."""
    body = payload.get("entityBody")
    return body if isinstance(body, dict) else payload


class TossPayouts:
    name = "toss"

    def __init__(self, api_base: str, secret_parameter: str, security_key_parameter: str,
                 timeout_seconds: float = 60.0):  # Toss: payout calls may take up to 60 s
        self.api = TossApi(api_base, secret_parameter, timeout_seconds)
        self.security_key_parameter = security_key_parameter

    @staticmethod
    def seller_id(instructor_id: str) -> str:
        """Our `refSellerId` for an instructor (stable, at most 20 characters)."""
        return "cp" + hashlib.sha256(instructor_id.encode()).hexdigest()[:18]

    def _post(self, path: str, body: dict, idempotency_key: str) -> tuple[int, dict]:
        security_key = secrets.parameter(self.security_key_parameter)
        try:
            response = self.api.request("POST", path, body=jwe_encrypt(body, security_key), headers={
                "Content-Type": "text/plain", "TossPayments-api-security-mode": "ENCRYPTION",
                "Idempotency-Key": idempotency_key})
        except http.Unreachable as error:
            log.warning("toss payouts %s did not answer: %s", path, type(error).__name__)
            return 0, {}
        text = response.text.strip()
        if text.count(".") != 4:  # not encrypted: an error Toss answers in plain JSON
            return response.status, response.json_object()
        try:
            payload = jwe_decrypt(text, security_key)
        except (ValueError, KeyError):
            payload = {}
        return response.status, payload if isinstance(payload, dict) else {}

    def _get(self, path: str) -> tuple[int, dict]:
        try:
            response = self.api.request("GET", path)
        except http.Unreachable:
            return 0, {}
        return response.status, response.json_object()

    def _register_seller(self, request: PayoutRequest) -> str | None:
        """The seller for the instructor's account (registering again answers the existing one)."""
        status, payload = self._post("/v2/sellers", {
            "refSellerId": self.seller_id(request.instructor_id),
            "businessType": "INDIVIDUAL",
            "individual": {"name": request.holder_name},
            "account": {"bankCode": request.bank_code, "accountNumber": request.account_number,
                        "holderName": request.holder_name},
        }, idempotency_key=f"seller-{request.payout_id}")
        seller = _entity(payload)
        if status == 200 and seller.get("id"):
            return str(seller["id"])
        log.info("toss seller registration answered %s %s", status, payload.get("code", ""))
        return None

    @staticmethod
    def _outcome(item: dict) -> PayoutOutcome:
        toss_status, reference = str(item.get("status", "")), (str(item.get("id", "")) or None)
        if toss_status in TOSS_PAID:
            return PayoutOutcome(PAID, reference=reference)
        if toss_status in TOSS_FAILED:
            error = item.get("error") if isinstance(item.get("error"), dict) else {}
            return PayoutOutcome(FAILED, reference=reference, reason=str(error.get("code") or toss_status))
        return PayoutOutcome(PENDING, reference=reference, reason=toss_status or "unknown")

    def send(self, request: PayoutRequest) -> PayoutOutcome:
        seller = self._register_seller(request)
        if seller is None:
            return PayoutOutcome(PENDING, reason="the seller could not be registered yet")
        # The same Idempotency-Key on every attempt: Toss answers a repeat with the first answer, so
        # the current state is then read by the payout's id.
        status, payload = self._post("/v2/payouts", {"items": [{
            "refPayoutId": request.payout_id, "destination": seller, "scheduleType": "EXPRESS",
            "amount": {"currency": request.amount.currency, "value": request.amount.amount},
            "transactionDescription": request.description,
            # echoed in the payout.changed webhook: with refPayoutId it finds the payout (services/webhooks.py)
            "metadata": {"instructorId": request.instructor_id},
        }]}, idempotency_key=f"payout-{request.payout_id}")
        items = _entity(payload).get("items") or []
        if status != 200 or not items:
            error = payload.get("error") if isinstance(payload.get("error"), dict) else payload
            code = str(error.get("code", ""))
            log.info("toss payout answered %s %s", status, code)
            if 400 <= status < 500 and status not in (401, 409, 429) and code:
                return PayoutOutcome(FAILED, reason=code)  # refused as asked: final
            return PayoutOutcome(PENDING, reason=code or f"HTTP {status}")  # unknown: ask again later
        outcome = self._outcome(items[0])
        if outcome.status == PENDING and outcome.reference:
            status, current = self._get(f"/v2/payouts/{outcome.reference}")
            if status == 200:
                outcome = self._outcome(_entity(current))
        return outcome
