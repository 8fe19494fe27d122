"""Vendor objects → domain values, and domain values → the vendor's request JSON.

Written with the real API field names (``product: {id}``, ``billCustomer``, ``unitPrice``…),
dates as ``YYYY-MM-DDT00:00:00Z``, money as exact JSON numbers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from psasync.adapters.connectwise.errors import ConnectWiseDataError
from psasync.adapters.connectwise.keys import read_marked_key, strip_mark
from psasync.adapters.connectwise.models import (
    CurrencyReference,
    VendorAddition,
    VendorAgreement,
    VendorBillingCycle,
    VendorCatalogItem,
    VendorCompany,
    VendorCurrency,
)
from psasync.domain.agreements import (
    Addition,
    Agreement,
    AgreementStatus,
    BillCustomer,
    CatalogItem,
    ProductClass,
    ProductRef,
    resolve_currency,
)
from psasync.domain.billing import BillingCycle
from psasync.domain.errors import DomainError
from psasync.domain.money import Currency
from psasync.domain.plan import PlannedAddition


def vendor_date(day: dt.date) -> str:
    """A date as ConnectWise writes it: ``2026-11-01T00:00:00Z``."""
    return f"{day.isoformat()}T00:00:00Z"


def currency_of(value: CurrencyReference | VendorCurrency | None) -> Currency | None:
    """``Currency(code, decimals)`` from ``currencyIdentifier`` and ``numberOfDecimals``."""
    if value is None:
        return None
    code = value.currency_identifier or value.currency_code
    if not code:
        return None
    # The domain's rounding default (2) when the site does not say.
    decimals = 2 if value.number_of_decimals is None else value.number_of_decimals
    try:
        return Currency(code=code.strip().upper(), decimals=decimals)
    except DomainError as error:
        raise ConnectWiseDataError(f"ConnectWise currency {value.id}: {error}") from None


def billing_cycle_of(cycle: VendorBillingCycle | None) -> BillingCycle | None:
    """The cycle's ``billingOptions``; an option psasync does not know matches nothing."""
    if cycle is None or cycle.billing_options is None:
        return None
    try:
        return BillingCycle(cycle.billing_options)
    except ValueError:
        return None


def to_agreement(
    agreement: VendorAgreement,
    *,
    billing_cycles: Mapping[int, VendorBillingCycle],
    currencies: Mapping[int, VendorCurrency],
    company: VendorCompany | None,
    default_currency: Currency,
) -> Agreement:
    """The domain agreement, with its billing cycle looked up and its currency resolved."""
    if agreement.company is None or agreement.company.id is None:
        raise ConnectWiseDataError(f"ConnectWise agreement {agreement.id} has no company")
    cycle_id = agreement.billing_cycle.id if agreement.billing_cycle else None
    return Agreement(
        id=agreement.id,
        name=agreement.name or f"Agreement {agreement.id}",
        company_id=agreement.company.id,
        status=_status(agreement),
        cancelled=bool(agreement.cancelled_flag),
        billing_cycle=billing_cycle_of(billing_cycles.get(cycle_id) if cycle_id else None),
        currency=resolve_currency(
            agreement=_agreement_currency(agreement, currencies),
            company=_company_currency(company, currencies),
            default=default_currency,
        ),
        bill_start_date=agreement.bill_start_date,
        prorate_flag=bool(agreement.prorate_flag),
        invoiced_through=invoiced_through(agreement.next_invoice_date),
    )


def invoiced_through(next_invoice_date: dt.date | None) -> dt.date | None:
    """The last invoiced day: the day before the vendor's ``nextInvoiceDate``.

    None when the agreement was never invoiced. .NET writes an unset date as
    ``0001-01-01T00:00:00Z``, which has no day before it: that reads as never invoiced too.
    """
    if next_invoice_date is None or next_invoice_date == dt.date.min:
        return None
    return next_invoice_date - dt.timedelta(days=1)


def _status(agreement: VendorAgreement) -> AgreementStatus:
    try:
        return AgreementStatus(agreement.agreement_status or "")
    except ValueError:
        raise ConnectWiseDataError(
            f"ConnectWise agreement {agreement.id} has status {agreement.agreement_status!r}, "
            f"not one of {', '.join(AgreementStatus)}"
        ) from None


def _agreement_currency(
    agreement: VendorAgreement, currencies: Mapping[int, VendorCurrency]
) -> Currency | None:
    # The reference usually carries the identifier and decimals; the list fills any gap.
    reference = agreement.currency
    if reference is None:
        return None
    listed = currencies.get(reference.id) if reference.id is not None else None
    return currency_of(listed) or currency_of(reference)


def _company_currency(
    company: VendorCompany | None, currencies: Mapping[int, VendorCurrency]
) -> Currency | None:
    if company is None or company.currency is None:
        return None
    reference = company.currency
    listed = currencies.get(reference.id) if reference.id is not None else None
    return currency_of(listed) or currency_of(reference)


def to_addition(addition: VendorAddition) -> Addition:
    """The domain addition; its sync key is read from the marker in ``description``."""
    product = addition.product
    if product is None or product.id is None:
        raise ConnectWiseDataError(f"ConnectWise addition {addition.id} has no product")
    try:
        bill_customer = BillCustomer(addition.bill_customer or BillCustomer.BILLABLE)
    except ValueError:
        raise ConnectWiseDataError(
            f"ConnectWise addition {addition.id} has billCustomer {addition.bill_customer!r}"
        ) from None
    return Addition(
        id=addition.id,
        product=ProductRef(id=product.id, identifier=product.identifier or ""),
        quantity=_or_zero(addition.quantity),
        unit_price=_or_zero(addition.unit_price),
        unit_cost=_or_zero(addition.unit_cost),
        effective_date=addition.effective_date,
        cancelled_date=addition.cancelled_date,
        bill_customer=bill_customer,
        taxable=bool(addition.taxable_flag),
        description=strip_mark(addition.description),
        invoice_description=addition.invoice_description or "",
        sync_key=read_marked_key(addition.description),
    )


def _or_zero(amount: Decimal | None) -> Decimal:
    return amount if amount is not None else Decimal(0)


def to_catalog_item(item: VendorCatalogItem) -> CatalogItem:
    """The domain catalog item; one without a known product class cannot be used safely."""
    try:
        product_class = ProductClass(item.product_class or "")
    except ValueError:
        raise ConnectWiseDataError(
            f"ConnectWise catalog item {item.id} has product class {item.product_class!r}"
        ) from None
    return CatalogItem(
        id=item.id,
        identifier=item.identifier or "",
        description=item.description or "",
        price=_or_zero(item.price),
        cost=_or_zero(item.cost),
        product_class=product_class,
        customer_description=item.customer_description or "",
        taxable=bool(item.taxable_flag),
    )


@dataclass(frozen=True)
class AdditionWrite:
    """A new addition as psasync writes it. ``description`` is the internal text (the
    idempotency marker is appended to it); ``invoice_description`` is what the customer sees."""

    product_id: int
    quantity: Decimal
    unit_price: Decimal
    unit_cost: Decimal
    effective_date: dt.date
    cancelled_date: dt.date | None = None
    bill_customer: BillCustomer = BillCustomer.BILLABLE
    taxable: bool = False
    description: str = ""
    invoice_description: str = ""

    @classmethod
    def from_planned(cls, planned: PlannedAddition) -> AdditionWrite:
        """The create of a planned addition (its description on the invoice and inside)."""
        return cls(
            product_id=planned.product.id,
            quantity=planned.quantity,
            unit_price=planned.unit_price,
            unit_cost=planned.unit_cost,
            effective_date=planned.effective_date,
            cancelled_date=planned.cancelled_date,
            bill_customer=planned.bill_customer,
            taxable=planned.taxable,
            description=planned.description,
            invoice_description=planned.description,
        )

    def to_vendor(self, *, description: str) -> dict[str, Any]:
        """The POST body, with ``description`` as the (marked) internal description."""
        body: dict[str, Any] = {
            "product": {"id": self.product_id},
            "billCustomer": self.bill_customer.value,
            "quantity": self.quantity,
            "unitPrice": self.unit_price,
            "unitCost": self.unit_cost,
            "effectiveDate": vendor_date(self.effective_date),
            "taxableFlag": self.taxable,
            "description": description,
            "invoiceDescription": self.invoice_description,
        }
        if self.cancelled_date is not None:
            body["cancelledDate"] = vendor_date(self.cancelled_date)
        return body


@dataclass(frozen=True)
class AdditionChanges:
    """Fields to set on an existing addition; None leaves a field as it is."""

    quantity: Decimal | None = None
    unit_price: Decimal | None = None
    unit_cost: Decimal | None = None
    effective_date: dt.date | None = None
    cancelled_date: dt.date | None = None
    bill_customer: BillCustomer | None = None
    taxable: bool | None = None
    invoice_description: str | None = None
    description: str | None = None
    product_id: int | None = None

    def to_patch(self) -> list[dict[str, Any]]:
        """The JSON Patch: one ``replace`` per field set, with the vendor's field names."""
        values: dict[str, Any] = {
            "quantity": self.quantity,
            "unitPrice": self.unit_price,
            "unitCost": self.unit_cost,
            "effectiveDate": vendor_date(self.effective_date) if self.effective_date else None,
            "cancelledDate": vendor_date(self.cancelled_date) if self.cancelled_date else None,
            "billCustomer": self.bill_customer.value if self.bill_customer else None,
            "taxableFlag": self.taxable,
            "invoiceDescription": self.invoice_description,
            "description": self.description,
            "product": {"id": self.product_id} if self.product_id is not None else None,
        }
        return [
            {"op": "replace", "path": path, "value": value}
            for path, value in values.items()
            if value is not None
        ]
