"""What one emulated marketplace holds: its resellers' data, indexed, and the issued tokens.

The fixture data is read-only once loaded; only tokens change, under a lock (the emulator may
serve requests from several threads).
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
from collections.abc import Callable
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


def _numeric_first(object_id: str) -> tuple[int, str]:
    # Platform ids are growing numbers: a longer id is a newer one, whatever its first digit.
    return (len(object_id), object_id)


@dataclass(frozen=True)
class Login:
    password: str = field(repr=False)
    reseller_id: str


@dataclass(frozen=True)
class MarketplaceData:
    """One marketplace's slice of the fixture, every list newest first."""

    marketplace: Marketplace
    resellers: dict[str, Reseller]
    logins: dict[str, Login]
    customers: dict[str, Customer]
    subscriptions: dict[str, Subscription]
    orders: dict[str, Order]
    products: tuple[Product, ...]
    products_by_mpn: dict[str, Product]

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

    def customers_of(self, reseller_id: str) -> list[Customer]:
        return [c for c in self.customers.values() if c.reseller_id == reseller_id]

    def subscriptions_of(self, reseller_id: str) -> list[Subscription]:
        return [s for s in self.subscriptions.values() if self.owner(s.customer_id) == reseller_id]

    def orders_of(self, reseller_id: str) -> list[Order]:
        return [o for o in self.orders.values() if self.owner(o.customer_id) == reseller_id]


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
