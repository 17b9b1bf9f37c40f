"""Money: an integer amount in the currency's minor unit, and its currency. Never a float.

KRW has no minor unit (1 = ₩1); USD's minor unit is the cent (1 = $0.01).
"""

from dataclasses import dataclass

# Currencies the marketplace settles in, with their number of minor-unit digits: the one table of them.
CURRENCIES = {"KRW": 0, "USD": 2}
SYMBOLS = {"KRW": "₩"}  # shown before the amount; other currencies are written after it by their code


@dataclass(frozen=True, order=True)
class Money:
    amount: int
    currency: str

    def __post_init__(self):
        if type(self.amount) is not int:
            raise TypeError(f"money amounts are integers in minor units, not {type(self.amount).__name__}")
        if self.currency not in CURRENCIES:
            raise ValueError(f"unsupported currency {self.currency!r}")

    @classmethod
    def zero(cls, currency: str) -> "Money":
        return cls(0, currency)

    def _same_currency(self, other: "Money") -> None:
        if other.currency != self.currency:
            raise ValueError(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: "Money") -> "Money":
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: "Money") -> "Money":
        self._same_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> "Money":
        return Money(-self.amount, self.currency)

    def share(self, basis_points: int) -> "Money":
        """`basis_points`/10000 of this amount, rounded half up to the minor unit (for 0..10000 basis points of
        an amount of zero or more, the first part of `domain.splitting.split(self, [bps, 10000 - bps])`)."""
        return Money((self.amount * basis_points + 5000) // 10000, self.currency)


def minor_digits(currency: str) -> int:
    """How many digits of a currency's amount are after the decimal point (KRW 0, USD 2)."""
    return CURRENCIES[currency]


def in_major_units(amount: int, currency: str) -> float:
    """An amount in minor units as a number of major units (won, dollars), for charts: never for money sums."""
    return amount / 10 ** minor_digits(currency)


def format_amount(amount: int, currency: str) -> str:
    """An amount in minor units written for people in major units, grouped: `12,345` (KRW), `1,234.50` (USD)."""
    digits = minor_digits(currency)
    whole, fraction = divmod(abs(amount), 10 ** digits)
    sign = "-" if amount < 0 else ""
    return f"{sign}{whole:,}.{fraction:0{digits}d}" if digits else f"{sign}{whole:,}"


def format_money(money: Money) -> str:
    """Money written for people (mails, documents): `₩12,345`, `1,234.50 USD`."""
    amount = format_amount(money.amount, money.currency)
    symbol = SYMBOLS.get(money.currency)
    if symbol is None:
        return f"{amount} {money.currency}"
    return f"-{symbol}{amount[1:]}" if amount.startswith("-") else f"{symbol}{amount}"
