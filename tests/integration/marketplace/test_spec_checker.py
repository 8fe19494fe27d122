"""The spec checker itself: it must catch what the spec forbids, and allow only ``billing``."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.marketplace.spec import REFERENCE_SPEC_PATH, SPEC_PATH, SpecChecker


def order(**changes: Any) -> dict[str, Any]:
    return {
        "id": "1",
        "orderNumber": "BO1",
        "type": "billing",
        "customerId": "2",
        "status": "completed",
        "creationDate": "2026-11-01T00:00:00Z",
        "details": [{"type": "overuse", "quantity": 1.5,
                     "unitPrice": {"currency": "USD", "amount": "1.00"}}],
        **changes,
    }  # fmt: skip


def page(*items: dict[str, Any]) -> dict[str, Any]:
    return {"data": list(items), "pagination": {"offset": 0, "limit": 10, "total": len(items)}}


def test_paths_resolve_to_their_templates(spec: SpecChecker) -> None:
    assert spec.template("/orders/5000417") == "/orders/{id}"
    assert spec.template("/orders/estimate") == "/orders/estimate"
    with pytest.raises(AssertionError, match="not a path"):
        spec.template("/agreements")


def test_a_billing_order_type_is_the_one_allowed_deviation(spec: SpecChecker) -> None:
    assert spec.errors("GET", "/orders/1", order()) == []
    assert spec.errors("GET", "/orders", page(order(), order(type="sales"))) == []
    assert spec.errors("GET", "/orders", page(order(type="usage")))
    line = order()["details"][0]
    assert spec.errors("GET", "/orders/1", order(details=[{**line, "type": "billing"}]))


@pytest.mark.parametrize(
    ("path", "body", "fragment"),
    [
        ("/orders/1", order(startDate="2026-11-01"), "write-only"),
        ("/orders/1", order(creationDate="yesterday"), "date-time"),
        ("/orders/1", order(details=[{"unitPrice": {"currency": "USD"}}]), "'amount'"),
        ("/orders", {"data": [], "pagination": {"offset": 0}}, "'limit'"),
        ("/customers/1", {"id": "1", "name": "x", "language": "en", "contactPersons": []},
         "'address'"),
        ("/token", {"token": "t"}, "'expiresInSeconds'"),
        ("/subscriptions/1", {"products": [{"quantity": 1.5}]}, "integer"),
    ],
)  # fmt: skip
def test_departures_from_the_spec_are_reported(
    spec: SpecChecker, path: str, body: Any, fragment: str
) -> None:
    method = "POST" if path == "/token" else "GET"
    assert any(fragment in problem for problem in spec.errors(method, path, body))


def test_the_spec_copy_matches_the_reference_one() -> None:
    if not REFERENCE_SPEC_PATH.exists():
        pytest.skip(f"no reference copy at {REFERENCE_SPEC_PATH} to compare with")
    assert SPEC_PATH.read_bytes() == REFERENCE_SPEC_PATH.read_bytes()
