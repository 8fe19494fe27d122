"""The Sync Changes review table as an HTML form: reading what the reseller typed, and
writing a plan's values back into fields.

Fields are named ``additions-{row}-{field}`` with the API's field names, so an error the
service reports for (key, field) lands next to the input that caused it. A value that is not
even a number or a date is reported here, in the same shape, before the service is asked.

One number rule for Recalculate and Confirm (both read the form here): quantities and prices
in plain notation, unit prices and costs with at most 4 decimals, and every value written back
into a field in plain notation, so what Recalculate shows Confirm accepts. Dates read as the
pages write them (``24 Nov 2026``) or as ISO. ``additions-{row}-include`` (a hidden "false" and
a ticked "true") keeps an action in the sync; unticked, it is sent as ``skip``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from starlette.datastructures import ImmutableMultiDict

from psasync.services.types import (
    Action,
    BillCustomer,
    Plan,
    PlannedAddition,
    ReviewedAddition,
    editable_fields,
)
from psasync.web.bounds import AMOUNT_RULE, OutOfBounds, check_date, parse_amount
from psasync.web.formatting import format_date, format_money, parse_date, plain_number
from psasync.web.schemas import MAX_ROWS

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
# 1,234.50 as a reader writes a thousands separator: read as 1234.50.
_GROUPED = re.compile(r"-?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?")
MAX_DESCRIPTION = 1000
# Unit prices and costs: at most this many decimals (a usage rate such as 0.0125 fits).
PRICE_DECIMALS = 4
INCLUDE = "include"


@dataclass
class Row:
    """One addition as the form shows it: raw text per field, errors per field."""

    key: str
    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    # Advice that does not stop the sync (a price below cost), by field.
    warnings: dict[str, str] = field(default_factory=dict)

    @property
    def included(self) -> bool:
        return self.values.get(INCLUDE, "true") == "true"


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
        "quantity": plain_number(action.quantity),
        "unitPrice": price_text(action.unit_price, decimals),
        "unitCost": price_text(action.unit_cost, decimals),
        "effectiveDate": format_date(action.effective_date),
        "cancelledDate": format_date(action.cancelled_date),
        "billCustomer": action.bill_customer.value,
        "taxableFlag": "true" if action.taxable else "false",
        INCLUDE: "false" if action.skip else "true",
    }


def price_text(value: Decimal, decimals: int) -> str:
    """A unit price in a field: the currency's decimals at least, plain notation always."""
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -decimals:
        value = value.quantize(Decimal(1).scaleb(-decimals))
    return plain_number(value)


def read_rows(form: ImmutableMultiDict[str, object]) -> list[Row]:
    """The rows a submitted form (or a query string) carries, in order (a row is known by its
    ``key`` field)."""
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
        ticks = [v for v in form.getlist(f"additions-{index}-{INCLUDE}") if isinstance(v, str)]
        # Absent (a form that predates the column): the action stays in.
        values[INCLUDE] = "false" if ticks and "true" not in ticks else "true"
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
    if not row.included:
        return _skipped(row), []
    if len(values["description"]) > MAX_DESCRIPTION:
        problem("description", f"At most {MAX_DESCRIPTION} characters.")
    quantity = _decimal(values["quantity"], "quantity", problem)
    unit_price = _decimal(values["unitPrice"], "unitPrice", problem, places=PRICE_DECIMALS)
    unit_cost = _decimal(values["unitCost"], "unitCost", problem, places=PRICE_DECIMALS)
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


def _skipped(row: Row) -> ReviewedAddition:
    """A left-out action: only its key and ``skip`` count (its values are never written, so
    what was typed in it is not checked)."""
    return ReviewedAddition(
        key=row.key,
        description="",
        quantity=Decimal(0),
        unit_price=Decimal(0),
        unit_cost=Decimal(0),
        effective_date=dt.date(2000, 1, 1),
        cancelled_date=None,
        bill_customer=BillCustomer.BILLABLE,
        taxable=False,
        skip=True,
    )


def _decimal(
    text: str, name: str, problem: _Problem, *, places: int | None = None
) -> Decimal | None:
    cleaned = text.strip().replace(",", "") if _GROUPED.fullmatch(text.strip()) else text.strip()
    if not cleaned:
        problem(name, "Enter a number.")
        return None
    decimals = cleaned.partition(".")[2].rstrip("0")
    if places is not None and _PLAIN_NUMBER.fullmatch(cleaned) and len(decimals) > places:
        problem(name, f"Enter at most {places} decimals, such as 12.50 or 0.0125.")
        return None
    try:
        value = parse_amount(cleaned)
    except OutOfBounds:
        if _PLAIN_NUMBER.fullmatch(cleaned):
            problem(name, f"Enter {AMOUNT_RULE}.")
        else:
            problem(name, "Enter a number in plain notation, such as 12 or 12.50.")
        return None
    exponent = value.normalize().as_tuple().exponent
    if places is not None and isinstance(exponent, int) and exponent < -places:
        problem(name, f"Enter at most {places} decimals, such as 12.50 or 0.0125.")
        return None
    return value


def _date(text: str, name: str, problem: _Problem, *, required: bool) -> dt.date | None:
    cleaned = text.strip()
    if not cleaned:
        if required:
            problem(name, "Enter a date.")
        return None
    try:
        return check_date(parse_date(cleaned))
    except OutOfBounds as error:
        problem(name, f"The date {error}.")
    except ValueError:
        problem(name, "Enter a date such as 24 Nov 2026.")
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


PRICE_FIELDS = ("unitPrice", "unitCost")


def with_new_prices(sent: Sequence[Row], repriced: Sequence[Row]) -> list[Row]:
    """The rows the reseller had, with the unit prices and costs of another price source: the
    switch of source concerns prices only, so quantities, descriptions, dates, billing and
    what is left out stay as typed. Rows the new plan does not have are dropped; its new rows
    come as planned."""
    typed = {row.key: row for row in sent}
    rows = []
    for row in repriced:
        mine = typed.get(row.key)
        values = dict(mine.values) if mine else dict(row.values)
        values.update({name: row.values[name] for name in PRICE_FIELDS})
        rows.append(Row(key=row.key, values=values))
    return rows


def cost_warnings(plan: Plan, rows: Sequence[Row]) -> None:
    """Mark the billable lines that would sell below their unit cost (a warning: a price may
    be set low on purpose, so it does not stop the sync)."""
    decimals, code = plan.currency.decimals, plan.currency.code
    for action, row in zip(plan.actions, rows, strict=False):
        priced = action.action in (Action.CREATE, Action.UPDATE) and action.billable
        if priced and row.included and action.unit_price < action.unit_cost:
            row.warnings["unitPrice"] = (
                f"Below the unit cost of {format_money(action.unit_cost, code, decimals)}: "
                "this line sells at a loss."
            )


def editable(action: PlannedAddition, plan: Plan | None = None) -> frozenset[str]:
    """The fields the review form lets the reseller change on ``action`` of ``plan`` (its PSA
    decides: an Autotask update's date is editable); no plan: ConnectWise's rules."""
    if plan is None:
        return editable_fields(action.action)
    return editable_fields(action.action, psa=plan.psa)
