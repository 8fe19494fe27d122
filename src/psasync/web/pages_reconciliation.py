"""The reconciliation page (DESIGN §4 "Pages", §9; issue 16): run a reconciliation as a job and
follow it, read the latest report — who ran it and when, totals per kind and per customer, each
item's two sides, notes and proposed fix in plain words —, filter it (the filters live in the
address), choose items (or all of a kind) and fix them as a job, and download it as CSV.

Three charts are drawn here as SVG, with no script: the monthly impact by kind and of the top
customers (signed horizontal bars: right of zero under-billed, left over-billed), and the trend
of the total drift across stored reports. Each is labelled, and its numbers are in a table too.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, TypedDict

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from psasync.services import automation, reconciliation, reconciliation_fix
from psasync.services import jobs as job_service
from psasync.services.bulk_jobs import JobKind, JobStatus
from psasync.services.errors import NotFound, ServiceError
from psasync.services.integrations import IntegrationState
from psasync.services.jobs import JobView
from psasync.services.reconciliation import (
    CustomerTotal,
    FixTiming,
    ItemView,
    KindTotal,
    ReconciliationRequest,
    ReportSummary,
    ReportView,
    display_impact,
)
from psasync.services.sessions import UserSession
from psasync.services.types import PriceSource
from psasync.web.bounds import MAX_ID, MAX_OFFSET
from psasync.web.errors import status_of
from psasync.web.formatting import format_date, format_instant, format_money
from psasync.web.pages import DASHBOARD, SETTINGS, PageUser, connectwise_tile
from psasync.web.session import clean_query, services_of
from psasync.web.templating import render, see_other, with_query

router = APIRouter(include_in_schema=False, dependencies=[Depends(clean_query)])

RECONCILIATION = DASHBOARD + "/reconciliation"
JOBS = DASHBOARD + "/jobs"
ITEMS_PER_PAGE = 50
TOP_CUSTOMERS = 10
# Customers the totals table lists (the filter reaches every customer).
CUSTOMER_ROWS = 20
# Stored reports the trend shows.
TREND_REPORTS = 12
MAX_CUSTOMER_ID = 64
ITEM_ID = re.compile(r"^[0-9a-f]{12}$")
JobId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]
CustomerFilter = Annotated[str | None, Query(alias="customerId", max_length=MAX_CUSTOMER_ID)]
Filter = Annotated[str | None, Query(max_length=64)]
ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)

# The kinds of DESIGN §9 in the report's order: a short name and what it means.
KINDS: dict[str, tuple[str, str]] = {
    "missing": ("Missing", "a subscription product with no ongoing addition in ConnectWise"),
    "quantity": ("Quantity", "ConnectWise bills another quantity"),
    "price": ("Price", "ConnectWise bills another unit price"),
    "duplicate": ("Duplicate", "more than one ongoing addition for one subscription product"),
    "orphan": ("Orphan", "an ongoing addition with no active subscription behind it"),
    "cancelledAgreement": (
        "Cancelled agreement",
        "billing sits on a cancelled or inactive agreement, so it bills nothing",
    ),
    "manualEdit": ("Manual edit", "a line psasync wrote was changed by hand"),
    "unmapped": ("Unmapped", "a customer or product without a mapping: not compared"),
}
FIX_STATES = {
    "running": ("Fixing", "running"),
    "fixed": ("Fixed", "succeeded"),
    "already_fixed": ("Already fixed", "succeeded"),
    "failed": ("Fix failed", "failed"),
}
DONE_STATES = ("fixed", "already_fixed", "running")
_NOTICES = {
    "queued": "The reconciliation is queued: a worker reads both sides and stores a new report.",
    "fixing": "The fix is queued: each chosen item is checked again, then fixed like a sync.",
}
_PERIODS = {"day": "daily", "week": "weekly", "month": "monthly", "year": "yearly"}


# Words for people ------------------------------------------------------------------------------


def money(amount: Decimal | str, currency: str | None) -> str:
    """An amount rounded to its currency and shown the house way (``−$30.00``)."""
    value = Decimal(str(amount))
    if currency is None:
        return str(value)
    return format_money(Decimal(display_impact(value, currency)), currency)


def impact_words(amount: Decimal, currency: str | None) -> str:
    """What a monthly impact means: positive under-billed, negative over-billed."""
    rounded = Decimal(display_impact(amount, currency)) if currency else Decimal(0)
    if currency is None or rounded == 0:
        return "no billing difference"
    if rounded > 0:
        return f"under-billed by {money(rounded, currency)} a month"
    return f"over-billed by {money(-rounded, currency)} a month"


def quantity(value: Any) -> str:
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        return str(value)
    if number == number.to_integral_value():
        return f"{number.to_integral_value():,}"
    return f"{number.normalize():,}"


def _period(billing: dict[str, Any] | None) -> str:
    if not billing:
        return ""
    unit, count = str(billing.get("type", "")), billing.get("duration", 1)
    if count == 1 and unit in _PERIODS:
        return _PERIODS[unit]
    return f"every {count} {unit}s"


def _day(text: Any) -> str:
    try:
        return format_date(dt.date.fromisoformat(str(text)))
    except ValueError:
        return str(text or "")


def marketplace_side(item: ItemView) -> str | None:
    side = item.marketplace
    if not side:
        return None
    currency = side.get("currency") or item.currency
    period = _period(side.get("billingPeriod"))
    return (
        f"{quantity(side.get('quantity'))} × {side.get('mpn') or item.mpn or ''} at "
        f"{money(side.get('unitPrice', '0'), currency)}"
        f"{' ' + period if period else ''}, subscription {side.get('subscriptionId', '')}"
    )


def psa_side(item: ItemView) -> str | None:
    side = item.psa
    if not side:
        return None
    additions = ", ".join(f"#{i}" for i in side.get("additionIds", ()))
    agreement = side.get("agreementName") or "agreement"
    return (
        f"{quantity(side.get('quantity'))} at {money(side.get('unitPrice', '0'), item.currency)} "
        f"on {agreement} (#{side.get('agreementId', '')})"
        f"{', addition ' + additions if additions else ''}"
    )


def fix_steps(item: ItemView) -> list[str]:
    """The fix's plan actions in plain words."""
    fix = item.fix or {}
    psa = item.psa or {}
    agreement_id = fix.get("agreementId")
    if psa.get("agreementId") == agreement_id and psa.get("agreementName"):
        where = f"{psa['agreementName']} (#{agreement_id})"
    else:
        where = f"agreement #{agreement_id}"
    steps = []
    for action in fix.get("actions", ()):
        what = action.get("action")
        mpn = action.get("mpn") or (action.get("product") or {}).get("identifier") or ""
        count = quantity(action.get("quantity"))
        price = money(action.get("unitPrice", "0"), item.currency)
        addition = action.get("additionId")
        if what == "create" and action.get("kind") == "prorate":
            credit = Decimal(str(action.get("quantity", "0"))) < 0
            steps.append(
                f"Add a prorate {'credit' if credit else 'line'} of {count} × {mpn} at {price} "
                f"for {_day(action.get('effectiveDate'))} to "
                f"{_day(action.get('cancelledDate'))} on {where}"
            )
        elif what == "create":
            steps.append(
                f"Add {count} × {mpn} at {price} from {_day(action.get('effectiveDate'))} "
                f"on {where}"
            )
        elif what == "cancel":
            steps.append(
                f"End addition #{addition} ({count} × {mpn}) on {_day(action.get('cancelledDate'))}"
            )
        elif what == "delete":
            steps.append(
                f"Delete addition #{addition} ({count} × {mpn}): it starts on "
                f"{_day(action.get('effectiveDate'))} and never billed"
            )
        elif what == "update":
            steps.append(
                f"Put back addition #{addition} as psasync wrote it: unit cost "
                f"{money(action.get('unitCost', '0'), item.currency)}, "
                f"{action.get('billCustomer', '')}, "
                f"{'taxable' if action.get('taxableFlag') else 'not taxable'}"
            )
        else:
            steps.append(f"{str(what).capitalize()} {count} × {mpn}")
    return steps


@dataclass(frozen=True)
class Row:
    """One item as the page lists it."""

    item: ItemView
    label: str
    impact: str
    words: str
    marketplace: str | None
    psa: str | None
    steps: list[str]
    state: tuple[str, str] | None
    fixable: bool


def row_of(item: ItemView) -> Row:
    state = FIX_STATES.get(item.fix_outcome or "")
    return Row(
        item=item,
        label=KINDS.get(item.kind, (item.kind, ""))[0],
        impact=money(item.monthly_impact, item.currency) if item.currency else "—",
        words=impact_words(item.monthly_impact, item.currency),
        marketplace=marketplace_side(item),
        psa=psa_side(item),
        steps=fix_steps(item),
        state=state,
        fixable=fixable(item),
    )


def fixable(item: ItemView) -> bool:
    return item.fix is not None and item.fix_outcome not in DONE_STATES


# Charts ----------------------------------------------------------------------------------------

WIDTH = 640
LABEL_WIDTH = 190
VALUE_ROOM = 90
BAR_HEIGHT = 22
BAR_STEP = 32


@dataclass(frozen=True)
class Bar:
    label: str
    value: Decimal
    text: str
    x: float
    width: float
    y: float
    label_y: float
    text_x: float
    anchor: str
    sign: str  # "under", "over" or "zero"


@dataclass(frozen=True)
class BarChart:
    id: str
    title: str
    description: str
    height: int
    zero_x: float
    bars: list[Bar]


def bar_chart(
    chart_id: str, title: str, values: list[tuple[str, Decimal]], currency: str | None
) -> BarChart:
    """Signed horizontal bars from one zero line: under-billed right, over-billed left."""
    most = max((v for _, v in values if v > 0), default=Decimal(0))
    least = max((-v for _, v in values if v < 0), default=Decimal(0))
    span = most + least or Decimal(1)
    left, right = LABEL_WIDTH + VALUE_ROOM, WIDTH - VALUE_ROOM
    plot = right - left
    zero = left + float(least / span) * plot
    bars = []
    for index, (label, value) in enumerate(values):
        width = max(float(abs(value) / span) * plot, 1.0)
        y = 8 + index * BAR_STEP
        over = value < 0
        x = zero - width if over else zero
        bars.append(
            Bar(
                label=label,
                value=value,
                text=money(value, currency) if currency else "—",
                x=round(x, 1),
                width=round(width, 1),
                y=y,
                label_y=y + BAR_HEIGHT * 0.7,
                text_x=round(x - 6 if over else x + width + 6, 1),
                anchor="end" if over else "start",
                sign="over" if over else ("under" if value > 0 else "zero"),
            )
        )
    described = "; ".join(f"{bar.label} {bar.text}" for bar in bars)
    return BarChart(
        id=chart_id,
        title=title,
        description=f"{described}. Positive is under-billed, negative over-billed.",
        height=16 + len(values) * BAR_STEP,
        zero_x=round(zero, 1),
        bars=bars,
    )


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str
    partial: bool


@dataclass(frozen=True)
class LineChart:
    id: str
    title: str
    description: str
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    points: list[Point]
    polyline: str
    top_label: str
    first_label: str
    last_label: str


def trend_chart(
    chart_id: str, history: tuple[ReportSummary, ...], currency: str
) -> LineChart | None:
    """The total drift (under- plus over-billed a month) of each stored report, oldest first."""
    if not history:
        return None
    width, height, left, right, top, bottom = WIDTH, 200, 90, WIDTH - 20, 16, 200 - 36
    values = [summary.drift(currency) for summary in history]
    most = max(values) or Decimal(1)
    step = (right - left) / (len(values) - 1) if len(values) > 1 else 0
    points = []
    for index, (summary, value) in enumerate(zip(history, values, strict=True)):
        x = left + index * step if len(values) > 1 else (left + right) / 2
        y = bottom - float(value / most) * (bottom - top)
        points.append(
            Point(
                x=round(x, 1),
                y=round(y, 1),
                label=f"Report #{summary.id}, {format_instant(summary.created_at)}: "
                f"{money(value, currency)} a month"
                + (" (some customers only)" if summary.customer_ids else ""),
                partial=summary.customer_ids is not None,
            )
        )
    described = "; ".join(point.label for point in points)
    return LineChart(
        id=chart_id,
        title=(
            f"Total drift across the last {len(history)} reports ({currency})"
            if len(history) > 1
            else f"Total drift across the one report so far ({currency})"
        ),
        description=f"Under- plus over-billed amount a month per report, oldest first: "
        f"{described}.",
        width=width,
        height=height,
        left=left,
        right=right,
        top=top,
        bottom=bottom,
        points=points,
        polyline=" ".join(f"{p.x},{p.y}" for p in points),
        top_label=money(most, currency),
        first_label=format_date(history[0].created_at.date()),
        last_label=format_date(history[-1].created_at.date()),
    )


def charts(report: ReportView, history: tuple[ReportSummary, ...]) -> list[dict[str, Any]]:
    """Per currency of the report: impact by kind, top customers, and the trend."""
    # The currency most items bill in first.
    held = Counter(item.currency for item in report.items if item.currency)
    codes = sorted(
        {code for total in report.by_kind for code in total.impact},
        key=lambda code: (-held[code], code),
    )
    currencies: list[str | None] = [*codes] if codes else [None]
    found = []
    for currency in currencies:
        suffix = (currency or "none").lower()
        kinds = bar_chart(
            f"chart-kinds-{suffix}",
            f"Monthly impact by kind{f' ({currency})' if currency else ''}",
            [
                (KINDS.get(t.kind, (t.kind, ""))[0], t.impact.get(currency or "", Decimal(0)))
                for t in report.by_kind
                # Kinds billed in this currency, and those without amounts (count only).
                if currency is None or currency in t.impact or not t.impact
            ],
            currency,
        )
        top = [t for t in report.by_customer if currency is None or currency in t.impact][
            :TOP_CUSTOMERS
        ]
        customers = bar_chart(
            f"chart-customers-{suffix}",
            f"{f'Top {len(top)} customers' if len(top) > 1 else 'The customer'} by monthly "
            f"impact{f' ({currency})' if currency else ''}",
            [(t.customer_name, t.impact.get(currency or "", Decimal(0))) for t in top],
            currency,
        )
        trend = trend_chart(f"chart-trend-{suffix}", history, currency) if currency else None
        found.append(
            {
                "currency": currency,
                "kinds": kinds,
                "customers": customers if top else None,
                "trend": trend,
            }
        )
    return found


# The page --------------------------------------------------------------------------------------


def _impacts(impact: dict[str, Decimal]) -> list[dict[str, str]]:
    return [
        {"amount": money(amount, code), "words": impact_words(amount, code)}
        for code, amount in sorted(impact.items())
    ]


def _kind_rows(totals: tuple[KindTotal, ...]) -> list[dict[str, Any]]:
    return [
        {
            "kind": t.kind,
            "label": KINDS.get(t.kind, (t.kind, ""))[0],
            "meaning": KINDS.get(t.kind, ("", ""))[1],
            "count": t.count,
            "impacts": _impacts(t.impact),
        }
        for t in totals
    ]


def _customer_rows(totals: tuple[CustomerTotal, ...]) -> list[dict[str, Any]]:
    return [
        {
            "id": t.customer_id,
            "name": t.customer_name,
            "count": t.count,
            "impacts": _impacts(t.impact),
        }
        for t in totals
    ]


def _trend_rows(history: tuple[ReportSummary, ...]) -> list[dict[str, Any]]:
    rows = []
    for summary in reversed(history):
        codes = sorted({*summary.under, *summary.over})
        rows.append(
            {
                "summary": summary,
                "scope": (
                    "every customer"
                    if summary.customer_ids is None
                    else f"{len(summary.customer_ids)} customer"
                    f"{'s' if len(summary.customer_ids) != 1 else ''}"
                ),
                "under": [money(summary.under.get(c, Decimal(0)), c) for c in codes],
                "over": [money(-summary.over.get(c, Decimal(0)), c) for c in codes],
                "drift": [money(summary.drift(c), c) for c in codes],
            }
        )
    return rows


async def _job(request: Request, user: UserSession, job_id: int | None) -> JobView | None:
    if job_id is None:
        return None
    try:
        job = await job_service.get_job(services_of(request), user.actor, job_id)
    except NotFound:
        return None
    return job if job.kind in (JobKind.RECONCILE, JobKind.RECONCILE_FIX) else None


async def _latest(
    request: Request, user: UserSession, *, customer_id: str | None, kind: str | None
) -> ReportView | None:
    try:
        return await reconciliation.latest_report(
            services_of(request), user.actor, customer_id=customer_id, kind=kind
        )
    except NotFound:
        return None


async def _page(
    request: Request,
    user: UserSession,
    *,
    customer_id: str | None,
    kind: str | None,
    offset: int = 0,
    job_id: int | None = None,
    notice: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    services = services_of(request)
    tile = await connectwise_tile(request, user)
    if tile.state is IntegrationState.NOT_CONFIGURED:
        return see_other(SETTINGS, request)
    if kind is not None and kind not in KINDS:
        error = f"There is no kind {kind[:64]!r}: choose one from the list."
        kind, status = None, 400
    whole = await _latest(request, user, customer_id=None, kind=None)
    report = whole
    if whole is not None and (customer_id or kind):
        report = await _latest(request, user, customer_id=customer_id, kind=kind)
    job = await _job(request, user, job_id)
    active = job is not None and job.status in ACTIVE
    if (
        job is not None
        and not active
        and request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-Trigger") == "run-status"
    ):
        # The job the page followed has ended: show the page afresh, with its new report.
        return HTMLResponse("", headers={"HX-Refresh": "true"})
    settings = await automation.automation_settings(services, user.actor)
    filters = {"customerId": customer_id or "", "kind": kind or ""}
    context: dict[str, Any] = {
        "report": report,
        "filters": filters,
        "filtered": bool(customer_id or kind),
        "kinds": KINDS,
        "customers": sorted(
            ((t.customer_id, t.customer_name) for t in (whole.by_customer if whole else ())),
            key=lambda pair: (pair[1].casefold(), pair[0]),
        ),
        "job": job,
        "job_active": active,
        "job_label": (
            "Reconciliation"
            if job is not None and job.kind is JobKind.RECONCILE
            else "Reconciliation fix"
        ),
        "jobs_url": JOBS,
        "notice": _NOTICES.get(notice or ""),
        "error": error,
        "can_run": settings.runs_unattended,
        "why_not": automation.NO_INTEGRATION_USER,
        "offset": offset,
        "per_page": ITEMS_PER_PAGE,
        "self_url": with_query(RECONCILIATION, **filters, job=job_id, offset=offset or None),
        "page_url": lambda new_offset: with_query(
            RECONCILIATION, **filters, offset=new_offset or None
        ),
        "csv_url": with_query(RECONCILIATION + ".csv", **filters),
        "filter_url": lambda **changed: with_query(RECONCILIATION, **{**filters, **changed}),
        "action_url": RECONCILIATION,
    }
    if report is not None:
        history = await reconciliation.report_history(services, user.actor, TREND_REPORTS)
        rows = [row_of(item) for item in report.items[offset : offset + ITEMS_PER_PAGE]]
        fixable_by_kind: dict[str, int] = {}
        for item in report.items:
            if fixable(item):
                fixable_by_kind[item.kind] = fixable_by_kind.get(item.kind, 0) + 1
        context.update(
            rows=rows,
            total=len(report.items),
            whole_total=len(whole.items) if whole else 0,
            kind_rows=_kind_rows(report.by_kind),
            customer_rows=_customer_rows(report.by_customer[:CUSTOMER_ROWS]),
            more_customers=max(len(report.by_customer) - CUSTOMER_ROWS, 0),
            charts=charts(report, history),
            trend_rows=_trend_rows(history),
            fixable_by_kind=fixable_by_kind,
            any_fixable=any(row.fixable for row in rows) or bool(fixable_by_kind),
            price_source_label=(
                "Cloud Marketplace"
                if report.price_source is PriceSource.MARKETPLACE
                else "ConnectWise"
            ),
        )
    return render(request, "reconciliation.html", context, status=status)


@router.get(RECONCILIATION)
async def reconciliation_page(
    request: Request,
    user: PageUser,
    customer_id: CustomerFilter = None,
    kind: Filter = None,
    job: JobId = None,
    offset: Offset = 0,
    notice: Filter = None,
) -> Response:
    return await _page(
        request,
        user,
        customer_id=(customer_id or "").strip() or None,
        kind=(kind or "").strip() or None,
        offset=offset,
        job_id=job,
        notice=notice,
    )


@router.get(RECONCILIATION + ".csv")
async def reconciliation_csv(
    request: Request, user: PageUser, customer_id: CustomerFilter = None, kind: Filter = None
) -> Response:
    """The latest report (as filtered) as CSV; without a report, the error page says so."""
    if kind and kind not in KINDS:
        kind = None
    text = await reconciliation.report_csv(
        services_of(request), user.actor, customer_id=customer_id or None, kind=kind or None
    )
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="reconciliation.csv"',
            "Cache-Control": "no-store",
        },
    )


def _text(value: Any, longest: int = 64) -> str:
    return value.strip()[:longest] if isinstance(value, str) else ""


class Filters(TypedDict):
    customer_id: str | None
    kind: str | None


def _form_filters(form: Any) -> Filters:
    customer = _text(form.get("customerId"), MAX_CUSTOMER_ID) or None
    kind = _text(form.get("kind")) or None
    return {"customer_id": customer, "kind": kind if kind in KINDS else None}


@router.post(RECONCILIATION + "/run")
async def run_reconciliation(request: Request, user: PageUser) -> Response:
    """ "Run reconciliation": every customer, priced as chosen; then the page follows the job."""
    form = await request.form()
    filters = _form_filters(form)
    price = _text(form.get("price_source"))
    if price and price not in set(PriceSource):
        return await _page(
            request, user, **filters, error="Choose where prices come from.", status=422
        )
    chosen = ReconciliationRequest(price_source=PriceSource(price or PriceSource.MARKETPLACE))
    try:
        job = await reconciliation.start_reconciliation(services_of(request), user.actor, chosen)
    except ServiceError as error:
        return await _page(request, user, **filters, error=error.message, status=status_of(error))
    return see_other(
        with_query(
            RECONCILIATION,
            customerId=filters["customer_id"],
            kind=filters["kind"],
            job=job.id,
            notice="queued",
        ),
        request,
    )


@router.post(RECONCILIATION + "/fix")
async def fix_selected(request: Request, user: PageUser) -> Response:
    """ "Fix selected": the ticked items and every fixable item of the ticked kinds (within the
    customer filter), effective as chosen; then the page follows the fix job."""
    form = await request.form()
    filters = _form_filters(form)
    ids = [_text(value) for value in form.getlist("item_id")]
    kinds = [_text(value) for value in form.getlist("all_kind")]
    effective = _text(form.get("effective")) or FixTiming.NEXT_PERIOD.value
    problem = None
    if any(not ITEM_ID.match(item) for item in ids) or any(k not in KINDS for k in kinds):
        problem = "Choose items and kinds from the report."
    elif effective not in {timing.value for timing in FixTiming}:
        problem = "Choose when the fix takes effect: the next period or the current one."
    if problem:
        return await _page(request, user, **filters, error=problem, status=422)
    services = services_of(request)
    report = await _latest(request, user, customer_id=filters["customer_id"], kind=None)
    if report is None:
        return await _page(
            request,
            user,
            **filters,
            error="There is no reconciliation report yet: run one first.",
            status=404,
        )
    chosen = list(dict.fromkeys(ids))
    for item in report.items:
        if item.kind in kinds and fixable(item) and item.id not in chosen:
            chosen.append(item.id)
    if not chosen:
        return await _page(
            request,
            user,
            **filters,
            error="Tick the items to fix (or all of a kind) first, then Fix selected.",
            status=422,
        )
    try:
        job = await reconciliation_fix.start_fix(
            services,
            user.actor,
            reconciliation_fix.FixRequest(
                item_ids=tuple(chosen),
                price_source=report.price_source,
                timing=FixTiming(effective),
            ),
        )
    except ServiceError as error:
        return await _page(request, user, **filters, error=error.message, status=status_of(error))
    return see_other(
        with_query(
            RECONCILIATION,
            customerId=filters["customer_id"],
            kind=filters["kind"],
            job=job.id,
            notice="fixing",
        ),
        request,
    )
