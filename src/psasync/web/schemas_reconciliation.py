"""The JSON of reconciliation (DESIGN §4, §9): requests, and the report as the API shows it."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import Field

from psasync.services.reconciliation import (
    MAX_CUSTOMERS,
    FixTiming,
    ItemView,
    ReconciliationRequest,
    ReportView,
    display_impact,
)
from psasync.services.reconciliation_fix import MAX_ITEMS, FixRequest
from psasync.services.types import PriceSource
from psasync.web.bounds import CleanText
from psasync.web.schemas import Schema

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


def _impact(impact: dict[str, Decimal]) -> list[dict[str, str]]:
    """Per currency: rounded half up to the currency (``amount``) and exact (``exact``)."""
    return [
        {
            "currency": code,
            "amount": display_impact(amount, code),
            "exact": str(amount),
        }
        for code, amount in sorted(impact.items())
    ]


def item_json(item: ItemView) -> dict[str, Any]:
    return {
        "id": item.id,
        "kind": item.kind,
        "customer": {"id": item.customer_id, "name": item.customer_name},
        "companyId": item.company_id,
        "mpn": item.mpn,
        "currency": item.currency,
        "monthlyImpact": item.display_impact,
        "monthlyImpactExact": str(item.monthly_impact),
        "marketplace": item.marketplace,
        "psa": item.psa,
        "fix": item.fix,
        "notes": list(item.notes),
        "fixStatus": item.fix_outcome,
        "fixedAt": item.fixed_at.isoformat() if item.fixed_at else None,
        "fixError": item.fix_error,
        "fixNote": item.fix_note,
    }


def report_json(report: ReportView) -> dict[str, Any]:
    return {
        "id": report.id,
        "createdAt": report.created_at.isoformat(),
        "createdBy": report.created_by,
        "asOf": report.as_of.isoformat(),
        "priceSource": report.price_source.value,
        "customerIds": list(report.customer_ids) if report.customer_ids else None,
        "totals": {
            "byKind": [
                {"kind": t.kind, "count": t.count, "impact": _impact(t.impact)}
                for t in report.by_kind
            ],
            "byCustomer": [
                {
                    "customer": {"id": t.customer_id, "name": t.customer_name},
                    "count": t.count,
                    "impact": _impact(t.impact),
                }
                for t in report.by_customer
            ],
        },
        "items": [item_json(item) for item in report.items],
    }
