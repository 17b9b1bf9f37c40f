"""Orders: a learner's purchase of a course (and maybe a seat), and its refunds.

Table `<prefix>orders`
    hash key   order_id      a ULID (sorts by time)

Indexes
    by_learner (GSI)      learner_id, order_id      a learner's orders, newest first
    by_instructor (GSI)   instructor_id, order_id   an instructor's sales (statements, dashboards)
    unsettled (GSI)       settle_shard, settles_at  orders whose instructor share is still pending,
                                                    by the time it may be released (the settlement job);
                                                    sparse: settling or a full refund removes `settle_shard`
                                                    (a partial refund keeps it: the rest still settles)
    refunds_pending (GSI, KEYS_ONLY)  refund_pending, order_id   orders with a refund whose PG cancel is not
                                                    done yet (the refund_retry job); sparse: set by such a
                                                    refund, removed when the order's last one is done;
                                                    orders written before it need no backfill: the previous
                                                    code refunded to the wallet at once, never pending at the PG

Access patterns
    a receipt .............................. GetItem order_id (the service checks the owner)
    a refund's order (reconciliation) ...... GetItem order_id, consistent (before reporting it missing)
    a co-instructor's orders (digest) ...... BatchGetItem order_id (ids from their ledger entries)
    my orders .............................. Query by_learner
    sales of an instructor ................. Query by_instructor
    an instructor's sales since a moment ... Query by_instructor, order_id >= the moment's lowest ULID (digest)
    due for settlement ..................... Query unsettled, settles_at <= now
    refunds waiting for the PG ............. Query refunds_pending
    settle (inside the settlement) ......... Update settled_at, remove settle_shard, if still unsettled
    create (inside the purchase) ........... Put if order_id is new
    refund (inside the refund) ............. Update: the refunds list, the latest refund's fields, the status
                                             (refunded with the last), if status, settlement and latest
                                             refund are as read (and its pending refunds still pending)
    a refund done at the PG ................ Update the part's status, if it is still pending
    the bank account refunds go to ......... GetItem order_id, consistent, `refund_account` only (the PG's cancel)

Refunds. An order is refunded in parts (`refunds`, a list of maps: refund id, its ledger transfer id,
amount, what it took from the fee and from the instructor's share, reason, who, when, where the money
went, the rule; for a checkout order paid by card, `to_card`: the part given back to the card, and
`status`: `pending` until the PG cancelled it, then `done`). `refund_id`, `refund_amount`,
`refund_reason`, `refunded_by` and `refunded_at` hold the latest refund, as they held the one refund an
order could have before parts: an item written then has no `refunds` list and reads as one part made of
those fields (its transfer `refund:<order_id>`, its fee part rounded down as it was posted, to the wallet).
No backfill is needed; the next refund writes the list.

Revenue splits. An order sold under a co-instructors' split records it (`shares`: each party's id, bps and
part of `instructor_share`), and each refund each party's part of its `share_back` (`shares_back`). Items
without them (sold alone, or before splits existed) read as all the course's instructor's, so no backfill
is needed. `by_instructor` indexes the course's instructor (the owner) only: a co-instructor's figures come
from their own daily aggregates and ledger accounts; their digest reads the orders their pending account's
purchase entries name (`get_many`).

`refund_account` (a map: bank_code, holder_name, account_ciphertext, account_last4): the bank account that
refunds of a virtual-account payment go to, the latest one the learner gave (services/refund_accounts.py);
written with the refund that named it. Orders refunded before it existed never sent money to a bank account.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from pynamodb.attributes import (
    BinaryAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib import errors
from chalicelib.domain.refunds import legacy_fee_back
from chalicelib.money import Money
from chalicelib.store.base import table_meta
from chalicelib.store.cursors import decode_cursor, encode_cursor
from chalicelib.store.transactions import Contention, UnitOfWork

PAID, REFUNDED = "paid", "refunded"
UNSETTLED = "unsettled"


class ByLearner(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_learner"
        projection = AllProjection()

    learner_id = UnicodeAttribute(hash_key=True)
    order_id = UnicodeAttribute(range_key=True)


class ByInstructor(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_instructor"
        projection = AllProjection()

    instructor_id = UnicodeAttribute(hash_key=True)
    order_id = UnicodeAttribute(range_key=True)


class Unsettled(GlobalSecondaryIndex):
    class Meta:
        index_name = "unsettled"
        projection = AllProjection()

    settle_shard = UnicodeAttribute(hash_key=True)
    settles_at = UnicodeAttribute(range_key=True)


class RefundsPending(GlobalSecondaryIndex):
    class Meta:
        index_name = "refunds_pending"
        projection = KeysOnlyProjection()

    refund_pending = UnicodeAttribute(hash_key=True)
    order_id = UnicodeAttribute(range_key=True)


class PartyMap(MapAttribute):
    """A party's part of an order's instructor share (`bps` of it), or of a refund's part of it (no `bps`)."""

    instructor_id = UnicodeAttribute()
    amount = NumberAttribute()
    bps = NumberAttribute(null=True)


class RefundMap(MapAttribute):
    refund_id = UnicodeAttribute()
    transfer_id = UnicodeAttribute()
    amount = NumberAttribute()
    fee_back = NumberAttribute()
    share_back = NumberAttribute()
    reason = UnicodeAttribute()
    refunded_by = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    to = UnicodeAttribute()
    rule = UnicodeAttribute()
    to_card = NumberAttribute(null=True)  # absent: nothing went to a card
    status = UnicodeAttribute(null=True)  # absent: done
    vat_back = NumberAttribute(null=True)  # absent: no VAT given back (an order sold before VAT was recorded)
    shares_back = ListAttribute(of=PartyMap, null=True)  # absent: all of share_back from the course's instructor


class RefundAccountMap(MapAttribute):
    bank_code = UnicodeAttribute()
    holder_name = UnicodeAttribute()
    account_ciphertext = BinaryAttribute(legacy_encoding=False)  # KMS; the number is never stored plain
    account_last4 = UnicodeAttribute()


class OrderItem(Model):
    Meta = table_meta("orders")

    order_id = UnicodeAttribute(hash_key=True)
    learner_id = UnicodeAttribute()
    instructor_id = UnicodeAttribute()
    course_id = UnicodeAttribute()
    course_title = UnicodeAttribute()
    session_id = UnicodeAttribute(null=True)
    enrollment_id = UnicodeAttribute()
    status = UnicodeAttribute()
    currency = UnicodeAttribute()
    price = NumberAttribute()
    discount = NumberAttribute()
    total = NumberAttribute()
    platform_fee = NumberAttribute()
    vat = NumberAttribute(null=True)  # the VAT in platform_fee; absent: sold before VAT was recorded (none posted)
    instructor_share = NumberAttribute()
    # The revenue split it was sold under: each party's part of instructor_share. Absent (sold alone, or before
    # splits existed): all of it is the course's instructor's; every reader treats it so (no backfill).
    shares = ListAttribute(of=PartyMap, null=True)
    coupon_code = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    settle_shard = UnicodeAttribute(null=True)
    settles_at = UnicodeAttribute(null=True)
    settled_at = UTCDateTimeAttribute(null=True)
    refund_id = UnicodeAttribute(null=True)
    refund_amount = NumberAttribute(null=True)
    refund_reason = UnicodeAttribute(null=True)
    refunded_by = UnicodeAttribute(null=True)
    refunded_at = UTCDateTimeAttribute(null=True)
    refunds = ListAttribute(of=RefundMap, null=True)
    checkout_id = UnicodeAttribute(null=True)  # the checkout that paid it (None: bought from the wallet)
    refund_pending = UnicodeAttribute(null=True)  # REFUND_PENDING while a refund waits for the PG
    refund_account = RefundAccountMap(null=True)  # where refunds of a virtual-account payment go

    by_learner = ByLearner()
    by_instructor = ByInstructor()
    unsettled = Unsettled()
    refunds_pending = RefundsPending()


WALLET, CARD, CARD_AND_WALLET = "wallet", "card", "card_and_wallet"  # where a refund's money went
# a virtual-account payment's part goes to a bank account (held in `to_card`: the PG's part, whatever the tender)
BANK_ACCOUNT, BANK_ACCOUNT_AND_WALLET = "bank_account", "bank_account_and_wallet"


@dataclass(frozen=True)
class RefundAccount:
    bank_code: str
    holder_name: str
    account_ciphertext: bytes = field(repr=False)
    account_last4: str


def refund_account_of(order_id: str) -> RefundAccount | None:
    """The bank account the order's virtual-account refunds go to, None when none was given."""
    try:
        item = OrderItem.get(order_id, consistent_read=True, attributes_to_get=["order_id", "refund_account"])
    except OrderItem.DoesNotExist:
        return None
    account = item.refund_account
    return account and RefundAccount(account.bank_code, account.holder_name, bytes(account.account_ciphertext),
                                      account.account_last4)
REFUND_PENDING, REFUND_DONE = "pending", "done"  # a refund's status: pending until the PG cancelled its card part


@dataclass(frozen=True)
class RefundPart:
    """One refund of an order: `amount` back to `to`, taken from the fee (`fee_back`) and the share (`share_back`)."""

    refund_id: str
    transfer_id: str
    amount: Money
    fee_back: Money
    share_back: Money
    reason: str
    refunded_by: str
    created_at: datetime
    to: str = WALLET
    rule: str = "withdrawal"
    to_card: Money | None = None  # the part given back to the card (a PG cancel); the rest went to the wallet
    status: str = REFUND_DONE
    vat_back: Money | None = None  # the VAT part of `fee_back` (None: none, as for orders sold before VAT)
    shares_back: tuple[tuple[str, Money], ...] | None = None  # each party's part of `share_back` (None: the owner's)

    @property
    def card_part(self) -> Money:
        return self.to_card or Money.zero(self.amount.currency)

    @property
    def vat_part(self) -> Money:
        return self.vat_back or Money.zero(self.amount.currency)

    @property
    def wallet_part(self) -> Money:
        return self.amount - self.card_part

    @property
    def pending(self) -> bool:
        return self.status == REFUND_PENDING


@dataclass(frozen=True)
class PartyShare:
    """A party's part of an order's instructor share under the split it was sold under."""

    instructor_id: str
    bps: int
    amount: Money


@dataclass(frozen=True)
class Order:
    order_id: str
    learner_id: str
    instructor_id: str
    course_id: str
    course_title: str
    session_id: str | None
    enrollment_id: str
    status: str
    price: Money
    discount: Money
    total: Money
    platform_fee: Money
    instructor_share: Money
    coupon_code: str | None
    created_at: datetime
    settled_at: datetime | None = None
    refunds: tuple[RefundPart, ...] = ()
    checkout_id: str | None = None
    vat: Money | None = None  # the VAT in `platform_fee` as the purchase posted it; None: sold before VAT (none)
    shares: tuple[PartyShare, ...] = ()  # the split it was sold under; () : all to the course's instructor

    @property
    def parties(self) -> tuple[PartyShare, ...]:
        """Who shares the instructor share, the course's instructor (the owner) among them."""
        return self.shares or (PartyShare(self.instructor_id, 10_000, self.instructor_share),)

    @property
    def owner_index(self) -> int:
        return next(index for index, party in enumerate(self.parties) if party.instructor_id == self.instructor_id)

    def parts_back(self, part: RefundPart) -> tuple[tuple[str, Money], ...]:
        """Each party's part of a refund's `share_back` (a refund written without them: all the owner's)."""
        return part.shares_back if part.shares_back is not None else ((self.instructor_id, part.share_back),)

    def party_back(self) -> list[Money]:
        """What each party (in `parties` order) gave back over the order's refunds."""
        given = {party.instructor_id: Money.zero(self.total.currency) for party in self.parties}
        for part in self.refunds:
            for instructor_id, amount in self.parts_back(part):
                given[instructor_id] = given[instructor_id] + amount
        return [given[party.instructor_id] for party in self.parties]

    def share_of(self, instructor_id: str) -> Money:
        """A party's part of the instructor share (zero for an instructor who is no party)."""
        return next((party.amount for party in self.parties if party.instructor_id == instructor_id),
                    Money.zero(self.total.currency))

    @property
    def platform_vat(self) -> Money:
        return self.vat or Money.zero(self.total.currency)

    @property
    def vat_back(self) -> Money:
        return sum((part.vat_part for part in self.refunds), Money.zero(self.total.currency))

    @property
    def refunded(self) -> Money:
        return sum((part.amount for part in self.refunds), Money.zero(self.total.currency))

    @property
    def refundable_left(self) -> Money:
        """What is left of what was paid: no refund, admins' included, may go beyond it."""
        return self.total - self.refunded

    @property
    def fee_back(self) -> Money:
        return sum((part.fee_back for part in self.refunds), Money.zero(self.total.currency))

    @property
    def share_back(self) -> Money:
        return sum((part.share_back for part in self.refunds), Money.zero(self.total.currency))

    @property
    def card_back(self) -> Money:
        return sum((part.card_part for part in self.refunds), Money.zero(self.total.currency))

    @property
    def pending_refunds(self) -> tuple[RefundPart, ...]:
        return tuple(part for part in self.refunds if part.pending)

    @property
    def latest_refund(self) -> RefundPart | None:
        return self.refunds[-1] if self.refunds else None

    @property
    def refunded_at(self) -> datetime | None:
        return self.refunds[-1].created_at if self.refunds else None


def _refund_parts(item: OrderItem) -> tuple[RefundPart, ...]:
    money = lambda amount: Money(int(amount), item.currency)  # noqa: E731
    if item.refunds is not None:
        return tuple(RefundPart(part.refund_id, part.transfer_id, money(part.amount), money(part.fee_back),
                                money(part.share_back), part.reason, part.refunded_by, part.created_at, part.to,
                                part.rule, None if part.to_card is None else money(part.to_card),
                                part.status or REFUND_DONE, None if part.vat_back is None else money(part.vat_back),
                                None if part.shares_back is None else tuple(
                                    (party.instructor_id, money(party.amount)) for party in part.shares_back))
                     for part in item.refunds)
    if item.refund_id is None:
        return ()
    # Written before refunds came in parts: the one refund, as it was posted.
    amount = money(item.refund_amount or 0)
    fee_back = legacy_fee_back(money(item.total), money(item.platform_fee), amount)
    return (RefundPart(item.refund_id, f"refund:{item.order_id}", amount, fee_back, amount - fee_back,
                       item.refund_reason or "", item.refunded_by or "", item.refunded_at or item.created_at),)


def to_order(item: OrderItem) -> Order:
    money = lambda amount: Money(int(amount), item.currency)  # noqa: E731
    return Order(
        item.order_id, item.learner_id, item.instructor_id, item.course_id, item.course_title, item.session_id,
        item.enrollment_id, item.status, money(item.price), money(item.discount), money(item.total),
        money(item.platform_fee), money(item.instructor_share), item.coupon_code, item.created_at,
        item.settled_at, _refund_parts(item), item.checkout_id, None if item.vat is None else money(item.vat),
        tuple(PartyShare(party.instructor_id, int(party.bps), money(party.amount)) for party in item.shares or ()),
    )


def get(order_id: str, consistent: bool = False) -> Order | None:
    try:
        return to_order(OrderItem.get(order_id, consistent_read=consistent))
    except OrderItem.DoesNotExist:
        return None


def get_many(order_ids: Iterable[str]) -> list[Order]:
    """Orders by id (BatchGetItem, 100 a call; eventually consistent); ids of no order are left out."""
    wanted = list(dict.fromkeys(order_ids))
    return [to_order(item) for item in OrderItem.batch_get(wanted)] if wanted else []


def add_create(uow: UnitOfWork, order: Order, settles_at: str) -> None:
    uow.put(
        OrderItem(
            order.order_id, learner_id=order.learner_id, instructor_id=order.instructor_id, course_id=order.course_id,
            course_title=order.course_title, session_id=order.session_id, enrollment_id=order.enrollment_id,
            status=PAID, currency=order.total.currency, price=order.price.amount, discount=order.discount.amount,
            total=order.total.amount, platform_fee=order.platform_fee.amount,
            vat=None if order.vat is None else order.vat.amount, instructor_share=order.instructor_share.amount,
            shares=[PartyMap(instructor_id=party.instructor_id, bps=party.bps, amount=party.amount.amount)
                    for party in order.shares] or None,
            coupon_code=order.coupon_code,
            created_at=order.created_at, settle_shard=UNSETTLED if order.instructor_share.amount else None,
            settles_at=settles_at, checkout_id=order.checkout_id,
        ),
        condition=OrderItem.order_id.does_not_exist(),
        on_fail=lambda: errors.Conflict("This order exists already"),
    )


def _latest_refund_as_read(order: Order):
    latest = order.latest_refund
    return OrderItem.refund_id.does_not_exist() if latest is None else OrderItem.refund_id == latest.refund_id


def _as_map(part: RefundPart) -> RefundMap:
    return RefundMap(refund_id=part.refund_id, transfer_id=part.transfer_id, amount=part.amount.amount,
                     fee_back=part.fee_back.amount, share_back=part.share_back.amount, reason=part.reason,
                     refunded_by=part.refunded_by, created_at=part.created_at, to=part.to, rule=part.rule,
                     to_card=None if part.to_card is None else part.to_card.amount,
                     status=part.status if part.pending else None,
                     vat_back=None if part.vat_back is None else part.vat_back.amount,
                     shares_back=None if part.shares_back is None else [
                         PartyMap(instructor_id=instructor_id, amount=amount.amount)
                         for instructor_id, amount in part.shares_back])


def add_refund(uow: UnitOfWork, order: Order, part: RefundPart, *, last: bool,
               refund_account: RefundAccount | None = None) -> None:
    """Add a refund to the order, if its status, settlement and latest refund are still as read (so two
    refunds, or a refund and a settlement, never both build on the same state). `last`: the order is
    refunded (its enrollment ends with this refund). Once nothing is left of what was paid, nothing is left
    to settle either (the order leaves the `unsettled` index); otherwise the rest of the share still settles.
    A pending refund puts the order in the `refunds_pending` index. The order's pending refunds must still
    be pending: the whole list is written, so a refund done meanwhile must not be written back as pending."""
    settled_as_read = OrderItem.settled_at.exists() if order.settled_at else OrderItem.settled_at.does_not_exist()
    actions = [
        OrderItem.refunds.set([_as_map(existing) for existing in (*order.refunds, part)]),
        OrderItem.refund_id.set(part.refund_id), OrderItem.refund_amount.set(part.amount.amount),
        OrderItem.refund_reason.set(part.reason), OrderItem.refunded_by.set(part.refunded_by),
        OrderItem.refunded_at.set(part.created_at),
    ]
    if last:
        actions.append(OrderItem.status.set(REFUNDED))
    if (order.refunded + part.amount).amount >= order.total.amount:
        actions.append(OrderItem.settle_shard.remove())
    if part.pending:
        actions.append(OrderItem.refund_pending.set(REFUND_PENDING))
    if refund_account is not None:  # the account this refund (and any still pending) is sent to
        actions.append(OrderItem.refund_account.set(RefundAccountMap(
            bank_code=refund_account.bank_code, holder_name=refund_account.holder_name,
            account_ciphertext=refund_account.account_ciphertext, account_last4=refund_account.account_last4)))
    condition = (OrderItem.status == order.status) & settled_as_read & _latest_refund_as_read(order)
    for index, existing in enumerate(order.refunds):
        if existing.pending:
            condition &= OrderItem.refunds[index].status == REFUND_PENDING
    uow.update(
        OrderItem(order.order_id),
        actions=actions,
        condition=condition,
        on_fail=lambda: errors.Conflict("The order changed while it was being refunded; try again"),
    )


def add_refund_done(uow: UnitOfWork, order: Order, refund_id: str) -> None:
    """Mark a pending refund done, if it still is. With the order's last pending refund the order leaves the
    `refunds_pending` index, if no refund was added since it was read (else `Contention`: read it again)."""
    index = next(i for i, part in enumerate(order.refunds) if part.refund_id == refund_id)
    actions = [OrderItem.refunds[index].status.set(REFUND_DONE)]
    condition = (OrderItem.refunds[index].refund_id == refund_id) & (OrderItem.refunds[index].status == REFUND_PENDING)
    if all(part.refund_id == refund_id for part in order.pending_refunds):
        actions.append(OrderItem.refund_pending.remove())
        condition &= _latest_refund_as_read(order)
    uow.update(OrderItem(order.order_id), actions=actions, condition=condition,
               on_fail=lambda: Contention(f"order {order.order_id} changed while its refund was being completed"))


def with_pending_refunds(page_size: int = 100) -> Iterator[str]:
    """Ids of orders with a refund waiting for the PG (the index may lag: read the order consistently)."""
    for key in OrderItem.refunds_pending.query(REFUND_PENDING, page_size=page_size):
        yield key.order_id


def due_for_settlement(now_iso: str, page_size: int = 100) -> Iterator[Order]:
    """Orders whose instructor share is still pending and may be released by `now_iso`, oldest first.

    Read from the `unsettled` index, which may lag the table by a moment: the settlement's own
    condition (`add_settle`) is what decides."""
    for item in OrderItem.unsettled.query(UNSETTLED, OrderItem.settles_at <= now_iso, page_size=page_size):
        yield to_order(item)


def add_settle(uow: UnitOfWork, order: Order, now: datetime) -> None:
    """Mark the order settled, if it is still unsettled and in the state it was read in (status, latest refund)."""
    uow.update(
        OrderItem(order.order_id),
        actions=[OrderItem.settled_at.set(now), OrderItem.settle_shard.remove()],
        condition=(OrderItem.settle_shard.exists() & OrderItem.settled_at.does_not_exist()
                   & (OrderItem.status == order.status) & _latest_refund_as_read(order)),
        on_fail=lambda: errors.Conflict(f"Order {order.order_id} was settled or refunded meanwhile"),
    )


def of_instructor_since(instructor_id: str, since_order_id: str) -> Iterator[Order]:
    """An instructor's orders from `since_order_id` on (order ids are ULIDs: from a moment on), oldest first."""
    for item in OrderItem.by_instructor.query(instructor_id, OrderItem.order_id >= since_order_id, page_size=200):
        yield to_order(item)


def of_learner(learner_id: str, limit: int, cursor: str | None) -> tuple[list[Order], str | None]:
    """A learner's orders, newest first; (orders, the next page's cursor)."""
    result = OrderItem.by_learner.query(learner_id, scan_index_forward=False, limit=limit,
                                        last_evaluated_key=decode_cursor(cursor, partition={"learner_id": learner_id}))
    return [to_order(item) for item in result], encode_cursor(result.last_evaluated_key)
