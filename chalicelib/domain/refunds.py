"""Refunds: how much of an order a learner may have back, and how each refund is taken back.

The policy (settings per stage in `chalicelib/config.py`), one rule per order, first that applies:

- `live_session`: an order with a live session seat is refunded in full until the session starts, and
  not at all once it has started (the seat was the service, and it has been given).
- `withdrawal`: within `window_days` of purchase and below `progress_limit_percent` of lessons
  completed, everything left of what was paid. Basis: the e-commerce act (전자상거래 등에서의
  소비자보호에 관한 법률) article 17: 7 days to withdraw, lost once digital content is used; "used"
  is read here as the progress limit (10% of lessons completed by default).
- `pro_rata` (when enabled): otherwise, what was paid minus the part studied: lessons completed or
  opened, over all lessons of the course. Basis: the lifelong-education act's enforcement decree
  (평생교육법 시행령) table 3 and the academies act's enforcement decree (학원법 시행령) table 4, which
  refund remote lessons in proportion to what was not yet given. Not confirmed here: those tables
  also count by time for courses with a fixed period (nothing after half the period) and treat
  materials apart; courses here have no period, so lessons are the measure, and no time limit applies.
  The studied part rounds DOWN to the minor unit: the rounding is in the learner's favour.

Whatever the rule allows is reduced by what earlier refunds of the order gave back, so a quote never
exceeds what is left, never grows as time passes or the learner studies more, and the parts of an order
never sum to more than it paid. Admins may refund beyond the policy, up to what is left.

Each refund is taken back from the platform's fee and the instructor's share in proportion, with
`domain.splitting.split` (largest remainder) over the running total: once refunds of an order sum to
R, the platform has given back exactly `split(R, [fee, share])[0]` and the instructor the rest. So the
refunds of an order sum exactly to what was paid and each party's parts to its share, whatever the
order of the parts (the last takes exactly what is left of each). Refunds posted before this rule
(one per order) gave back the fee rounded down; their figures stay as posted.

Refund to the tender. An order a checkout paid partly from the wallet and partly by card gives each
refund back to both in proportion to what each paid (`tender_split`), by the same largest-remainder
rule over the running total: every refund returns the mix the learner paid with, the card's parts sum
exactly to what the card paid and the wallet's to the wallet part, and no refund of the card is
turned into wallet money the learner can only spend here (the e-commerce act asks for a refund by the
means of payment used). Card-first would send the same money back but make every small refund a PG
cancel and leave wallet credit for the end; wallet-first would hold the learner's card money as credit.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib.domain.splitting import split
from chalicelib.money import Money

WITHDRAWAL, PRO_RATA, LIVE_SESSION, ADMIN = "withdrawal", "pro_rata", "live_session", "admin"
NO_RULE = "none"
# Tenders: where a refund's money goes. A checkout paid by virtual account refunds to a bank account
# (`refund_account`), a seam left for when checkouts take virtual accounts.
WALLET, CARD, VIRTUAL_ACCOUNT = "wallet", "card", "virtual_account"
ALREADY_REFUNDED = "the order has already been refunded"

BASIS = {
    WITHDRAWAL: "E-commerce act, article 17: withdrawal within {window_days} days of purchase, before the content "
                "is used (below {progress_limit_percent}% of lessons completed): everything paid",
    PRO_RATA: "Lifelong-education act decree, table 3, and academies act decree, table 4: remote lessons are refunded "
              "in proportion to what was not studied (lessons completed or opened, over all lessons)",
    LIVE_SESSION: "A live session seat is refunded in full until the session starts, and not after",
    ADMIN: "An administrator's refund, beyond the policy, up to what is left of what was paid",
    NO_RULE: "No rule of the refund policy gives anything back for this order",
}


@dataclass(frozen=True)
class Usage:
    """What the learner has had of an order when a refund is asked for."""

    purchased_at: datetime
    progress_percent: int  # of lessons completed
    lessons_studied: int  # completed or opened
    lesson_count: int  # all lessons of the course
    session_starts_at: datetime | None = None  # the booked live session, if the order has a seat


@dataclass(frozen=True)
class Quote:
    allowed: bool
    refundable: Money
    rule: str
    basis: str
    reason: str | None = None


@dataclass(frozen=True)
class RefundPolicy:
    window_days: int
    progress_limit_percent: int
    pro_rata: bool = True

    def basis(self, rule: str) -> str:
        return BASIS[rule].format(window_days=self.window_days, progress_limit_percent=self.progress_limit_percent)

    def quote(self, *, paid: Money, refunded: Money, usage: Usage, now: datetime) -> Quote:
        """What a learner may have back now of an order that paid `paid`, of which `refunded` was given back."""
        rule, entitled, reason = self._rule(paid, usage, now)
        refundable = Money(max(0, min(entitled.amount, paid.amount) - refunded.amount), paid.currency)
        if reason is None and not refundable.amount and (paid.amount or refunded.amount):
            reason = "everything this rule gives back has been refunded"
        return Quote(reason is None, refundable, rule, self.basis(rule), reason)

    def _rule(self, paid: Money, usage: Usage, now: datetime) -> tuple[str, Money, str | None]:
        """(the rule, what it gives back of the whole order before earlier refunds, why nothing if so)."""
        nothing = Money.zero(paid.currency)
        if usage.session_starts_at is not None:
            if now >= usage.session_starts_at:
                return LIVE_SESSION, nothing, "the live session has started"
            return LIVE_SESSION, paid, None
        within_window = now - usage.purchased_at <= timedelta(days=self.window_days)
        if within_window and usage.progress_percent < self.progress_limit_percent:
            return WITHDRAWAL, paid, None
        if not self.pro_rata:
            if not within_window:
                return WITHDRAWAL, nothing, f"refunds are possible for {self.window_days} days after purchase"
            return WITHDRAWAL, nothing, f"refunds are possible below {self.progress_limit_percent}% of lessons completed"
        left = pro_rata(paid, usage.lessons_studied, usage.lesson_count)
        return PRO_RATA, left, None if left.amount or not paid.amount else "every lesson of the course has been studied"


def pro_rata(paid: Money, studied: int, lessons: int) -> Money:
    """What was paid minus the part studied; the studied part rounds down (in the learner's favour)."""
    if lessons <= 0:
        return paid
    studied_part = paid.amount * min(max(studied, 0), lessons) // lessons
    return Money(paid.amount - studied_part, paid.currency)


def reversal(total: Money, platform_fee: Money, fee_back_before: Money, refunded_before: Money,
             amount: Money) -> tuple[Money, Money]:
    """How a refund of `amount` is taken back: (from the platform's fee, from the instructor's share).

    Over the running total with largest remainder (see the module). `fee_back_before`: what earlier
    refunds took from the fee as posted (refunds before this rule rounded it down, so the bounds keep
    this part within what is left of each)."""
    fee_back = in_proportion(platform_fee, total - platform_fee, fee_back_before, refunded_before, amount)
    return fee_back, amount - fee_back


def tender_split(card_paid: Money, wallet_paid: Money, card_back_before: Money, refunded_before: Money,
                 amount: Money) -> tuple[Money, Money]:
    """Where a refund of `amount` goes: (to the card, to the wallet), in proportion to what each paid, over
    the running total (see the module). `card_back_before`: what earlier refunds gave back to the card."""
    card_back = in_proportion(card_paid, wallet_paid, card_back_before, refunded_before, amount)
    return card_back, amount - card_back


def in_proportion(first: Money, second: Money, first_before: Money, refunded_before: Money,
                   amount: Money) -> Money:
    """`first`'s part of a refund of `amount` of an order paid `first + second`: largest remainder over the
    running total, so once refunds sum to R, `first` has given back `split(R, [first, second])[0]`; kept
    within the refund and within what is left of `first` (earlier parts may have been posted otherwise)."""
    if not (first.amount or second.amount):
        return Money.zero(amount.currency)
    first_after = split(refunded_before + amount, [first.amount, second.amount])[0]
    first_left = first - first_before
    return Money(max(0, min((first_after - first_before).amount, amount.amount, first_left.amount)), amount.currency)


def legacy_fee_back(total: Money, platform_fee: Money, amount: Money) -> Money:
    """What a refund posted before parts existed took from the fee: its share, rounded down."""
    if not total.amount:
        return Money.zero(amount.currency)
    return Money(platform_fee.amount * amount.amount // total.amount, amount.currency)


def clawback(share_back: Money, available: Money) -> tuple[Money, Money]:
    """A refund of a settled sale: (taken from the instructor's available balance, what becomes owed)."""
    taken = Money(max(0, min(share_back.amount, available.amount)), share_back.currency)
    return taken, share_back - taken


def repayment(earning: Money, owed: Money) -> Money:
    """How much of an earning repays what the instructor owes (first, before anything else)."""
    return Money(max(0, min(earning.amount, owed.amount)), earning.currency)
