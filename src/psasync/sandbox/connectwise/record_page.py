"""The emulator's stand-in for the ConnectWise screens: an agreement's own page.

psasync links each synced agreement to ``{site}/{codebase}/services/system_io/router/
openrecord.rails?recordType=AgreementFV&recid={agreementId}&companyName={companyId}``. The real
site asks the member to log in and opens the agreement screen; the sandbox shows, without any
login, a small self-contained HTML page with the agreement and its additions as it holds them now.
Any other record type, an unknown agreement or an unknown company is a 404 page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from html import escape

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from psasync.sandbox.connectwise import fixture as fx
from psasync.sandbox.connectwise.resources import AdditionRecord
from psasync.sandbox.connectwise.state import ConnectWiseState

RECORD_PATH = "/services/system_io/router/openrecord.rails"
AGREEMENT_RECORD_TYPE = "AgreementFV"
ADDITION_COLUMNS = (
    "Product",
    "Description",
    "Quantity",
    "Unit price",
    "Unit cost",
    "Effective",
    "Cancelled",
    "Bill customer",
    "Taxable",
)
_STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2rem; color: #1d2733; }
header { border-bottom: 3px solid #026cb6; margin-bottom: 1rem; }
header p { margin: 0; color: #5a6878; font-size: 12px; }
dl { display: grid; grid-template-columns: max-content auto; gap: .25rem 1rem; }
dt { font-weight: 600; } dd { margin: 0; }
table { border-collapse: collapse; margin-top: .5rem; }
th, td { border: 1px solid #c9d2dc; padding: .3rem .6rem; text-align: left; }
th { background: #eef2f6; } td.number { text-align: right; font-variant-numeric: tabular-nums; }
"""


def record_router(state: ConnectWiseState, *, codebase: str) -> APIRouter:
    """``GET /{codebase}/services/system_io/router/openrecord.rails``, answered with HTML."""
    router = APIRouter()

    @router.get(f"/{codebase}{RECORD_PATH}", response_class=HTMLResponse)
    def open_record(request: Request) -> HTMLResponse:
        params = {key.lower(): value.strip() for key, value in request.query_params.items()}
        return record_response(
            state,
            record_type=params.get("recordtype", ""),
            record_id=params.get("recid", ""),
            company_name=params.get("companyname", ""),
        )

    return router


def record_response(
    state: ConnectWiseState, *, record_type: str, record_id: str, company_name: str
) -> HTMLResponse:
    """The agreement page, or a 404 page saying what was not found."""
    if record_type.lower() != AGREEMENT_RECORD_TYPE.lower():
        return _not_found(f"There is no screen for record type {record_type!r}.")
    known = {credential.company_id.lower() for credential in state.credentials}
    if company_name.lower() not in known:
        return _not_found(f"Company {company_name!r} is not a company of this site.")
    number = record_id.isascii() and record_id.isdigit()
    agreement = state.agreements.get(int(record_id)) if number else None
    if agreement is None:
        return _not_found(f"Agreement {record_id!r} was not found.")
    additions = state.additions_of(agreement.id)
    return HTMLResponse(agreement_page(state, agreement, additions))


def agreement_page(
    state: ConnectWiseState, agreement: fx.Agreement, additions: Iterable[AdditionRecord]
) -> str:
    """The whole HTML document of one agreement; every value is escaped."""
    parts = state.agreement_parts(agreement)
    cycle, currency = parts.billing_cycle, parts.currency
    status = agreement.agreement_status.value + (" (cancelled)" if agreement.cancelled_flag else "")
    facts = [
        ("Agreement", f"#{agreement.id}"),
        ("Name", agreement.name),
        ("Company", f"{parts.company.name} ({parts.company.identifier})"),
        ("Type", parts.type.name),
        ("Billing cycle", cycle.name if cycle else "—"),
        ("Currency", currency.currency_identifier if currency else "—"),
        ("Status", status),
        ("Start date", _day(agreement.start_date)),
        ("Bill start date", _day(agreement.bill_start_date)),
    ]
    details = "".join(f"<dt>{escape(name)}</dt><dd>{escape(value)}</dd>" for name, value in facts)
    decimals = currency.number_of_decimals if currency else 2
    rows = [_addition_row(state, addition, decimals=decimals) for addition in additions]
    table = (
        "<table><thead><tr>"
        + "".join(f"<th>{escape(column)}</th>" for column in ADDITION_COLUMNS)
        + "</tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
        if rows
        else "<p>This agreement has no additions.</p>"
    )
    body = (
        f"<dl>{details}</dl><h2>Additions ({len(rows)})</h2>{table}"
        "<p><small>ConnectWise sandbox: the real site asks the member to log in first.</small></p>"
    )
    return _document(f"Agreement {agreement.id}: {agreement.name}", body)


def _addition_row(state: ConnectWiseState, addition: AdditionRecord, *, decimals: int) -> str:
    product = state.catalog[addition.product_id]
    cells = [
        (product.identifier, False),
        (addition.description, False),
        (_number(addition.quantity), True),
        (_money(addition.unit_price, decimals), True),
        (_money(addition.unit_cost, decimals), True),
        (_day(addition.effective_date), False),
        (_day(addition.cancelled_date), False),
        (addition.bill_customer, False),
        ("Yes" if addition.taxable else "No", False),
    ]
    return (
        f'<tr data-addition-id="{addition.id}">'
        + "".join(
            f'<td class="number">{escape(text)}</td>' if number else f"<td>{escape(text)}</td>"
            for text, number in cells
        )
        + "</tr>"
    )


def _number(value: Decimal) -> str:
    """The exact value the sandbox holds, without an exponent."""
    return format(value, "f")


def _money(value: Decimal, decimals: int) -> str:
    """At least the currency's decimals (12.5 → 12.50), never fewer than held (0.025 stays)."""
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -decimals:
        value = value.quantize(Decimal(1).scaleb(-decimals))
    return _number(value)


def _day(value: dt.date | None) -> str:
    return value.isoformat() if value else "—"


def _not_found(message: str) -> HTMLResponse:
    body = f"<p>{escape(message)}</p>"
    return HTMLResponse(_document("Record not found", body), status_code=404)


def _document(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)} — ConnectWise sandbox</title><style>{_STYLE}</style></head>"
        f"<body><header><p>ConnectWise PSA (sandbox)</p><h1>{escape(title)}</h1></header>"
        f"{body}</body></html>"
    )
