"""What one emulated marketplace holds: its resellers' data, indexed, and the issued tokens.

The fixture data is read-only once loaded; only tokens change, under a lock (the emulator may
serve requests from several threads).
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from psasync.sandbox.marketplace.fixture import (
    Customer,
    Marketplace,
    MarketplaceFixture,
    Order,
    Product,
    Reseller,
    Subscription,
)
from psasync.sandbox.marketplace.index import Indexed


def _numeric_first(object_id: str) -> tuple[int, str]:
    # Platform ids are growing numbers: a longer id is a newer one, whatever its first digit.
    return (len(object_id), object_id)


@dataclass(frozen=True)
class Login:
    password: str = field(repr=False)
    reseller_id: str


@dataclass(frozen=True)
class MarketplaceData:
    """One marketplace's slice of the fixture, every list newest first.

    Each reseller's customers, orders and subscriptions are also kept as lists of their own,
    indexed by what their list endpoints filter on (:mod:`.index`), so a page costs the same
    however much data the marketplace holds.
    """

    marketplace: Marketplace
    resellers: dict[str, Reseller]
    logins: dict[str, Login]
    customers: dict[str, Customer]
    subscriptions: dict[str, Subscription]
    orders: dict[str, Order]
    products: tuple[Product, ...]
    products_by_mpn: dict[str, Product]
    _customers_of: dict[str, tuple[Customer, ...]] = field(init=False, repr=False, compare=False)
    _orders_of: dict[str, Indexed[Order]] = field(init=False, repr=False, compare=False)
    _subscriptions_of: dict[str, Indexed[Subscription]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        customers: dict[str, list[Customer]] = {reseller: [] for reseller in self.resellers}
        for customer in self.customers.values():
            customers.setdefault(customer.reseller_id, []).append(customer)
        orders: dict[str, list[Order]] = {reseller: [] for reseller in self.resellers}
        for order in self.orders.values():
            owner = self.owner(order.customer_id)
            if owner is not None:
                orders.setdefault(owner, []).append(order)
        subscriptions: dict[str, list[Subscription]] = {reseller: [] for reseller in self.resellers}
        for subscription in self.subscriptions.values():
            owner = self.owner(subscription.customer_id)
            if owner is not None:
                subscriptions.setdefault(owner, []).append(subscription)
        # Frozen: the indexes are set once, here.
        object.__setattr__(
            self, "_customers_of", {r: tuple(found) for r, found in customers.items()}
        )
        object.__setattr__(
            self,
            "_orders_of",
            {r: _order_index(found) for r, found in orders.items()},
        )
        object.__setattr__(
            self,
            "_subscriptions_of",
            {r: _subscription_index(found) for r, found in subscriptions.items()},
        )

    @classmethod
    def of(cls, fixture: MarketplaceFixture, marketplace: Marketplace) -> MarketplaceData:
        """The part of ``fixture`` that lives on ``marketplace``."""
        resellers = [r for r in fixture.resellers if r.marketplace == marketplace.code]
        reseller_ids = {r.id for r in resellers}
        customers = [c for c in fixture.customers if c.reseller_id in reseller_ids]
        customer_ids = {c.id for c in customers}
        subscriptions = sorted(
            (s for s in fixture.subscriptions if s.customer_id in customer_ids),
            key=lambda s: (s.creation_date, _numeric_first(s.id)),
            reverse=True,
        )
        orders = sorted(
            (o for o in fixture.orders if o.customer_id in customer_ids),
            key=lambda o: (o.creation_date, _numeric_first(o.id)),
            reverse=True,
        )
        return cls(
            marketplace=marketplace,
            resellers={r.id: r for r in sorted(resellers, key=_id_key, reverse=True)},
            logins={
                user.username: Login(password=user.password, reseller_id=r.id)
                for r in resellers
                for user in r.users
            },
            customers={c.id: c for c in sorted(customers, key=_id_key, reverse=True)},
            subscriptions={s.id: s for s in subscriptions},
            orders={o.id: o for o in orders},
            products=tuple(fixture.products),
            products_by_mpn={p.mpn: p for p in fixture.products},
        )

    def owner(self, customer_id: str) -> str | None:
        """The reseller a customer belongs to."""
        found = self.customers.get(customer_id)
        return found.reseller_id if found else None

    def customers_of(self, reseller_id: str) -> Sequence[Customer]:
        """The reseller's customers, newest first."""
        return self._customers_of.get(reseller_id, ())

    def subscriptions_of(self, reseller_id: str) -> Indexed[Subscription]:
        """The reseller's subscriptions, newest first, indexed by customer, status, date."""
        return self._subscriptions_of.get(reseller_id, _NO_SUBSCRIPTIONS)

    def orders_of(self, reseller_id: str) -> Indexed[Order]:
        """The reseller's orders, newest first, indexed by customer, subscription, order
        number, status and creation time."""
        return self._orders_of.get(reseller_id, _NO_ORDERS)


def _order_index(orders: Sequence[Order]) -> Indexed[Order]:
    """Orders by the filters of ``GET /orders``."""
    return Indexed(
        orders,
        keys={
            "customerId": lambda o: o.customer_id,
            "subscriptionId": lambda o: o.subscription_id,
            "orderNumber": lambda o: o.order_number,
            "status": lambda o: o.status,
        },
        created=lambda o: o.creation_date,
    )


def _subscription_index(subscriptions: Sequence[Subscription]) -> Indexed[Subscription]:
    """Subscriptions by the filters of ``GET /subscriptions``."""
    return Indexed(
        subscriptions,
        keys={"customerId": lambda s: s.customer_id, "status": lambda s: s.status},
        created=lambda s: s.creation_date,
    )


_NO_ORDERS = _order_index(())
_NO_SUBSCRIPTIONS = _subscription_index(())


def _id_key(item: Reseller | Customer) -> tuple[int, str]:
    return _numeric_first(item.id)


class TokenStore:
    """Bearer tokens issued by ``POST /token``, each with the reseller it acts for and its expiry.

    Tokens are opaque random strings: clients must not read anything into them.
    """

    def __init__(self, *, lifetime_seconds: int, clock: Callable[[], dt.datetime]) -> None:
        if lifetime_seconds < 1:
            raise ValueError(f"a token must live at least a second, not {lifetime_seconds}")
        self.lifetime_seconds = lifetime_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[str, dt.datetime]] = {}

    def issue(self, reseller_id: str) -> str:
        """A new token for ``reseller_id``; lapsed ones are forgotten on the way."""
        token = secrets.token_urlsafe(32)
        now = self._clock()
        with self._lock:
            self._tokens = {k: v for k, v in self._tokens.items() if v[1] > now}
            self._tokens[token] = (
                reseller_id,
                now + dt.timedelta(seconds=self.lifetime_seconds),
            )
        return token

    def reseller_for(self, token: str) -> str | None:
        """The reseller a live token acts for; None for an unknown or lapsed token."""
        with self._lock:
            entry = self._tokens.get(token)
        if entry is None or self._clock() >= entry[1]:
            return None
        return entry[0]
