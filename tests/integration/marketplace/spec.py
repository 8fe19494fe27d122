"""Validation of marketplace answers against the vendor's OpenAPI 3.0 spec (SimpleAPI 1.15).

DESIGN.md §4: every answer of the marketplace sandbox validates against the spec, required
fields included. Answers are checked in the spec's read context (``readOnly`` allowed,
``writeOnly`` properties refused) with its formats (``date``, ``date-time``, ``int32``…).

The one documented deviation: the sandbox reports Billing Orders as ``type: billing``, which the
gateway's order type enum lacks (reference/marketplace-api.md). Exactly that value, on exactly
an order's ``type``, is allowed — nothing else.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Awaitable, Callable
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import yaml
from openapi_schema_validator import OAS30ReadValidator, oas30_format_checker

# A copy of the vendor's document travels with the tests, so they check every answer on any
# machine; test_spec_checker.py keeps it equal to the design notes' reference copy.
SPEC_NAME = "marketplace-simpleapi-1.15.yaml"
SPEC_PATH = Path(os.environ.get("PSASYNC_MARKETPLACE_SPEC", Path(__file__).with_name(SPEC_NAME)))
REFERENCE_SPEC_PATH = Path(__file__).resolve().parents[4] / "shared" / "reference" / SPEC_NAME
BILLING_ORDER_TYPE = "billing"
ORDER_PATHS = ("/orders", "/orders/{id}")


@cache
def load_spec(path: Path = SPEC_PATH) -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with path.open(encoding="utf-8") as handle:
        spec: dict[str, Any] = yaml.load(handle, Loader=loader)  # noqa: S506 - a safe loader
    return spec


def _is_billing_order_type(error: Any, template: str) -> bool:
    """The documented deviation: ``type: billing`` on an order, against the order type enum."""
    where = list(error.absolute_path)
    an_order_type = where == ["type"] or (
        len(where) == 3 and where[0] == "data" and isinstance(where[1], int) and where[2] == "type"
    )
    return (
        template in ORDER_PATHS
        and an_order_type
        and error.validator == "enum"
        and error.instance == BILLING_ORDER_TYPE
        and {"sales", "change", "renewal"} <= set(error.validator_value)
    )


class SpecChecker:
    """Checks answer bodies against the response schema of their path and method."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.checked = 0
        self._templates: list[tuple[re.Pattern[str], str]] = [
            (re.compile("^" + re.sub(r"\{[^/]+\}", "[^/]+", path) + "$"), path)
            for path in spec["paths"]
        ]
        self._validators: dict[tuple[str, str], OAS30ReadValidator] = {}

    def template(self, path: str) -> str:
        """The spec's path template of a concrete path: ``/orders/5000417`` → ``/orders/{id}``."""
        # Concrete paths before templated ones: "/orders/estimate" is not "/orders/{id}".
        matches = [template for pattern, template in self._templates if pattern.match(path)]
        if not matches:
            raise AssertionError(f"{path} is not a path of the marketplace spec")
        return min(matches, key=lambda template: template.count("{"))

    def _validator(self, template: str, method: str) -> OAS30ReadValidator:
        key = (template, method)
        if key not in self._validators:
            operation = self.spec["paths"][template][method.lower()]
            schema = operation["responses"]["default"]["content"]["application/json"]["schema"]
            document = {**schema, "components": self.spec["components"]}
            self._validators[key] = OAS30ReadValidator(
                document, format_checker=oas30_format_checker
            )
        return self._validators[key]

    def errors(self, method: str, path: str, body: Any) -> list[str]:
        """Every way ``body`` departs from the spec, except the documented billing type."""
        template = self.template(path)
        return [
            f"{'/'.join(map(str, error.absolute_path)) or '(body)'}: {error.message}"
            for error in self._validator(template, method).iter_errors(body)
            if not _is_billing_order_type(error, template)
        ]

    def check(self, method: str, path: str, body: Any) -> None:
        problems = self.errors(method, path, body)
        if problems:
            raise AssertionError(
                f"{method} {path} answered outside the spec:\n  " + "\n  ".join(problems)
            )
        self.checked += 1

    def hook(self, *, prefix: str = "") -> Callable[[httpx.Response], Awaitable[None]]:
        """An httpx response hook checking every successful answer under ``prefix``."""

        async def check_answer(response: httpx.Response) -> None:
            if not response.is_success:
                return
            await response.aread()
            path = response.request.url.path.removeprefix(prefix)
            self.check(response.request.method, path, json.loads(response.content))

        return check_answer
