"""The Sync Changes review table as an HTML form: reading what the reseller typed, and
writing a plan's values back into fields.

Fields are named ``additions-{row}-{field}`` with the API's field names, so an error the
service reports for (key, field) lands next to the input that caused it. A value that is not
even a number or a date is reported here, in the same shape, before the service is asked.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from starlette.datastructures import FormData

from psasync.services.types import (
    BillCustomer,
    Plan,
    PlannedAddition,
    ReviewedAddition,
    editable_fields,
)
from psasync.web.bounds import AMOUNT_RULE, OutOfBounds, check_date, parse_amount
from psasync.web.schemas import MAX_ROWS, money

FIELDS = (
    "description",
    "quantity",
    "unitPrice",
    "unitCost",
    "effectiveDate",
    "cancelledDate",
    "billCustomer",
    "taxableFlag",
)
# Records a problem with one field of the row being read: (field, message).
_Problem = Callable[[str, str], None]
# Rows beyond MAX_ROWS are not read: no plan has that many additions, a crafted form might.
# A key or description longer than these is not one psasync wrote or ConnectWise could hold.
MAX_KEY = 100
# A number, however large or precise: told apart from text that is not a number at all.
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")
MAX_DESCRIPTION = 1000


@dataclass
class Row:
    """One addition as the form shows it: raw text per field, errors per field."""

    key: str
    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FormProblem:
    key: str | None
    field: str
    message: str


def rows_of(plan: Plan) -> list[Row]:
    """The plan's values as the form shows them."""
    return [Row(key=action.key, values=_values(plan, action)) for action in plan.actions]


def _values(plan: Plan, action: PlannedAddition) -> dict[str, str]:
    decimals = plan.currency.decimals
    return {
        "description": action.description,
        "quantity": str(action.quantity),
        "unitPrice": money(action.unit_price, decimals),
        "unitCost": money(action.unit_cost, decimals),
        "effectiveDate": action.effective_date.isoformat(),
        "cancelledDate": action.cancelled_date.isoformat() if action.cancelled_date else "",
        "billCustomer": action.bill_customer.value,
        "taxableFlag": "true" if action.taxable else "false",
    }


def read_rows(form: FormData) -> list[Row]:
    """The rows a submitted form carries, in order (a row is known by its ``key`` field)."""
    rows = []
    for index in range(MAX_ROWS):
        key = form.get(f"additions-{index}-key")
        if not isinstance(key, str) or not 1 <= len(key) <= MAX_KEY:
            break
        values = {}
        for name in FIELDS:
            sent = [v for v in form.getlist(f"additions-{index}-{name}") if isinstance(v, str)]
            # A checkbox sends a hidden "false" and, when ticked, a "true" after it.
            values[name] = (
                ("true" if "true" in sent else "false")
                if name == "taxableFlag"
                else (sent[-1] if sent else "")
            )
        rows.append(Row(key=key, values=values))
    return rows


def parse_rows(rows: Sequence[Row]) -> tuple[list[ReviewedAddition], list[FormProblem]]:
    """The reviewed additions, or the values that are not even numbers or dates."""
    reviewed: list[ReviewedAddition] = []
    problems: list[FormProblem] = []
    for row in rows:
        addition, row_problems = _parse_row(row)
        problems.extend(row_problems)
        if addition is not None:
            reviewed.append(addition)
    return reviewed, problems


def _parse_row(row: Row) -> tuple[ReviewedAddition | None, list[FormProblem]]:
    problems: list[FormProblem] = []

    def problem(name: str, message: str) -> None:
        problems.append(FormProblem(row.key, name, message))

    values = row.values
    if len(values["description"]) > MAX_DESCRIPTION:
        problem("description", f"At most {MAX_DESCRIPTION} characters.")
    quantity = _decimal(values["quantity"], "quantity", problem)
    unit_price = _decimal(values["unitPrice"], "unitPrice", problem)
    unit_cost = _decimal(values["unitCost"], "unitCost", problem)
    effective = _date(values["effectiveDate"], "effectiveDate", problem, required=True)
    cancelled = _date(values["cancelledDate"], "cancelledDate", problem, required=False)
    try:
        bill_customer = BillCustomer(values["billCustomer"])
    except ValueError:
        problem("billCustomer", "Choose Billable, Do not bill or No charge.")
    if problems or quantity is None or unit_price is None or unit_cost is None:
        return None, problems
    if effective is None:
        return None, problems
    return (
        ReviewedAddition(
            key=row.key,
            description=values["description"],
            quantity=quantity,
            unit_price=unit_price,
            unit_cost=unit_cost,
            effective_date=effective,
            cancelled_date=cancelled,
            bill_customer=bill_customer,
            taxable=values["taxableFlag"] == "true",
        ),
        problems,
    )


def _decimal(text: str, name: str, problem: _Problem) -> Decimal | None:
    cleaned = text.strip()
    if not cleaned:
        problem(name, "Enter a number.")
        return None
    try:
        return parse_amount(cleaned)
    except OutOfBounds:
        if _PLAIN_NUMBER.fullmatch(cleaned):
            problem(name, f"Enter {AMOUNT_RULE}.")
        else:
            problem(name, "Enter a number, such as 12 or 12.50.")
        return None


def _date(text: str, name: str, problem: _Problem, *, required: bool) -> dt.date | None:
    cleaned = text.strip()
    if not cleaned:
        if required:
            problem(name, "Enter a date.")
        return None
    try:
        return check_date(dt.date.fromisoformat(cleaned))
    except OutOfBounds as error:
        problem(name, f"The date {error}.")
    except ValueError:
        problem(name, "Enter a date as YYYY-MM-DD, such as 2026-11-24.")
    return None


def attach_errors(rows: Sequence[Row], problems: Sequence[FormProblem]) -> list[str]:
    """Put each problem next to its field; those that name no row's field are returned."""
    by_key = {row.key: row for row in rows}
    loose = []
    for item in problems:
        row = by_key.get(item.key) if item.key else None
        if row is not None and item.field in FIELDS:
            row.errors.setdefault(item.field, item.message)
        else:
            loose.append(item.message)
    return loose


def service_problems(details: Mapping[str, object] | None) -> list[FormProblem]:
    """The field errors of a service's Invalid answer."""
    found = (details or {}).get("fieldErrors")
    if not isinstance(found, list):
        return []
    return [
        FormProblem(
            key=item.get("key") if isinstance(item.get("key"), str) else None,
            field=str(item.get("field", "")),
            message=str(item.get("message", "")),
        )
        for item in found
        if isinstance(item, dict)
    ]


def overlay(plan_rows: Sequence[Row], sent: Sequence[Row]) -> list[Row]:
    """The plan's rows showing what the reseller typed (their keys matched), so nothing they
    typed is lost when the form comes back with errors."""
    typed = {row.key: row for row in sent}
    return [
        Row(key=row.key, values=dict(typed[row.key].values) if row.key in typed else row.values)
        for row in plan_rows
    ]


def editable(action: PlannedAddition) -> frozenset[str]:
    return editable_fields(action.action)
