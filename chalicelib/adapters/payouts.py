"""The payout port: how money leaves the platform, as a bank transfer to an instructor's account.

`send(request)` asks the provider to transfer `request.amount` to the account, keyed by
`request.payout_id`: sending the same payout again (a retry after a crash, a redelivered
message) must never transfer twice. Every adapter is idempotent on that key; the provider
answers with the outcome it has for it:

- `paid`: the bank transfer is done;
- `failed`: final refusal (closed account, wrong holder, ...): the money goes back to available;
- `pending`: not known yet (timeout, provider down, transfer still processing): ask again later
  with the same request; the payout stays in transit.

The adapters: `FakePayouts` (`fake_payouts.py`, stages `local` and `test`) and `TossPayouts`
(`toss_payouts.py`); `stage.payout_gateway()` gives the stage's. Account numbers are never logged.
"""

from dataclasses import dataclass, field
from typing import Protocol

from chalicelib.money import Money

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
