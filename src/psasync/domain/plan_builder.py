"""The working state of one planning run: its inputs, and the actions and notices it collects.

The planner (``planner.py``) decides *what* to do per order line; the builder knows *how* each
kind of action is written down, priced and keyed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from psasync.domain.agreements import Addition, Agreement, BillCustomer, CatalogItem, ProductClass
from psasync.domain.orders import OrderLine
from psasync.domain.plan import (
    Action,
    AdditionKind,
    Notice,
    NoticeCode,
    Plan,
    PlannedAddition,
    PlanOptions,
    PriceSource,
    Task,
    idempotency_key,
    target_key,
)
from psasync.domain.proration import prorated_unit_amount

Prices = tuple[Decimal, Decimal]
"""A full-period (unit price, unit cost) pair."""


@dataclass
class PlanBuilder:
    task: Task
    agreement: Agreement
    baseline: tuple[Addition, ...]
    catalog: Mapping[str, CatalogItem]
    options: PlanOptions
    price_sources: Mapping[int, PriceSource]
    default_source: PriceSource
    actions: list[PlannedAddition] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)

    # --- facts ---------------------------------------------------------------------------------

    @property
    def change_date(self) -> dt.date:
        return self.task.change_date

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
                f"Product {mpn} is not mapped to a ConnectWise catalog item.",
                line,
            )
            return None
        if item.product_class is ProductClass.BUNDLE:
            self.notice(
                NoticeCode.BUNDLE_PRODUCT,
                f"Catalog item {item.identifier} is a Bundle; ConnectWise does not allow bundles "
                "as agreement additions. Map the product to another item.",
                line,
            )
            return None
        return item

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
                f"{item.identifier} ({ids}); cancel all but one in ConnectWise, then plan again.",
                line,
            )
            return False, None
        return True, (ongoing[0] if ongoing else None)

    # --- prices --------------------------------------------------------------------------------

    def prices(self, line: OrderLine, item: CatalogItem, current: Addition | None) -> Prices:
        """Full-period unit price and cost of a line from its price source."""
        if self.source_for(line.number) is PriceSource.CONNECTWISE:
            if current is not None:
                return current.unit_price, current.unit_cost
            return item.price, item.cost
        if line.unit_cost is not None:
            return line.unit_price.amount, line.unit_cost.amount
        self.notice(
            NoticeCode.COST_FROM_CATALOG,
            f"Line {line.number} has no marketplace cost; the catalog cost {item.cost} is used.",
            line.number,
        )
        return line.unit_price.amount, item.cost

    # --- new additions -------------------------------------------------------------------------

    def create(
        self,
        line: OrderLine,
        item: CatalogItem,
        *,
        kind: AdditionKind,
        description: str,
        quantity: Decimal,
        prices: Prices,
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
                unit_price=prices[0],
                unit_cost=prices[1],
                effective_date=effective,
                cancelled_date=cancelled,
                bill_customer=BillCustomer.BILLABLE,
                taxable=item.taxable,
                price_source=self.source_for(line.number),
            )
        )

    def create_recurring(
        self,
        line: OrderLine,
        item: CatalogItem,
        *,
        quantity: Decimal,
        prices: Prices,
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
        self, line: OrderLine, item: CatalogItem, *, quantity: Decimal, prices: Prices
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
            for amount in prices
        )
        label = "credit" if quantity < 0 else "prorated"
        self.create(
            line,
            item,
            kind=AdditionKind.PRORATE,
            description=f"{base_description(line, item)} ({label} {start.isoformat()} to "
            f"{period.last_day.isoformat()})",
            quantity=quantity,
            prices=(price, cost),
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
                prices=(current.unit_price, current.unit_cost),
                cancelled=cancelled,
            )
        )

    def update(
        self, line: OrderLine, current: Addition, *, quantity: Decimal, prices: Prices
    ) -> None:
        self.actions.append(
            self._target_action(
                (line.number, line.mpn),
                current,
                action=Action.UPDATE,
                quantity=quantity,
                prices=prices,
                cancelled=current.cancelled_date,
            )
        )

    def _target_action(
        self,
        origin: tuple[int, str],
        current: Addition,
        *,
        action: Action,
        quantity: Decimal,
        prices: Prices,
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
            unit_price=prices[0],
            unit_cost=prices[1],
            effective_date=current.effective_date or self.task.period.start,
            cancelled_date=cancelled,
            bill_customer=current.bill_customer,
            taxable=current.taxable,
            price_source=self.source_for(line),
            addition_id=current.id,
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
        return Plan(
            task_id=self.task.id,
            agreement_id=self.agreement.id,
            currency=self.agreement.currency,
            period=self.task.period,
            bill_start_date=self.agreement.bill_start_date,
            actions=tuple(self.actions),
            notices=tuple(self.notices),
            baseline=self.baseline,
        )


def base_description(line: OrderLine, item: CatalogItem) -> str:
    """What the invoice calls the product: the marketplace's words, else the catalog's."""
    return line.description.strip() or item.customer_description.strip() or item.description


def format_quantity(quantity: Decimal) -> str:
    return format(quantity.normalize(), "f")


def signed_quantity(quantity: Decimal) -> str:
    return f"+{format_quantity(quantity)}" if quantity >= 0 else format_quantity(quantity)
