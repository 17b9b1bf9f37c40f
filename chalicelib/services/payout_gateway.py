"""The payout port: how money leaves the platform, as a bank transfer to an instructor's account.

`send(request)` asks the provider to transfer `request.amount` to the account, keyed by
`request.payout_id`: sending the same payout again (a retry after a crash, a redelivered
message) must never transfer twice. Every adapter is idempotent on that key; the provider
answers with the outcome it has for it:

- `paid`: the bank transfer is done;
- `failed`: final refusal (closed account, wrong holder, ...): the money goes back to available;
- `pending`: not known yet (timeout, provider down, transfer still processing): ask again later
  with the same request; the payout stays in transit.

Adapters (stage configuration `PAYOUT_GATEWAY`, never a branch on the stage in code):

- `FakePayoutGateway` (local, test): remembers each payout id it has seen (one per process, which
  is one per `make run` and per test session) and answers the remembered outcome when asked
  again. Account numbers decide the outcome: ending in `0000` the bank refuses (`failed`),
  ending in `9999` the bank does not answer (`pending`), anything else is `paid`. `sent`
  is what it transferred, by payout id; `calls` counts every request.
- `TossPayoutGateway`: the shape of Toss Payments' payouts API (지급대행 v2): the seller (the
  instructor, `refSellerId`) with its bank account, then `POST /v2/payouts` with
  `refPayoutId` = our payout id, both bodies encrypted as JWE (`dir`, `A256GCM`) with the
  merchant's security key from SSM. Verify it against Toss's sandbox before going live; in
  particular it assumes that registering a `refSellerId` again answers the existing seller, and it
  does not yet update a seller whose bank account changed (see the report of issue 6).

Account numbers are never logged.
"""

import base64
import functools
import hashlib
import json
import logging
import os
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from chalicelib import config, http
from chalicelib.aws import client
from chalicelib.money import Money

log = logging.getLogger("classpay.payout_gateway")

PAID, FAILED, PENDING = "paid", "failed", "pending"


@dataclass(frozen=True)
class PayoutRequest:
    payout_id: str
    instructor_id: str
    amount: Money
    bank_code: str
    account_number: str = field(repr=False)
    holder_name: str
    description: str


@dataclass(frozen=True)
class PayoutOutcome:
    status: str  # paid | failed | pending
    reference: str | None = None
    reason: str | None = None


class PayoutGateway(Protocol):
    name: str

    def send(self, request: PayoutRequest) -> PayoutOutcome:
        """Transfer the payout, or tell what became of it: idempotent on `request.payout_id`."""
        ...


# --- the fake ---------------------------------------------------------------------------------------

REFUSED_SUFFIX = "0000"
UNANSWERED_SUFFIX = "9999"


class FakePayoutGateway:
    name = "fake"

    def __init__(self):
        self._lock = threading.Lock()
        self.sent: dict[str, Money] = {}  # payout id -> what was transferred (at most once)
        self.outcomes: dict[str, PayoutOutcome] = {}
        self.calls = 0

    def send(self, request: PayoutRequest) -> PayoutOutcome:
        with self._lock:
            self.calls += 1
            known = self.outcomes.get(request.payout_id)
            if known is not None and known.status != PENDING:
                return known  # asked again: the same answer, and no second transfer
            if request.account_number.endswith(UNANSWERED_SUFFIX):
                outcome = PayoutOutcome(PENDING, reason="the bank did not answer (fake)")
            elif request.account_number.endswith(REFUSED_SUFFIX):
                outcome = PayoutOutcome(FAILED, reason="ACCOUNT_CLOSED: the account is closed (fake)")
            else:
                self.sent[request.payout_id] = request.amount
                outcome = PayoutOutcome(PAID, reference=f"fake-transfer-{request.payout_id}")
            self.outcomes[request.payout_id] = outcome
            return outcome


FAKE = FakePayoutGateway()  # one per process: it stands for the provider's memory of what it was sent


# --- Toss Payments payouts (지급대행 v2) ---------------------------------------------------------------

# Toss payout statuses by what they mean for us.
TOSS_PAID = frozenset({"COMPLETED"})
TOSS_FAILED = frozenset({"FAILED", "CANCELED"})
# REQUESTED, IN_PROGRESS (and anything unknown): pending.


_secret_lock = threading.Lock()


@functools.cache
def _parameter(name: str) -> str:
    with _secret_lock:
        return client("ssm").get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]


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


class TossPayoutGateway:
    name = "toss"

    def __init__(self, api_base: str, secret_parameter: str, security_key_parameter: str,
                 timeout_seconds: float = 60.0):  # Toss: payout calls may take up to 60 s
        self.api_base = api_base.rstrip("/")
        self.secret_parameter = secret_parameter
        self.security_key_parameter = security_key_parameter
        self.timeout_seconds = timeout_seconds

    @staticmethod
    def seller_id(instructor_id: str) -> str:
        """Our `refSellerId` for an instructor (stable, at most 20 characters)."""
        return "cp" + hashlib.sha256(instructor_id.encode()).hexdigest()[:18]

    def _post(self, path: str, body: dict, idempotency_key: str) -> tuple[int, dict]:
        security_key = _parameter(self.security_key_parameter)
        secret = _parameter(self.secret_parameter)
        headers = {"Authorization": "Basic " + base64.b64encode(f"{secret}:".encode()).decode(),
                   "Content-Type": "text/plain", "TossPayments-api-security-mode": "ENCRYPTION",
                   "Idempotency-Key": idempotency_key}
        try:
            response = http.request("POST", self.api_base + path, body=jwe_encrypt(body, security_key),
                                    headers=headers, timeout=self.timeout_seconds)
        except http.Unreachable as error:
            log.warning("toss payouts %s did not answer: %s", path, type(error).__name__)
            return 0, {}
        text = response.text.strip()
        try:
            payload = jwe_decrypt(text, security_key) if text.count(".") == 4 else json.loads(text or "{}")
        except (ValueError, KeyError):
            payload = {}
        return response.status, payload if isinstance(payload, dict) else {}

    def _register_seller(self, request: PayoutRequest) -> str | None:
        """The seller for the instructor's account (registering again answers the existing one)."""
        status, payload = self._post("/v2/sellers", {
            "refSellerId": self.seller_id(request.instructor_id),
            "businessType": "INDIVIDUAL",
            "individual": {"name": request.holder_name},
            "account": {"bankCode": request.bank_code, "accountNumber": request.account_number,
                        "holderName": request.holder_name},
        }, idempotency_key=f"seller-{request.payout_id}")
        seller = payload.get("entityBody", payload)
        if status == 200 and seller.get("id"):
            return str(seller["id"])
        log.info("toss seller registration answered %s %s", status, payload.get("code", ""))
        return None

    def _get(self, path: str) -> tuple[int, dict]:
        secret = _parameter(self.secret_parameter)
        try:
            response = http.request("GET", self.api_base + path, timeout=self.timeout_seconds, headers={
                "Authorization": "Basic " + base64.b64encode(f"{secret}:".encode()).decode()})
            payload = response.json()
        except (http.Unreachable, ValueError):
            return 0, {}
        return response.status, payload if isinstance(payload, dict) else {}

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
        }]}, idempotency_key=f"payout-{request.payout_id}")
        body = payload.get("entityBody") if isinstance(payload.get("entityBody"), dict) else payload
        items = body.get("items") or []
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
                current = current.get("entityBody") if isinstance(current.get("entityBody"), dict) else current
                outcome = self._outcome(current)
        return outcome


def payout_gateway() -> PayoutGateway:
    """The stage's payout adapter, from `PAYOUT_GATEWAY` (`fake` or `toss`)."""
    name = config.payout_gateway()
    if name == "fake":
        return FAKE
    if name == "toss":
        return TossPayoutGateway(config.toss_api_base(), config.toss_secret_key_parameter(),
                                 config.toss_security_key_parameter())
    raise RuntimeError(f"unknown PAYOUT_GATEWAY {name!r}")
