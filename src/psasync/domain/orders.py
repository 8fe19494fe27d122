"""Marketplace orders and subscriptions as the billing rules see them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from psasync.domain.billing import BillingPeriod, PeriodLength
from psasync.domain.errors import DomainError
from psasync.domain.money import Money


class OrderError(DomainError):
    """An order or subscription whose facts contradict each other."""


class OrderType(StrEnum):
    """The kinds of order that become synchronization tasks."""

    SALES = "sales"
    CHANGE = "change"
    BILLING = "billing"
    RENEWAL = "renewal"
    CANCELLATION = "cancellation"

    @property
    def label(self) -> str:
        """How the order type reads in a task title: "Change Order"."""
        return f"{self.value.capitalize()} Order"


def order_type_from_marketplace(value: str) -> OrderType | None:
    """The task type of a marketplace ``order.type``, or None for types psasync does not sync.

    ``migration`` and ``unknown`` (and anything newer) are ignored by the caller with a reason.
    """
    try:
        return OrderType(value.strip().lower())
    except ValueError:
        return None


class OrderStatus(StrEnum):
    """Marketplace order statuses; only completed orders are billed."""

    SUBMITTED = "submitted"
    PROCESSING = "processing"
    ERROR = "error"
    COMPLETED = "completed"
    CANCELLED = "cancelled"

    @property
    def is_pending(self) -> bool:
        """Still on its way to completion: wait for it rather than skip it."""
        return self in (OrderStatus.SUBMITTED, OrderStatus.PROCESSING)


class LineType(StrEnum):
    """Order detail types the addition planner acts on."""

    RECURRING = "recurring"
    SETUP = "setup"
    OVERUSE = "overuse"
    CANCELLATION = "cancellation"


def line_type_from_marketplace(value: str) -> LineType | None:
    """The line type of a marketplace order detail, or None for one psasync does not bill."""
    try:
        return LineType(value.strip())
    except ValueError:
        return None


@dataclass(frozen=True)
class OrderLine:
    """One order detail. ``number`` is its 1-based position in the order's ``details``."""

    number: int
    type: LineType
    mpn: str
    description: str
    quantity: Decimal
    unit_price: Money
    unit_cost: Money | None = None


@dataclass(frozen=True)
class Order:
    """A marketplace order with the dates that place it in a billing period."""

    id: str
    number: str
    type: OrderType
    status: OrderStatus
    customer_id: str
    subscription_id: str | None
    created_at: dt.datetime
    provisioned_at: dt.datetime | None = None
    last_billing_date: dt.date | None = None
    next_billing_date: dt.date | None = None
    lines: tuple[OrderLine, ...] = ()

    def __post_init__(self) -> None:
        for instant in (self.created_at, self.provisioned_at):
            if instant is not None and instant.utcoffset() is None:
                raise OrderError(f"order {self.id}: instant {instant.isoformat()} has no timezone")
        numbers = [line.number for line in self.lines]
        if len(set(numbers)) != len(numbers):
            raise OrderError(f"order {self.id}: line numbers repeat: {numbers}")

    @property
    def effective_date(self) -> dt.date:
        """The UTC day the order took effect: provisioned, else created.

        The marketplace charges from provisioning (a change completed on 8 Jan bills 8 Jan on).
        """
        instant = self.provisioned_at or self.created_at
        return instant.astimezone(dt.UTC).date()


@dataclass(frozen=True)
class SubscriptionProduct:
    """A product of a subscription with its quantity after the latest order."""

    mpn: str
    quantity: Decimal


@dataclass(frozen=True)
class Subscription:
    """A marketplace subscription: how it bills and what it holds now."""

    id: str
    customer_id: str
    billing_period: PeriodLength
    created_on: dt.date
    products: tuple[SubscriptionProduct, ...] = ()

    def quantity_of(self, mpn: str) -> Decimal | None:
        """The subscription's current total of a product, or None if it does not hold it."""
        return next((p.quantity for p in self.products if p.mpn == mpn), None)


def order_billing_period(order: Order, subscription: Subscription | None) -> BillingPeriod:
    """The billing period an order falls in.

    From the order's ``lastBillingDate``..``nextBillingDate`` when it has both; otherwise the
    subscription's period, anchored on its creation date, that holds the order's effective date.
    """
    if order.last_billing_date and order.next_billing_date:
        return BillingPeriod.from_billing_dates(order.last_billing_date, order.next_billing_date)
    if subscription is None:
        raise OrderError(
            f"order {order.number} has no billing dates and no subscription to derive them from"
        )
    return BillingPeriod.containing(
        order.effective_date, length=subscription.billing_period, anchor=subscription.created_on
    )


def task_title(*, customer_name: str, customer_id: str, order_type: OrderType) -> str:
    """How a task is named to the reseller: "Green Lane LLC 1000048531 — Change Order"."""
    return f"{customer_name} {customer_id} — {order_type.label}"
