"""The `WEBHOOK_QUEUE` worker: each stored Toss event acted on once (services/webhooks.py)."""

from collections.abc import Iterable

from chalicelib.services import webhooks


def handle(records: Iterable[dict]) -> dict:
    return webhooks.handle_messages(records)
