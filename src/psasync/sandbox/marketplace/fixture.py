"""The ``marketplace:`` section of the sandbox fixture (DESIGN.md §4), checked strictly.

Keys are the vendor's own (SimpleAPI 1.15) and an unknown key is an error naming it. Nested
objects (address, contact persons, periods, money) have the shapes of the spec's objects, so
whatever the emulator serves from them validates against the spec.

YAML reads unquoted numbers and dates itself: ids written as numbers become strings, dates and
instants arrive as ``date``/``datetime``. Money amounts must be strings or whole numbers — an
unquoted ``12.50`` is a binary float and is refused with a hint rather than silently rounded.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from psasync.domain.money import parse_amount
from psasync.sandbox.marketplace.integrity import check_integrity


def _text(value: object) -> object:
    # YAML turns ``id: 1000001`` or ``postalCode: 98101`` into ints; they are strings here.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _amount(value: object) -> Decimal:
    if isinstance(value, float):
        raise ValueError(
            f"amount {value!r} is a binary float: quote it (e.g. '{value:.2f}') so it stays exact"
        )
    return parse_amount(value)


def _quantity(value: object) -> object:
    # Quantities are doubles in the vendor's API, not money: an unquoted YAML number such as
    # 1250.5 is taken from its shortest repr, which is the literal written in the file.
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str):
        return parse_amount(value)
    return value


def _utc(value: dt.datetime) -> dt.datetime:
    # An instant written without an offset is taken as UTC, as the API writes them all.
    if value.utcoffset() is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


Text = Annotated[str, BeforeValidator(_text), Field(min_length=1)]
Instant = Annotated[dt.datetime, AfterValidator(_utc)]
OptionalText = Annotated[str | None, BeforeValidator(_text)]
Amount = Annotated[Decimal, BeforeValidator(_amount)]
Quantity = Annotated[Decimal, BeforeValidator(_quantity)]
CurrencyCode = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
AccountStatus = Literal["pending", "active", "creditHold", "adminHold", "cancelled", "error"]
BillingModel = Literal[
    "chargeBeforeBillingPeriod",
    "chargeAfterBillingPeriod",
    "chargeBeforeSubscriptionPeriod",
    "chargeExternalRating",
]
# The spec's order type enum, plus ``billing``: the sandbox reports Billing Orders that way.
OrderTypeName = Literal[
    "sales", "change", "renewal", "cancellation", "migration", "unknown", "billing"
]
OrderStatusName = Literal["submitted", "processing", "error", "completed", "cancelled"]
SubscriptionStatus = Literal["pending", "active", "hold", "terminated", "removed"]
# The spec's OrderDetail type enum.
DetailType = Literal[
    "unknown", "setup", "setupRefund", "switch", "renew", "renewRefund", "transfer",
    "transferRefund", "recurring", "recurringRefund", "overuse", "downgrade", "discount",
    "adjustment", "cancellation", "handlingFee", "nonProvisioningItem", "payment", "refund",
    "refundAdjustment", "billPenalty", "billRecord", "resellerPayment", "deposit",
]  # fmt: skip
PeriodType = Literal["day", "month", "year", "statement_day", "unknown"]


class FixtureModel(BaseModel):
    """Vendor key names, nothing else accepted."""

    model_config = ConfigDict(alias_generator=to_camel, extra="forbid", frozen=True)


class Marketplace(FixtureModel):
    code: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")]
    name: Text
    currency: CurrencyCode
    subscription_key: Text


class Address(FixtureModel):
    street_address: Text
    address_extension: OptionalText = None
    postal_code: Text
    city: Text
    state: OptionalText = None
    country_code: Annotated[str, Field(pattern=r"^[A-Z]{2}$")]


class ContactPerson(FixtureModel):
    type: Literal["admin", "billing", "technical"] = "admin"
    first_name: Text
    last_name: Text
    email: Text
    phone_number: Text


class User(FixtureModel):
    username: Text
    password: Text


class Account(FixtureModel):
    id: Text
    name: Text
    status: AccountStatus = "active"
    language: Text = "en"
    external_id: OptionalText = None
    tax_reg_id: OptionalText = None
    address: Address
    contact_persons: list[ContactPerson] = Field(default_factory=list)


class Reseller(Account):
    marketplace: Text
    currency: CurrencyCode
    users: list[User] = Field(default_factory=list)


class Customer(Account):
    reseller_id: Text


class Money(FixtureModel):
    currency: CurrencyCode
    amount: Amount


class Period(FixtureModel):
    type: PeriodType
    duration: Annotated[int, Field(ge=1)]


class ProductPrice(Money):
    type: Literal["recurring", "setup", "overuse"]


class Product(FixtureModel):
    id: Text
    mpn: Text
    name: Text
    vendor: Text
    service_name: OptionalText = None
    billing_model: BillingModel = "chargeBeforeBillingPeriod"
    billing_period: Period
    subscription_period: Period | None = None
    minimum_quantity: Annotated[int, Field(ge=0)] | None = None
    maximum_quantity: Annotated[int, Field(ge=0)] | None = None
    prices: list[ProductPrice] = Field(default_factory=list)
    costs: list[ProductPrice] = Field(default_factory=list)


class SubscriptionProduct(FixtureModel):
    mpn: Text
    # The spec types a subscription product's quantity as an int32.
    quantity: Annotated[int, Field(ge=0)]
    unit_price: Money
    unit_cost: Money | None = None


class Subscription(FixtureModel):
    id: Text
    customer_id: Text
    name: Text
    status: SubscriptionStatus = "active"
    billing_model: BillingModel = "chargeBeforeBillingPeriod"
    billing_period: Period
    subscription_period: Period
    creation_date: dt.date
    renewal_date: dt.date | None = None
    expiration_date: dt.date | None = None
    products: list[SubscriptionProduct] = Field(default_factory=list)


class OrderDetail(FixtureModel):
    type: DetailType
    mpn: Text
    description: str = ""
    quantity: Quantity
    unit_price: Money
    unit_cost: Money | None = None
    duration: Period | None = None


class Order(FixtureModel):
    id: Text
    order_number: Text
    type: OrderTypeName
    customer_id: Text
    subscription_id: OptionalText = None
    status: OrderStatusName = "completed"
    po_number: OptionalText = None
    creation_date: Instant
    provisioning_date: Instant | None = None
    last_billing_date: dt.date | None = None
    next_billing_date: dt.date | None = None
    details: list[OrderDetail] = Field(default_factory=list)


class MarketplaceFixture(FixtureModel):
    """The whole ``marketplace:`` section; every list may be left out."""

    marketplaces: list[Marketplace] = Field(default_factory=list)
    resellers: list[Reseller] = Field(default_factory=list)
    customers: list[Customer] = Field(default_factory=list)
    products: list[Product] = Field(default_factory=list)
    subscriptions: list[Subscription] = Field(default_factory=list)
    orders: list[Order] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references_hold(self) -> MarketplaceFixture:
        problems = check_integrity(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self
