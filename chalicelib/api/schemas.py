"""Request and response shapes shared by several areas (msgspec Structs).

Structs are strict: unknown fields are refused, integers are never floats,
strings have bounds. The OpenAPI document is generated from these types.
"""

from typing import Annotated

import msgspec

Email = Annotated[str, msgspec.Meta(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
DisplayName = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"\S")]
Password = Annotated[str, msgspec.Meta(min_length=8, max_length=256)]
Token = Annotated[str, msgspec.Meta(min_length=1, max_length=8192)]


class Input(msgspec.Struct, forbid_unknown_fields=True):
    """Base of every request body: a field the API does not know is an error, not ignored."""
