"""Request and response shapes shared by several areas (msgspec Structs).

Structs are strict: unknown fields are refused, integers are whole numbers (3.0 is 3, 3.5 is refused),
strings have bounds. The OpenAPI document is generated from these types.
"""

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, ClassVar, Generic, TypeVar

import msgspec

from chalicelib.money import Money

T = TypeVar("T")

# What the identity provider accepts as an email username (a@b.c is refused there, so it is here).
Email = Annotated[str, msgspec.Meta(min_length=6, max_length=254,
                                    pattern=r"^[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")]
# A character that is not white space, spelled out so that Python (msgspec) and the JSON Schema (ECMA-262)
# dialect agree: `\S` differs between them (Python counts \x1c-\x1f and \x85 as space, ECMA counts \ufeff).
VISIBLE = r"[^\t\n\v\f\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]"
DisplayName = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=VISIBLE)]
# The user pool's password policy (infra/bootstrap.py PASSWORD_POLICY): a lower- and an upper-case letter and a digit.
Password = Annotated[str, msgspec.Meta(min_length=8, max_length=256,
                                       pattern=r"^(?=[\s\S]*[a-z])(?=[\s\S]*[A-Z])(?=[\s\S]*[0-9])")]
Token = Annotated[str, msgspec.Meta(min_length=1, max_length=8192)]
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=120, pattern=VISIBLE)]
LongText = Annotated[str, msgspec.Meta(max_length=5000)]
# A host name (letters, digits, dots, hyphens; an optional port), then an optional path of visible characters:
# no user info, no IP-literal brackets, nothing a URL parser would choke on.
HttpsUrl = Annotated[str, msgspec.Meta(max_length=500,
                                       pattern=r"^https://[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?(?:/[!-~]*)?$")]
# Every date and date-time a client sends is in 2000-01-01..2100-01-01 UTC (chalicelib/clock.py); the routing
# wrapper checks it for each one decoded, whatever its type, and names the field otherwise (422).
AwareDateTime = Annotated[datetime, msgspec.Meta(
    tz=True, description="RFC 3339 with a time zone, from 2000-01-01T00:00:00Z to 2100-01-01T00:00:00Z")]
# A moment in an answer, RFC 3339 with its offset (a `date-time` to clients): an aware datetime, or the RFC 3339
# text the store keeps (`clock.to_rfc3339`), which is sent as it is.
Timestamp = Annotated[datetime, msgspec.Meta(tz=True)]
# A fixed set of values in an answer is a named enum: one type in the API document, which a client generator
# makes one enum class of (a Literal is written out in each field, and becomes a class per field).
# An enrollment's life (chalicelib/store/enrollments.py): it ends when its order is refunded.
EnrollmentStatus = StrEnum("EnrollmentStatus", ["active", "completed", "ended"])
Day = Annotated[date, msgspec.Meta(description="A calendar day (YYYY-MM-DD), from 2000-01-01 to 2100-01-01")]
Position = Annotated[int, msgspec.Meta(ge=0, le=10_000, description="0-based place in its list")]


class Input(msgspec.Struct, forbid_unknown_fields=True):
    """Base of every request body: a field the API does not know is an error, not ignored.

    `json_schema_extra` (a ClassVar) adds to the body's schema in the API document what a Struct cannot say,
    e.g. `{"minProperties": 1}` for a change set that refuses to be empty."""

    json_schema_extra: ClassVar[dict] = {}


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
        return Money(self.amount, self.currency)


class SignedMoney(msgspec.Struct):
    """Money in a ledger or statement line: negative for what went out (a purchase from a wallet, what a
    refund took back from a payout)."""

    amount: int
    currency: str

    @classmethod
    def of(cls, money) -> "SignedMoney":
        return cls(amount=money.amount, currency=money.currency)


Limit = Annotated[int, msgspec.Meta(ge=1, le=100)]
Cursor = Annotated[str, msgspec.Meta(
    min_length=1, max_length=2048,
    description="Opaque: the `next_cursor` of the previous page, issued for this list (route, ids, filters) "
                "and this caller; an edited or foreign cursor is 422 naming `cursor`")]


class PageQuery(msgspec.Struct):
    """`?limit=&cursor=` of every list; subclass it to add filters."""

    limit: Limit = 20
    cursor: Cursor | None = None


class Page(msgspec.Struct, Generic[T]):
    items: list[T]
    next_cursor: str | None = None
