"""Who acts in a use case, and the ports through which it reaches the marketplace.

Use cases never depend on a browser session (DESIGN §1, §7): they take an :class:`Actor` — the
tenant, who acts (a logged-in user's name, or :data:`AUTOMATION`), and the marketplace access
to read with — so one function serves a page, the API, the CLI and a background job.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Protocol

from psasync.adapters.marketplace import Customer, Listing, Product
from psasync.domain.orders import Order, Subscription
from psasync.services.errors import Invalid

# The name history shows for work done by a scheduled or queued job, not a person.
AUTOMATION = "automation"


class MarketplaceAccess(Protocol):
    """The port to one reseller account on a Cloud Marketplace: what the use cases read.

    Implemented by the marketplace adapter's session, whether it was opened by a person's login
    or by the tenant's integration user for unattended work.
    """

    async def list_orders(
        self, *, created_from: dt.datetime | None = None, created_to: dt.datetime | None = None
    ) -> Listing[Order]: ...

    async def get_customer(self, customer_id: str) -> Customer: ...

    async def list_customers(self) -> Listing[Customer]: ...

    async def get_subscription(self, subscription_id: str) -> Subscription: ...

    async def list_subscriptions(
        self, *, customer_id: str | None = None, status: str | None = None
    ) -> Listing[Subscription]:
        """Every subscription in one paged listing (without products: see get_subscription)."""
        ...

    async def list_products(
        self, *, mpn: str | None = None, name: str | None = None, vendor: str | None = None
    ) -> Listing[Product]:
        """The reseller's catalog products with their prices and costs."""
        ...


@dataclass(frozen=True)
class Actor:
    """The tenant a use case works for, who acts, and the marketplace access it reads with.

    ``marketplace`` is None where the use case reads nothing from the marketplace (a listing of
    stored tasks, a mapping saved by hand); a use case that needs it says so clearly.
    """

    tenant_id: int
    name: str
    marketplace: MarketplaceAccess | None = field(default=None, repr=False, compare=False)

    @property
    def is_automation(self) -> bool:
        return self.name == AUTOMATION

    def reads_marketplace(self) -> MarketplaceAccess:
        """The marketplace access, or a clear refusal when this actor has none."""
        if self.marketplace is None:
            raise Invalid(
                "This needs the Cloud Marketplace: log in, or set the marketplace integration "
                "user on the automation page for unattended work.",
                code="NoMarketplaceAccess",
            )
        return self.marketplace
