"""The Autotask PSA emulator: the vendor's REST paths, shapes, rules and errors.

Mounted at ``/atservicesrest`` by the sandbox server; its own paths are ``/v1.0/…`` and
``/versioninformation``. Every ``/v1.0`` request but ``zoneInformation`` and ``Version`` needs
the headers ``ApiIntegrationCode``, ``UserName`` and ``Secret`` of a fixture credential (401
otherwise; 403 for an entity the credential is denied). Entity and route names are matched
case-insensitively, as the vendor's are.

Routes (``{E}`` any served entity; ``{C}`` a contract id):

- ``GET /v1.0/zoneInformation?user=`` → ``{zoneName, url, webUrl, ci}``;
  ``GET /v1.0/Version``, ``GET /versioninformation``; ``GET /v1.0/ThresholdInformation``;
- ``GET /v1.0/{E}/{id}`` → ``{"item": {...}}`` (``{"item": null}`` when there is none);
- ``POST /v1.0/{E}/query``, ``GET …/query?search=``, ``…/query/count`` → ``{"queryCount"}``,
  ``POST …/query/next?paging=`` (the same body; GET is a 405);
- ``GET /v1.0/{E}/entityInformation``, ``…/entityInformation/fields``,
  ``…/entityInformation/userDefinedFields``;
- ``GET|POST|PATCH|PUT /v1.0/Contracts/{C}/Services`` (and ``GET …/Services/{id}``),
  ``PATCH|PUT /v1.0/ContractServices``;
- ``POST /v1.0/ContractServiceAdjustments``, ``POST /v1.0/Contracts/{C}/ServiceAdjustments``;
- ``GET /v1.0/Contracts/{C}/ServiceUnits`` (and ``…/ServiceUnits/{id}``);
- ``GET|POST|PATCH|PUT /v1.0/Contracts/{C}/Charges``, ``GET|DELETE …/Charges/{id}``.

Creates, updates and deletes answer 200 ``{"itemId": N}``. Any other method on a served path is
a 405 ``{"Message": "… does not support http method …"}``; an unknown path a 404.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from psasync.sandbox.autotask import entities as en
from psasync.sandbox.autotask.errors import (
    AutotaskError,
    method_not_allowed,
    no_route,
    rule,
)
from psasync.sandbox.autotask.jsonio import dumps, loads
from psasync.sandbox.autotask.limits import HOUR, RequestLimits
from psasync.sandbox.autotask.query import (
    MAX_RECORDS,
    Page,
    Query,
    count,
    page_json,
    paging_token,
    read_paging,
    read_query,
    read_search,
    run_query,
)
from psasync.sandbox.autotask.state import AutotaskState

VERSION = "1.0"
ZONE_NAME = "Sandbox"
CHILDREN = {
    "services": en.CONTRACT_SERVICES,
    "serviceadjustments": en.CONTRACT_SERVICE_ADJUSTMENTS,
    "serviceunits": en.CONTRACT_SERVICE_UNITS,
    "charges": en.CONTRACT_CHARGES,
}
ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def json_response(
    value: object, *, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        content=dumps(value),
        status_code=status,
        media_type="application/json; charset=utf-8",
        headers=headers,
    )


def create_autotask_app(state: AutotaskState, limits: RequestLimits) -> Starlette:
    """The emulator over ``state``; ``limits`` serves ThresholdInformation."""
    api = _Api(state, limits)
    return Starlette(
        routes=[
            Route("/versioninformation", api.version_information, methods=["GET"]),
            Route("/v1.0/{rest:path}", api.dispatch, methods=ALL_METHODS),
            Route("/{rest:path}", api.unknown, methods=ALL_METHODS),
        ]
    )


class _Api:
    def __init__(self, state: AutotaskState, limits: RequestLimits) -> None:
        self.state = state
        self.limits = limits

    async def version_information(self, request: Request) -> Response:
        del request
        return json_response({"apiVersions": [VERSION]})

    async def unknown(self, request: Request) -> Response:
        return _error(no_route(str(request.url)))

    async def dispatch(self, request: Request) -> Response:
        try:
            return await self._route(request)
        except AutotaskError as error:
            return _error(error)

    async def _route(self, request: Request) -> Response:
        method = request.method
        parts = [p for p in request.path_params["rest"].split("/") if p]
        lowered = [p.lower() for p in parts]
        if lowered == ["zoneinformation"]:
            _only(method, "GET")
            return self._zone(request)
        if lowered == ["version"]:
            _only(method, "GET")
            return json_response({"version": VERSION})
        if lowered == ["thresholdinformation"]:
            _only(method, "GET")
            self._authenticate(request, None)
            return json_response(
                {
                    "externalRequestThreshold": self.limits.settings.request_threshold,
                    "requestThresholdTimeframe": int(HOUR // 60),
                    "currentTimeframeRequestCount": self.limits.used(),
                }
            )
        entity = en.entity(parts[0]) if parts else None
        if entity is None:
            raise no_route(str(request.url))
        if len(parts) >= 3 and parts[1].isdigit() and entity is en.CONTRACTS:
            return await self._child(request, int(parts[1]), lowered[2:], parts)
        rest = lowered[1:]
        if rest in (
            ["entityinformation"],
            ["entityinformation", "fields"],
            ["entityinformation", "userdefinedfields"],
        ):
            _only(method, "GET")
            self._authenticate(request, entity)
            return self._information(entity, rest)
        if rest and rest[0] == "query" and len(rest) <= 2:
            return await self._query(request, entity, rest[1:])
        if len(rest) == 1 and rest[0].isdigit():
            _only(method, "GET" if entity.can_query else "")
            self._authenticate(request, entity)
            return json_response({"item": self.state.one(entity, int(rest[0]))})
        if not rest:
            return await self._root_write(request, entity)
        raise no_route(str(request.url))

    # ----- authentication ----------------------------------------------------------------

    def _authenticate(self, request: Request, entity: en.Entity | None) -> None:
        headers = request.headers
        code = headers.get("ApiIntegrationCode", "")
        username, secret = headers.get("UserName", ""), headers.get("Secret", "")
        if not (code and username and secret):
            raise AutotaskError(
                401,
                "Authentication failed: the ApiIntegrationCode, UserName and Secret headers "
                "are required.",
            )
        credential = self.state.credential(username, secret, code)
        if credential is None:
            raise AutotaskError(
                401, "Authentication failed: the user name, secret or integration code is wrong."
            )
        if entity is not None and entity.name.lower() in {
            e.lower() for e in credential.denied_entities
        }:
            raise AutotaskError(
                403, f"The API user's security level does not allow access to {entity.name}."
            )

    # ----- zone, metadata ----------------------------------------------------------------

    def _zone(self, request: Request) -> Response:
        user = request.query_params.get("user", "")
        if not user or not self.state.knows_user(user):
            raise AutotaskError(404, f"No zone was found for the user '{user}'.")
        origin = f"{request.url.scheme}://{request.url.netloc}/"
        return json_response(
            {"zoneName": ZONE_NAME, "url": _rest_root(request), "webUrl": origin, "ci": 0}
        )

    def _information(self, entity: en.Entity, rest: list[str]) -> Response:
        if rest == ["entityinformation"]:
            return json_response(entity.info_json())
        if rest[1] == "fields":
            return json_response({"fields": [f.to_json() for f in entity.fields]})
        return json_response({"fields": []})

    # ----- queries -----------------------------------------------------------------------

    async def _query(self, request: Request, entity: en.Entity, rest: list[str]) -> Response:
        method = request.method
        if rest == ["next"]:
            _only(method, "POST")
        elif method not in {"GET", "POST"}:
            raise method_not_allowed(method)
        if not entity.can_query:
            raise method_not_allowed(method)
        self._authenticate(request, entity)
        counting = rest == ["count"]
        if rest not in ([], ["count"], ["next"]):
            raise no_route(str(request.url))
        if method == "GET":
            query = read_search(request.query_params.get("search"), entity, counting=counting)
        else:
            query = read_query(await _body(request), entity, counting=counting)
        rows = self.state.rows(entity)
        if counting:
            return json_response({"queryCount": count(rows, query)})
        if rest == ["next"]:
            query = Query(
                max_records=query.max_records,
                include_fields=query.include_fields,
                matches=query.matches,
                after_id=read_paging(request.query_params.get("paging")),
            )
        page = run_query(rows, query)
        return json_response(
            page_json(
                page, max_records=query.max_records, next_url=_next_url(request, entity, page)
            )
        )

    # ----- writes ------------------------------------------------------------------------

    async def _root_write(self, request: Request, entity: en.Entity) -> Response:
        method = request.method
        if entity is en.CONTRACT_SERVICE_ADJUSTMENTS and method == "POST":
            self._authenticate(request, entity)
            body = await _body(request)
            return _item(self.state.create_adjustment(body, contract_id=None))
        if entity is en.CONTRACT_SERVICES and method in {"PATCH", "PUT"}:
            self._authenticate(request, entity)
            body = await _body(request)
            return _item(
                self.state.update_contract_service(body, contract_id=None, replace=method == "PUT")
            )
        raise method_not_allowed(method)

    async def _child(
        self, request: Request, contract_id: int, rest: list[str], parts: list[str]
    ) -> Response:
        method = request.method
        entity = CHILDREN.get(rest[0])
        if entity is None or len(rest) > 2 or (len(rest) == 2 and not rest[1].isdigit()):
            raise no_route(str(request.url))
        if len(rest) == 2:
            child_id = int(parts[3])
            if method == "GET" and entity.can_query:
                self._authenticate(request, entity)
                item = self.state.one(entity, child_id)
                if item is not None and item.get("contractID") != contract_id:
                    item = None
                return json_response({"item": item})
            if method == "DELETE" and entity is en.CONTRACT_CHARGES:
                self._authenticate(request, entity)
                return _item(self.state.delete_charge(contract_id, child_id))
            raise method_not_allowed(method)
        if method == "GET" and entity.can_query:
            self._authenticate(request, entity)
            rows = sorted(
                self.state.rows(entity, contract_id=contract_id), key=lambda row: row["id"]
            )
            page = Page(items=rows[:MAX_RECORDS], next_after_id=None)
            return json_response(page_json(page, max_records=MAX_RECORDS, next_url=None))
        if method == "POST" and entity is not en.CONTRACT_SERVICE_UNITS:
            self._authenticate(request, entity)
            body = await _body(request)
            if entity is en.CONTRACT_SERVICES:
                return _item(self.state.create_contract_service(contract_id, body))
            if entity is en.CONTRACT_SERVICE_ADJUSTMENTS:
                return _item(self.state.create_adjustment(body, contract_id=contract_id))
            return _item(self.state.create_charge(contract_id, body))
        if method in {"PATCH", "PUT"} and entity in {en.CONTRACT_SERVICES, en.CONTRACT_CHARGES}:
            self._authenticate(request, entity)
            body = await _body(request)
            replace = method == "PUT"
            if entity is en.CONTRACT_SERVICES:
                return _item(
                    self.state.update_contract_service(
                        body, contract_id=contract_id, replace=replace
                    )
                )
            return _item(self.state.update_charge(contract_id, body, replace=replace))
        raise method_not_allowed(method)


def _only(method: str, allowed: str) -> None:
    if method != allowed:
        raise method_not_allowed(method)


async def _body(request: Request) -> Any:
    content = await request.body()
    if not content.strip():
        raise rule("The request body is empty.")
    try:
        return loads(content)
    except ValueError:
        raise rule("The request body is not valid JSON.") from None


def _item(item_id: int) -> Response:
    return json_response({"itemId": item_id})


def _error(error: AutotaskError) -> Response:
    return json_response(error.body, status=error.status, headers=error.headers)


def _next_url(request: Request, entity: en.Entity, page: Page) -> str | None:
    if page.next_after_id is None:
        return None
    return (
        f"{_rest_root(request)}v1.0/{entity.name}/query/next"
        f"?paging={paging_token(page.next_after_id)}"
    )


def _rest_root(request: Request) -> str:
    """The zone's REST root as the client reached it, ``http://H:P/atservicesrest/``."""
    path = request.url.path
    at = path.lower().find("/v1.0/")
    return f"{request.url.scheme}://{request.url.netloc}{path[: max(at, 0)]}/"
