"""The vendor's JSON shapes of each resource, and the fields a query may name.

Objects are rendered with typed values (``Decimal``, ``date``) and nulls kept, so conditions
can be evaluated on them; :mod:`.jsonout` then writes them the vendor's way. References carry
``_info`` with the ``…_href`` of the object they point at.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from psasync.sandbox.connectwise import fixture as fx
from psasync.sandbox.connectwise.query import Kind, Schema

N, S, D, B = Kind.NUMBER, Kind.STRING, Kind.DATE, Kind.BOOLEAN

COMPANY_FIELDS: Schema = {"id": N, "identifier": S, "name": S, "deletedFlag": B}
CURRENCY_FIELDS: Schema = {"id": N, "currencyIdentifier": S, "name": S, "numberOfDecimals": N}
BILLING_CYCLE_FIELDS: Schema = {"id": N, "identifier": S, "name": S, "billingOptions": S}
AGREEMENT_TYPE_FIELDS: Schema = {"id": N, "name": S}
CATALOG_FIELDS: Schema = {
    "id": N,
    "identifier": S,
    "description": S,
    "customerDescription": S,
    "price": N,
    "cost": N,
    "productClass": S,
    "manufacturerPartNumber": S,
    "inactiveFlag": B,
}
AGREEMENT_FIELDS: Schema = {
    "id": N,
    "name": S,
    "type/id": N,
    "type/name": S,
    "company/id": N,
    "company/identifier": S,
    "company/name": S,
    "billingCycle/id": N,
    "billingCycle/name": S,
    "currency/id": N,
    "currency/currencyIdentifier": S,
    "currency/name": S,
    "startDate": D,
    "billStartDate": D,
    "agreementStatus": S,
    "cancelledFlag": B,
    "prorateFlag": B,
    "nextInvoiceDate": D,
}
ADDITION_FIELDS: Schema = {
    "id": N,
    "agreementId": N,
    "product/id": N,
    "product/identifier": S,
    "billCustomer": S,
    "quantity": N,
    "unitPrice": N,
    "unitCost": N,
    "extPrice": N,
    "extCost": N,
    "margin": N,
    "effectiveDate": D,
    "cancelledDate": D,
    "taxableFlag": B,
    "description": S,
    "invoiceDescription": S,
    "serialNumber": S,
}


@dataclass(frozen=True)
class AdditionRecord:
    """An agreement addition as the sandbox stores it."""

    id: int
    agreement_id: int
    product_id: int
    quantity: Decimal
    unit_price: Decimal
    unit_cost: Decimal
    bill_customer: str
    effective_date: dt.date | None
    cancelled_date: dt.date | None
    taxable: bool
    description: str
    invoice_description: str
    serial_number: str | None = None

    @classmethod
    def from_fixture(cls, addition: fx.Addition) -> AdditionRecord:
        return cls(
            id=addition.id,
            agreement_id=addition.agreement_id,
            product_id=addition.product.id,
            quantity=addition.quantity,
            unit_price=addition.unit_price,
            unit_cost=addition.unit_cost,
            bill_customer=addition.bill_customer.value,
            effective_date=addition.effective_date,
            cancelled_date=addition.cancelled_date,
            taxable=addition.taxable_flag,
            description=addition.description,
            invoice_description=addition.invoice_description,
        )


def _info(base: str, name: str, path: str) -> dict[str, str]:
    return {f"{name}_href": f"{base}/{path}"}


def company_json(company: fx.Company, base: str) -> dict[str, Any]:
    return {
        "id": company.id,
        "identifier": company.identifier,
        "name": company.name,
        "deletedFlag": False,
        "_info": _info(base, "self", f"company/companies/{company.id}"),
    }


def company_reference(company: fx.Company, base: str) -> dict[str, Any]:
    return {
        "id": company.id,
        "identifier": company.identifier,
        "name": company.name,
        "_info": _info(base, "company", f"company/companies/{company.id}"),
    }


def currency_json(currency: fx.Currency, base: str, *, info: str = "self") -> dict[str, Any]:
    return {
        "id": currency.id,
        "currencyIdentifier": currency.currency_identifier,
        "name": currency.name,
        "numberOfDecimals": currency.number_of_decimals,
        "_info": _info(base, info, f"finance/currencies/{currency.id}"),
    }


def billing_cycle_json(cycle: fx.BillingCycleItem, base: str) -> dict[str, Any]:
    return {
        "id": cycle.id,
        "identifier": cycle.identifier,
        "name": cycle.name,
        "billingOptions": cycle.billing_options.value,
        "_info": _info(base, "self", f"finance/billingCycles/{cycle.id}"),
    }


def agreement_type_json(kind: fx.AgreementType, base: str) -> dict[str, Any]:
    return {
        "id": kind.id,
        "name": kind.name,
        "_info": _info(base, "self", f"finance/agreements/types/{kind.id}"),
    }


def catalog_json(item: fx.CatalogItem, base: str) -> dict[str, Any]:
    return {
        "id": item.id,
        "identifier": item.identifier,
        "description": item.description,
        "customerDescription": item.customer_description,
        "price": item.price,
        "cost": item.cost,
        "productClass": item.product_class.value,
        "manufacturerPartNumber": item.manufacturer_part_number,
        "inactiveFlag": False,
        "_info": _info(base, "self", f"procurement/catalog/{item.id}"),
    }


@dataclass(frozen=True)
class AgreementParts:
    """The objects an agreement's references point at."""

    company: fx.Company
    type: fx.AgreementType
    billing_cycle: fx.BillingCycleItem | None
    currency: fx.Currency | None


def agreement_json(
    agreement: fx.Agreement,
    parts: AgreementParts,
    base: str,
    *,
    next_invoice_date: dt.date | None = None,
) -> dict[str, Any]:
    """The agreement; ``nextInvoiceDate`` is left out (null) while it was never invoiced."""
    cycle, currency = parts.billing_cycle, parts.currency
    return {
        "id": agreement.id,
        "name": agreement.name,
        "type": {
            "id": parts.type.id,
            "name": parts.type.name,
            "_info": _info(base, "type", f"finance/agreements/types/{parts.type.id}"),
        },
        "company": company_reference(parts.company, base),
        "billingCycle": None
        if cycle is None
        else {
            "id": cycle.id,
            "name": cycle.name,
            "_info": _info(base, "billingCycle", f"finance/billingCycles/{cycle.id}"),
        },
        "currency": None if currency is None else currency_json(currency, base, info="currency"),
        "startDate": agreement.start_date,
        "billStartDate": agreement.bill_start_date,
        "agreementStatus": agreement.agreement_status.value,
        "cancelledFlag": agreement.cancelled_flag,
        "prorateFlag": agreement.prorate_flag,
        "nextInvoiceDate": next_invoice_date,
        "_info": _info(base, "additions", f"finance/agreements/{agreement.id}/additions"),
    }


def addition_json(record: AdditionRecord, product: fx.CatalogItem, base: str) -> dict[str, Any]:
    ext_price = record.quantity * record.unit_price
    ext_cost = record.quantity * record.unit_cost
    return {
        "id": record.id,
        "product": {
            "id": product.id,
            "identifier": product.identifier,
            "_info": _info(base, "product", f"procurement/catalog/{product.id}"),
        },
        "billCustomer": record.bill_customer,
        "quantity": record.quantity,
        "lessIncluded": Decimal(0),
        "unitPrice": record.unit_price,
        "unitCost": record.unit_cost,
        "effectiveDate": record.effective_date,
        "cancelledDate": record.cancelled_date,
        "taxableFlag": record.taxable,
        "serialNumber": record.serial_number,
        "invoiceDescription": record.invoice_description,
        "description": record.description,
        "agreementId": record.agreement_id,
        "extPrice": ext_price,
        "extCost": ext_cost,
        "margin": ext_price - ext_cost,
        "_info": _info(base, "agreement", f"finance/agreements/{record.agreement_id}"),
    }


def flatten(obj: dict[str, Any], prefix: str = "") -> dict[str, object]:
    """``{"company": {"id": 1}}`` → ``{"company/id": 1}``, leaving ``_info`` out."""
    flat: dict[str, object] = {}
    for key, value in obj.items():
        if key == "_info":
            continue
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}/"))
        else:
            flat[f"{prefix}{key}"] = value
    return flat
