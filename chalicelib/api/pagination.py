"""Pagination cursors as opaque, authenticated tokens.

A list's service hands out its position as a cursor (`chalicelib/store/cursors.py`: the DynamoDB key to
start after). Before it reaches a client, the routing wrapper seals it: `<position>.<tag>`, where the tag
is HMAC-SHA256, under the stage's cursor key (SSM `<SECRETS_PATH>cursor-key`), over the list it belongs
to (method and route, the path's ids, every filter of the query but `limit`, the caller) and the
position. A cursor comes back only through `open_cursor`, which checks the tag before anything is
decoded: an edited cursor, one from another list, another sort or filter, another caller, or one sealed
under a key since rotated is 422 naming `cursor`, and the service never sees it.
"""

import base64
import hashlib
import hmac
import re
from typing import Any

import msgspec

from chalicelib import errors
from chalicelib.adapters import secrets

_DOMAIN = b"classpay/cursor/v1\0"
# a position (base64url), a dot, a tag (32 bytes in base64url without padding)
_TOKEN = re.compile(r"^(?P<position>[A-Za-z0-9_-]{1,2000})\.(?P<tag>[A-Za-z0-9_-]{43})$")
UNSCOPED_FIELDS = frozenset({"cursor", "limit"})  # a page may be of any size; everything else is the list


def scope(method: str, route: str, path_params: dict[str, str], query: Any, caller_id: str | None) -> bytes:
    """What a cursor is good for: this list, so filtered, for this caller (none on public lists)."""
    filters = {name: value for name, value in msgspec.structs.asdict(query).items() if name not in UNSCOPED_FIELDS}
    return msgspec.json.encode([method, route, sorted(path_params.items()), sorted(filters.items()), caller_id or ""])


def _tag(key: bytes, list_scope: bytes, position: str) -> str:
    digest = hmac.new(key, _DOMAIN + list_scope + b"\0" + position.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def seal_cursor(position: str | None, list_scope: bytes, key: bytes | None = None) -> str | None:
    """The token a client gets for `position` (a service's cursor) in this list."""
    if position is None:
        return None
    return f"{position}.{_tag(key or secrets.cursor_key(), list_scope, position)}"


def open_cursor(token: str, list_scope: bytes, key: bytes | None = None) -> str:
    """The position a token this API sealed for this list carries; anything else is 422 naming `cursor`."""
    match = _TOKEN.match(token)
    if match is None:
        raise errors.ValidationFailed.on("cursor", "not a cursor this API issued")
    expected = _tag(key or secrets.cursor_key(), list_scope, match["position"])
    if not hmac.compare_digest(expected, match["tag"]):
        raise errors.ValidationFailed.on("cursor", "not a cursor this API issued for this list and caller")
    return match["position"]
