"""Tolerant models of the marketplace's JSON, and the plain values the client returns.

The vendor models read only the fields psasync uses and ignore everything else, so a newer API
version adding fields changes nothing. Field names are the vendor's (SimpleAPI 1.15, camelCase
through the alias generator). JSON is decoded with ``parse_float=Decimal``, so quantities the
vendor sends as doubles arrive here as exact ``Decimal``s, never binary floats.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from psasync.domain.billing import PeriodLength
from psasync.domain.money import Money
from psasync.domain.orders import Order

T = TypeVar("T")


class VendorModel(BaseModel):
    """Base of the vendor models: camelCase names, unknown fields ignored, ids as strings."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="ignore",
        frozen=True,
        coerce_numbers_to_str=True,
    )


def _as_utc(value: dt.datetime) -> dt.datetime:
    # The API writes instants with "Z"; one without an offset is read as UTC, not local time.
    if value.utcoffset() is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


UtcInstant = Annotated[dt.datetime, AfterValidator(_as_utc)]


class VendorMoney(VendorModel):
    """``{"currency": "USD", "amount": "12.50"}``; the amount stays as the vendor wrote it."""

    currency: str
    amount: str | int | Decimal


class VendorPeriod(VendorModel):
    """``{"type": "month", "duration": 1}`` (Period, BillingPeriod and Duration alike)."""

    type: str
    duration: int | Decimal

    def as_mapping(self) -> dict[str, object]:
        """The shape ``PeriodLength.from_marketplace`` reads; a whole double becomes an int."""
        duration: object = self.duration
        if isinstance(duration, Decimal) and duration == duration.to_integral_value():
            duration = int(duration)
        return {"type": self.type, "duration": duration}


class VendorTokenInfo(VendorModel):
    token: str = Field(min_length=1)
    expires_in_seconds: int = Field(gt=0)


class VendorAccount(VendorModel):
    """The fields of Customer and Reseller psasync reads."""

    id: str
    name: str
    status: str | None = None
    language: str | None = None
    external_id: str | None = None
    reseller_id: str | None = None
    currency: str | None = None


class VendorOrderDetail(VendorModel):
    type: str
    mpn: str | None = None
    description: str | None = None
    quantity: Decimal | None = None
    unit_price: VendorMoney | None = None
    # Not in the 1.15 OrderDetail schema; read when a gateway sends the reseller's cost.
    unit_cost: VendorMoney | None = None


class VendorOrder(VendorModel):
    id: str
    order_number: str | None = None
    type: str
    customer_id: str
    subscription_id: str | None = None
    status: str | None = None
    creation_date: UtcInstant
    provisioning_date: UtcInstant | None = None
    last_billing_date: dt.date | None = None
    next_billing_date: dt.date | None = None
    # Kept raw: one unreadable line is skipped on its own, not with its whole order.
    details: list[Any] = Field(default_factory=list)


class VendorSubscriptionProduct(VendorModel):
    mpn: str
    quantity: Decimal


class VendorSubscription(VendorModel):
    id: str
    customer_id: str
    name: str | None = None
    status: str | None = None
    creation_date: dt.date
    billing_period: VendorPeriod
    products: list[VendorSubscriptionProduct] = Field(default_factory=list)


class VendorProductPrice(VendorMoney):
    type: str | None = None


class VendorProduct(VendorModel):
    id: str | None = None
    mpn: str
    name: str | None = None
    vendor: str | None = None
    billing_model: str | None = None
    billing_period: VendorPeriod | None = None
    prices: list[VendorProductPrice] = Field(default_factory=list)
    costs: list[VendorProductPrice] = Field(default_factory=list)


# --- what the client returns besides domain objects --------------------------------------


@dataclass(frozen=True)
class ResellerAccount:
    """The logged-in user's reseller account: the psasync tenant."""

    id: str
    name: str
    marketplace: str
    currency: str | None = None
    status: str | None = None
    language: str | None = None


@dataclass(frozen=True)
class Customer:
    """A reseller's customer as far as psasync needs it (matching, task titles)."""

    id: str
    name: str
    status: str | None = None
    reseller_id: str | None = None
    external_id: str | None = None
    language: str | None = None


@dataclass(frozen=True)
class ProductPrice:
    """One price or cost of a catalog product: ``recurring``, ``setup`` or ``overuse``."""

    type: str | None
    money: Money


@dataclass(frozen=True)
class Product:
    """A marketplace catalog product. ``billing_period`` is None when the domain cannot map it."""

    mpn: str
    name: str
    id: str | None = None
    vendor: str | None = None
    billing_model: str | None = None
    billing_period: PeriodLength | None = None
    prices: tuple[ProductPrice, ...] = ()
    costs: tuple[ProductPrice, ...] = ()


class SkipKind(StrEnum):
    """What was left out of a result."""

    ORDER = "order"
    ORDER_LINE = "order line"
    SUBSCRIPTION = "subscription"
    CUSTOMER = "customer"
    PRODUCT = "product"
    RESELLER = "reseller"


@dataclass(frozen=True)
class Skipped:
    """Something the marketplace sent that psasync leaves out, and why.

    For an order line, ``id`` is the order's id and ``line`` the 1-based line position.
    """

    kind: SkipKind
    id: str
    reason: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.kind} {self.id}" + (f" line {self.line}" if self.line else "")
        return f"{where}: {self.reason}"


@dataclass(frozen=True)
class Listing(Generic[T]):
    """All items of a list call that psasync could read, and what it skipped with reasons."""

    items: tuple[T, ...]
    skipped: tuple[Skipped, ...] = ()


@dataclass(frozen=True)
class OrderResult:
    """One order read on its own, with the lines that were skipped."""

    order: Order
    skipped: tuple[Skipped, ...] = ()
