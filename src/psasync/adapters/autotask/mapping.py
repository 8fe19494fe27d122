"""Autotask items → domain values, and domain values → Autotask request JSON.

- a Recurring Service contract is an :class:`Agreement` (cycle from ``contractPeriodType``,
  status from ``status``, currency from its company's ``currencyID``, ``invoiced_through`` the
  end of the latest approved-and-posted contract service units row);
- a contract service with its units rows is a recurring :class:`Addition`: the units of its
  latest non-zero row, from the start of that run of rows; a later zero row cancels it the day
  before that row starts; no key (services carry none);
- a contract charge is a one-time :class:`Addition` whose key rides in its description;
- a Service is a :class:`CatalogItem`; a company a :class:`Company`.

Dates go out as ``YYYY-MM-DDT00:00:00`` and are read as the calendar day written.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from psasync.adapters.autotask.errors import AutotaskDataError
from psasync.adapters.autotask.keys import read_mark, strip_mark
from psasync.adapters.autotask.picklists import label_key
from psasync.domain.agreements import (
    Addition,
    Agreement,
    AgreementStatus,
    BillCustomer,
    CatalogItem,
    Company,
    ProductClass,
    ProductRef,
)
from psasync.domain.billing import BillingCycle
from psasync.domain.errors import DomainError
from psasync.domain.money import Currency

JsonObject = Mapping[str, Any]
ONE_DAY = dt.timedelta(days=1)
_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})(T[0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?")
_CYCLES = {
    "monthly": BillingCycle.MONTHLY,
    "quarterly": BillingCycle.QUARTERLY,
    "semiannual": BillingCycle.SEMIANNUAL,
    "yearly": BillingCycle.YEARLY,
    "annual": BillingCycle.YEARLY,
}
_STATUSES = {label_key(status.value): status for status in AgreementStatus}


def vendor_date(day: dt.date) -> str:
    """A date as Autotask takes it: ``2026-11-01T00:00:00``."""
    return f"{day.isoformat()}T00:00:00"


def read_date(value: object, *, what: str) -> dt.date | None:
    """``2026-11-01T00:00:00`` (with or without a zone) or ``2026-11-01`` → the day written."""
    if value is None or value == "":
        return None
    found = _DATE.fullmatch(value.strip()) if isinstance(value, str) else None
    if found is None:
        raise AutotaskDataError(f"Autotask {what} {value!r} is not a date")
    try:
        return dt.date.fromisoformat(found.group(1))
    except ValueError:
        raise AutotaskDataError(f"Autotask {what} {value!r} is not a date") from None


def read_decimal(value: object, *, what: str) -> Decimal:
    """A JSON number (read as ``Decimal`` or ``int``) as ``Decimal``; null is 0."""
    if value is None:
        return Decimal(0)
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise AutotaskDataError(f"Autotask {what} {value!r} is not a number")
    try:
        number = Decimal(value)
    except ArithmeticError:
        raise AutotaskDataError(f"Autotask {what} {value!r} is not a number") from None
    if not number.is_finite():
        raise AutotaskDataError(f"Autotask {what} {value!r} is not a number")
    return number


def read_id(item: JsonObject, name: str, *, what: str) -> int:
    value = item.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise AutotaskDataError(f"Autotask {what} has no {name}")
    return value


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def to_company(item: JsonObject) -> Company:
    company_id = read_id(item, "id", what="company")
    identifier = _text(item.get("companyNumber"))
    name = _text(item.get("companyName")) or identifier or f"Company {company_id}"
    return Company(id=company_id, identifier=identifier, name=name)


def catalog_identifier(service: JsonObject) -> str:
    """What identifies a Service to a person: its SKU, else part number, else name."""
    for name in ("sku", "catalogNumberPartNumber", "name"):
        if _text(service.get(name)):
            return _text(service.get(name))
    return f"Service {service.get('id')}"


def to_catalog_item(service: JsonObject) -> CatalogItem:
    service_id = read_id(service, "id", what="service")
    what = f"service {service_id}"
    name = _text(service.get("name"))
    return CatalogItem(
        id=service_id,
        identifier=catalog_identifier(service),
        description=name or _text(service.get("description")),
        price=read_decimal(service.get("unitPrice"), what=f"{what} unitPrice"),
        cost=read_decimal(service.get("unitCost"), what=f"{what} unitCost"),
        product_class=ProductClass.SERVICE,
        customer_description=_text(service.get("invoiceDescription"))
        or _text(service.get("description")),
        taxable=False,
    )


def billing_cycle_of(period_label: str | None) -> BillingCycle | None:
    """Monthly ↔ month/1, Quarterly ↔ month/3, Semi-Annual ↔ month/6, Yearly ↔ year/1."""
    return _CYCLES.get(label_key(period_label)) if period_label else None


def status_of(status_label: str | None) -> AgreementStatus:
    """The contract's status label; one psasync does not know counts as inactive."""
    return _STATUSES.get(label_key(status_label or ""), AgreementStatus.INACTIVE)


def currency_of(item: JsonObject | None) -> Currency | None:
    """A Currencies item's ``name`` (the ISO code) as a domain currency."""
    if item is None:
        return None
    code = _text(item.get("name")).upper()
    try:
        return Currency(code=code) if code else None
    except DomainError as error:
        raise AutotaskDataError(f"Autotask currency {item.get('id')}: {error}") from None


def to_agreement(
    contract: JsonObject,
    *,
    recurring: bool,
    period_label: str | None,
    status_label: str | None,
    currency: Currency,
    invoiced_through: dt.date | None,
) -> Agreement:
    """The domain agreement; a contract that is not Recurring Service bills no cycle."""
    contract_id = read_id(contract, "id", what="contract")
    what = f"contract {contract_id}"
    return Agreement(
        id=contract_id,
        name=_text(contract.get("contractName")) or f"Contract {contract_id}",
        company_id=read_id(contract, "companyID", what=what),
        status=status_of(status_label),
        cancelled=False,
        billing_cycle=billing_cycle_of(period_label) if recurring else None,
        currency=currency,
        bill_start_date=read_date(contract.get("startDate"), what=f"{what} startDate"),
        # Autotask prorates a mid-period adjustment itself.
        prorate_flag=True,
        invoiced_through=invoiced_through,
    )


def posted_through(unit_rows: Sequence[JsonObject]) -> dt.date | None:
    """The last day of the latest approved-and-posted units row (``endDate`` is inclusive)."""
    ends = [
        read_date(row.get("endDate"), what="contract service units endDate")
        for row in unit_rows
        if row.get("approveAndPostDate")
    ]
    known = [end for end in ends if end is not None]
    return max(known) if known else None


def to_recurring_line(
    service_row: JsonObject, unit_rows: Sequence[JsonObject], *, identifier: str
) -> Addition:
    """A contract service as a recurring line (see the module docstring)."""
    line_id = read_id(service_row, "id", what="contract service")
    what = f"contract service {line_id}"
    rows = sorted(unit_rows, key=lambda row: _start(row, what))
    quantity, effective, cancelled = Decimal(0), None, None
    priced: JsonObject = service_row
    running = False
    for row in rows:
        units = read_decimal(row.get("units"), what=f"{what} units")
        if units == 0:
            if running:
                cancelled, running = _start(row, what) - ONE_DAY, False
            continue
        if not running:
            effective, cancelled, running = _start(row, what), None, True
        quantity, priced = units, row
    invoice_description = _text(service_row.get("invoiceDescription"))
    return Addition(
        id=line_id,
        product=ProductRef(id=read_id(service_row, "serviceID", what=what), identifier=identifier),
        quantity=quantity,
        unit_price=_price(priced, service_row, "price", "unitPrice", what),
        unit_cost=_price(priced, service_row, "cost", "unitCost", what),
        effective_date=effective or (_start(rows[0], what) if rows else None),
        cancelled_date=cancelled,
        description=_text(service_row.get("internalDescription")) or invoice_description,
        invoice_description=invoice_description,
    )


def _start(row: JsonObject, what: str) -> dt.date:
    start = read_date(row.get("startDate"), what=f"{what} units startDate")
    if start is None:
        raise AutotaskDataError(f"Autotask {what} has a units row without a startDate")
    return start


def _price(
    row: JsonObject, service_row: JsonObject, row_name: str, service_name: str, what: str
) -> Decimal:
    value = row.get(row_name) if row is not service_row else None
    if value is None:
        value = service_row.get(service_name)
    return read_decimal(value, what=f"{what} {service_name}")


def to_charge_line(charge: JsonObject) -> Addition:
    """A contract charge as a one-time line billed on its ``datePurchased``."""
    charge_id = read_id(charge, "id", what="contract charge")
    what = f"contract charge {charge_id}"
    mark = read_mark(charge.get("description"))
    purchased = read_date(charge.get("datePurchased"), what=f"{what} datePurchased")
    service_id = mark.service_id if mark and mark.service_id is not None else 0
    billable = charge.get("isBillableToCompany")
    return Addition(
        id=charge_id,
        product=ProductRef(id=service_id, identifier=str(service_id) if service_id else ""),
        quantity=read_decimal(charge.get("unitQuantity"), what=f"{what} unitQuantity"),
        unit_price=read_decimal(charge.get("unitPrice"), what=f"{what} unitPrice"),
        unit_cost=read_decimal(charge.get("unitCost"), what=f"{what} unitCost"),
        effective_date=purchased,
        # The period's last day, kept in the mark (a charge has no field for it); a charge
        # written without one bills for its day alone.
        cancelled_date=mark.until if mark and mark.until else purchased,
        bill_customer=BillCustomer.BILLABLE if billable is not False else BillCustomer.DO_NOT_BILL,
        description=strip_mark(charge.get("description")),
        invoice_description=_text(charge.get("name")),
        sync_key=mark.key if mark else None,
    )
