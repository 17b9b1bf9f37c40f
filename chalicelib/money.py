"""Money: an integer amount in the currency's minor unit, and its currency. Never a float.

KRW has no minor unit (1 = ₩1); USD's minor unit is the cent (1 = $0.01).
"""

from dataclasses import dataclass

# Currencies the marketplace settles in, with their number of minor-unit digits.
CURRENCIES = {"KRW": 0, "USD": 2}
DEFAULT_CURRENCY = "KRW"


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
        """`basis_points`/10000 of this amount, rounded half up to the minor unit."""
        return Money((self.amount * basis_points + 5000) // 10000, self.currency)
