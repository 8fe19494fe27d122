"""The addition plan: what a sync will do to one agreement, and the amounts it bills.

Amounts are derived from the actions and the agreement's additions as found, never stored, so
an edited plan can never show stale totals. A plan is written for one style of PSA
(:class:`PsaStyle`): ConnectWise, where psasync writes the partial period as prorate
additions, or Autotask, which prorates a dated change of units by itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum

from psasync.domain.agreements import Addition, BillCustomer, ProductRef
from psasync.domain.billing import ONE_DAY, BillingPeriod
from psasync.domain.money import Currency, extended_amount
from psasync.domain.orders import Order, OrderType, Subscription, order_billing_period
from psasync.domain.proration import prorated_unit_amount


class PriceSource(StrEnum):
    """Where unit prices and costs come from."""

    MARKETPLACE = "marketplace"
    CONNECTWISE = "connectwise"


class ChangeStrategy(StrEnum):
    """How a Change Order alters the ongoing recurring addition."""

    REPLACE = "replace"
    UPDATE_IN_PLACE = "update_in_place"


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    CANCEL = "cancel"
    # An addition that has not started yet (it never billed) is removed rather than cancelled.
    DELETE = "delete"


class PriceOrigin(StrEnum):
    """Where a planned line's unit price and cost came from, as the review shows it."""

    MARKETPLACE = "marketplace"
    EXISTING_ADDITION = "existingAddition"
    CATALOG = "catalog"
    EDITED = "edited"


class AdditionKind(StrEnum):
    RECURRING = "recurring"
    PRORATE = "prorate"
    ONE_TIME = "one_time"


class PsaStyle(StrEnum):
    """The PSA a plan is written for: how it bills a change inside a period, and its name.

    ``connectwise``: psasync writes the partial period itself, as prorate additions.
    ``autotask``: units move by dated adjustments and the PSA prorates them by itself, so a
    plan has no prorate line; its prorated amount is what the PSA will bill (DESIGN §11).
    """

    CONNECTWISE = "connectwise"
    AUTOTASK = "autotask"

    @property
    def vendor(self) -> str:
        return _VENDORS[self]

    @property
    def prorates_itself(self) -> bool:
        return self is PsaStyle.AUTOTASK

    @property
    def catalog_item(self) -> str:
        """What the PSA calls a mapped product, with its article."""
        return _CATALOG_ITEMS[self]


_VENDORS = {PsaStyle.CONNECTWISE: "ConnectWise", PsaStyle.AUTOTASK: "Autotask"}
_CATALOG_ITEMS = {
    PsaStyle.CONNECTWISE: "a ConnectWise catalog item",
    PsaStyle.AUTOTASK: "an Autotask Service",
}


@dataclass(frozen=True)
class PlanOptions:
    """Per-integration settings that shape a plan.

    ``psa``: the PSA's style. With ``autotask`` a Change Order is one update of the units on
    its date, so ``change_strategy`` does not apply, and ``credit_downgrades`` neither: the
    PSA credits a downgrade by itself.
    """

    change_strategy: ChangeStrategy = ChangeStrategy.REPLACE
    credit_downgrades: bool = True
    psa: PsaStyle = PsaStyle.CONNECTWISE


@dataclass(frozen=True)
class Task:
    """A synchronization task: one marketplace order, with its subscription and period."""

    id: int
    order: Order
    subscription: Subscription | None
    period: BillingPeriod

    @classmethod
    def from_order(cls, *, task_id: int, order: Order, subscription: Subscription | None) -> Task:
        """A task with its billing period derived per the order's dates (OrderError if none)."""
        period = order_billing_period(order, subscription)
        return cls(id=task_id, order=order, subscription=subscription, period=period)

    @property
    def change_date(self) -> dt.date:
        """The first day the order changes billing: usage from its period's start."""
        if self.order.type is OrderType.BILLING:
            return self.period.start
        return self.order.effective_date


def idempotency_key(*, task_id: int, line: int, kind: AdditionKind) -> str:
    """The key a created addition carries so a repeated sync finds it: ``task:7:line1:prorate``."""
    return f"task:{task_id}:line{line}:{kind.value}"


def target_key(*, task_id: int, line: int, action: Action) -> str:
    """The key of a cancel, update or delete of an existing addition: ``task:7:line1:cancel``."""
    return f"task:{task_id}:line{line}:{action.value}"


@dataclass(frozen=True)
class PlannedAddition:
    """One action on one addition.

    ``description`` is the customer-facing text (ConnectWise ``invoiceDescription``);
    ``addition_id`` is the target of an update, cancel or delete, None for a create;
    ``price_origin`` says where the unit price and cost came from.
    """

    action: Action
    kind: AdditionKind
    key: str
    line: int
    product: ProductRef
    mpn: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    unit_cost: Decimal
    effective_date: dt.date
    cancelled_date: dt.date | None
    bill_customer: BillCustomer
    taxable: bool
    price_source: PriceSource
    addition_id: int | None = None
    price_origin: PriceOrigin = PriceOrigin.MARKETPLACE
    # Left out by the reseller at review: shown and journalled, never written or billed.
    skip: bool = False

    @property
    def billable(self) -> bool:
        return self.bill_customer is BillCustomer.BILLABLE


class NoticeCode(StrEnum):
    QUANTITY_MISMATCH = "QuantityMismatch"
    NO_ONGOING_ADDITION = "NoOngoingAddition"
    AMBIGUOUS_ONGOING_ADDITION = "AmbiguousOngoingAddition"
    EXISTING_ONGOING_ADDITION = "ExistingOngoingAddition"
    AGREEMENT_PRORATES = "AgreementProrates"
    PARTIAL_PERIOD_NOT_CHARGED = "PartialPeriodNotCharged"
    CREDIT_SKIPPED = "CreditSkipped"
    UNMAPPED_PRODUCT = "UnmappedProduct"
    BUNDLE_PRODUCT = "BundleProduct"
    CURRENCY_MISMATCH = "CurrencyMismatch"
    EFFECTIVE_DATE_OUTSIDE_PERIOD = "EffectiveDateOutsidePeriod"
    PRODUCT_NOT_IN_SUBSCRIPTION = "ProductNotInSubscription"
    COST_FROM_CATALOG = "CostFromCatalog"
    LINE_IGNORED = "LineIgnored"
    NOTHING_TO_CHANGE = "NothingToChange"
    SETUP_PRICE_FROM_MARKETPLACE = "SetupPriceFromMarketplace"
    PERIOD_INVOICED = "PeriodInvoiced"


# Problems the plan cannot resolve by itself: it cannot be synced until they are fixed.
BLOCKING_NOTICES = frozenset(
    {
        NoticeCode.AMBIGUOUS_ONGOING_ADDITION,
        NoticeCode.UNMAPPED_PRODUCT,
        NoticeCode.BUNDLE_PRODUCT,
        NoticeCode.CURRENCY_MISMATCH,
        NoticeCode.EFFECTIVE_DATE_OUTSIDE_PERIOD,
        NoticeCode.PERIOD_INVOICED,
    }
)


@dataclass(frozen=True)
class Notice:
    """Something the reseller should know before syncing; ``line`` is the order line, if any."""

    code: NoticeCode
    message: str
    line: int | None = None

    @property
    def blocking(self) -> bool:
        return self.code in BLOCKING_NOTICES


@dataclass(frozen=True)
class Plan:
    """The actions a sync applies to one agreement, with what it found there."""

    task_id: int
    agreement_id: int
    currency: Currency
    period: BillingPeriod
    bill_start_date: dt.date | None
    actions: tuple[PlannedAddition, ...]
    notices: tuple[Notice, ...]
    baseline: tuple[Addition, ...]
    # The agreement's last invoiced day: the plan may not change billing on or before it.
    invoiced_through: dt.date | None = None
    psa: PsaStyle = PsaStyle.CONNECTWISE

    @property
    def blocked(self) -> bool:
        """True when a blocking notice forbids syncing this plan."""
        return any(notice.blocking for notice in self.notices)

    def extended_price(self, action: PlannedAddition) -> Decimal:
        """Quantity × unit price of an action, in the plan's currency."""
        return extended_amount(action.quantity, action.unit_price, decimals=self.currency.decimals)

    @property
    def written_actions(self) -> tuple[PlannedAddition, ...]:
        """The actions a sync writes: all but those the reseller left out."""
        return tuple(action for action in self.actions if not action.skip)

    @property
    def prorated_amount(self) -> Decimal:
        """What the partial period charges (negative: a credit): the billable prorate
        additions, or for a PSA that prorates itself what it bills for the changes of units."""
        if self.psa.prorates_itself:
            billable = (a for a in self.written_actions if a.billable)
            return self._total(self.psa_prorated(a) for a in billable)
        prorates = (
            a for a in self.written_actions if a.kind is AdditionKind.PRORATE and a.billable
        )
        return self._total(self.extended_price(a) for a in prorates)

    def changed_on(self, action: PlannedAddition) -> dt.date:
        """The day an action changes what a PSA of adjustments bills: a recurring line's
        units move on its effective date, a cancel's the day after its cancelled date (to 0);
        a one-time line (a charge) bills on its effective date."""
        if action.action is Action.CANCEL and action.cancelled_date is not None:
            return action.cancelled_date + ONE_DAY
        return action.effective_date

    def psa_prorated(self, action: PlannedAddition) -> Decimal:
        """What a PSA that prorates itself bills for the rest of the period when ``action``
        moves a recurring line's units (DESIGN §3's seed formula, as Autotask bills it).

        ``after × p'(new price) − before × p'(old price)``, ``p'`` the unit price prorated
        from the day of the change and rounded once; nothing on the period start (the
        period's recurring line changes instead), outside the period, or for one-time lines.
        """
        day = self.changed_on(action)
        if action.kind is not AdditionKind.RECURRING or day == self.period.start:
            return self._total(())
        if not self.period.contains(day):
            return self._total(())
        before, after = self._units_before_after(action)
        return self._partial(after, day) - self._partial(before, day)

    def _units_before_after(self, action: PlannedAddition) -> tuple[_Units, _Units]:
        units = (action.quantity, action.unit_price)
        if action.action is Action.CREATE:
            return _NO_UNITS, units
        if action.action is Action.UPDATE:
            target = next((a for a in self.baseline if a.id == action.addition_id), None)
            before = (target.quantity, target.unit_price) if target else _NO_UNITS
            return before, units
        return units, _NO_UNITS  # a cancel or delete takes the line down to 0

    def _partial(self, units: _Units, day: dt.date) -> Decimal:
        quantity, price = units
        decimals, period = self.currency.decimals, self.period
        unit = prorated_unit_amount(price, period=period, effective_date=day, decimals=decimals)
        return extended_amount(quantity, unit, decimals=decimals)

    @property
    def one_time_amount(self) -> Decimal:
        """What the billable one-time additions (setup fees, usage) charge this period."""
        one_time = (
            a for a in self.written_actions if a.kind is AdditionKind.ONE_TIME and a.billable
        )
        return self._total(self.extended_price(a) for a in one_time)

    @property
    def recurring_amount_before(self) -> Decimal:
        """What the agreement's recurring additions bill each period before the sync."""
        return self._recurring_total(self.baseline)

    @property
    def recurring_amount_after(self) -> Decimal:
        """What they bill each period once the plan is applied."""
        return self._recurring_total(apply_actions(self.baseline, self.written_actions))

    def with_actions(self, actions: Iterable[PlannedAddition]) -> Plan:
        return replace(self, actions=tuple(actions))

    def _recurring_total(self, additions: Iterable[Addition]) -> Decimal:
        # Recurring = what still bills when the next period starts; one-time lines have ended.
        billed = (
            extended_amount(a.quantity, a.unit_price, decimals=self.currency.decimals)
            for a in additions
            if a.is_ongoing_on(self.period.end) and a.bill_customer is BillCustomer.BILLABLE
        )
        return self._total(billed)

    def _total(self, amounts: Iterable[Decimal]) -> Decimal:
        return sum(amounts, start=Decimal(0).scaleb(-self.currency.decimals))


# (quantity, unit price) of a recurring line at one moment.
_Units = tuple[Decimal, Decimal]
_NO_UNITS: _Units = (Decimal(0), Decimal(0))


def apply_actions(
    additions: Iterable[Addition], actions: Sequence[PlannedAddition]
) -> tuple[Addition, ...]:
    """The agreement's additions as they will be after the actions (new ones get id 0)."""
    by_target = {a.addition_id: a for a in actions if a.addition_id is not None}
    deleted = {a.addition_id for a in actions if a.action is Action.DELETE}
    after = [
        _applied(addition, by_target.get(addition.id))
        for addition in additions
        if addition.id not in deleted
    ]
    after.extend(_created(action) for action in actions if action.action is Action.CREATE)
    return tuple(after)


def _applied(addition: Addition, action: PlannedAddition | None) -> Addition:
    if action is None:
        return addition
    if action.action is Action.CANCEL:
        return replace(addition, cancelled_date=action.cancelled_date)
    return replace(
        addition,
        quantity=action.quantity,
        unit_price=action.unit_price,
        unit_cost=action.unit_cost,
        bill_customer=action.bill_customer,
        taxable=action.taxable,
        invoice_description=action.description,
        cancelled_date=action.cancelled_date,
    )


def _created(action: PlannedAddition) -> Addition:
    return Addition(
        id=0,
        product=action.product,
        quantity=action.quantity,
        unit_price=action.unit_price,
        unit_cost=action.unit_cost,
        effective_date=action.effective_date,
        cancelled_date=action.cancelled_date,
        bill_customer=action.bill_customer,
        taxable=action.taxable,
        invoice_description=action.description,
        sync_key=action.key,
    )
