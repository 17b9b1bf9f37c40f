"""botocore event hooks on every DynamoDB client the store uses: for benchmarks and fault tests.

PynamoDB gives each model its own connection (and botocore client), and
transactions go through `transactions.connection()`; `on_dynamodb` registers a
handler on all of them, e.g. `before-call.dynamodb.TransactWriteItems` to fail
a transaction, or `before-call.dynamodb` to count every call. Never used by the
app itself.
"""

import contextlib
from collections.abc import Callable, Iterator


def dynamodb_clients() -> list:
    from chalicelib.store import ALL_MODELS, transactions

    clients = [model._get_connection().connection.client for model in ALL_MODELS]
    clients.append(transactions.connection().client)
    unique = {id(c): c for c in clients}
    return list(unique.values())


@contextlib.contextmanager
def on_dynamodb(event: str, handler: Callable) -> Iterator[None]:
    """Register `handler` for `event` (e.g. `before-call.dynamodb.TransactWriteItems`) while inside."""
    clients = dynamodb_clients()
    for client in clients:
        client.meta.events.register(event, handler, unique_id=f"classpay-{id(handler)}")
    try:
        yield
    finally:
        for client in clients:
            client.meta.events.unregister(event, handler, unique_id=f"classpay-{id(handler)}")
