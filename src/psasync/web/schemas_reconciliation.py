"""The JSON of reconciliation (DESIGN §4, §9): requests, and the report as the API (and
``psasync reconcile --json``) shows it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from pydantic import Field

from psasync.services.reconciliation import (
    MAX_CUSTOMERS,
    CustomerTotal,
    FixTiming,
    ItemView,
    KindTotal,
    ReconciliationRequest,
    ReportView,
    display_impact,
)
from psasync.services.reconciliation_fix import MAX_ITEMS, FixRequest
from psasync.services.types import PriceSource
from psasync.web.bounds import CleanText
from psasync.web.schemas import CustomerRef, Schema

CustomerId = Annotated[CleanText, Field(min_length=1, max_length=64)]
ItemId = Annotated[str, Field(pattern=r"^[0-9a-f]{12}$")]


class ReconcileRequest(Schema):
    """``customerIds`` omitted: every customer; ``priceSource`` as for a sync."""

    customer_ids: (
        Annotated[list[CustomerId], Field(min_length=1, max_length=MAX_CUSTOMERS)] | None
    ) = None
    price_source: PriceSource = PriceSource.MARKETPLACE

    def request(self) -> ReconciliationRequest:
        return ReconciliationRequest(
            customer_ids=tuple(dict.fromkeys(self.customer_ids)) if self.customer_ids else None,
            price_source=self.price_source,
        )


class FixItemsRequest(Schema):
    """Items of the latest report; effective from the next period start (default) or now."""

    items: Annotated[list[ItemId], Field(min_length=1, max_length=MAX_ITEMS)]
    price_source: PriceSource = PriceSource.MARKETPLACE
    effective: FixTiming = FixTiming.NEXT_PERIOD

    def request(self) -> FixRequest:
        return FixRequest(
            item_ids=tuple(self.items), price_source=self.price_source, timing=self.effective
        )


class ImpactOut(Schema):
    """A monthly impact in one currency: rounded half up to the currency (``amount``) and
    exact (``exact``)."""

    currency: str
    amount: str
    exact: str

    @classmethod
    def each(cls, impact: dict[str, Decimal]) -> list[ImpactOut]:
        """One per currency, in currency-code order."""
        return [
            cls(currency=code, amount=display_impact(amount, code), exact=str(amount))
            for code, amount in sorted(impact.items())
        ]


class KindTotalOut(Schema):
    kind: str
    count: int
    impact: list[ImpactOut]

    @classmethod
    def of(cls, total: KindTotal) -> KindTotalOut:
        return cls(kind=total.kind, count=total.count, impact=ImpactOut.each(total.impact))


class CustomerTotalOut(Schema):
    customer: CustomerRef
    count: int
    impact: list[ImpactOut]

    @classmethod
    def of(cls, total: CustomerTotal) -> CustomerTotalOut:
        return cls(
            customer=CustomerRef(id=total.customer_id, name=total.customer_name),
            count=total.count,
            impact=ImpactOut.each(total.impact),
        )


class TotalsOut(Schema):
    by_kind: list[KindTotalOut]
    by_customer: list[CustomerTotalOut]


class ReconciliationItemOut(Schema):
    """One difference. ``marketplace``, ``psa`` and ``fix`` are stored in their JSON shape
    when the report is built (docs/api.md) and shown as stored."""

    id: str
    kind: str
    customer: CustomerRef
    company_id: int | None
    mpn: str | None
    currency: str | None
    monthly_impact: str
    monthly_impact_exact: str
    marketplace: dict[str, Any] | None
    psa: dict[str, Any] | None
    fix: dict[str, Any] | None
    notes: list[str]
    fix_status: str | None
    fixed_at: dt.datetime | None
    fix_error: str | None
    fix_note: str | None

    @classmethod
    def of(cls, item: ItemView) -> ReconciliationItemOut:
        return cls(
            id=item.id,
            kind=item.kind,
            customer=CustomerRef(id=item.customer_id, name=item.customer_name),
            company_id=item.company_id,
            mpn=item.mpn,
            currency=item.currency,
            monthly_impact=item.display_impact,
            monthly_impact_exact=str(item.monthly_impact),
            marketplace=item.marketplace,
            psa=item.psa,
            fix=item.fix,
            notes=list(item.notes),
            fix_status=item.fix_outcome,
            fixed_at=item.fixed_at,
            fix_error=item.fix_error,
            fix_note=item.fix_note,
        )


class ReportOut(Schema):
    """The latest report: totals by kind and by customer, and its items."""

    id: int
    created_at: dt.datetime
    created_by: str
    as_of: dt.date
    price_source: str
    customer_ids: list[str] | None
    totals: TotalsOut
    items: list[ReconciliationItemOut]

    @classmethod
    def of(cls, report: ReportView) -> ReportOut:
        return cls(
            id=report.id,
            created_at=report.created_at,
            created_by=report.created_by,
            as_of=report.as_of,
            price_source=report.price_source.value,
            customer_ids=list(report.customer_ids) if report.customer_ids else None,
            totals=TotalsOut(
                by_kind=[KindTotalOut.of(total) for total in report.by_kind],
                by_customer=[CustomerTotalOut.of(total) for total in report.by_customer],
            ),
            items=[ReconciliationItemOut.of(item) for item in report.items],
        )
