"""The ConnectWise PSA emulator: a FastAPI app on the vendor's paths, shapes and rules.

``/v4_6_release/apis/3.0/…`` needs Basic ``companyId+publicKey:privateKey`` (401 otherwise)
and the ``clientId`` header (400 otherwise); ``/login/companyinfo/{companyId}`` is public, and
so is the agreement page standing in for the vendor's screens (:mod:`.record_page`). Every API
error is the vendor's JSON body, also for unknown paths and methods.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from psasync.sandbox.connectwise import invoicing
from psasync.sandbox.connectwise import resources as rs
from psasync.sandbox.connectwise.errors import GENERIC, VendorError, bad_request, not_found
from psasync.sandbox.connectwise.fixture import ConnectWiseFixture
from psasync.sandbox.connectwise.index import CollectionIndex, narrowed
from psasync.sandbox.connectwise.jsonout import dumps, loads, without_nulls
from psasync.sandbox.connectwise.query import (
    Schema,
    compile_conditions,
    link_header,
    order_rows,
    read_paging,
)
from psasync.sandbox.connectwise.record_page import record_router
from psasync.sandbox.connectwise.state import ConnectWiseState

CODEBASE = "v4_6_release"
API = f"/{CODEBASE}/apis/3.0"
VERSION = "v2026.11"

RenderItem = Callable[[Any, str], dict[str, Any]]


def create_connectwise_app(fixture: ConnectWiseFixture) -> FastAPI:
    """A fresh emulator with its own in-memory copy of ``fixture``."""
    state = ConnectWiseState(fixture)
    app = FastAPI(title="ConnectWise PSA sandbox", openapi_url=None, docs_url=None, redoc_url=None)
    app.state.connectwise = state
    app.add_exception_handler(VendorError, _vendor_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _invalid_request)  # type: ignore[arg-type]
    app.include_router(_login_router(state))
    app.include_router(record_router(state, codebase=CODEBASE))
    api = APIRouter(dependencies=[Depends(_authenticator(state))])
    _reference_routes(api, state)
    _agreement_routes(api, state)
    app.include_router(api, prefix=API)
    return app


def json_response(
    value: object, *, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """``value`` written the vendor's way (exact numbers, vendor dates, nulls left out)."""
    return Response(
        content=dumps(without_nulls(value)),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


async def _vendor_error(_: Request, error: VendorError) -> Response:
    return json_response(error.body, status=error.status, headers=error.headers)


async def _http_error(request: Request, error: StarletteHTTPException) -> Response:
    if error.status_code == 404:
        body = not_found(f"No resource matches {request.url.path}.")
        return await _vendor_error(request, body)
    if error.status_code == 405:
        message = f"The requested resource does not support http method '{request.method}'."
        return await _vendor_error(
            request, VendorError(405, GENERIC, message, headers=dict(error.headers or {}))
        )
    return await _vendor_error(request, VendorError(error.status_code, GENERIC, str(error.detail)))


async def _invalid_request(request: Request, error: RequestValidationError) -> Response:
    return await _vendor_error(request, bad_request(f"the request is invalid: {error.errors()}"))


def _authenticator(state: ConnectWiseState) -> Callable[[Request], None]:
    def authenticate(request: Request) -> None:
        company_id, public_key, private_key = _basic_credentials(request)
        credential = state.credential(company_id, public_key, private_key)
        if credential is None:
            raise VendorError(401, "Unauthorized", "Incorrect company, public key or private key.")
        client_id = request.headers.get("clientId", "").strip()
        if not client_id:
            raise bad_request(
                "A clientId header is required on every request; "
                "register one at https://developer.connectwise.com/ClientID"
            )
        if client_id != credential.client_id:
            raise bad_request(f"clientId {client_id} is not registered for this integration.")

    return authenticate


def _basic_credentials(request: Request) -> tuple[str, str, str]:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        decoded = ""
    user, colon, private_key = decoded.partition(":")
    company_id, plus, public_key = user.partition("+")
    if scheme.lower() != "basic" or not colon or not plus:
        raise VendorError(
            401,
            "Unauthorized",
            "Basic authorization as companyId+publicKey:privateKey is required.",
        )
    return company_id, public_key, private_key


def _login_router(state: ConnectWiseState) -> APIRouter:
    router = APIRouter()

    @router.get("/login/companyinfo/{company_id}")
    def company_info(company_id: str, request: Request) -> Response:
        known = {c.company_id.lower(): c.company_id for c in state.credentials}
        if company_id.lower() not in known:
            raise not_found(f"Company {company_id} was not found.")
        return json_response(
            {
                "CompanyName": known[company_id.lower()],
                "Codebase": f"{CODEBASE}/",
                "VersionCode": VERSION,
                "VersionNumber": f"{VERSION}.0",
                "CompanyID": known[company_id.lower()],
                "IsCloud": False,
                "SiteUrl": request.url.netloc,
            }
        )

    return router


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + API


def _selected(request: Request, objects: list[dict[str, Any]], schema: Schema) -> list[Any]:
    params = {key.lower(): value for key, value in request.query_params.items()}
    rows = [(rs.flatten(obj), obj) for obj in objects]
    conditions = params.get("conditions", "")
    if conditions.strip():
        matches = compile_conditions(conditions, schema)
        rows = [row for row in rows if matches(row[0])]
    return order_rows(rows, params.get("orderby"), schema, row=lambda row: row[0])


def list_response(request: Request, objects: list[dict[str, Any]], schema: Schema) -> Response:
    """One page of the objects matching the request's conditions, with its ``Link`` header."""
    paging = read_paging({key.lower(): value for key, value in request.query_params.items()})
    selected = _selected(request, objects, schema)
    link = link_header(
        url=f"{request.url.scheme}://{request.url.netloc}{request.url.path}",
        query=request.query_params.multi_items(),
        paging=paging,
        total=len(selected),
    )
    page = [obj for _, obj in paging.window(selected)]
    return json_response(page, headers={"Link": link} if link else None)


def count_response(request: Request, objects: list[dict[str, Any]], schema: Schema) -> Response:
    return json_response({"count": len(_selected(request, objects, schema))})


def _collection(
    router: APIRouter,
    path: str,
    *,
    items: Callable[[], Mapping[int, Any]],
    render_item: Callable[[Any, str], dict[str, Any]],
    schema: Schema,
    noun: str,
    indexed: tuple[str, ...] = ("id",),
) -> None:
    """List, ``/count`` and ``/{id}`` routes of a read-only collection.

    A list narrowed by ``indexed`` fields renders only the objects it can match (see
    :mod:`.index`): the emulator's cost per answer does not grow with the fixture.
    """
    index = CollectionIndex(
        fields=indexed,
        schema=schema,
        rows=lambda: [rs.flatten(render_item(item, "")) for item in items().values()],
    )

    def render(request: Request) -> list[dict[str, Any]]:
        conditions = _conditions(request)
        positions = index.candidates(conditions) if conditions.strip() else None
        base = _base(request)
        chosen = narrowed(list(items().values()), positions)
        return [render_item(item, base) for item in chosen]

    @router.get(path)
    def list_all(request: Request) -> Response:
        return list_response(request, render(request), schema)

    @router.get(f"{path}/count")
    def count(request: Request) -> Response:
        return count_response(request, render(request), schema)

    @router.get(f"{path}/{{item_id:int}}")
    def one(item_id: int, request: Request) -> Response:
        # Rendering only the object asked for keeps large fixtures (benchmarks) fast.
        item = items().get(item_id)
        if item is None:
            raise not_found(f"{noun} with id {item_id} was not found.")
        return json_response(render_item(item, _base(request)))


def _conditions(request: Request) -> str:
    """The ``conditions`` parameter (parameter names are case-insensitive, as in ``_selected``)."""
    params = {key.lower(): value for key, value in request.query_params.items()}
    return params.get("conditions", "")


def _reference_routes(router: APIRouter, state: ConnectWiseState) -> None:
    collections: list[
        tuple[str, Callable[[], Mapping[int, Any]], RenderItem, Schema, str, tuple[str, ...]]
    ] = [
        (
            "/company/companies",
            lambda: state.companies,
            rs.company_json,
            rs.COMPANY_FIELDS,
            "Company",
            ("id", "name"),  # psasync matches a customer to the company of that name
        ),
        (
            "/finance/currencies",
            lambda: state.currencies,
            rs.currency_json,
            rs.CURRENCY_FIELDS,
            "Currency",
            ("id",),
        ),
        (
            "/finance/billingCycles",
            lambda: state.billing_cycles,
            rs.billing_cycle_json,
            rs.BILLING_CYCLE_FIELDS,
            "Billing cycle",
            ("id",),
        ),
        (
            "/finance/agreements/types",
            lambda: state.agreement_types,
            rs.agreement_type_json,
            rs.AGREEMENT_TYPE_FIELDS,
            "Agreement type",
            ("id",),
        ),
        (
            "/procurement/catalog",
            lambda: state.catalog,
            rs.catalog_json,
            rs.CATALOG_FIELDS,
            "Catalog item",
            ("id",),
        ),
    ]
    for path, items, render_item, schema, noun, indexed in collections:
        _collection(
            router,
            path,
            items=items,
            render_item=render_item,
            schema=schema,
            noun=noun,
            indexed=indexed,
        )


def _agreement_routes(router: APIRouter, state: ConnectWiseState) -> None:
    def agreement(item: Any, base: str) -> dict[str, Any]:
        through = state.invoiced_through(item.id)
        return rs.agreement_json(
            item,
            state.agreement_parts(item),
            base,
            next_invoice_date=invoicing.next_invoice_date(through),
        )

    _collection(
        router,
        "/finance/agreements",
        items=lambda: state.agreements,
        render_item=agreement,
        schema=rs.AGREEMENT_FIELDS,
        noun="Agreement",
        indexed=("id", "company/id"),
    )
    _addition_routes(router, state)


def _addition_routes(router: APIRouter, state: ConnectWiseState) -> None:
    path = "/finance/agreements/{agreement_id:int}/additions"

    def render(agreement_id: int, request: Request) -> list[dict[str, Any]]:
        base = _base(request)
        return [
            rs.addition_json(record, state.catalog[record.product_id], base)
            for record in state.additions_of(agreement_id)
        ]

    @router.get(path)
    def list_additions(agreement_id: int, request: Request) -> Response:
        return list_response(request, render(agreement_id, request), rs.ADDITION_FIELDS)

    @router.get(f"{path}/count")
    def count_additions(agreement_id: int, request: Request) -> Response:
        return count_response(request, render(agreement_id, request), rs.ADDITION_FIELDS)

    @router.get(f"{path}/{{addition_id:int}}")
    def get_addition(agreement_id: int, addition_id: int, request: Request) -> Response:
        record = state.addition(agreement_id, addition_id)
        product = state.catalog[record.product_id]
        return json_response(rs.addition_json(record, product, _base(request)))

    @router.post(path)
    async def create_addition(agreement_id: int, request: Request) -> Response:
        body = await _json_body(request)
        record = state.create_addition(agreement_id, body)
        product = state.catalog[record.product_id]
        return json_response(rs.addition_json(record, product, _base(request)), status=201)

    @router.patch(f"{path}/{{addition_id:int}}")
    async def patch_addition(agreement_id: int, addition_id: int, request: Request) -> Response:
        operations = await _json_body(request)
        record = state.patch_addition(agreement_id, addition_id, operations)
        product = state.catalog[record.product_id]
        return json_response(rs.addition_json(record, product, _base(request)))

    @router.put(f"{path}/{{addition_id:int}}")
    async def put_addition(agreement_id: int, addition_id: int, request: Request) -> Response:
        body = await _json_body(request)
        record = state.put_addition(agreement_id, addition_id, body)
        product = state.catalog[record.product_id]
        return json_response(rs.addition_json(record, product, _base(request)))

    @router.delete(f"{path}/{{addition_id:int}}")
    def delete_addition(agreement_id: int, addition_id: int) -> Response:
        state.delete_addition(agreement_id, addition_id)
        return Response(status_code=204)


async def _json_body(request: Request) -> object:
    media_type = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise VendorError(415, GENERIC, "The request body must be application/json.")
    try:
        return loads(await request.body())
    except ValueError:
        raise bad_request("The request body is not valid JSON.") from None
