"""The Toss Payments adapter (chalicelib/adapters/toss_payments.py) against a local stub that speaks Toss's
confirm API (127.0.0.1 only)."""

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest

from chalicelib import errors
from chalicelib.adapters import secrets
from chalicelib.adapters.payments import RefundReceiveAccount
from chalicelib.adapters.toss_payments import TossPayments
from chalicelib.money import Money
from chalicelib.services import wallet as wallet_service
from tests.support.money import balance, new_key, start_topup

SECRET = "test_sk_classpay_stub_0123456789"
PARAMETER = "/classpay/test/toss-secret-key"


class TossStub(BaseHTTPRequestHandler):
    """Answers like Toss: approves `pay_ok_*`, declines `pay_reject_*`, confirms a different amount for
    `pay_short_*`, fails for `pay_down_*`, and says ALREADY_PROCESSED for keys confirmed before."""

    confirmed: dict[str, dict] = {}
    requests: list[dict] = []

    def log_message(self, *args):  # keep the test output quiet
        pass

    def _answer(self, status, body):
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _authorized(self):
        expected = "Basic " + base64.b64encode(f"{SECRET}:".encode()).decode()
        if self.headers.get("Authorization") != expected:
            self._answer(401, {"code": "UNAUTHORIZED_KEY", "message": "인증되지 않은 시크릿 키 혹은 클라이언트 키 입니다."})
            return False
        return True

    def do_GET(self):  # noqa: N802 (http.server's naming)
        if not self._authorized():
            return
        payment_key = self.path.rsplit("/", 1)[-1]
        if payment_key in self.confirmed:
            self._answer(200, self.confirmed[payment_key])
        else:
            self._answer(404, {"code": "NOT_FOUND_PAYMENT", "message": "존재하지 않는 결제 정보 입니다."})

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        TossStub.requests.append({"path": self.path, "body": body, "headers": dict(self.headers)})
        if not self._authorized():
            return
        if self.path.startswith("/v1/payments/") and self.path.endswith("/cancel"):
            self._cancel(self.path.split("/")[3], body)
            return
        if self.path != "/v1/payments/confirm":
            self._answer(404, {"code": "NOT_FOUND", "message": "no such API"})
            return
        key, order_id, amount = body["paymentKey"], body["orderId"], body["amount"]
        if key in self.confirmed:
            self._answer(400, {"code": "ALREADY_PROCESSED_PAYMENT", "message": "이미 처리된 결제 입니다."})
        elif key.startswith("pay_reject"):
            self._answer(403, {"code": "REJECT_CARD_PAYMENT", "message": "한도초과 혹은 잔액부족으로 결제에 실패했습니다."})
        elif key.startswith("pay_down"):
            self._answer(500, {"code": "FAILED_INTERNAL_SYSTEM_PROCESSING", "message": "내부 시스템 처리 작업이 실패했습니다."})
        else:
            total = amount - 1 if key.startswith("pay_short") else amount
            payment = {"paymentKey": key, "orderId": order_id, "status": "DONE", "totalAmount": total,
                       "currency": "KRW", "method": "카드", "approvedAt": "2026-11-25T10:00:00+09:00"}
            TossStub.confirmed[key] = payment
            self._answer(200, payment)


    def _cancel(self, payment_key, body):
        payment = self.confirmed.get(payment_key)
        if payment is None:
            self._answer(404, {"code": "NOT_FOUND_PAYMENT", "message": "존재하지 않는 결제 정보 입니다."})
        elif payment_key.startswith("pay_short_stuck"):
            self._answer(500, {"code": "FAILED_INTERNAL_SYSTEM_PROCESSING", "message": "내부 시스템 처리 작업이 실패했습니다."})
        else:
            balance = payment.get("balanceAmount", payment["totalAmount"])
            amount = body.get("cancelAmount", balance)  # no cancelAmount: the whole rest
            if amount > balance:
                self._answer(400, {"code": "NOT_CANCELABLE_AMOUNT", "message": "취소 할 수 없는 금액 입니다."})
                return
            payment.update(balanceAmount=balance - amount,
                           status="CANCELED" if amount == balance else "PARTIAL_CANCELED",
                           cancels=[*payment.get("cancels", []),
                                    {"cancelAmount": amount, "cancelReason": body["cancelReason"]}])
            self._answer(200, payment)


@pytest.fixture(scope="module")
def toss_base():
    server = ThreadingHTTPServer(("127.0.0.1", 0), TossStub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def toss(toss_base):
    boto3.client("ssm").put_parameter(Name=PARAMETER, Value=SECRET, Type="SecureString", Overwrite=True)
    secrets.parameter.cache_clear()
    return TossPayments(toss_base, PARAMETER, timeout_seconds=5)


def krw(amount):
    return Money(amount, "KRW")


def test_a_confirm_posts_toss_shape_with_basic_auth_and_returns_the_captured_amount(toss):
    TossStub.requests.clear()
    confirmation = toss.confirm("pay_ok_1", "order-000001", krw(15_000))
    assert confirmation.amount == krw(15_000) and confirmation.order_id == "order-000001"
    sent = TossStub.requests[-1]
    assert sent["path"] == "/v1/payments/confirm"
    assert sent["body"] == {"paymentKey": "pay_ok_1", "orderId": "order-000001", "amount": 15_000}
    assert sent["headers"]["Authorization"] == "Basic " + base64.b64encode(f"{SECRET}:".encode()).decode()
    assert sent["headers"]["Idempotency-Key"] == "confirm-order-000001"


def test_a_partial_cancel_sends_cancel_amount_with_its_own_idempotency_key_and_never_more_than_is_left(toss):
    toss.confirm("pay_ok_partial", "order-000010", krw(30_000))
    TossStub.requests.clear()
    toss.partial_cancel("pay_ok_partial", "order-000010", krw(10_000), "단순 변심", "refund-r1")
    sent = TossStub.requests[-1]
    assert sent["path"] == "/v1/payments/pay_ok_partial/cancel"
    assert sent["body"] == {"cancelReason": "단순 변심", "cancelAmount": 10_000}
    assert sent["headers"]["Idempotency-Key"] == "refund-r1"
    assert TossStub.confirmed["pay_ok_partial"]["status"] == "PARTIAL_CANCELED"
    assert TossStub.confirmed["pay_ok_partial"]["balanceAmount"] == 20_000
    with pytest.raises(errors.PaymentGatewayError, match="NOT_CANCELABLE_AMOUNT"):
        toss.partial_cancel("pay_ok_partial", "order-000010", krw(25_000), "단순 변심", "refund-r2")
    assert TossStub.confirmed["pay_ok_partial"]["balanceAmount"] == 20_000


def test_a_virtual_account_refund_sends_the_refund_account_with_tosss_bank_code(toss):
    toss.confirm("pay_ok_va", "order-000011", krw(15_000))
    TossStub.requests.clear()
    account = RefundReceiveAccount("004", "12345678901234", "박토스")  # KB국민은행: Toss's code is 06
    toss.partial_cancel("pay_ok_va", "order-000011", krw(15_000), "단순 변심", "refund-r3", account)
    sent = TossStub.requests[-1]
    assert sent["body"] == {"cancelReason": "단순 변심", "cancelAmount": 15_000, "refundReceiveAccount": {
        "bank": "06", "accountNumber": "12345678901234", "holderName": "박토스"}}
    assert sent["headers"]["Idempotency-Key"] == "refund-r3"
    assert "12345678901234" not in repr(account)  # never in a log line that prints it


def test_a_card_rejection_is_payment_declined(toss):
    with pytest.raises(errors.PaymentDeclined, match="REJECT_CARD_PAYMENT"):
        toss.confirm("pay_reject_1", "order-000002", krw(15_000))


def test_a_toss_internal_failure_is_a_gateway_error_not_a_decline(toss):
    with pytest.raises(errors.PaymentGatewayError):
        toss.confirm("pay_down_1", "order-000003", krw(15_000))


def test_a_wrong_secret_key_is_a_gateway_error(toss_base):
    # the stage's own parameter holding a wrong key (another name would widen the deployed IAM policy)
    boto3.client("ssm").put_parameter(Name=PARAMETER, Value="wrong", Type="SecureString", Overwrite=True)
    secrets.parameter.cache_clear()
    try:
        with pytest.raises(errors.PaymentGatewayError, match="UNAUTHORIZED_KEY"):
            TossPayments(toss_base, PARAMETER).confirm("pay_ok_x", "order-9", krw(1))
    finally:
        boto3.client("ssm").put_parameter(Name=PARAMETER, Value=SECRET, Type="SecureString", Overwrite=True)
        secrets.parameter.cache_clear()


def test_an_unreachable_gateway_is_a_gateway_error():
    unreachable = TossPayments("http://127.0.0.1:9", PARAMETER, timeout_seconds=1)
    with pytest.raises(errors.PaymentGatewayError):
        unreachable.confirm("pay_ok_2", "order-000004", krw(1_000))


def test_a_confirm_whose_first_answer_was_lost_is_resolved_by_reading_the_payment(toss):
    toss.confirm("pay_ok_lost", "order-000005", krw(3_000))
    again = toss.confirm("pay_ok_lost", "order-000005", krw(3_000))  # Toss: ALREADY_PROCESSED_PAYMENT
    assert again.amount == krw(3_000) and again.payment_key == "pay_ok_lost"


def test_the_secret_key_is_read_from_ssm_once_per_container(toss, monkeypatch):
    secrets.parameter.cache_clear()
    calls = []
    real_client = secrets.client

    def counting_client(name):
        calls.append(name)
        return real_client(name)

    monkeypatch.setattr(secrets, "client", counting_client)
    toss.confirm("pay_ok_cache1", "order-000006", krw(1_000))
    toss.confirm("pay_ok_cache2", "order-000007", krw(1_000))
    assert calls == ["ssm"]


# --- the wallet on the toss stage ----------------------------------------------------------------------

@pytest.fixture
def toss_stage(toss, monkeypatch):
    monkeypatch.setattr(wallet_service, "payment_gateway", lambda: toss)


def _confirm(api, token, topup_id, payment_key):
    return api.post(f"/wallet/topups/{topup_id}/confirm", {"payment_key": payment_key}, token=token,
                    headers={"Idempotency-Key": new_key()})


def test_a_toss_top_up_has_no_payment_key_at_checkout_and_is_credited_on_confirm(api, toss_stage):
    token = api.token_for()
    topup = start_topup(api, token, 20_000)
    assert topup["checkout"] == {"gateway": "toss", "order_id": topup["topup_id"], "payment_key": None}
    response = _confirm(api, token, topup["topup_id"], "pay_ok_wallet")
    assert response.status_code == 200 and response.json_body["status"] == "confirmed"
    assert balance(api, token) == 20_000


def test_a_toss_confirmation_of_another_amount_is_never_credited(api, toss_stage):
    token = api.token_for()
    topup = start_topup(api, token, 20_000)
    response = _confirm(api, token, topup["topup_id"], "pay_short_wallet")
    assert response.status_code == 402 and response.json_body["code"] == "PAYMENT_DECLINED"
    assert "19999" in response.json_body["detail"]
    assert api.get(f"/wallet/topups/{topup['topup_id']}", token=token).json_body["decline_reason"] == "amount_mismatch"
    assert balance(api, token) == 0
    # the learner was charged 19,999: that payment is given back at Toss
    assert TossStub.confirmed["pay_short_wallet"]["status"] == "CANCELED"
    cancel = [r for r in TossStub.requests if r["path"] == "/v1/payments/pay_short_wallet/cancel"]
    assert len(cancel) == 1 and cancel[0]["headers"]["Idempotency-Key"] == f"cancel-{topup['topup_id']}"


def test_a_mismatched_payment_that_toss_will_not_cancel_is_declined_and_flagged_for_support(api, toss_stage):
    token = api.token_for()
    topup = start_topup(api, token, 20_000)
    response = _confirm(api, token, topup["topup_id"], "pay_short_stuck_wallet")
    assert response.status_code == 402 and "not yet cancelled" in response.json_body["detail"]
    stored = api.get(f"/wallet/topups/{topup['topup_id']}", token=token).json_body
    assert stored["status"] == "declined" and stored["decline_reason"] == "amount_mismatch_not_cancelled"
    assert balance(api, token) == 0


def test_a_toss_decline_declines_the_top_up(api, toss_stage):
    token = api.token_for()
    topup = start_topup(api, token, 20_000)
    response = _confirm(api, token, topup["topup_id"], "pay_reject_wallet")
    assert response.status_code == 402
    assert api.get(f"/wallet/topups/{topup['topup_id']}", token=token).json_body["status"] == "declined"
