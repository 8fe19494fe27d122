"""The vendor's rules for agreement additions, on create (POST) and on update (JSON Patch).

Every problem is collected, so one answer names every bad field:
``400 {"code": "InvalidObject", "errors": [{"code": "Required", "field": "product", …}]}``.
A PATCH is applied to a copy and the whole result validated, so an invalid patch changes
nothing (like the real API, it also re-checks fields the patch did not touch).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from psasync.sandbox.connectwise import fixture as fx
from psasync.sandbox.connectwise.errors import FieldProblem, bad_request, invalid_object
from psasync.sandbox.connectwise.resources import AdditionRecord
from psasync.sandbox.connectwise.vocabulary import BillCustomer, ProductClass

RESOURCE = "addition"
WRITABLE = frozenset(
    {
        "product",
        "billCustomer",
        "quantity",
        "unitPrice",
        "unitCost",
        "effectiveDate",
        "cancelledDate",
        "taxableFlag",
        "description",
        "invoiceDescription",
        "serialNumber",
    }
)
READ_ONLY = frozenset(
    {
        "id",
        "agreementId",
        "extPrice",
        "extCost",
        "margin",
        "lessIncluded",
        "billedQuantity",
        "agreementStatus",
        "additionStatus",
        "sequenceNumber",
        "_info",
    }
)
MAX_LENGTHS = {"invoiceDescription": 6000, "serialNumber": 50}
PATCH_OPS = frozenset({"add", "replace", "remove"})
_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})(T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?)?")


@dataclass(frozen=True)
class AdditionContext:
    """What an addition is checked against: its agreement and the catalog."""

    agreement: fx.Agreement
    catalog: Mapping[int, fx.CatalogItem]


def draft_for_create(body: object) -> dict[str, Any]:
    """The writable fields of a POST body; read-only and unknown fields are ignored."""
    if not isinstance(body, dict):
        raise bad_request("the request body must be an addition object")
    return {name: value for name, value in body.items() if name in WRITABLE}


def draft_of(record: AdditionRecord) -> dict[str, Any]:
    """A stored addition as a draft a patch can change."""
    return {
        "product": {"id": record.product_id},
        "billCustomer": record.bill_customer,
        "quantity": record.quantity,
        "unitPrice": record.unit_price,
        "unitCost": record.unit_cost,
        "effectiveDate": record.effective_date,
        "cancelledDate": record.cancelled_date,
        "taxableFlag": record.taxable,
        "description": record.description,
        "invoiceDescription": record.invoice_description,
        "serialNumber": record.serial_number,
    }


def apply_patch(draft: dict[str, Any], operations: object) -> dict[str, Any]:
    """``draft`` with a JSON Patch applied; bad operations or paths change nothing."""
    if not isinstance(operations, list) or not operations:
        raise bad_request("a PATCH body is a JSON array of {op, path, value} operations")
    patched = dict(draft)
    problems: list[FieldProblem] = []
    for number, operation in enumerate(operations, start=1):
        op, path = _operation(operation, number)
        problem = _path_problem(path)
        if problem is not None:
            problems.append(problem)
            continue
        value = None if op == "remove" else operation["value"]
        if path == "product/id":
            patched["product"] = None if value is None else {"id": value}
        else:
            patched[path] = value
    if problems:
        raise invalid_object(RESOURCE, problems)
    return patched


def _operation(operation: object, number: int) -> tuple[str, str]:
    if not isinstance(operation, dict) or not isinstance(operation.get("path"), str):
        raise bad_request(f"patch operation {number} must be an object with op and path")
    op = str(operation.get("op", "")).lower()
    if op not in PATCH_OPS:
        raise bad_request(f"patch operation {number}: op must be add, replace or remove")
    if op != "remove" and "value" not in operation:
        raise bad_request(f"patch operation {number}: {op} needs a value")
    return op, operation["path"].strip().strip("/")


def _path_problem(path: str) -> FieldProblem | None:
    top = path.split("/", 1)[0]
    if top in READ_ONLY:
        return FieldProblem("InvalidField", path, f"{path} is read only")
    if top not in WRITABLE or ("/" in path and path != "product/id"):
        return FieldProblem("InvalidField", path, f"{path} is not a field of an addition")
    return None


def build_record(
    draft: Mapping[str, Any], *, record_id: int, context: AdditionContext, creating: bool
) -> AdditionRecord:
    """The addition ``draft`` describes, or a 400 InvalidObject naming every bad field."""
    problems: list[FieldProblem] = []
    product = _product(draft.get("product"), context.catalog, problems)
    values = dict(draft)
    if creating:
        values = {**_defaults(product), **values}
    effective = _date(values, "effectiveDate", problems)
    cancelled = _date(values, "cancelledDate", problems)
    record = AdditionRecord(
        id=record_id,
        agreement_id=context.agreement.id,
        product_id=product.id if product else 0,
        quantity=_number(values, "quantity", problems),
        unit_price=_number(values, "unitPrice", problems),
        unit_cost=_number(values, "unitCost", problems),
        bill_customer=_bill_customer(values.get("billCustomer"), problems),
        effective_date=effective,
        cancelled_date=cancelled,
        taxable=_flag(values, "taxableFlag", problems),
        description=_text(values, "description", problems) or "",
        invoice_description=_text(values, "invoiceDescription", problems) or "",
        serial_number=_text(values, "serialNumber", problems),
    )
    problems += _date_order(record, context.agreement)
    if problems:
        raise invalid_object(RESOURCE, problems)
    return record


def _defaults(product: fx.CatalogItem | None) -> dict[str, Any]:
    # What the vendor fills in from the product when a create leaves it out.
    # Without a usable product only the product is reported, not its missing prices.
    defaults: dict[str, Any] = {
        "quantity": Decimal(1),
        "unitPrice": Decimal(0),
        "unitCost": Decimal(0),
        "taxableFlag": False,
    }
    if product is not None:
        defaults |= {
            "unitPrice": product.price,
            "unitCost": product.cost,
            "description": product.description,
            "invoiceDescription": product.customer_description,
        }
    return defaults


def _product(
    value: object, catalog: Mapping[int, fx.CatalogItem], problems: list[FieldProblem]
) -> fx.CatalogItem | None:
    if value is None:
        problems.append(FieldProblem("Required", "product", "The field product is required."))
        return None
    product_id = value.get("id") if isinstance(value, dict) else None
    if isinstance(product_id, bool) or not isinstance(product_id, int):
        problems.append(
            FieldProblem("InvalidField", "product", 'product must be a reference like {"id": 5}')
        )
        return None
    product = catalog.get(product_id)
    if product is None:
        problems.append(FieldProblem("NotFound", "product", f"Product {product_id} not found."))
    elif product.product_class is ProductClass.BUNDLE:
        problems.append(
            FieldProblem(
                "InvalidField",
                "product",
                f"Product {product.identifier} is a bundle; bundles cannot be agreement additions.",
            )
        )
        return None
    return product


def _bill_customer(value: object, problems: list[FieldProblem]) -> str:
    if value is None:
        problems.append(
            FieldProblem("Required", "billCustomer", "The field billCustomer is required.")
        )
        return ""
    if value not in {option.value for option in BillCustomer}:
        allowed = ", ".join(option.value for option in BillCustomer)
        problems.append(
            FieldProblem("InvalidField", "billCustomer", f"billCustomer must be one of {allowed}.")
        )
        return ""
    return str(value)


def _number(values: Mapping[str, Any], name: str, problems: list[FieldProblem]) -> Decimal:
    value = values.get(name)
    if value is None:
        problems.append(FieldProblem("Required", name, f"The field {name} is required."))
        return Decimal(0)
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        problems.append(FieldProblem("InvalidField", name, f"{name} must be a number."))
        return Decimal(0)
    return Decimal(value)


def _flag(values: Mapping[str, Any], name: str, problems: list[FieldProblem]) -> bool:
    value = values.get(name)
    if value is None:
        return False
    if not isinstance(value, bool):
        problems.append(FieldProblem("InvalidField", name, f"{name} must be true or false."))
        return False
    return value


def _text(values: Mapping[str, Any], name: str, problems: list[FieldProblem]) -> str | None:
    value = values.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        problems.append(FieldProblem("InvalidField", name, f"{name} must be a string."))
        return None
    limit = MAX_LENGTHS.get(name)
    if limit is not None and len(value) > limit:
        problems.append(
            FieldProblem(
                "MaxLengthField",
                name,
                f"The field {name} must be a string with a maximum length of {limit}.",
            )
        )
    return value


def _date(values: Mapping[str, Any], name: str, problems: list[FieldProblem]) -> dt.date | None:
    value = values.get(name)
    if value is None or isinstance(value, dt.date):
        return value
    found = _DATE.fullmatch(value.strip()) if isinstance(value, str) else None
    try:
        if found is None:
            raise ValueError(value)
        return dt.date.fromisoformat(found.group(1))
    except ValueError:
        problems.append(
            FieldProblem("InvalidField", name, f"{name} must be a date like 2026-11-01T00:00:00Z.")
        )
        return None


def _date_order(record: AdditionRecord, agreement: fx.Agreement) -> list[FieldProblem]:
    problems = []
    start = agreement.bill_start_date
    if record.effective_date and start and record.effective_date < start:
        problems.append(
            FieldProblem(
                "OutOfRange",
                "effectiveDate",
                "effectiveDate cannot be less than the agreement billing start date "
                f"({start.isoformat()}).",
            )
        )
    effective, cancelled = record.effective_date, record.cancelled_date
    if effective and cancelled and cancelled < effective:
        problems.append(
            FieldProblem(
                "OutOfRange",
                "cancelledDate",
                f"cancelledDate cannot be less than the effectiveDate ({effective.isoformat()}).",
            )
        )
    return problems
