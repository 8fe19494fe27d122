"""The endpoints psasync uses, with the spec's paths, parameter names and answer shapes.

Each reseller sees only its own account, customers, orders and subscriptions: another
reseller's object answers 404 exactly like one that does not exist. Lists answer
``{data, pagination}``, newest first, paged by ``offset`` (default 0) and ``limit`` (default 10,
as the spec says; the spec sets no maximum and neither does the emulator). A page's cost does
not grow with the data: each reseller's lists are indexed by what they are filtered on.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from typing import Annotated, Any, TypeVar, cast, get_args

from fastapi import APIRouter, Depends, Query, Request, Response

from psasync.sandbox.marketplace import queries, serialize
from psasync.sandbox.marketplace.access import Access
from psasync.sandbox.marketplace.errors import ApiError
from psasync.sandbox.marketplace.fixture import Customer, OrderStatusName, SubscriptionStatus
from psasync.sandbox.marketplace.state import MarketplaceData

router = APIRouter()


def access_of(request: Request) -> Access:
    """The emulated marketplace serving this request (kept on the app's state)."""
    return cast(Access, request.app.state.marketplace)


def caller(request: Request) -> str:
    """The id of the reseller the request's bearer token acts for."""
    return access_of(request).reseller(request.headers)


def data_of(request: Request) -> MarketplaceData:
    return access_of(request).data


Caller = Annotated[str, Depends(caller)]
Data = Annotated[MarketplaceData, Depends(data_of)]
Offset = Annotated[int, Query(ge=0)]
Limit = Annotated[int, Query(ge=1)]
Filter = str | None


def answer(payload: dict[str, Any]) -> Response:
    return Response(json.dumps(payload).encode(), media_type="application/json")


T = TypeVar("T")


def listed(
    found: Sequence[T], *, render: Callable[[T], dict[str, Any]], offset: int, limit: int
) -> Response:
    """One page of ``found``; only the page's objects are rendered, however long the list."""
    window = [render(item) for item in queries.window(found, offset=offset, limit=limit)]
    return answer(serialize.page(window, offset=offset, limit=limit, total=len(found)))


def not_found(kind: str, object_id: str) -> ApiError:
    return ApiError(404, f"{kind} {object_id} is not found")


@router.post("/token")
async def issue_token(request: Request) -> Response:
    access = access_of(request)
    token = access.issue_token(request.headers, await request.body())
    return answer({"token": token, "expiresInSeconds": access.tokens.lifetime_seconds})


@router.get("/resellers")
async def list_resellers(
    reseller_id: Caller,
    data: Data,
    offset: Offset = 0,
    limit: Limit = 10,
    name: Filter = None,
    email: Filter = None,
    external_id: Annotated[Filter, Query(alias="externalId")] = None,
) -> Response:
    own = data.resellers[reseller_id]
    matches = (
        queries.similar(own.name, name)
        and queries.has_contact_email(own, email)
        and queries.equal(own.external_id, external_id)
    )
    found = [own] if matches else []
    return listed(found, render=serialize.reseller, offset=offset, limit=limit)


@router.get("/resellers/{reseller}")
async def get_reseller(reseller: str, reseller_id: Caller, data: Data) -> Response:
    if reseller != reseller_id:
        raise not_found("Reseller", reseller)
    return answer(serialize.reseller(data.resellers[reseller_id]))


@router.get("/customers")
async def list_customers(
    reseller_id: Caller,
    data: Data,
    offset: Offset = 0,
    limit: Limit = 10,
    name: Filter = None,
    email: Filter = None,
    external_id: Annotated[Filter, Query(alias="externalId")] = None,
    reseller: Annotated[Filter, Query(alias="resellerId")] = None,
) -> Response:
    everyone = data.customers_of(reseller_id)
    if name is None and email is None and external_id is None and reseller is None:
        found: Sequence[Customer] = everyone
    else:
        found = [
            c
            for c in everyone
            if queries.similar(c.name, name)
            and queries.has_contact_email(c, email)
            and queries.equal(c.external_id, external_id)
            and queries.equal(c.reseller_id, reseller)
        ]
    return listed(found, render=serialize.customer, offset=offset, limit=limit)


@router.get("/customers/{customer_id}")
async def get_customer(customer_id: str, reseller_id: Caller, data: Data) -> Response:
    found = data.customers.get(customer_id)
    if found is None or found.reseller_id != reseller_id:
        raise not_found("Customer", customer_id)
    return answer(serialize.customer(found))


@router.get("/orders")
async def list_orders(
    reseller_id: Caller,
    data: Data,
    offset: Offset = 0,
    limit: Limit = 10,
    customer_id: Annotated[Filter, Query(alias="customerId")] = None,
    subscription_id: Annotated[Filter, Query(alias="subscriptionId")] = None,
    order_number: Annotated[Filter, Query(alias="orderNumber")] = None,
    status: Filter = None,
    created_from: Annotated[Filter, Query(alias="creationTimeFrom")] = None,
    created_to: Annotated[Filter, Query(alias="creationTimeTo")] = None,
) -> Response:
    queries.one_of(status, get_args(OrderStatusName), name="status")
    low = queries.instant(created_from, name="creationTimeFrom")
    high = queries.instant(created_to, name="creationTimeTo")
    found = data.orders_of(reseller_id).select(
        {
            "customerId": customer_id,
            "subscriptionId": subscription_id,
            "orderNumber": order_number,
            "status": status,
        },
        low=low,
        high=high,
    )
    render = functools.partial(serialize.order, products_by_mpn=data.products_by_mpn)
    return listed(found, render=render, offset=offset, limit=limit)


@router.get("/orders/{order_id}")
async def get_order(order_id: str, reseller_id: Caller, data: Data) -> Response:
    found = data.orders.get(order_id)
    if found is None or data.owner(found.customer_id) != reseller_id:
        raise not_found("Order", order_id)
    return answer(serialize.order(found, products_by_mpn=data.products_by_mpn))


@router.get("/subscriptions")
async def list_subscriptions(
    reseller_id: Caller,
    data: Data,
    offset: Offset = 0,
    limit: Limit = 10,
    customer_id: Annotated[Filter, Query(alias="customerId")] = None,
    status: Filter = None,
    created_from: Annotated[Filter, Query(alias="creationDateFrom")] = None,
    created_to: Annotated[Filter, Query(alias="creationDateTo")] = None,
) -> Response:
    queries.one_of(status, get_args(SubscriptionStatus), name="status")
    low = queries.day(created_from, name="creationDateFrom")
    high = queries.day(created_to, name="creationDateTo")
    found = data.subscriptions_of(reseller_id).select(
        {"customerId": customer_id, "status": status}, low=low, high=high
    )
    return listed(found, render=serialize.subscription, offset=offset, limit=limit)


@router.get("/subscriptions/{subscription_id}")
async def get_subscription(subscription_id: str, reseller_id: Caller, data: Data) -> Response:
    found = data.subscriptions.get(subscription_id)
    if found is None or data.owner(found.customer_id) != reseller_id:
        raise not_found("Subscription", subscription_id)
    return answer(serialize.subscription_detailed(found, products_by_mpn=data.products_by_mpn))


@router.get("/products", dependencies=[Depends(caller)])
async def list_products(
    data: Data,
    offset: Offset = 0,
    limit: Limit = 10,
    name: Filter = None,
    mpn: Filter = None,
    vendor: Filter = None,
    service_name: Annotated[Filter, Query(alias="serviceName")] = None,
) -> Response:
    found = [
        p
        for p in data.products
        if queries.similar(p.name, name)
        and queries.equal(p.mpn, mpn)
        and queries.equal(p.vendor, vendor)
        and queries.equal(p.service_name, service_name)
    ]
    return listed(found, render=serialize.product, offset=offset, limit=limit)
