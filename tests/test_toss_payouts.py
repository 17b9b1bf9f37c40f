"""The Toss payouts adapter (chalicelib/adapters/toss_payouts.py, 지급대행 v2 shape) against a local stub (127.0.0.1
only): JWE bodies, the seller, the payout keyed by our payout id, and how Toss's answers map to paid / failed / pending."""

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest

from chalicelib.adapters import secrets
from chalicelib.adapters.payouts import FAILED, PAID, PENDING, PayoutRequest
from chalicelib.adapters.toss_payouts import TossPayouts, jwe_decrypt, jwe_encrypt
from chalicelib.money import Money

SECRET = "test_sk_classpay_payouts_0123"
SECURITY_KEY = os.urandom(32).hex()
SECRET_PARAMETER = "/classpay/test/toss-secret-key"
SECURITY_PARAMETER = "/classpay/test/toss-security-key"


class PayoutStub(BaseHTTPRequestHandler):
    """Toss-like: sellers by refSellerId; payouts by Idempotency-Key (a repeat answers the first answer),
    COMPLETED, FAILED for accounts ending in 0000, IN_PROGRESS (then COMPLETED when read) for 5555,
    and a 500 for 9999."""

    sellers: dict[str, dict] = {}
    payouts: dict[str, dict] = {}
    answers: dict[str, tuple[int, dict]] = {}
    bodies: list[dict] = []

    def log_message(self, *args):
        pass

    def _answer(self, status, body, encrypt=True):
        text = jwe_encrypt(body, SECURITY_KEY) if encrypt else json.dumps(body)
        payload = text.encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_POST(self):  # noqa: N802
        raw = self.rfile.read(int(self.headers["Content-Length"])).decode()
        body = jwe_decrypt(raw, SECURITY_KEY)  # refuses anything not encrypted with the key
        PayoutStub.bodies.append({"path": self.path, "body": body, "headers": dict(self.headers)})
        key = self.headers["Idempotency-Key"]
        if key in self.answers:
            self._answer(*self.answers[key])
            return
        if self.path == "/v2/sellers":
            seller = self.sellers.setdefault(body["refSellerId"], {"id": f"seller-{len(self.sellers) + 1}", **body})
            answer = (200, {"entityBody": {"id": seller["id"], "refSellerId": body["refSellerId"]}})
        else:
            item = body["items"][0]
            account = next(s for s in self.sellers.values() if s["id"] == item["destination"])["account"]
            number = account["accountNumber"]
            if number.endswith("9999"):
                self._answer(500, {"error": {"code": "FAILED_INTERNAL_SYSTEM_PROCESSING"}}, encrypt=False)
                return
            status = "FAILED" if number.endswith("0000") else "IN_PROGRESS" if number.endswith("5555") else "COMPLETED"
            payout = {"id": f"po-{len(self.payouts) + 1}", "refPayoutId": item["refPayoutId"], "status": status,
                      "amount": item["amount"], **({"error": {"code": "INVALID_ACCOUNT"}} if status == "FAILED" else {})}
            self.payouts[payout["id"]] = payout
            answer = (200, {"entityBody": {"items": [payout]}})
        self.answers[key] = answer
        self._answer(*answer)

    def do_GET(self):  # noqa: N802
        payout = self.payouts[self.path.rsplit("/", 1)[-1]]
        if payout["status"] == "IN_PROGRESS":
            payout["status"] = "COMPLETED"  # the bank finished meanwhile
        self._answer(200, {"entityBody": payout}, encrypt=False)


@pytest.fixture(scope="module")
def toss():
    server = ThreadingHTTPServer(("127.0.0.1", 0), PayoutStub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    ssm = boto3.client("ssm")
    ssm.put_parameter(Name=SECRET_PARAMETER, Value=SECRET, Type="SecureString", Overwrite=True)
    ssm.put_parameter(Name=SECURITY_PARAMETER, Value=SECURITY_KEY, Type="SecureString", Overwrite=True)
    secrets.parameter.cache_clear()
    yield TossPayouts(f"http://127.0.0.1:{server.server_address[1]}", SECRET_PARAMETER, SECURITY_PARAMETER,
                      timeout_seconds=5)
    secrets.parameter.cache_clear()
    server.shutdown()
    server.server_close()


def _request(payout_id, number="1102345678", amount=40_000):
    return PayoutRequest(payout_id=payout_id, instructor_id=f"instructor-{payout_id}", amount=Money(amount, "KRW"),
                         bank_code="088", account_number=number, holder_name="김강사",
                         description="classpay 2030-W02")


def test_a_payout_registers_the_seller_and_sends_the_payout_keyed_by_our_id_encrypted(toss):
    PayoutStub.bodies.clear()
    outcome = toss.send(_request("P1"))
    assert outcome.status == PAID and outcome.reference
    seller, payout = PayoutStub.bodies
    assert seller["path"] == "/v2/sellers" and seller["body"]["account"] == {
        "bankCode": "088", "accountNumber": "1102345678", "holderName": "김강사"}
    assert payout["path"] == "/v2/payouts" and payout["headers"]["Idempotency-Key"] == "payout-P1"
    assert payout["headers"]["TossPayments-api-security-mode"] == "ENCRYPTION"
    assert payout["body"]["items"][0]["refPayoutId"] == "P1"
    assert payout["body"]["items"][0]["amount"] == {"currency": "KRW", "value": 40_000}


def test_sending_the_same_payout_again_pays_once_and_answers_the_same(toss):
    first = toss.send(_request("P2"))
    again = toss.send(_request("P2"))
    assert first == again and first.status == PAID
    assert [p["refPayoutId"] for p in PayoutStub.payouts.values()].count("P2") == 1


def test_a_refused_account_is_failed_an_outage_is_pending_and_in_progress_is_read_again(toss):
    refused = toss.send(_request("P3", number="1102340000"))
    assert refused.status == FAILED and refused.reason == "INVALID_ACCOUNT"
    assert toss.send(_request("P4", number="1102349999")).status == PENDING
    assert toss.send(_request("P5", number="1102345555")).status == PAID  # IN_PROGRESS, then read: COMPLETED


def test_an_unreachable_provider_is_pending_not_failed(toss):
    unreachable = TossPayouts("http://127.0.0.1:9", SECRET_PARAMETER, SECURITY_PARAMETER, timeout_seconds=1)
    assert unreachable.send(_request("P6")).status == PENDING


def test_jwe_round_trips_and_a_wrong_key_cannot_read_it():
    token = jwe_encrypt({"a": 1}, SECURITY_KEY)
    assert token.count(".") == 4 and jwe_decrypt(token, SECURITY_KEY) == {"a": 1}
    with pytest.raises(Exception):  # noqa: B017 - AES-GCM refuses a wrong key
        jwe_decrypt(token, os.urandom(32).hex())
