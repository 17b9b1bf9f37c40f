"""Stage secrets: SSM Parameter Store SecureStrings under the stage's `SECRETS_PATH`.

Each is read when first needed and kept for the life of the container (rotating one takes effect as
containers are replaced, e.g. on the next deploy). `infra/bootstrap.py` creates the ones a local or test
stage needs; in prod an operator sets them (README, "Secrets").
"""

import functools
import threading

from chalicelib.aws import client

_lock = threading.Lock()


@functools.cache
def parameter(name: str) -> str:
    with _lock:
        return client("ssm").get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
