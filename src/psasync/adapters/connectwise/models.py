"""ConnectWise objects as the API sends them, read tolerantly.

Real data breaks the published schema: "required" fields come back null, fields appear that no
model version lists, numbers arrive where strings are documented. So every field but ``id`` is
optional, unknown fields are ignored, money is read as ``Decimal`` and dates as ``date`` (the
vendor writes even date-only fields as ``2026-11-01T00:00:00Z``). What psasync cannot do without
is checked where the values are mapped onto the domain (:mod:`.mapping`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel

from psasync.adapters.connectwise.errors import ConnectWiseDataError

_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})(T[0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?")


def parse_vendor_date(value: object) -> dt.date | None:
    """``2026-11-01T00:00:00Z`` or ``2026-11-01`` → ``date(2026, 11, 1)``; None stays None.

    The calendar day is the one written: ConnectWise keeps these as dates and only dresses
    them as UTC instants on the wire.
    """
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    found = _DATE.fullmatch(value.strip()) if isinstance(value, str) else None
    if found is None:
        raise ValueError(f"{value!r} is not a date like 2026-11-01T00:00:00Z")
    return dt.date.fromisoformat(found.group(1))


def parse_vendor_amount(value: object) -> Decimal | None:
    """A vendor number as ``Decimal``: JSON numbers arrive as Decimal or int (see jsonio)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not an amount")
    if isinstance(value, float):
        # Only reached if a caller parsed the JSON with floats: the shortest repr is the
        # number the vendor wrote (the schema declares these fields double).
        value = repr(value)
    try:
        amount = Decimal(value) if isinstance(value, Decimal | int | str) else None
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite():
        raise ValueError(f"{value!r} is not an amount")
    return amount


VendorDate = Annotated[dt.date | None, BeforeValidator(parse_vendor_date)]
Amount = Annotated[Decimal | None, BeforeValidator(parse_vendor_amount)]


class VendorModel(BaseModel):
    """Field names are the vendor's camelCase; unknown fields are ignored."""

    model_config = ConfigDict(
        extra="ignore", alias_generator=to_camel, populate_by_name=True, frozen=True
    )


class Reference(VendorModel):
    """A reference to another object: ``{id, identifier, name, _info}``."""

    id: int | None = None
    identifier: str | None = None
    name: str | None = None


class CurrencyReference(VendorModel):
    id: int | None = None
    currency_identifier: str | None = None
    currency_code: str | None = None
    number_of_decimals: int | None = None
    name: str | None = None


class VendorCompany(VendorModel):
    id: int
    identifier: str | None = None
    name: str | None = None
    currency: CurrencyReference | None = None
    deleted_flag: bool | None = None


class VendorCurrency(VendorModel):
    id: int
    currency_identifier: str | None = None
    currency_code: str | None = None
    name: str | None = None
    number_of_decimals: int | None = None


class VendorBillingCycle(VendorModel):
    id: int
    identifier: str | None = None
    name: str | None = None
    billing_options: str | None = None


class VendorAgreementType(VendorModel):
    id: int
    name: str | None = None
    inactive_flag: bool | None = None


class VendorCatalogItem(VendorModel):
    id: int
    identifier: str | None = None
    description: str | None = None
    customer_description: str | None = None
    price: Amount = None
    cost: Amount = None
    product_class: str | None = None
    manufacturer_part_number: str | None = None
    taxable_flag: bool | None = None
    inactive_flag: bool | None = None


class VendorAgreement(VendorModel):
    id: int
    name: str | None = None
    type: Reference | None = None
    company: Reference | None = None
    billing_cycle: Reference | None = None
    currency: CurrencyReference | None = None
    start_date: VendorDate = None
    end_date: VendorDate = None
    bill_start_date: VendorDate = None
    agreement_status: str | None = None
    cancelled_flag: bool | None = None
    prorate_flag: bool | None = None
    # The first day not yet invoiced; absent or null on an agreement never invoiced.
    next_invoice_date: VendorDate = None


class VendorAddition(VendorModel):
    id: int
    agreement_id: int | None = None
    product: Reference | None = None
    bill_customer: str | None = None
    quantity: Amount = None
    unit_price: Amount = None
    unit_cost: Amount = None
    ext_price: Amount = None
    ext_cost: Amount = None
    margin: Amount = None
    effective_date: VendorDate = None
    cancelled_date: VendorDate = None
    taxable_flag: bool | None = None
    description: str | None = None
    invoice_description: str | None = None


Model = TypeVar("Model", bound=VendorModel)


def read_model(model: type[Model], data: object) -> Model:
    """Validate one vendor object; an unusable one raises :class:`ConnectWiseDataError`."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        ident = data.get("id") if isinstance(data, Mapping) else None
        problems = "; ".join(
            f"{'/'.join(str(part) for part in problem['loc']) or 'object'}: {problem['msg']}"
            for problem in error.errors()
        )
        raise ConnectWiseDataError(
            f"ConnectWise sent an unusable {_label(model)} (id {ident}): {problems}"
        ) from None


def read_models(model: type[Model], items: list[dict[str, Any]]) -> list[Model]:
    return [read_model(model, item) for item in items]


def _label(model: type[VendorModel]) -> str:
    return re.sub(r"(?<!^)([A-Z])", r" \1", model.__name__.removeprefix("Vendor")).lower()
