"""The raw ConnectWise REST calls: signed requests, retries, error mapping and paging.

Everything above this module speaks in resources and domain values; everything here speaks
HTTP. Reads and PATCHes are retried on 5xx, timeouts and dropped connections; a POST only on a
429 (refused before the vendor acted), see :mod:`psasync.adapters.http`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from psasync.adapters import jsonio
from psasync.adapters.connectwise.conditions import Condition
from psasync.adapters.connectwise.errors import (
    ConnectWiseDataError,
    ConnectWiseError,
    error_from_response,
)
from psasync.adapters.connectwise.paging import PAGE_SIZE, PagingError, next_page
from psasync.adapters.connectwise.site import VENDOR, ConnectWiseSite
from psasync.adapters.http import RetryPolicy, send_with_retries

Params = Mapping[str, str | int]
JsonObject = dict[str, Any]


class ConnectWiseApi:
    """Signed, retried calls to one site's ``/{codebase}/apis/3.0/`` on an injected client."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        site: ConnectWiseSite,
        *,
        codebase: str,
        policy: RetryPolicy,
    ) -> None:
        self.http = http
        self.policy = policy
        self.base_url = site.api_base(codebase)
        self._headers = site.headers()

    def __repr__(self) -> str:
        return f"ConnectWiseApi({self.base_url!r})"

    async def get(self, path: str, *, params: Params | None = None) -> Any:
        """GET one resource (or any JSON answer) at ``path`` relative to the API base."""
        response = await self._send("GET", path, params=params, idempotent=True)
        return self._json(response, path)

    async def get_first(
        self,
        path: str,
        *,
        conditions: Condition | None = None,
        order_by: str | None = None,
        page_size: int = PAGE_SIZE,
    ) -> list[JsonObject]:
        """The first page of a list: for pickers that show the best few matches."""
        params = {**_list_params(conditions, order_by, page_size), "page": 1}
        return self._objects(await self.get(path, params=params), path)

    async def get_all(
        self,
        path: str,
        *,
        conditions: Condition | None = None,
        order_by: str | None = None,
        page_size: int = PAGE_SIZE,
    ) -> list[JsonObject]:
        """Every object of a list, page by page along the ``Link`` header.

        Each page is requested with the same ``conditions`` and ``orderBy`` and only the page
        number taken from the next link, so no filter is ever dropped on later pages.
        """
        params = _list_params(conditions, order_by, page_size)
        found: list[JsonObject] = []
        page: int | None = 1
        while page is not None:
            response = await self._send(
                "GET", path, params={**params, "page": page}, idempotent=True
            )
            found.extend(self._objects(self._json(response, path), path))
            try:
                page = next_page(response.headers.get("Link"), current=page)
            except PagingError as error:
                raise ConnectWiseDataError(f"paging {path}: {error}") from None
        return found

    async def count(self, path: str, *, conditions: Condition | None = None) -> int:
        """``GET {path}/count`` with the same filter: how many objects match."""
        params = {"conditions": str(conditions)} if conditions is not None else None
        answer = await self.get(f"{path.rstrip('/')}/count", params=params)
        count = answer.get("count") if isinstance(answer, dict) else None
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ConnectWiseDataError(f"{path}/count answered {answer!r}, not {{'count': N}}")
        return count

    async def post(self, path: str, body: JsonObject) -> Any:
        """POST a new object. Raises ``OutcomeUnknown`` when it may or may not exist now."""
        response = await self._send("POST", path, body=body, idempotent=False)
        return self._json(response, path)

    async def patch(self, path: str, operations: Sequence[JsonObject]) -> Any:
        """PATCH with a JSON Patch list. Setting values is idempotent, so it is retried."""
        response = await self._send("PATCH", path, body=list(operations), idempotent=True)
        return self._json(response, path)

    async def delete(self, path: str) -> None:
        """DELETE an object. Deleting is idempotent: a repeat after an unknown outcome is safe."""
        await self._send("DELETE", path, idempotent=True)

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        body: object = None,
        idempotent: bool,
    ) -> httpx.Response:
        headers = dict(self._headers)
        content = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            content = jsonio.dumps(body)
        request = self.http.build_request(
            method,
            self.base_url + path.lstrip("/"),
            params=dict(params) if params else None,
            headers=headers,
            content=content,
        )
        response = await send_with_retries(
            self.http, request, policy=self.policy, idempotent=idempotent, vendor=VENDOR
        )
        if response.is_redirect or response.history:
            await response.aread()
            raise _redirected(response, what=f"{method} /{path.lstrip('/')}")
        if not response.is_success:
            await response.aread()
            raise error_from_response(response, what=f"{method} /{path.lstrip('/')}")
        return response

    @staticmethod
    def _json(response: httpx.Response, path: str) -> Any:
        try:
            return jsonio.loads(response.content)
        except ValueError:
            raise ConnectWiseDataError(
                f"ConnectWise answered {path} with something that is not JSON "
                f"({response.headers.get('Content-Type', 'no content type')})"
            ) from None

    @staticmethod
    def _objects(answer: object, path: str) -> list[JsonObject]:
        if not isinstance(answer, list) or not all(isinstance(item, dict) for item in answer):
            raise ConnectWiseDataError(f"ConnectWise answered {path} without a list of objects")
        return answer


def _redirected(response: httpx.Response, *, what: str) -> ConnectWiseError:
    """A redirect is never followed (DESIGN.md §7: the keys must not travel to another host);
    it is reported with where it pointed, so the reseller can correct the site address."""
    first = response.history[0] if response.history else response
    try:
        target = httpx.URL(first.headers.get("Location", "")).host or "elsewhere"
    except httpx.InvalidURL:
        target = "an invalid address"
    return ConnectWiseError(
        f"ConnectWise answered {what} with a redirect ({first.status_code}) to {target}; "
        "psasync does not follow redirects: enter the site's own API address",
        status=first.status_code,
        code="Redirected",
    )


def _list_params(
    conditions: Condition | None, order_by: str | None, page_size: int
) -> dict[str, str | int]:
    params: dict[str, str | int] = {"pageSize": page_size}
    if conditions is not None:
        params["conditions"] = str(conditions)
    if order_by:
        params["orderBy"] = order_by
    return params
