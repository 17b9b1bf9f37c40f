"""Stage secrets: SSM Parameter Store SecureStrings, one cache for every caller.

Each is read when first needed and kept for the life of the container (rotating one takes effect as
containers are replaced, e.g. on the next deploy). `infra/bootstrap.py` creates the ones a local or test
stage needs; in prod an operator sets them (README, "Secrets").
"""

import functools
import threading

from chalicelib import config
from chalicelib.aws import client

_lock = threading.Lock()


@functools.cache
def parameter(name: str) -> str:
    """The SecureString `name`, decrypted; read from SSM once per container."""
    with _lock:
        return client("ssm").get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]


def cursor_key() -> bytes:
    """The key that authenticates pagination cursors (`<SECRETS_PATH>cursor-key`)."""
    return parameter(config.cursor_key_parameter()).encode()
