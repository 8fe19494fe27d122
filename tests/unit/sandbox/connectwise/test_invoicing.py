"""The invoiced-period rules on their own: which addition writes touch a billed span."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

import pytest

from psasync.sandbox.connectwise.errors import VendorError
from psasync.sandbox.connectwise.invoicing import (
    check_create,
    check_delete,
    check_update,
    next_invoice_date,
)
from psasync.sandbox.connectwise.resources import AdditionRecord

THROUGH = dt.date(2026, 3, 31)
BILL_START = dt.date(2026, 1, 1)
RECORD = AdditionRecord(
    id=1,
    agreement_id=1201,
    product_id=301,
    quantity=Decimal(10),
    unit_price=Decimal("12.50"),
    unit_cost=Decimal(10),
    bill_customer="Billable",
    effective_date=dt.date(2026, 1, 1),
    cancelled_date=None,
    taxable=False,
    description="",
    invoice_description="",
)


def day(text: str | None) -> dt.date | None:
    return None if text is None else dt.date.fromisoformat(text)


def refused_field(check: Callable[[], None]) -> str | None:
    """The field a refusal names, or None when the write is allowed."""
    try:
        check()
    except VendorError as error:
        assert error.status == 400 and error.body["code"] == "InvalidObject"
        (problem,) = error.body["errors"]
        assert problem["message"] == "this period has already been invoiced"
        return str(problem["field"])
    return None


def test_the_next_invoice_date_is_the_day_after_through() -> None:
    assert next_invoice_date(THROUGH) == dt.date(2026, 4, 1)
    assert next_invoice_date(None) is None


@pytest.mark.parametrize(
    ("effective", "through", "field"),
    [
        ("2026-03-31", THROUGH, "effectiveDate"),
        ("2026-01-01", THROUGH, "effectiveDate"),
        (None, THROUGH, "effectiveDate"),
        ("2026-04-01", THROUGH, None),
        ("2026-01-01", None, None),
    ],
)
def test_a_create_and_a_delete_are_refused_when_the_addition_starts_in_the_span(
    effective: str | None, through: dt.date | None, field: str | None
) -> None:
    record = replace(RECORD, effective_date=day(effective))
    window = {"through": through, "bill_start": BILL_START}
    assert refused_field(lambda: check_create(record, **window)) == field
    assert refused_field(lambda: check_delete(record, **window)) == field


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ({"cancelled_date": None}, {"cancelled_date": "2026-03-30"}, "cancelledDate"),
        ({"cancelled_date": None}, {"cancelled_date": "2026-03-31"}, None),
        ({"cancelled_date": None}, {"cancelled_date": "2026-04-30"}, None),
        ({"cancelled_date": "2026-02-28"}, {"cancelled_date": "2026-04-30"}, "cancelledDate"),
        ({"cancelled_date": "2026-02-28"}, {"cancelled_date": None}, "cancelledDate"),
        ({"cancelled_date": "2026-03-31"}, {"cancelled_date": "2026-05-31"}, None),
        ({"effective_date": "2026-01-01"}, {"effective_date": "2026-04-01"}, "effectiveDate"),
        ({"effective_date": "2026-05-01"}, {"effective_date": "2026-03-31"}, "effectiveDate"),
        ({"effective_date": "2026-05-01"}, {"effective_date": "2026-04-01"}, None),
        ({"quantity": "10"}, {"quantity": "14"}, None),
        ({"unit_price": "12.50"}, {"unit_price": "13.20"}, None),
    ],
)
def test_an_update_is_refused_only_when_it_changes_what_the_span_billed(
    old: dict[str, str | None], new: dict[str, str | None], field: str | None
) -> None:
    before, after = _record(old), _record(new)
    assert (
        refused_field(lambda: check_update(before, after, through=THROUGH, bill_start=BILL_START))
        == field
    )
    never_invoiced = refused_field(
        lambda: check_update(before, after, through=None, bill_start=None)
    )
    assert never_invoiced is None


def _record(values: dict[str, str | None]) -> AdditionRecord:
    converted: dict[str, object] = {}
    for name, value in values.items():
        if name.endswith("_date"):
            converted[name] = day(value)
        else:
            converted[name] = Decimal(str(value))
    return replace(RECORD, **converted)  # type: ignore[arg-type]
