"""ConnectWise agreements, their additions and catalog items as the billing rules see them.

Field meanings follow ConnectWise's own (``billCustomer``, ``effectiveDate``, ``cancelledDate``,
``prorateFlag``…); the adapter maps the vendor JSON onto these values.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from psasync.domain.billing import BillingCycle
from psasync.domain.money import Currency


class AgreementStatus(StrEnum):
    ACTIVE = "Active"
    CANCELLED = "Cancelled"
    EXPIRED = "Expired"
    INACTIVE = "Inactive"


class BillCustomer(StrEnum):
    """Whether an addition is billed: ConnectWise ``billCustomer``."""

    BILLABLE = "Billable"
    DO_NOT_BILL = "DoNotBill"
    NO_CHARGE = "NoCharge"


class ProductClass(StrEnum):
    AGREEMENT = "Agreement"
    BUNDLE = "Bundle"
    INVENTORY = "Inventory"
    NON_INVENTORY = "NonInventory"
    SERVICE = "Service"


@dataclass(frozen=True)
class Company:
    """A customer company in the PSA: what customers are mapped to."""

    id: int
    identifier: str
    name: str


@dataclass(frozen=True)
class ProductRef:
    """A ConnectWise catalog item reference (``IvItemReference``)."""

    id: int
    identifier: str


@dataclass(frozen=True)
class Agreement:
    """A ConnectWise agreement with its currency already resolved (see ``resolve_currency``)."""

    id: int
    name: str
    company_id: int
    status: AgreementStatus
    cancelled: bool
    billing_cycle: BillingCycle | None
    currency: Currency
    bill_start_date: dt.date | None = None
    prorate_flag: bool = False
    # The last day ConnectWise has already invoiced: no write may change billing on or before it.
    invoiced_through: dt.date | None = None


@dataclass(frozen=True)
class Addition:
    """An agreement addition as it stands in ConnectWise.

    ``sync_key`` is the psasync idempotency key found on it (custom field or marked
    description), None for additions psasync did not write.
    """

    id: int
    product: ProductRef
    quantity: Decimal
    unit_price: Decimal
    unit_cost: Decimal
    effective_date: dt.date | None
    cancelled_date: dt.date | None
    bill_customer: BillCustomer = BillCustomer.BILLABLE
    taxable: bool = False
    description: str = ""
    invoice_description: str = ""
    sync_key: str | None = None

    def is_ongoing_on(self, day: dt.date) -> bool:
        """Whether the addition bills on ``day``: started, and not cancelled before it."""
        started = self.effective_date is None or self.effective_date <= day
        return started and (self.cancelled_date is None or self.cancelled_date >= day)


@dataclass(frozen=True)
class CatalogItem:
    """A ConnectWise catalog item that a marketplace product (by MPN) is mapped to."""

    id: int
    identifier: str
    description: str
    price: Decimal
    cost: Decimal
    product_class: ProductClass
    customer_description: str = ""
    taxable: bool = False

    @property
    def ref(self) -> ProductRef:
        return ProductRef(id=self.id, identifier=self.identifier)


def resolve_currency(
    *, agreement: Currency | None, company: Currency | None, default: Currency
) -> Currency:
    """The currency an agreement bills in: its own, else its company's, else the site default."""
    return agreement or company or default
