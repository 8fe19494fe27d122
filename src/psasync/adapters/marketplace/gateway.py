"""One marketplace's HTTP gateway: URLs, headers, retries, and decoding of answers.

Every call the client makes is a read or ``POST /token``; none changes anything, so all are
sent as idempotent and retried on 429, 5xx, timeouts and dropped connections (DESIGN.md §5).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx

from psasync.adapters.http import RetryPolicy, Unreachable, send_with_retries
from psasync.adapters.marketplace.errors import (
    VENDOR,
    MarketplaceUnreachable,
    UnexpectedResponse,
    correlation_id,
    error_for,
    log_error,
)

log = logging.getLogger(__name__)

Params = Mapping[str, str | int | None]


def path_of(collection: str, object_id: str) -> str:
    """``/orders/{id}`` with the id escaped, so an id can never reach another path."""
    if not object_id:
        raise ValueError(f"an id is needed to read one of {collection}")
    return f"{collection}/{quote(object_id, safe='')}"


@dataclass(frozen=True)
class Answer:
    """A decoded successful answer and its correlation id."""

    body: Any
    correlation_id: str | None


class Gateway:
    """Sends requests to one marketplace with its subscription key; maps transport failures."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        subscription_key: str,
        retry: RetryPolicy,
    ) -> None:
        self._http = http
        self.base_url = base_url.rstrip("/")
        self._subscription_key = subscription_key
        self._retry = retry

    def __repr__(self) -> str:
        return f"Gateway(base_url={self.base_url!r})"

    async def send(
        self,
        method: str,
        path: str,
        *,
        authorization: str,
        params: Params | None = None,
        body: Mapping[str, object] | None = None,
    ) -> httpx.Response:
        """The final answer to a request, after retries; transport failures raise.

        Returns 2xx and 4xx answers for the caller to interpret (a 401 may mean "renew the
        token"); 429 and 5xx that outlast the retries raise :class:`MarketplaceUnreachable`.
        """
        request = self._http.build_request(
            method,
            self.base_url + path,
            params={k: v for k, v in (params or {}).items() if v is not None},
            json=body,
            headers={
                "Authorization": authorization,
                "X-Subscription-Key": self._subscription_key,
                "Accept": "application/json",
            },
        )
        operation = f"{method} {path}"
        try:
            response = await send_with_retries(
                self._http, request, policy=self._retry, idempotent=True, vendor=VENDOR
            )
        except Unreachable as error:
            unreachable = MarketplaceUnreachable(f"marketplace unreachable: {error.message}")
            log_error(unreachable, operation=operation)
            raise unreachable from error
        if response.status_code == 429 or response.status_code >= 500:
            raise error_for(response, operation=operation)
        return response


def decode(response: httpx.Response, *, operation: str) -> Answer:
    """The JSON body of a successful answer; numbers with a fraction become exact Decimals."""
    cid = correlation_id(response)
    try:
        body = json.loads(response.content, parse_float=Decimal)
    except ValueError:
        error = UnexpectedResponse(
            f"{operation} answered {response.status_code} with a body that is not JSON",
            status=response.status_code,
            correlation_id=cid,
        )
        log_error(error, operation=operation)
        raise error from None
    return Answer(body=body, correlation_id=cid)
