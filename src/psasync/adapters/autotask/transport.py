"""The raw Autotask REST calls: headers, the thread limit, retries, error mapping and paging.

Retries follow Autotask's own rules rather than the generic 5xx rule, because Autotask answers
business-rule refusals with HTTP 500: a 500 carrying ``{"errors": [...]}`` is a refusal, fatal
at once, and a create refused so did not happen. Retried with backoff (honouring
``Retry-After``): 429 and the thread-limit error ``Itgenatr005`` (refused before acting, so any
request), a connection that never opened, and for reads and PATCH/DELETE also timeouts, dropped
connections and gateway errors. A POST whose answer never came (timeout, dropped connection,
a gateway error, a 500 citing only an "Error ID") raises ``OutcomeUnknown``: never re-POSTed.

At most ``THREADS_PER_ENTITY`` requests per entity endpoint are in flight from one
:class:`EntityGates` (share one per tenant across clients to keep the limit tenant-wide).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from psasync.adapters import jsonio
from psasync.adapters.autotask.errors import (
    VENDOR,
    AutotaskDataError,
    AutotaskNotFound,
    budget_spent,
    error_from_response,
    error_messages,
    is_budget_spent,
    is_thread_limit,
    is_unexpected_fault,
)
from psasync.adapters.autotask.zone import AutotaskCredentials, api_base
from psasync.adapters.http import OutcomeUnknown, RetryPolicy, Unreachable, retry_after_seconds

log = logging.getLogger(__name__)

JsonObject = dict[str, Any]
Filter = Mapping[str, Any]
THREADS_PER_ENTITY = 3
MAX_RECORDS = 500
GATEWAY_STATUSES = frozenset({502, 503, 504})
# Errors that mean nothing was sent: safe to repeat any request.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_LOST = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


def entity_of(path: str) -> str:
    """The entity endpoint a path addresses, as the thread limit counts it.

    ``Companies/5`` → ``Companies``; ``Contracts/7/Services`` → ``ContractServices`` (a child
    collection is its own entity); ``ContractServiceUnits/query`` → ``ContractServiceUnits``.
    """
    parts = [part for part in path.split("?")[0].strip("/").split("/") if part]
    if len(parts) >= 3 and parts[1].isdigit():
        parent = parts[0]
        singular = parent[:-3] + "y" if parent.endswith("ies") else parent.removesuffix("s")
        return singular + parts[2]
    return parts[0] if parts else ""


class EntityGates:
    """One ``asyncio.Semaphore`` of ``THREADS_PER_ENTITY`` per entity endpoint."""

    def __init__(self, threads: int = THREADS_PER_ENTITY) -> None:
        if threads < 1:
            raise ValueError(f"at least one thread per entity, not {threads}")
        self.threads = threads
        self._gates: dict[str, asyncio.Semaphore] = {}

    def gate(self, entity: str) -> asyncio.Semaphore:
        if entity not in self._gates:
            self._gates[entity] = asyncio.Semaphore(self.threads)
        return self._gates[entity]


class AutotaskApi:
    """Retried calls to one database's ``{zone}v1.0/`` with the three headers."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        credentials: AutotaskCredentials,
        *,
        zone_url: str,
        policy: RetryPolicy,
        gates: EntityGates | None = None,
    ) -> None:
        self.http = http
        self.policy = policy
        self.base_url = api_base(zone_url)
        self.gates = gates or EntityGates()
        self._headers = credentials.headers()

    def __repr__(self) -> str:
        return f"AutotaskApi({self.base_url!r})"

    # Reads ------------------------------------------------------------------------------------

    async def get(self, path: str) -> Any:
        """GET any JSON answer at ``path`` relative to ``v1.0/``."""
        return await self._json("GET", path, idempotent=True)

    async def get_item(self, entity: str, item_id: int) -> JsonObject:
        """``GET /{Entity}/{id}`` → its ``item``; ``AutotaskNotFound`` for 404 or a null item."""
        answer = await self.get(f"{entity}/{item_id}")
        item = answer.get("item") if isinstance(answer, dict) else None
        if item is None and isinstance(answer, dict) and "item" in answer:
            raise AutotaskNotFound(f"Autotask has no {entity} {item_id}", status=404)
        if not isinstance(item, dict):
            raise AutotaskDataError(f"Autotask answered GET /{entity}/{item_id} without an item")
        return item

    async def query_page(
        self,
        entity: str,
        filters: Sequence[Filter],
        *,
        fields: Sequence[str],
        max_records: int = MAX_RECORDS,
        after_id: int = 0,
    ) -> list[JsonObject]:
        """One page: up to ``max_records`` items with ``id > after_id``, sorted by id."""
        if not 1 <= max_records <= MAX_RECORDS:
            raise ValueError(f"MaxRecords is 1 to {MAX_RECORDS}, not {max_records}")
        body = {
            "MaxRecords": max_records,
            "IncludeFields": sorted({"id", *fields}),
            "Filter": [*filters, {"op": "gt", "field": "id", "value": after_id}],
        }
        answer = await self._json("POST", f"{entity}/query", body=body, idempotent=True)
        items = answer.get("items") if isinstance(answer, dict) else None
        if not isinstance(items, list) or not all(_has_id(item) for item in items):
            raise AutotaskDataError(f"Autotask answered {entity}/query without items with ids")
        return sorted(items, key=lambda item: int(item["id"]))

    async def query(
        self, entity: str, filters: Sequence[Filter], *, fields: Sequence[str]
    ) -> list[JsonObject]:
        """Every item matching ``filters``, walking ids (``id gt lastMaxId``) page by page
        until a short page. An id not above the last one means the filter was not applied:
        an error, never an endless loop."""
        found: list[JsonObject] = []
        last = 0
        while True:
            page = await self.query_page(entity, filters, fields=fields, after_id=last)
            ids = [int(item["id"]) for item in page]
            if ids and (ids[0] <= last or len(set(ids)) != len(ids)):
                raise AutotaskDataError(
                    f"Autotask answered {entity}/query for ids above {last} with ids "
                    f"{ids[0]}…{ids[-1]} again: stopping rather than looping"
                )
            found.extend(page)
            if len(page) < MAX_RECORDS:
                return found
            last = ids[-1]

    # Writes -----------------------------------------------------------------------------------

    async def post(self, path: str, body: JsonObject) -> Any:
        """POST once (never repeated after an unknown outcome: ``OutcomeUnknown``)."""
        return await self._json("POST", path, body=body, idempotent=False)

    async def create(self, path: str, body: JsonObject) -> int:
        """POST a new item; its ``itemId``. ``OutcomeUnknown`` when it may or may not exist."""
        answer = await self.post(path, body)
        item_id = answer.get("itemId") if isinstance(answer, dict) else None
        if isinstance(item_id, bool) or not isinstance(item_id, int):
            raise AutotaskDataError(f"Autotask answered POST /{path} without an itemId")
        return item_id

    async def patch(self, path: str, body: JsonObject) -> None:
        """PATCH a partial object (with its ``id``): setting values is idempotent, retried."""
        await self._send("PATCH", path, body=body, idempotent=True)

    async def delete(self, path: str) -> None:
        """DELETE an item (idempotent: a repeat after an unknown outcome is safe)."""
        await self._send("DELETE", path, idempotent=True)

    # The wire ---------------------------------------------------------------------------------

    async def _json(self, method: str, path: str, *, body: object = None, idempotent: bool) -> Any:
        response = await self._send(method, path, body=body, idempotent=idempotent)
        try:
            return jsonio.loads(response.content)
        except ValueError:
            raise AutotaskDataError(
                f"Autotask answered {method} /{path} with something that is not JSON"
            ) from None

    async def _send(
        self, method: str, path: str, *, body: object = None, idempotent: bool
    ) -> httpx.Response:
        what = f"{method} /{path.lstrip('/')}"
        headers = dict(self._headers)
        content = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            content = jsonio.dumps(body)
        url = self.base_url + path.lstrip("/")
        gate = self.gates.gate(entity_of(path))
        for attempt in range(1, self.policy.attempts + 1):
            last = attempt == self.policy.attempts
            request = self.http.build_request(method, url, headers=headers, content=content)
            try:
                async with gate:
                    response = await self.http.send(request, follow_redirects=False)
                    await response.aread()
            except _NOT_SENT as error:
                if last:
                    raise Unreachable(
                        f"Autotask is unreachable: {_describe(error)}", vendor=VENDOR
                    ) from error
                await self._pause(attempt, None, what, error)
                continue
            except _LOST as error:
                if not idempotent:
                    raise OutcomeUnknown(
                        f"Autotask did not confirm {what}: {_describe(error)}", vendor=VENDOR
                    ) from error
                if last:
                    raise Unreachable(
                        f"Autotask did not answer {what} after {attempt} attempts: "
                        f"{_describe(error)}",
                        vendor=VENDOR,
                    ) from error
                await self._pause(attempt, None, what, error)
                continue
            if response.is_success:
                return response
            if not self._retriable(response, what=what, idempotent=idempotent) or last:
                raise error_from_response(response, what=what)
            await self._pause(attempt, retry_after_seconds(response), what, response.status_code)
        raise AssertionError("unreachable: the loop returns or raises on its last attempt")

    def _retriable(self, response: httpx.Response, *, what: str, idempotent: bool) -> bool:
        """Whether to send again; raises ``OutcomeUnknown`` for a create left in doubt."""
        status = response.status_code
        messages = error_messages(response)
        if is_budget_spent(messages):
            raise budget_spent(messages, what=what, status=status)
        if status == 429 or is_thread_limit(messages):
            return True  # refused before the vendor acted
        doubtful = status in GATEWAY_STATUSES or (
            status == 500 and (not messages or is_unexpected_fault(messages))
        )
        if doubtful and not idempotent:
            raise OutcomeUnknown(
                f"Autotask answered {status} to {what}; it may or may not have acted on it",
                vendor=VENDOR,
                status=status,
            )
        return doubtful

    async def _pause(self, attempt: int, retry_after: float | None, what: str, why: object) -> None:
        delay = self.policy.delay(attempt=attempt, retry_after=retry_after)
        log.warning("retrying %s in %.2fs (attempt %d failed: %s)", what, delay, attempt, why)
        await self.policy.sleep(delay)


def _has_id(item: object) -> bool:
    if not isinstance(item, dict):
        return False
    value = item.get("id")
    return isinstance(value, int) and not isinstance(value, bool)


def _describe(error: httpx.HTTPError) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
