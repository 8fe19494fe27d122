"""A logged-in reseller user's access to one marketplace: typed, paginated reads.

Every read sends the current bearer token (renewed ahead of expiry by the token keeper). If the
marketplace still answers 401 — the token was revoked, or the gateway restarted — the token is
renewed once and the call repeated once; a second 401 is :class:`SessionRejected`.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from psasync.adapters.marketplace import mapping
from psasync.adapters.marketplace.auth import TokenKeeper
from psasync.adapters.marketplace.errors import (
    ResellerAccountUnclear,
    UnexpectedResponse,
    UnsupportedOrder,
    UnsupportedSubscription,
    error_for,
    log_error,
)
from psasync.adapters.marketplace.gateway import Answer, Gateway, Params, decode, path_of
from psasync.adapters.marketplace.models import (
    Customer,
    Listing,
    OrderResult,
    Product,
    ResellerAccount,
    SkipKind,
    Skipped,
)
from psasync.adapters.marketplace.paging import Page, collect, read_page
from psasync.domain.orders import Order, OrderStatus, Subscription

log = logging.getLogger(__name__)


def instant_param(value: dt.datetime | None, *, name: str) -> str | None:
    """An instant as the API's ``date-time`` query value, in UTC with a ``Z``."""
    if value is None:
        return None
    if value.utcoffset() is None:
        raise ValueError(f"{name} {value.isoformat()} needs a timezone (instants are UTC-aware)")
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def status_param(status: OrderStatus | str | None) -> str | None:
    """An order status filter, checked against the API's statuses."""
    if status is None:
        return None
    try:
        return OrderStatus(status).value
    except ValueError:
        known = ", ".join(item.value for item in OrderStatus)
        raise ValueError(f"order status {status!r} is not one of {known}") from None


class Reader:
    """Authorized GETs with one token renewal on 401, and whole lists through their pages."""

    def __init__(self, *, gateway: Gateway, tokens: TokenKeeper, page_size: int) -> None:
        if page_size < 1:
            raise ValueError(f"a page holds at least one item, not {page_size}")
        self.gateway = gateway
        self.tokens = tokens
        self.page_size = page_size

    def __repr__(self) -> str:
        return f"Reader(gateway={self.gateway!r}, page_size={self.page_size})"

    async def get(self, path: str, params: Params | None = None) -> Answer:
        """The decoded answer to ``GET path``; a non-2xx answer raises its typed error."""
        operation = f"GET {path}"
        token = await self.tokens.current()
        response = await self.gateway.send(
            "GET", path, authorization=token.authorization, params=params
        )
        if response.status_code == 401:
            log.info(
                "marketplace refused the token on %s; renewing it and retrying once", operation
            )
            token = await self.tokens.renew(token)
            response = await self.gateway.send(
                "GET", path, authorization=token.authorization, params=params
            )
        if response.is_error:
            raise error_for(response, operation=operation)
        return decode(response, operation=operation)

    async def get_object(self, path: str) -> Answer:
        """``GET path`` whose body must be a JSON object."""
        answer = await self.get(path)
        if not isinstance(answer.body, dict):
            error = UnexpectedResponse(
                f"GET {path} answered without a JSON object", correlation_id=answer.correlation_id
            )
            log_error(error, operation=f"GET {path}")
            raise error
        return answer

    async def get_all(self, path: str, params: Params | None = None) -> list[Any]:
        """Every raw item of a list endpoint."""
        operation = f"GET {path}"

        async def fetch(offset: int, limit: int) -> Page:
            answer = await self.get(path, {**(params or {}), "offset": offset, "limit": limit})
            return read_page(answer.body, operation=operation, correlation_id=answer.correlation_id)

        return await collect(fetch, page_size=self.page_size, operation=operation)


async def own_reseller(reader: Reader, *, marketplace: str) -> ResellerAccount:
    """The one reseller account ``GET /resellers`` shows the logged-in user."""
    raws = await reader.get_all("/resellers")
    accounts, skipped = mapping.read_each(
        raws,
        kind=SkipKind.RESELLER,
        read=lambda raw: mapping.reseller(raw, marketplace=marketplace),
    )
    if len(accounts) != 1:
        ids = ", ".join(account.id for account in accounts) or "none"
        unread = f"; {len(skipped)} unreadable" if skipped else ""
        raise ResellerAccountUnclear(
            f"the marketplace shows {len(accounts)} reseller accounts for this user "
            f"({ids}{unread}); psasync needs exactly one"
        )
    return accounts[0]


class MarketplaceSession:
    """One reseller user's session on one marketplace. Create it with ``MarketplaceClient.login``.

    List calls read every page and return a :class:`Listing`: the items psasync could map and
    the ones it skipped, with reasons. Single reads raise :class:`NotFound` for objects that do
    not exist or belong to another reseller.
    """

    def __init__(self, *, reader: Reader, reseller: ResellerAccount) -> None:
        self._reader = reader
        self.reseller = reseller

    def __repr__(self) -> str:
        account = self.reseller
        return f"MarketplaceSession(marketplace={account.marketplace!r}, reseller={account.id!r})"

    async def list_customers(
        self, *, name: str | None = None, email: str | None = None, external_id: str | None = None
    ) -> Listing[Customer]:
        """The reseller's customers, newest first; ``name`` finds similar names."""
        params = {"name": name, "email": email, "externalId": external_id}
        raws = await self._reader.get_all("/customers", params)
        items, skipped = mapping.read_each(raws, kind=SkipKind.CUSTOMER, read=mapping.customer)
        return Listing(tuple(items), tuple(skipped))

    async def get_customer(self, customer_id: str) -> Customer:
        """One customer of the reseller."""
        answer = await self._reader.get_object(path_of("/customers", customer_id))
        try:
            return mapping.customer(answer.body)
        except mapping.Unreadable as error:
            raise UnexpectedResponse(
                f"customer {customer_id} cannot be read: {error}",
                correlation_id=answer.correlation_id,
            ) from None

    async def list_orders(
        self,
        *,
        status: OrderStatus | str | None = None,
        customer_id: str | None = None,
        subscription_id: str | None = None,
        created_from: dt.datetime | None = None,
        created_to: dt.datetime | None = None,
    ) -> Listing[Order]:
        """The reseller's orders matching every filter given, newest first.

        Orders psasync does not sync and lines it does not bill are in ``skipped``. A list item
        without ``details`` or ``subscriptionId`` (the spec's list schema has no
        ``subscriptionId``) is completed from ``GET /orders/{id}``.
        """
        params: Params = {
            "status": status_param(status),
            "customerId": customer_id,
            "subscriptionId": subscription_id,
            "creationTimeFrom": instant_param(created_from, name="created_from"),
            "creationTimeTo": instant_param(created_to, name="created_to"),
        }
        raws = await self._reader.get_all("/orders", params)
        orders: list[Order] = []
        skipped: list[Skipped] = []
        for raw in raws:
            order, left_out = mapping.map_order(await self._complete(raw))
            skipped.extend(left_out)
            if order is not None:
                orders.append(order)
        return Listing(tuple(orders), tuple(skipped))

    async def _complete(self, raw: Any) -> Any:
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
            return raw
        if "details" in raw and "subscriptionId" in raw:
            return raw
        return (await self._reader.get_object(path_of("/orders", raw["id"]))).body

    async def get_order(self, order_id: str) -> OrderResult:
        """One order with its skipped lines; :class:`UnsupportedOrder` if psasync cannot sync it."""
        answer = await self._reader.get_object(path_of("/orders", order_id))
        order, skipped = mapping.map_order(answer.body)
        if order is None:
            reason = "; ".join(item.reason for item in skipped)
            raise UnsupportedOrder(
                f"order {order_id}: {reason}", correlation_id=answer.correlation_id
            )
        return OrderResult(order=order, skipped=tuple(skipped))

    async def list_subscriptions(
        self, *, customer_id: str | None = None, status: str | None = None
    ) -> Listing[Subscription]:
        """The reseller's subscriptions, newest first, without their products.

        The list schema has no products: read one with :meth:`get_subscription` for those.
        """
        raws = await self._reader.get_all(
            "/subscriptions", {"customerId": customer_id, "status": status}
        )
        items, skipped = mapping.read_each(
            raws, kind=SkipKind.SUBSCRIPTION, read=mapping.subscription
        )
        return Listing(tuple(items), tuple(skipped))

    async def get_subscription(self, subscription_id: str) -> Subscription:
        """One subscription with its products and current quantities.

        Raises :class:`UnsupportedSubscription` for one the domain cannot bill, e.g. a
        ``statement_day`` billing period.
        """
        answer = await self._reader.get_object(path_of("/subscriptions", subscription_id))
        try:
            return mapping.subscription(answer.body)
        except mapping.Unreadable as error:
            raise UnsupportedSubscription(
                f"subscription {subscription_id}: {error}", correlation_id=answer.correlation_id
            ) from None

    async def list_products(
        self, *, mpn: str | None = None, name: str | None = None, vendor: str | None = None
    ) -> Listing[Product]:
        """Catalog products the reseller can sell."""
        raws = await self._reader.get_all("/products", {"mpn": mpn, "name": name, "vendor": vendor})
        items, skipped = mapping.read_each(raws, kind=SkipKind.PRODUCT, read=mapping.product)
        return Listing(tuple(items), tuple(skipped))
