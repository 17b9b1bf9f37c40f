"""Request and response shapes shared by several areas (msgspec Structs).

Structs are strict: unknown fields are refused, integers are never floats,
strings have bounds. The OpenAPI document is generated from these types.
"""

from datetime import datetime
from typing import Annotated, Generic, TypeVar

import msgspec

T = TypeVar("T")

Email = Annotated[str, msgspec.Meta(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
DisplayName = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"\S")]
Password = Annotated[str, msgspec.Meta(min_length=8, max_length=256)]
Token = Annotated[str, msgspec.Meta(min_length=1, max_length=8192)]
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=120, pattern=r"\S")]
LongText = Annotated[str, msgspec.Meta(max_length=5000)]
HttpsUrl = Annotated[str, msgspec.Meta(max_length=500, pattern=r"^https://\S+$")]
AwareDateTime = Annotated[datetime, msgspec.Meta(tz=True, description="RFC 3339 with a time zone")]
Position = Annotated[int, msgspec.Meta(ge=0, le=10_000, description="0-based place in its list")]


class Input(msgspec.Struct, forbid_unknown_fields=True):
    """Base of every request body: a field the API does not know is an error, not ignored."""


Currency = Annotated[str, msgspec.Meta(pattern=r"^(KRW|USD)$", description="ISO 4217 code (KRW, USD)")]
MinorUnits = Annotated[int, msgspec.Meta(ge=0, le=10_000_000_000, description="integer amount in the minor unit")]


class MoneyBody(msgspec.Struct, forbid_unknown_fields=True):
    """Money on the wire: `{"amount": 55000, "currency": "KRW"}`."""

    amount: MinorUnits
    currency: Currency

    @classmethod
    def of(cls, money) -> "MoneyBody":
        return cls(amount=money.amount, currency=money.currency)

    def to_money(self):
        from chalicelib.money import Money

        return Money(self.amount, self.currency)


Limit = Annotated[int, msgspec.Meta(ge=1, le=100)]
Cursor = Annotated[str, msgspec.Meta(min_length=1, max_length=2048)]


class PageQuery(msgspec.Struct):
    """`?limit=&cursor=` of every list; subclass it to add filters."""

    limit: Limit = 20
    cursor: Cursor | None = None


class Page(msgspec.Struct, Generic[T]):
    items: list[T]
    next_cursor: str | None = None
