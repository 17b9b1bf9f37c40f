"""The bank of the local and test stages (`PAYOUT_GATEWAY` `fake`).

Account numbers decide the outcome: ending in `0000` the bank refuses (`failed`), ending in `9999` it
does not answer (`pending`), anything else is `paid`. The fake remembers each payout id it was sent and
answers the remembered outcome when asked again, as the provider would: that memory is the object's, so
one `FakePayouts` stands for one bank. The local stage has one per process (`stage.py`); a test that
reads or scripts the bank gets a new one of its own through the `fake_bank` fixture (tests/conftest.py).

What the bank remembers: `sent` (payout id -> what was transferred, at most once), `outcomes` (payout id
-> its answer: the payouts it was asked about) and `calls` (every request). What a test may script:
a payout it left unanswered, answered late (`pays_late`, `refuses_late`).
"""

import threading

from chalicelib.adapters.payouts import FAILED, PAID, PENDING, PayoutOutcome, PayoutRequest
from chalicelib.money import Money

REFUSED_SUFFIX = "0000"
UNANSWERED_SUFFIX = "9999"


class FakePayouts:
    name = "fake"

    def __init__(self):
        self._lock = threading.Lock()
        self.sent: dict[str, Money] = {}
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

    def pays_late(self, payout_id: str, amount: Money) -> None:
        """The bank finally transfers `amount` for a payout it had not answered about; asked again, it says paid."""
        with self._lock:
            self.sent[payout_id] = amount
            self.outcomes[payout_id] = PayoutOutcome(PAID, reference=f"fake-late-{payout_id}")

    def refuses_late(self, payout_id: str) -> None:
        """The bank finally refuses a payout it had not answered about; asked again, it says failed."""
        with self._lock:
            self.outcomes[payout_id] = PayoutOutcome(FAILED, reason="ACCOUNT_CLOSED: late answer (fake)")
