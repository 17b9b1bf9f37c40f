"""Opaque pagination cursors: a DynamoDB LastEvaluatedKey, encoded for clients and checked on the way back."""

import base64
import binascii
import json

from chalicelib import errors


def encode_cursor(last_evaluated_key: dict | None) -> str | None:
    if not last_evaluated_key:
        return None
    raw = json.dumps(last_evaluated_key, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, partition: dict[str, str] | None = None) -> dict | None:
    """The LastEvaluatedKey a cursor carries; a cursor that is not ours is a 422 naming `cursor`.

    `partition` ({attribute: value}) is the query's partition key: a cursor from another
    partition (another user's list, say) is refused rather than handed to DynamoDB.
    """
    if not cursor:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise errors.ValidationFailed.on("cursor", "not a cursor this API issued") from None
    if not isinstance(key, dict) or not all(isinstance(v, dict) for v in key.values()):
        raise errors.ValidationFailed.on("cursor", "not a cursor this API issued")
    for attribute, value in (partition or {}).items():
        if next(iter(key.get(attribute, {}).values()), None) != value:
            raise errors.ValidationFailed.on("cursor", "not a cursor for this list")
    return key
