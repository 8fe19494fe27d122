"""Contract service units and what Autotask bills from them.

A contract service's units change only by dated adjustments. Its units rows are one per billing
period of the contract (``contractPeriodType`` counted from the contract's ``startDate``, the
last one cut at ``endDate``), split at each change's effective date: a change dated mid-period
starts a new row on that day; one dated on a period start just gives that period's row its new
units. A row's ``price`` and ``cost`` are per unit for a whole period.

What Autotask bills (:func:`billing_items`): a period's first row at the period start is the
recurring charge (units × price, billed in advance); every later row in the period is a
prorated line for what changed, priced by the seed formula (DESIGN §3)
``(days_in_period − offset) × price / days_in_period`` rounded once, HALF_UP, to 2 decimals, so
+2 units from 11 Nov in a 30-day November at 30.00 bill 2 × 20.00. A service that starts
mid-period is a prorated line for all its units.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from psasync.domain.billing import BillingPeriod, PeriodLength
from psasync.domain.money import round_half_up
from psasync.sandbox.autotask import fixture as fx
from psasync.sandbox.autotask.picklists import PERIOD_LENGTHS

ONE_DAY = dt.timedelta(days=1)
DECIMALS = 2


@dataclass(frozen=True)
class PriceChange:
    """From ``date`` on, the unit price and/or cost (None: unchanged)."""

    date: dt.date
    price: Decimal | None
    cost: Decimal | None


@dataclass
class ContractServiceRecord:
    """A contract service as the sandbox stores it, with its unit and price timelines."""

    id: int
    contract_id: int
    service_id: int
    unit_price: Decimal | None
    unit_cost: Decimal | None
    adjusted_price: Decimal | None
    invoice_description: str | None
    internal_description: str | None
    quote_item_id: int | None
    start: dt.date
    # (effective date, signed unit change); the first one is the service's start.
    unit_changes: list[tuple[dt.date, int]] = field(default_factory=list)
    # The first is the start's price; later ones come from adjustments (from their effective
    # date) and from updates of adjustedPrice (from the first period not yet posted). Kept
    # apart from ``adjusted_price`` so a posted period keeps the price it was billed at.
    price_changes: list[PriceChange] = field(default_factory=list)

    def units_on(self, day: dt.date) -> int:
        return sum(delta for date, delta in self.unit_changes if date <= day)

    def price_on(self, day: dt.date) -> tuple[Decimal, Decimal]:
        """The unit price and cost in force on ``day`` (the first change is the start's)."""
        price: Decimal | None = None
        cost: Decimal | None = None
        for change in sorted(self.price_changes, key=lambda c: c.date):
            if change.date > day:
                break
            price = change.price if change.price is not None else price
            cost = change.cost if change.cost is not None else cost
        return price or Decimal(0), cost or Decimal(0)

    def change_dates(self) -> set[dt.date]:
        return {d for d, _ in self.unit_changes} | {c.date for c in self.price_changes}

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "contractID": self.contract_id,
            "serviceID": self.service_id,
            "unitPrice": self.unit_price,
            "unitCost": self.unit_cost,
            "adjustedPrice": self.adjusted_price,
            "internalCurrencyUnitPrice": self.unit_price,
            "internalCurrencyAdjustedPrice": self.adjusted_price,
            "invoiceDescription": self.invoice_description,
            "internalDescription": self.internal_description,
            "quoteItemID": self.quote_item_id,
        }


@dataclass(frozen=True)
class UnitRow:
    """One contract service units row: ``start``..``end`` both inclusive, inside ``period``."""

    contract_service_id: int
    start: dt.date
    end: dt.date
    units: int
    price: Decimal
    cost: Decimal
    period: BillingPeriod
    posted: bool


def period_length(contract: fx.Contract) -> PeriodLength:
    return PERIOD_LENGTHS[contract.contract_period_type]


def periods(contract: fx.Contract) -> list[BillingPeriod]:
    """The contract's billing periods from its start date through its end date."""
    length = period_length(contract)
    found = []
    index = 0
    while (start := length.after(contract.start_date, index)) <= contract.end_date:
        found.append(BillingPeriod(start, length.after(contract.start_date, index + 1)))
        index += 1
    return found


def period_of(contract: fx.Contract, day: dt.date) -> BillingPeriod:
    return BillingPeriod.containing(day, length=period_length(contract), anchor=contract.start_date)


def posted_until(contract: fx.Contract, through: dt.date | None) -> dt.date:
    """The first day that is not in an approved-and-posted period (exclusive end).

    Posting through a day posts the whole period holding it: Autotask bills recurring periods
    in advance, so once a period's items are posted nothing inside it may change.
    """
    if through is None or through < contract.start_date:
        return contract.start_date
    return period_of(contract, through).end


def unit_rows(
    record: ContractServiceRecord, contract: fx.Contract, posted_end: dt.date
) -> list[UnitRow]:
    rows: list[UnitRow] = []
    changes = sorted(record.change_dates())
    for period in periods(contract):
        first = max(period.start, record.start)
        last = min(period.last_day, contract.end_date)
        if first > last:
            continue
        starts = [first, *(d for d in changes if first < d <= last)]
        for index, start in enumerate(starts):
            end = starts[index + 1] - ONE_DAY if index + 1 < len(starts) else last
            price, cost = record.price_on(start)
            rows.append(
                UnitRow(
                    contract_service_id=record.id,
                    start=start,
                    end=end,
                    units=record.units_on(start),
                    price=price,
                    cost=cost,
                    period=period,
                    posted=period.end <= posted_end,
                )
            )
    return rows


def prorated(amount: Decimal, offset: int, days: int) -> Decimal:
    """The seed formula: the share of a full-period amount left from ``offset`` days in."""
    return round_half_up(Fraction(days - offset) * Fraction(amount) / days, DECIMALS)


def billing_items(rows: list[UnitRow]) -> list[dict[str, object]]:
    """What Autotask bills for these rows (of one contract service, in date order)."""
    items: list[dict[str, object]] = []
    previous: UnitRow | None = None
    for row in rows:
        before = previous if previous is not None and previous.period == row.period else None
        offset = (row.start - row.period.start).days
        days = row.period.days
        if offset == 0:
            kind, price, cost = "recurring", row.price, row.cost
            amount = row.units * row.price
            cost_amount = row.units * row.cost
        else:
            kind = "prorated"
            price, cost = prorated(row.price, offset, days), prorated(row.cost, offset, days)
            old_units = before.units if before else 0
            old_price = prorated(before.price, offset, days) if before else Decimal(0)
            old_cost = prorated(before.cost, offset, days) if before else Decimal(0)
            amount = row.units * price - old_units * old_price
            cost_amount = row.units * cost - old_units * old_cost
        items.append(
            {
                "contractServiceID": row.contract_service_id,
                "kind": kind,
                "date": row.start.isoformat(),
                "periodStart": row.period.start.isoformat(),
                "periodEnd": row.period.last_day.isoformat(),
                "units": row.units,
                "previousUnits": before.units if before else 0,
                "unitChange": row.units - (before.units if before else 0),
                "unitPrice": str(row.price),
                "proratedUnitPrice": str(price),
                "amount": str(amount),
                "unitCost": str(row.cost),
                "proratedUnitCost": str(cost),
                "costAmount": str(cost_amount),
                "posted": row.posted,
            }
        )
        previous = row
    return items
