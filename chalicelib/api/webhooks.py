"""The payment gateway's webhooks (public: Toss calls them without credentials; every event is verified by
asking the gateway), and the fake gateway's simulated deposit (admins)."""

from typing import Any, Literal

import msgspec

from chalicelib import errors
from chalicelib.api.routing import ADMIN, PUBLIC, ApiBlueprint, Call
from chalicelib.api.schemas import Input
from chalicelib.api.wallet import PaymentKey

webhooks_api = ApiBlueprint(__name__, tag="webhooks")


class TossEvent(msgspec.Struct, omit_defaults=True):
    """A Toss webhook event as Toss sends it: `{eventType, createdAt, data}`; a deposit callback
    `{createdAt, secret, orderId, status, transactionKey}`; or a signed payout or seller event `{eventType,
    createdAt, version, eventId, entityType, entityBody}` (its signature in the `tosspayments-webhook-signature`
    header, over the raw body). Other fields are ignored."""

    eventType: str | None = None  # noqa: N815 (Toss's names)
    createdAt: str | None = None  # noqa: N815
    data: dict[str, Any] | None = None
    secret: str | None = None
    orderId: str | None = None  # noqa: N815
    status: str | None = None
    transactionKey: str | None = None  # noqa: N815
    version: str | None = None
    eventId: str | None = None  # noqa: N815
    entityType: str | None = None  # noqa: N815
    entityBody: dict[str, Any] | None = None  # noqa: N815


class WebhookReceived(msgspec.Struct):
    received: bool  # stored (and queued); what processing did is not told to the sender


class DepositRequest(Input):
    payment_key: PaymentKey  # the checkout's `virtual_account_payment_key`
    times: Literal[1, 2] = 1  # 2: the webhook delivered twice, as a gateway's retry would


class DepositsDelivered(msgspec.Struct):
    payment_key: str
    outcomes: list[str]  # what each delivery of the webhook did, processed at once: paid, duplicate, ...


@webhooks_api.endpoint(
    "POST", "/webhooks/toss", policy=PUBLIC, body=TossEvent,
    response=WebhookReceived,
    summary="Toss Payments' webhook: every event stored, queued and answered 200 at once; payment events are "
            "verified with the gateway (and a virtual account's secret), payout and seller events by their "
            "HMAC-SHA256 signature, before they change anything",
)
def toss_webhook(call: Call):
    from chalicelib.services import webhooks
    raw_body = webhooks_api.current_request.raw_body  # the signature is over the body exactly as sent
    webhooks.receive_toss(msgspec.to_builtins(call.body), raw_body, call.headers)
    return WebhookReceived(True)


@webhooks_api.endpoint(
    "POST", "/admin/gateway/deposits", policy=ADMIN, body=DepositRequest, response=DepositsDelivered,
    summary="Where the stage's payment gateway is the fake one: deposit into a virtual account, and deliver "
            "its deposit webhook (twice with times: 2), each delivery stored and processed at once by the "
            "webhook worker's function; 404 on a stage with a real gateway",
    errors=(errors.NotFound, errors.Conflict),
)
def simulate_deposit(call: Call):
    from chalicelib.services import webhooks
    body: DepositRequest = call.body
    return DepositsDelivered(body.payment_key, webhooks.simulate_deposit(body.payment_key, body.times))
