"""The working state of one planning run: its inputs, and the actions and notices it collects.

The planner (``planner.py``) decides *what* to do per order line; the builder knows *how* each
kind of action is written down, priced and keyed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal

from psasync.domain.agreements import Addition, Agreement, BillCustomer, CatalogItem, ProductClass
from psasync.domain.invoiced import with_invoiced_notices
from psasync.domain.orders import OrderLine
from psasync.domain.plan import (
    Action,
    AdditionKind,
    Notice,
    NoticeCode,
    Plan,
    PlannedAddition,
    PlanOptions,
    PriceOrigin,
    PriceSource,
    PsaStyle,
    Task,
    idempotency_key,
    target_key,
)
from psasync.domain.proration import prorated_unit_amount


@dataclass(frozen=True)
class Pricing:
    """A full-period unit price and cost, and where they came from."""

    price: Decimal
    cost: Decimal
    origin: PriceOrigin

    @classmethod
    def of(cls, addition: Addition) -> Pricing:
        return cls(addition.unit_price, addition.unit_cost, PriceOrigin.EXISTING_ADDITION)


@dataclass
class PlanBuilder:
    task: Task
    agreement: Agreement
    baseline: tuple[Addition, ...]
    catalog: Mapping[str, CatalogItem]
    setup_items: Mapping[str, CatalogItem]
    options: PlanOptions
    price_sources: Mapping[int, PriceSource]
    default_source: PriceSource
    actions: list[PlannedAddition] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)

    # --- facts ---------------------------------------------------------------------------------

    @property
    def change_date(self) -> dt.date:
        return self.task.change_date

    @property
    def psa(self) -> PsaStyle:
        return self.options.psa

    def source_for(self, line: int) -> PriceSource:
        return self.price_sources.get(line, self.default_source)

    def ongoing(self, item: CatalogItem) -> list[Addition]:
        """The product's additions that still bill when the next period starts."""
        next_start = self.task.period.end
        return [a for a in self.baseline if a.product.id == item.id and a.is_ongoing_on(next_start)]

    def notice(self, code: NoticeCode, message: str, line: int | None = None) -> None:
        self.notices.append(Notice(code=code, message=message, line=line))

    # --- checks that stop a line ---------------------------------------------------------------

    def catalog_item(self, mpn: str, line: int) -> CatalogItem | None:
        """The catalog item a product is mapped to, if it can be an addition."""
        item = self.catalog.get(mpn)
        if item is None:
            self.notice(
                NoticeCode.UNMAPPED_PRODUCT,
                f"Product {mpn} is not mapped to {self.psa.catalog_item}.",
                line,
            )
            return None
        return item if self._not_bundle(item, line) else None

    def setup_item(self, mpn: str, line: int) -> tuple[bool, CatalogItem | None]:
        """(ok, the product's setup-fee item or None); not ok when that item is a Bundle."""
        item = self.setup_items.get(mpn)
        if item is None:
            return True, None
        return self._not_bundle(item, line), item

    def _not_bundle(self, item: CatalogItem, line: int) -> bool:
        if item.product_class is not ProductClass.BUNDLE:
            return True
        self.notice(
            NoticeCode.BUNDLE_PRODUCT,
            f"Catalog item {item.identifier} is a Bundle; ConnectWise does not allow bundles "
            "as agreement additions. Map the product to another item.",
            line,
        )
        return False

    def same_currency(self, line: OrderLine) -> bool:
        expected = self.agreement.currency.code
        if line.unit_price.currency == expected:
            return True
        self.notice(
            NoticeCode.CURRENCY_MISMATCH,
            f"Line {line.number} is priced in {line.unit_price.currency}; the agreement bills in "
            f"{expected}.",
            line.number,
        )
        return False

    def change_date_in_period(self, line: int | None = None) -> bool:
        period = self.task.period
        if period.contains(self.change_date):
            return True
        self.notice(
            NoticeCode.EFFECTIVE_DATE_OUTSIDE_PERIOD,
            f"The order takes effect on {self.change_date.isoformat()}, outside its billing "
            f"period {period.span}.",
            line,
        )
        return False

    def single_ongoing(self, item: CatalogItem, line: int) -> tuple[bool, Addition | None]:
        """(ok, the ongoing addition or None); not ok when several make the target ambiguous."""
        ongoing = self.ongoing(item)
        if len(ongoing) > 1:
            ids = ", ".join(f"#{a.id}" for a in ongoing)
            self.notice(
                NoticeCode.AMBIGUOUS_ONGOING_ADDITION,
                f"Agreement {self.agreement.name!r} has several ongoing additions for "
                f"{item.identifier} ({ids}); cancel all but one in {self.psa.vendor}, then plan "
                "again.",
                line,
            )
            return False, None
        return True, (ongoing[0] if ongoing else None)

    # --- prices --------------------------------------------------------------------------------

    def prices(self, line: OrderLine, item: CatalogItem, current: Addition | None) -> Pricing:
        """Full-period unit price and cost of a line from its price source."""
        if self.source_for(line.number) is PriceSource.CONNECTWISE:
            if current is not None:
                return Pricing.of(current)
            return Pricing(item.price, item.cost, PriceOrigin.CATALOG)
        return self.marketplace_prices(line, item)

    def setup_prices(
        self, line: OrderLine, item: CatalogItem, setup: CatalogItem | None
    ) -> Pricing:
        """A setup fee's price: from its setup-fee item's catalog price, else the marketplace's.

        The product's recurring item has a monthly price, never a setup fee's.
        """
        if self.source_for(line.number) is PriceSource.MARKETPLACE:
            return self.marketplace_prices(line, setup or item)
        if setup is not None:
            return Pricing(setup.price, setup.cost, PriceOrigin.CATALOG)
        self.notice(
            NoticeCode.SETUP_PRICE_FROM_MARKETPLACE,
            f"{line.mpn} has no setup-fee catalog item: line {line.number} keeps the marketplace "
            f"price {line.unit_price.amount}. Map a setup-fee item to price it from "
            f"{self.psa.vendor}.",
            line.number,
        )
        return self.marketplace_prices(line, item)

    def marketplace_prices(self, line: OrderLine, item: CatalogItem) -> Pricing:
        if line.unit_cost is not None:
            return Pricing(line.unit_price.amount, line.unit_cost.amount, PriceOrigin.MARKETPLACE)
        self.notice(
            NoticeCode.COST_FROM_CATALOG,
            f"Line {line.number} has no marketplace cost; the catalog cost {item.cost} is used.",
            line.number,
        )
        return Pricing(line.unit_price.amount, item.cost, PriceOrigin.MARKETPLACE)

    # --- new additions -------------------------------------------------------------------------

    def create(
        self,
        line: OrderLine,
        item: CatalogItem,
        *,
        kind: AdditionKind,
        description: str,
        quantity: Decimal,
        prices: Pricing,
        effective: dt.date,
        cancelled: dt.date | None,
    ) -> None:
        self.actions.append(
            PlannedAddition(
                action=Action.CREATE,
                kind=kind,
                key=idempotency_key(task_id=self.task.id, line=line.number, kind=kind),
                line=line.number,
                product=item.ref,
                mpn=line.mpn,
                description=description,
                quantity=quantity,
                unit_price=prices.price,
                unit_cost=prices.cost,
                effective_date=effective,
                cancelled_date=cancelled,
                bill_customer=BillCustomer.BILLABLE,
                taxable=item.taxable,
                price_source=self.source_for(line.number),
                price_origin=prices.origin,
            )
        )

    def create_recurring(
        self,
        line: OrderLine,
        item: CatalogItem,
        *,
        quantity: Decimal,
        prices: Pricing,
        effective: dt.date,
    ) -> None:
        self.create(
            line,
            item,
            kind=AdditionKind.RECURRING,
            description=base_description(line, item),
            quantity=quantity,
            prices=prices,
            effective=effective,
            cancelled=None,
        )

    def create_prorate(
        self, line: OrderLine, item: CatalogItem, *, quantity: Decimal, prices: Pricing
    ) -> None:
        """The one-time charge (or credit) for ``quantity`` from the change date to period end."""
        period, start = self.task.period, self.change_date
        if self.source_for(line.number) is PriceSource.CONNECTWISE:
            self.notice(
                NoticeCode.PARTIAL_PERIOD_NOT_CHARGED,
                f"ConnectWise Catalog prices are not prorated: {format_quantity(quantity)} × "
                f"{item.identifier} for {start.isoformat()} to {period.last_day.isoformat()} is "
                "not charged by psasync.",
                line.number,
            )
            return
        if quantity < 0 and not self.options.credit_downgrades:
            self.notice(
                NoticeCode.CREDIT_SKIPPED,
                f"No credit for {format_quantity(-quantity)} × {item.identifier} from "
                f"{start.isoformat()}: credits for downgrades are turned off.",
                line.number,
            )
            return
        decimals = self.agreement.currency.decimals
        price, cost = (
            prorated_unit_amount(amount, period=period, effective_date=start, decimals=decimals)
            for amount in (prices.price, prices.cost)
        )
        label = "credit" if quantity < 0 else "prorated"
        self.create(
            line,
            item,
            kind=AdditionKind.PRORATE,
            description=f"{base_description(line, item)} ({label} {start.isoformat()} to "
            f"{period.last_day.isoformat()})",
            quantity=quantity,
            prices=replace(prices, price=price, cost=cost),
            effective=start,
            cancelled=period.last_day,
        )

    # --- existing additions --------------------------------------------------------------------

    def cancel(self, line: int, mpn: str, current: Addition, *, cancelled: dt.date) -> None:
        self.actions.append(
            self._target_action(
                (line, mpn),
                current,
                action=Action.CANCEL,
                quantity=current.quantity,
                prices=Pricing.of(current),
                cancelled=cancelled,
            )
        )

    def delete(self, line: int, mpn: str, current: Addition) -> None:
        """Remove an addition that has not started: it never billed, so nothing is ended."""
        self.actions.append(
            self._target_action(
                (line, mpn),
                current,
                action=Action.DELETE,
                quantity=current.quantity,
                prices=Pricing.of(current),
                cancelled=current.cancelled_date,
            )
        )

    def update(
        self,
        line: OrderLine,
        current: Addition,
        *,
        quantity: Decimal,
        prices: Pricing,
        effective: dt.date | None = None,
    ) -> None:
        """Set an addition's quantity and prices; ``effective``: the day a PSA of adjustments
        moves its units (else the update keeps the addition's own start)."""
        action = self._target_action(
            (line.number, line.mpn),
            current,
            action=Action.UPDATE,
            quantity=quantity,
            prices=prices,
            cancelled=current.cancelled_date,
        )
        if effective is not None:
            action = replace(action, effective_date=effective)
        self.actions.append(action)

    def _target_action(
        self,
        origin: tuple[int, str],
        current: Addition,
        *,
        action: Action,
        quantity: Decimal,
        prices: Pricing,
        cancelled: dt.date | None,
    ) -> PlannedAddition:
        line, mpn = origin
        return PlannedAddition(
            action=action,
            kind=AdditionKind.RECURRING,
            key=target_key(task_id=self.task.id, line=line, action=action),
            line=line,
            product=current.product,
            mpn=mpn,
            description=current.invoice_description or current.description,
            quantity=quantity,
            unit_price=prices.price,
            unit_cost=prices.cost,
            effective_date=current.effective_date or self.task.period.start,
            cancelled_date=cancelled,
            bill_customer=current.bill_customer,
            taxable=current.taxable,
            price_source=self.source_for(line),
            addition_id=current.id,
            price_origin=prices.origin,
        )

    # --- the result ----------------------------------------------------------------------------

    def finish(self) -> Plan:
        if self.agreement.prorate_flag and any(
            a.kind is AdditionKind.PRORATE for a in self.actions
        ):
            self.notice(
                NoticeCode.AGREEMENT_PRORATES,
                f"Agreement {self.agreement.name!r} prorates additions itself: ConnectWise would "
                "prorate the prorate additions again. Check the agreement's proration setting.",
            )
        if not self.actions and not any(n.blocking for n in self.notices):
            self.notice(
                NoticeCode.NOTHING_TO_CHANGE,
                f"This {self.task.order.type.label} needs no change to the agreement.",
            )
        plan = Plan(
            task_id=self.task.id,
            agreement_id=self.agreement.id,
            currency=self.agreement.currency,
            period=self.task.period,
            bill_start_date=self.agreement.bill_start_date,
            actions=tuple(self.actions),
            notices=tuple(self.notices),
            baseline=self.baseline,
            invoiced_through=self.agreement.invoiced_through,
            psa=self.psa,
        )
        return with_period_notices(plan)


def with_period_notices(plan: Plan) -> Plan:
    """The plan with its blocking ``PeriodInvoiced`` notices derived afresh from its actions:
    ConnectWise's invoiced-period rule, or for a PSA of adjustments its posted-period rule."""
    if not plan.psa.prorates_itself:
        return with_invoiced_notices(plan)
    kept = tuple(n for n in plan.notices if n.code is not NoticeCode.PERIOD_INVOICED)
    return replace(plan, notices=kept + posted_notices(plan))


def posted_notices(plan: Plan) -> tuple[Notice, ...]:
    """A blocking notice per action that changes billing on or before the last posted day.

    Every write to a PSA of adjustments is dated (``Plan.changed_on``): an adjustment of units,
    a cancel's adjustment to 0 the day after its cancelled date, a charge. The PSA refuses any
    dated inside an approved-and-posted period.
    """
    through = plan.invoiced_through
    if through is None:
        return ()
    vendor = plan.psa.vendor
    return tuple(
        Notice(
            code=NoticeCode.PERIOD_INVOICED,
            message=f"Line {action.line}: {action.key} changes billing from "
            f"{plan.changed_on(action).isoformat()}, but {vendor} has approved and posted the "
            f"contract through {through.isoformat()} and refuses changes there. Move it after "
            "that date or leave it out.",
            line=action.line,
        )
        for action in plan.written_actions
        if plan.changed_on(action) <= through
    )


def base_description(line: OrderLine, item: CatalogItem) -> str:
    """What the invoice calls the product: the marketplace's words, else the catalog's."""
    return line.description.strip() or item.customer_description.strip() or item.description


def format_quantity(quantity: Decimal) -> str:
    return format(quantity.normalize(), "f")


def signed_quantity(quantity: Decimal) -> str:
    return f"+{format_quantity(quantity)}" if quantity >= 0 else format_quantity(quantity)
