"""Cross-references of the marketplace fixture: every id points at something that exists.

Each problem is one sentence naming the object and the key, so a fixture author can fix it
without reading code. All problems are reported at once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from psasync.sandbox.marketplace.fixture import MarketplaceFixture, Order


def _repeats(kind: str, key: str, values: Iterable[str]) -> list[str]:
    counts = Counter(values)
    return [f"{kind} {key} {value!r} is used {n} times" for value, n in counts.items() if n > 1]


def _unique(fixture: MarketplaceFixture) -> list[str]:
    users = [
        (reseller.marketplace, user.username)
        for reseller in fixture.resellers
        for user in reseller.users
    ]
    return [
        *_repeats("marketplace", "code", (m.code for m in fixture.marketplaces)),
        *_repeats("reseller", "id", (r.id for r in fixture.resellers)),
        *_repeats("customer", "id", (c.id for c in fixture.customers)),
        *_repeats("product", "id", (p.id for p in fixture.products)),
        *_repeats("product", "mpn", (p.mpn for p in fixture.products)),
        *_repeats("subscription", "id", (s.id for s in fixture.subscriptions)),
        *_repeats("order", "id", (o.id for o in fixture.orders)),
        *_repeats("order", "orderNumber", (o.order_number for o in fixture.orders)),
        *_repeats("user", "username (in one marketplace)", (f"{m}/{u}" for m, u in users)),
    ]


def _owners(fixture: MarketplaceFixture) -> list[str]:
    codes = {m.code for m in fixture.marketplaces}
    resellers = {r.id for r in fixture.resellers}
    customers = {c.id for c in fixture.customers}
    problems = [
        f"reseller {r.id}: marketplace {r.marketplace!r} is not in marketplaces"
        for r in fixture.resellers
        if r.marketplace not in codes
    ]
    problems += [
        f"customer {c.id}: resellerId {c.reseller_id!r} is not a reseller of the fixture"
        for c in fixture.customers
        if c.reseller_id not in resellers
    ]
    problems += [
        f"subscription {s.id}: customerId {s.customer_id!r} is not a customer of the fixture"
        for s in fixture.subscriptions
        if s.customer_id not in customers
    ]
    return problems


def _products(fixture: MarketplaceFixture) -> list[str]:
    mpns = {p.mpn for p in fixture.products}
    problems = [
        f"subscription {s.id}: product mpn {p.mpn!r} is not in products"
        for s in fixture.subscriptions
        for p in s.products
        if p.mpn not in mpns
    ]
    problems += [
        f"order {o.id} line {number}: mpn {d.mpn!r} is not in products"
        for o in fixture.orders
        for number, d in enumerate(o.details, start=1)
        if d.mpn not in mpns
    ]
    return problems


def _order(order: Order, *, customers: set[str], owner_of: dict[str, str]) -> list[str]:
    problems = []
    if order.customer_id not in customers:
        problems.append(
            f"order {order.id}: customerId {order.customer_id!r} is not a customer of the fixture"
        )
    if order.subscription_id is not None:
        owner = owner_of.get(order.subscription_id)
        if owner is None:
            problems.append(
                f"order {order.id}: subscriptionId {order.subscription_id!r} "
                "is not a subscription of the fixture"
            )
        elif owner != order.customer_id:
            problems.append(
                f"order {order.id}: subscription {order.subscription_id} belongs to customer "
                f"{owner}, not to the order's customer {order.customer_id}"
            )
    last, following = order.last_billing_date, order.next_billing_date
    if last and following and last >= following:
        problems.append(
            f"order {order.id}: lastBillingDate {last} is not before nextBillingDate {following}"
        )
    currencies = {d.unit_price.currency for d in order.details}
    if len(currencies) > 1:
        problems.append(f"order {order.id}: lines in several currencies {sorted(currencies)}")
    return problems


def check_integrity(fixture: MarketplaceFixture) -> list[str]:
    """Every broken reference, repeated id and contradiction in the fixture, in words."""
    problems = [*_unique(fixture), *_owners(fixture), *_products(fixture)]
    customers = {c.id for c in fixture.customers}
    owner_of = {s.id: s.customer_id for s in fixture.subscriptions}
    for order in fixture.orders:
        problems += _order(order, customers=customers, owner_of=owner_of)
    return problems
