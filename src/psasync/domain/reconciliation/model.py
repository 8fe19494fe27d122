"""What reconciliation compares, and the items it reports (DESIGN.md §9).

Inputs are snapshots the services read from both vendors; outputs are items, each with both
sides, its monthly impact and its proposed fix. Everything is a frozen value: a report can be
stored, reloaded and compared.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from psasync.domain.agreements import Addition, Agreement, CatalogItem
from psasync.domain.billing import PeriodLength
from psasync.domain.errors import DomainError
from psasync.domain.plan import PlannedAddition, PriceSource, PsaStyle


class ReconciliationError(DomainError):
    """Reconciliation inputs that contradict each other."""


class ItemKind(StrEnum):
    """The differences DESIGN §9 names, in the order a report lists them."""

    MISSING = "missing"
    QUANTITY = "quantity"
    PRICE = "price"
    DUPLICATE = "duplicate"
    ORPHAN = "orphan"
    CANCELLED_AGREEMENT = "cancelledAgreement"
    MANUAL_EDIT = "manualEdit"
    UNMAPPED = "unmapped"


class FixTiming(StrEnum):
    """When a fix changes billing: from the next period start, or already in the current one."""

    NEXT_PERIOD = "nextPeriod"
    CURRENT_PERIOD = "currentPeriod"


# --- inputs ------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class MarketplaceProduct:
    """A product of an active subscription as of the next period start, with reseller prices.

    ``unit_price`` and ``unit_cost`` are per billing period of the subscription; ``unit_cost``
    None means the marketplace gave none (the fix then takes the catalog cost).
    """

    mpn: str
    quantity: Decimal
    unit_price: Decimal
    unit_cost: Decimal | None = None
    description: str = ""


@dataclass(frozen=True, kw_only=True)
class MarketplaceSubscription:
    """An active marketplace subscription: how often it bills, in what, and what it holds."""

    id: str
    billing_period: PeriodLength
    currency: str
    products: tuple[MarketplaceProduct, ...] = ()

    def __post_init__(self) -> None:
        mpns = [product.mpn for product in self.products]
        if len(set(mpns)) != len(mpns):
            raise ReconciliationError(f"subscription {self.id} lists a product twice: {mpns}")


@dataclass(frozen=True, kw_only=True)
class AgreementLines:
    """One of the company's agreements with the additions ConnectWise shows on it."""

    agreement: Agreement
    additions: tuple[Addition, ...] = ()


@dataclass(frozen=True, kw_only=True)
class CustomerSnapshot:
    """Everything reconciliation compares for one marketplace customer.

    ``company_id`` None: the customer is not mapped to a ConnectWise company. ``catalog`` maps
    each mapped MPN to its recurring catalog item (an MPN absent from it is unmapped).
    ``written`` is what psasync's journal says it wrote, by idempotency key (the create as
    applied); it lets ``manualEdit`` items be found.
    """

    customer_id: str
    customer_name: str
    company_id: int | None
    subscriptions: tuple[MarketplaceSubscription, ...] = ()
    catalog: Mapping[str, CatalogItem] = field(default_factory=dict)
    agreements: tuple[AgreementLines, ...] = ()
    written: Mapping[str, PlannedAddition] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class ReconciliationOptions:
    """How to compare and fix.

    ``as_of`` is D, the next period start: what bills on D is compared, and fixes take effect
    on D. With ``FixTiming.CURRENT_PERIOD`` they take effect on ``change_date`` (before D) with
    a prorate line for the rest of the current period, where no invoiced span forbids it.
    ``psa`` is the tenant's PSA, whose names the items' notes use.
    """

    as_of: dt.date
    price_source: PriceSource = PriceSource.MARKETPLACE
    timing: FixTiming = FixTiming.NEXT_PERIOD
    change_date: dt.date | None = None
    psa: PsaStyle = PsaStyle.CONNECTWISE

    def __post_init__(self) -> None:
        if self.timing is FixTiming.NEXT_PERIOD:
            return
        if self.change_date is None or self.change_date >= self.as_of:
            raise ReconciliationError(
                f"a current-period fix needs a change date before {self.as_of.isoformat()}, "
                f"not {self.change_date}"
            )

    @property
    def fix_date(self) -> dt.date:
        """The first day fixes change billing: the change date in the current period, else D."""
        if self.timing is FixTiming.NEXT_PERIOD:
            return self.as_of
        return self.change_date or self.as_of


# --- outputs -----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class MarketplaceSide:
    """The marketplace's side of an item: one product of one subscription."""

    subscription_id: str
    mpn: str
    quantity: Decimal
    unit_price: Decimal
    currency: str
    billing_period: PeriodLength


@dataclass(frozen=True, kw_only=True)
class PsaSide:
    """ConnectWise's side: the additions concerned on one agreement.

    ``quantity`` is their total, ``unit_price`` the first one's.
    """

    agreement_id: int
    agreement_name: str
    addition_ids: tuple[int, ...]
    quantity: Decimal
    unit_price: Decimal


@dataclass(frozen=True, kw_only=True)
class Fix:
    """The plan actions that remove an item's drift, all on one agreement.

    ``effective_date`` is the first day the fix changes billing: D, or the change date.
    """

    agreement_id: int
    effective_date: dt.date
    actions: tuple[PlannedAddition, ...]


@dataclass(frozen=True, kw_only=True)
class ReconciliationItem:
    """One difference between the marketplace and ConnectWise for one customer.

    ``monthly_impact`` is positive when ConnectWise bills less than it should (under-billed
    revenue), negative when it bills more; full precision, in ``currency`` (None for items that
    compare no amounts). ``fix`` None: no fix can be proposed, ``notes`` say why.
    """

    id: str
    kind: ItemKind
    customer_id: str
    customer_name: str
    company_id: int | None
    mpn: str | None
    currency: str | None
    monthly_impact: Decimal
    marketplace: MarketplaceSide | None = None
    psa: PsaSide | None = None
    fix: Fix | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Total:
    """How many items, and their monthly impact per currency code."""

    count: int
    impact: Mapping[str, Decimal] = field(default_factory=dict)
