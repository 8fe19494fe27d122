import datetime as dt
from decimal import Decimal

from starlette.datastructures import FormData, UploadFile

from psasync.services.types import BillCustomer
from psasync.web.review_form import (
    FormProblem,
    Row,
    attach_errors,
    overlay,
    parse_rows,
    read_rows,
    service_problems,
)


def row_fields(index: int, key: str, **values: str) -> list[tuple[str, str | UploadFile]]:
    defaults = {
        "description": "Microsoft 365 Business Standard",
        "quantity": "12",
        "unitPrice": "12.50",
        "unitCost": "10.00",
        "effectiveDate": "2026-12-01",
        "cancelledDate": "",
        "billCustomer": "Billable",
    }
    fields: list[tuple[str, str | UploadFile]] = [(f"additions-{index}-key", key)]
    fields += [
        (f"additions-{index}-{name}", value) for name, value in {**defaults, **values}.items()
    ]
    return fields


def test_a_submitted_row_becomes_a_reviewed_addition() -> None:
    form = FormData(
        [
            *row_fields(0, "k1"),
            ("additions-0-taxableFlag", "false"),
            ("additions-0-taxableFlag", "true"),
            *row_fields(1, "k2", cancelledDate="2026-12-31", billCustomer="NoCharge"),
            ("additions-1-taxableFlag", "false"),
        ]
    )
    reviewed, problems = parse_rows(read_rows(form))
    assert problems == []
    first, second = reviewed
    assert (first.key, first.quantity, first.unit_price, first.taxable) == (
        "k1",
        Decimal(12),
        Decimal("12.50"),
        True,
    )
    assert first.effective_date == dt.date(2026, 12, 1) and first.cancelled_date is None
    assert second.taxable is False and second.cancelled_date == dt.date(2026, 12, 31)
    assert second.bill_customer is BillCustomer.NO_CHARGE


def test_values_that_are_not_numbers_or_dates_are_problems_of_their_field() -> None:
    form = FormData(
        row_fields(0, "k1", quantity="twelve", unitPrice="1,5", effectiveDate="", billCustomer="x")
        + row_fields(1, "k2", cancelledDate="31/12/2026", unitCost="")
    )
    reviewed, problems = parse_rows(read_rows(form))
    assert reviewed == []
    assert {(p.key, p.field) for p in problems} == {
        ("k1", "quantity"),
        ("k1", "unitPrice"),
        ("k1", "effectiveDate"),
        ("k1", "billCustomer"),
        ("k2", "cancelledDate"),
        ("k2", "unitCost"),
    }


def test_errors_land_next_to_their_field_and_the_rest_is_returned() -> None:
    rows = [Row(key="k1", values={"quantity": "0"})]
    loose = attach_errors(
        rows,
        [
            FormProblem("k1", "quantity", "The quantity cannot be zero."),
            FormProblem("k1", "key", "k1 is listed twice."),
            FormProblem(None, "", "The plan is blocked."),
        ],
    )
    assert rows[0].errors == {"quantity": "The quantity cannot be zero."}
    assert loose == ["k1 is listed twice.", "The plan is blocked."]


def test_what_was_typed_overlays_the_plan_by_key() -> None:
    planned = [Row(key="a", values={"quantity": "1"}), Row(key="b", values={"quantity": "2"})]
    shown = overlay(planned, [Row(key="b", values={"quantity": "two"})])
    assert [row.values["quantity"] for row in shown] == ["1", "two"]


def test_service_field_errors_are_read_from_the_details() -> None:
    details = {
        "fieldErrors": [
            {"key": "k1", "field": "quantity", "code": "OutOfRange", "message": "Too many."},
            "not an error",
        ]
    }
    assert service_problems(details) == [FormProblem("k1", "quantity", "Too many.")]
    assert service_problems(None) == []
    assert service_problems({"fieldErrors": "nope"}) == []


def test_the_form_refuses_amounts_and_dates_beyond_the_bounds() -> None:
    from psasync.web.review_form import Row, parse_rows

    values = {
        "description": "d",
        "quantity": "1E+1000000000",
        "unitPrice": "1000000000",
        "unitCost": "0.0000001",
        "effectiveDate": "9999-12-31",
        "cancelledDate": "",
        "billCustomer": "Billable",
        "taxableFlag": "false",
    }
    reviewed, problems = parse_rows([Row(key="k", values=values)])
    assert reviewed == []
    assert {p.field for p in problems} == {"quantity", "unitPrice", "unitCost", "effectiveDate"}
