"""Autotask's error answers.

Validation and business-rule failures are HTTP 500 with ``{"errors": ["message", …]}`` (the
vendor answers them all that way); authentication 401 and permission 403 use the same body.
Routes the API does not have are the ASP.NET answers ``{"Message": …}`` (404, and 405 "does not
support http method"). The exact wording of most messages is the sandbox's own; the ones the
reference quotes ("Value does not reference an existing entity for …", "…already approved and
posted contract period…", ``Itgenatr005``) are kept.
"""

from __future__ import annotations

import json


class AutotaskError(Exception):
    """An answer in the vendor's error shape; raised anywhere, rendered by the app."""

    def __init__(
        self,
        status: int,
        *messages: str,
        headers: dict[str, str] | None = None,
        route_level: bool = False,
    ) -> None:
        super().__init__("; ".join(messages))
        self.status = status
        self.messages = list(messages)
        self.headers = headers or {}
        self.route_level = route_level

    @property
    def body(self) -> dict[str, object]:
        if self.route_level:
            return {"Message": self.messages[0]}
        return {"errors": self.messages}


def rule(*messages: str) -> AutotaskError:
    """A validation or business-rule failure: HTTP 500 ``{"errors": [...]}``."""
    return AutotaskError(500, *messages)


def no_reference(field: str) -> AutotaskError:
    return rule(f"Value does not reference an existing entity for {field}.")


def method_not_allowed(method: str) -> AutotaskError:
    return AutotaskError(
        405,
        f"The requested resource does not support http method '{method}'.",
        route_level=True,
    )


def no_route(url: str) -> AutotaskError:
    return AutotaskError(
        404, f"No HTTP resource was found that matches the request URI '{url}'.", route_level=True
    )


def autotask_error_body(status: int, message: str) -> bytes:
    """The vendor's error JSON for an injected fault (429, 503); used by FaultMiddleware."""
    del status
    return json.dumps({"errors": [message]}).encode()
