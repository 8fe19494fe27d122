"""The Sync Changes wizard of one task: map the customer (and products) if needed, choose the
agreement, review and edit the additions, confirm, Sync.

The page is rebuilt from the services on every step, so what it shows is what Sync would do:
the preview and the sync run the same planning code. Nothing the reseller typed is lost when a
step comes back with errors, when the price source is switched (only prices change), or when
the session ends mid-review: the review form travels through the login's ``next`` address as
the query of ``GET …/review`` (never stored server-side, never a sync: it comes back as a
review to confirm again).

While the Sync is being confirmed the table is read-only: the confirm box lists exactly what
the hidden fields it posts hold, and "Change something" re-opens the review with them.
A sync that stopped part-way is shown from its journal (what ConnectWise now has, what is left)
with one "Finish sync" button, never as a fresh plan.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from psasync.services import Services, history, mappings, planning
from psasync.services import sync as sync_service
from psasync.services import tasks as task_service
from psasync.services.errors import Conflict, CustomerNotMapped, Invalid, UpstreamFailed
from psasync.services.integrations import IntegrationState
from psasync.services.sessions import UserSession
from psasync.services.tasks import TaskView
from psasync.services.types import (
    NoticeCode,
    Plan,
    PriceSource,
    Reason,
    ReviewedAddition,
    TaskStatus,
)
from psasync.web.bounds import MAX_ID
from psasync.web.formatting import PAGE_HELPERS, format_instant, house_dates, run_lines
from psasync.web.pages import (
    DASHBOARD,
    MAX_MPN,
    SETTINGS,
    PageUser,
    TaskId,
    connectwise_tile,
    setup_item_of,
)
from psasync.web.review_form import (
    FormProblem,
    Row,
    attach_errors,
    cost_warnings,
    editable,
    overlay,
    parse_rows,
    read_rows,
    rows_of,
    service_problems,
    with_new_prices,
)
from psasync.web.session import clean_query, services_of
from psasync.web.templating import form_id, render, see_other, with_query

# Journal outcomes of an action whose work ConnectWise may hold (as the sync service reads them).
_MAY_HAVE_WRITTEN = frozenset({"applied", "found_applied", "unknown"})
# Query flags after a redirect, and what the page says for them.
_NOTICES = {
    "customer": "Customer mapped: the agreements of its ConnectWise company are listed below.",
    "product": "Product mapped: the review below uses its catalog item.",
}

router = APIRouter(include_in_schema=False, dependencies=[Depends(clean_query)])
TASK = DASHBOARD + "/tasks/{task_id}"


def task_url(task_id: int, **params: object) -> str:
    return with_query(TASK.format(task_id=task_id), **params)


def _price_source(value: str | None) -> PriceSource:
    try:
        return PriceSource(value) if value else PriceSource.MARKETPLACE
    except ValueError:
        return PriceSource.MARKETPLACE


@router.get(TASK)
async def wizard(
    task_id: TaskId,
    request: Request,
    user: PageUser,
    agreement: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    source: Annotated[str | None, Query(max_length=100)] = None,
    company_q: Annotated[str, Query(max_length=200)] = "",
    catalog_q: Annotated[str, Query(max_length=200)] = "",
    mapped: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    return await _wizard(
        request,
        user,
        task_id,
        agreement_id=agreement,
        price_source=_price_source(source),
        company_q=company_q,
        catalog_q=catalog_q,
        notice=_NOTICES.get(mapped or ""),
    )


@router.get(TASK + "/review")
async def review_again(task_id: TaskId, request: Request, user: PageUser) -> Response:
    """The review address opened directly (a reload after Recalculate, a bookmark): the task's
    page. With a review form in its query (the way back from a login mid-review), that review,
    recalculated: it is shown to confirm again, never synced from here."""
    query = FormData(list(request.query_params.multi_items()))
    rows = read_rows(query)
    if not rows:
        agreement = form_id(query, "agreement_id")
        source = str(query.get("price_source") or "") or None
        return see_other(task_url(task_id, agreement=agreement, source=source), request)
    reviewed, problems = parse_rows(rows)
    return await _wizard(
        request,
        user,
        task_id,
        agreement_id=form_id(query, "agreement_id"),
        price_source=_price_source(str(query.get("price_source") or "")),
        sent=rows,
        reviewed=reviewed,
        problems=problems,
        notice=(
            "You are logged in again: your review is as you left it. Nothing was synced; "
            "check it and Sync when ready."
            if query.get("resumed")
            else None
        ),
    )


class _Step:
    """What the wizard renders: the context grows as the steps succeed."""

    def __init__(self, request: Request, context: dict[str, Any]) -> None:
        self.request = request
        self.context = context
        self.status = 200

    def fail(self, message: str, status: int, **more: Any) -> None:
        self.context.update(error=house_dates(message), **more)
        self.status = status

    def page(self) -> Response:
        return render(self.request, "task.html", self.context, status=self.status)


async def _wizard(
    request: Request,
    user: UserSession,
    task_id: int,
    *,
    agreement_id: int | None,
    price_source: PriceSource,
    company_q: str = "",
    catalog_q: str = "",
    sent: Sequence[Row] | None = None,
    reviewed: Sequence[ReviewedAddition] | None = None,
    problems: Sequence[FormProblem] = (),
    confirm: bool = False,
    error: str | None = None,
    error_style: str = "error",
    notice: str | None = None,
    lost_race: bool = False,
    status: int = 200,
) -> Response:
    services = services_of(request)
    tile = await connectwise_tile(request, user)
    if tile.state is IntegrationState.NOT_CONFIGURED:
        return see_other(SETTINGS, request)
    detail = await task_service.get_task_detail(services, user.actor, task_id)
    view = detail.view
    step = _Step(
        request,
        {
            "task": view,
            "order": detail.order,
            "tile": tile,
            "price_source": price_source,
            "price_sources": list(PriceSource),
            "selected": agreement_id,
            "company_q": company_q,
            "catalog_q": catalog_q,
            "error": house_dates(error) if error else None,
            "error_style": error_style,
            "notice": notice,
            "busy_until": _busy_until(services, view),
            **PAGE_HELPERS,
            "reasons_of": reasons_of,
            "lines_of": {},
        },
    )
    step.status = status
    if view.status is not TaskStatus.IGNORED:
        runs = (await history.history(services, user.actor, task_id=task_id)).items
        step.context.update(
            runs=runs, lines_of={e.run.id: run_lines(e.run.plan_json) for e in runs}
        )
    if view.status is TaskStatus.SYNCED:
        _synced(step, lost_race=lost_race)
        return step.page()
    if view.status is TaskStatus.IGNORED:
        return step.page()
    unfinished = _unfinished(step.context["runs"])
    if unfinished is not None:
        # What ConnectWise now has comes from the journal: no fresh plan, one way to finish.
        step.context.update(unfinished=unfinished, error=None)
        return step.page()

    try:
        choices = await planning.agreements(services, user.actor, task_id)
    except CustomerNotMapped as failure:
        step.context["customer_unmapped"] = failure.message
        step.context["companies"] = await mappings.find_companies(services, user.actor, company_q)
        return step.page()
    except Invalid as failure:
        step.fail(failure.message, 422)
        return step.page()
    except UpstreamFailed as failure:
        step.fail(failure.message, 502)
        return step.page()
    step.context["choices"] = choices
    eligible = [choice for choice in choices if choice.eligibility.eligible]
    step.context["none_eligible"] = bool(choices) and not eligible
    if agreement_id is None and len(eligible) == 1:
        agreement_id = eligible[0].agreement.id
        step.context["selected"] = agreement_id
        step.context["preselected"] = True
    if agreement_id is None:
        return step.page()
    chosen = next((c for c in choices if c.agreement.id == agreement_id), None)
    if chosen is None:
        step.fail(
            f"Agreement #{agreement_id} is not one of {view.customer_name}'s agreements.", 422
        )
        return step.page()
    step.context["chosen"] = chosen
    if not chosen.eligibility.eligible:
        step.fail(
            f"{chosen.agreement.name} cannot take these changes.",
            422,
            reasons=reasons_of(chosen.eligibility.reasons),
        )
        return step.page()

    plan, rows, loose = await _review(
        step, services, user, task_id, agreement_id, price_source, sent, reviewed, problems
    )
    if plan is None:
        return step.page()
    unmapped_lines = {n.line for n in plan.notices if n.code is NoticeCode.UNMAPPED_PRODUCT}
    if unmapped_lines:
        step.context["unmapped_mpns"] = sorted(
            {line.mpn for line in detail.order.lines if line.number in unmapped_lines}
        )
        step.context["catalog"] = await mappings.find_catalog_items(services, user.actor, catalog_q)
    cost_warnings(plan, rows)
    has_errors = bool(loose) or any(row.errors for row in rows)
    confirming = confirm and not has_errors and not plan.blocked
    step.context.update(
        plan=plan,
        # While confirming nothing is editable: the confirm box posts exactly what is shown.
        lines=[
            (action, row, frozenset() if confirming else editable(action, plan))
            for action, row in zip(plan.actions, rows, strict=True)
        ],
        loose_errors=[house_dates(message) for message in loose],
        has_errors=has_errors,
        confirm=confirming,
        billed_amount=plan.prorated_amount + plan.one_time_amount,
    )
    for row in rows:
        row.errors = {name: house_dates(message) for name, message in row.errors.items()}
    if has_errors and step.status == 200:
        step.status = 422
    return step.page()


def reasons_of(reasons: Sequence[Reason]) -> list[str]:
    """Why an agreement cannot be chosen, each reason once: a cancelled agreement is also not
    Active, and saying both is saying it twice."""
    codes = {reason.code.value for reason in reasons}
    said = [
        reason.message
        for reason in reasons
        if not (reason.code.value == "Cancelled" and "NotActive" in codes)
    ]
    return list(dict.fromkeys(said))


def _synced(step: _Step, *, lost_race: bool) -> None:
    """The result of a synced task: the latest succeeded run, what it left out, and (for the
    tab that lost a double sync) who synced it when."""
    runs = step.context["runs"]
    won = next((e for e in runs if e.run.outcome == "succeeded"), None)
    step.context["result"] = won
    step.context["exclusions"] = won is not None and any(
        action.outcome == "skipped" for action in won.run.actions
    )
    if lost_race:
        who = (
            f"{won.run.user} at {format_instant(won.run.finished_at or won.run.started_at)}"
            if won
            else "another sync"
        )
        step.context["notice"] = (
            f"Synced by {who} while you were reviewing it: your Sync wrote nothing, and nothing "
            "was written twice. This is what ConnectWise got."
        )


def _unfinished(runs: Sequence[history.HistoryEntry]) -> history.HistoryEntry | None:
    """The task's latest run when it stopped after ConnectWise may have taken part of it (the
    run a Sync resumes)."""
    if not runs:
        return None
    latest = runs[0]
    if latest.run.outcome == "succeeded":
        return None
    if any(step.outcome in _MAY_HAVE_WRITTEN for step in latest.run.actions):
        return latest
    return None


def _busy_until(services: Services, view: TaskView) -> dt.datetime | None:
    """When a run's claim on the task lapses, while it lies ahead: Sync may be tried then."""
    if view.busy_until is not None and view.busy_until > services.now():
        return view.busy_until
    return None


async def _review(
    step: _Step,
    services: Services,
    user: UserSession,
    task_id: int,
    agreement_id: int,
    price_source: PriceSource,
    sent: Sequence[Row] | None,
    reviewed: Sequence[ReviewedAddition] | None,
    problems: Sequence[FormProblem],
) -> tuple[Plan | None, list[Row], list[str]]:
    """The plan to show, its rows (what the reseller typed, where they typed something) and
    the errors that name no field."""

    async def plan_with(edits: Sequence[ReviewedAddition] | None) -> Plan:
        return await planning.preview(
            services,
            user.actor,
            task_id,
            agreement_id=agreement_id,
            price_source=price_source,
            reviewed=edits,
        )

    problems = list(problems)
    try:
        if sent is not None and reviewed is not None and not problems:
            try:
                plan = await plan_with(reviewed)
                return plan, _kept_when_left_out(rows_of(plan), sent), []
            except Invalid as failure:
                problems = service_problems(failure.details) or [
                    FormProblem(None, "", failure.message)
                ]
        plan = await plan_with(None)
    except (Invalid, UpstreamFailed) as failure:
        step.fail(failure.message, 502 if isinstance(failure, UpstreamFailed) else 422)
        return None, [], []
    rows = rows_of(plan) if sent is None else overlay(rows_of(plan), sent)
    return plan, rows, attach_errors(rows, problems)


def _kept_when_left_out(planned: list[Row], sent: Sequence[Row]) -> list[Row]:
    """A left-out row keeps what was typed in it (the plan ignores a skipped row's values), so
    ticking it back in brings the edits back."""
    typed = {row.key: row for row in sent if not row.included}
    return [
        Row(key=row.key, values={**typed[row.key].values}) if row.key in typed else row
        for row in planned
    ]


async def _submitted(
    request: Request,
) -> tuple[int | None, PriceSource, list[Row], list[ReviewedAddition], list[FormProblem]]:
    form = await request.form()
    agreement_id = form_id(form, "agreement_id")
    rows = read_rows(form)
    reviewed, problems = parse_rows(rows)
    return (
        agreement_id,
        _price_source(str(form.get("price_source") or "")),
        rows,
        reviewed,
        problems,
    )


@router.post(TASK + "/review")
async def review(task_id: TaskId, request: Request, user: PageUser) -> Response:
    """Recalculate with the edits; with ``intent=sync``, ask to confirm the Sync; with
    ``intent=prices``, load the prices of the chosen source and keep every other edit."""
    agreement_id, price_source, rows, reviewed, problems = await _submitted(request)
    intent = str((await request.form()).get("intent") or "preview")
    if intent == "prices" and agreement_id is not None:
        rows, reviewed, problems = await _repriced(
            request, user, task_id, agreement_id, price_source, rows
        )
    return await _wizard(
        request,
        user,
        task_id,
        agreement_id=agreement_id,
        price_source=price_source,
        sent=rows,
        reviewed=reviewed,
        problems=problems,
        confirm=intent == "sync",
    )


async def _repriced(
    request: Request,
    user: UserSession,
    task_id: int,
    agreement_id: int,
    price_source: PriceSource,
    rows: list[Row],
) -> tuple[list[Row], list[ReviewedAddition], list[FormProblem]]:
    """The rows with the unit prices and costs ``price_source`` plans (the rest as typed)."""
    try:
        fresh = await planning.preview(
            services_of(request),
            user.actor,
            task_id,
            agreement_id=agreement_id,
            price_source=price_source,
        )
    except (Invalid, UpstreamFailed):
        reviewed, problems = parse_rows(rows)
        return rows, reviewed, problems  # the page reports the failure when it plans again
    repriced = with_new_prices(rows, rows_of(fresh))
    reviewed, problems = parse_rows(repriced)
    return repriced, reviewed, problems


@router.post(TASK + "/sync")
async def sync(task_id: TaskId, request: Request, user: PageUser) -> Response:
    agreement_id, price_source, rows, reviewed, problems = await _submitted(request)
    retry: dict[str, Any] = {
        "agreement_id": agreement_id,
        "price_source": price_source,
        "sent": rows or None,
        "reviewed": reviewed if rows else None,
    }
    if agreement_id is None:
        return await _wizard(
            request, user, task_id, **retry, error="Choose an agreement first.", status=422
        )
    if problems:
        return await _wizard(request, user, task_id, **retry, problems=problems, status=422)
    try:
        await sync_service.sync(
            services_of(request),
            user.actor,
            task_id,
            agreement_id=agreement_id,
            price_source=price_source,
            reviewed=reviewed or None,
        )
    except Invalid as failure:
        found = service_problems(failure.details)
        if found:
            return await _wizard(request, user, task_id, **retry, problems=found, status=422)
        return await _wizard(request, user, task_id, **retry, error=failure.message, status=422)
    except Conflict as failure:
        return await _conflict(request, user, task_id, failure, retry)
    except UpstreamFailed as failure:
        # Part written: the page shows the run (what ConnectWise has, what is left). Nothing
        # written: the review comes back with what was sent and why.
        said = failure.message.split(" — ")[0]
        message = (
            f"The sync did not go through ({said}). Nothing was written: Sync again when ready."
        )
        return await _wizard(request, user, task_id, **retry, error=message, status=502)
    return see_other(task_url(task_id, synced=1), request)


async def _conflict(
    request: Request, user: UserSession, task_id: int, failure: Conflict, retry: dict[str, Any]
) -> Response:
    """A Sync refused because the task is synced or being synced (another tab, another user,
    the automation): the result when it is synced, else when to try again."""
    view = await task_service.get_task(services_of(request), user.actor, task_id)
    if view.status is TaskStatus.SYNCED:
        return await _wizard(
            request, user, task_id, agreement_id=None, price_source=retry["price_source"],
            lost_race=True, status=409,
        )  # fmt: skip
    busy = failure.code == "TaskBusy"
    message = (
        "Someone else is syncing this task right now; the page shows the result once it is done."
        if busy
        else failure.message
    )
    return await _wizard(
        request, user, task_id, **retry, error=message, error_style="info", status=409
    )


@router.post(TASK + "/done")
async def mark_done(task_id: TaskId, request: Request, user: PageUser) -> Response:
    """Close a task whose plan changes nothing ("Mark done — nothing to change")."""
    form = await request.form()
    agreement_id = form_id(form, "agreement_id")
    back: dict[str, Any] = {"agreement_id": agreement_id, "price_source": PriceSource.MARKETPLACE}
    if agreement_id is None:
        error = "Choose the agreement that needs nothing changed."
        return await _wizard(request, user, task_id, **back, error=error, status=422)
    try:
        await task_service.mark_done(
            services_of(request), user.actor, task_id, agreement_id=agreement_id
        )
    except (Invalid, Conflict, UpstreamFailed) as failure:
        status = 502 if isinstance(failure, UpstreamFailed) else 409
        return await _wizard(
            request, user, task_id, **back, error=_sentence(failure.message), status=status
        )
    return see_other(task_url(task_id, done=1), request)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


@router.post(TASK + "/map-customer")
async def map_customer(task_id: TaskId, request: Request, user: PageUser) -> Response:
    services = services_of(request)
    form = await request.form()
    company_id = form_id(form, "company_id")
    view = await task_service.get_task(services, user.actor, task_id)
    back: dict[str, Any] = {"agreement_id": None, "price_source": PriceSource.MARKETPLACE}
    if company_id is None:
        error = "Choose the ConnectWise company of this customer."
        return await _wizard(request, user, task_id, **back, error=error, status=422)
    try:
        await mappings.map_customers(services, user.actor, [(view.customer_id, company_id)])
    except (Invalid, UpstreamFailed) as failure:
        return await _wizard(
            request, user, task_id, **back, error=_sentence(failure.message), status=422
        )
    return see_other(task_url(task_id, mapped="customer"), request)


@router.post(TASK + "/map-product")
async def map_product(task_id: TaskId, request: Request, user: PageUser) -> Response:
    services = services_of(request)
    form = await request.form()
    mpn = str(form.get("mpn") or "")
    item_id = form_id(form, "catalog_item_id")
    agreement_id = form_id(form, "agreement_id")
    price_source = _price_source(str(form.get("price_source") or ""))
    back: dict[str, Any] = {"agreement_id": agreement_id, "price_source": price_source}
    if not 1 <= len(mpn) <= MAX_MPN:
        error = "Choose the product to map."
        return await _wizard(request, user, task_id, **back, error=error, status=422)
    if item_id is None:
        return await _wizard(
            request, user, task_id, **back, error=f"Choose a catalog item for {mpn}.", status=422
        )
    setup_items, setup_error = setup_item_of(form, mpn)
    if setup_error:
        return await _wizard(request, user, task_id, **back, error=setup_error, status=422)
    try:
        await mappings.map_products(services, user.actor, [(mpn, item_id)], setup_items=setup_items)
    except (Invalid, UpstreamFailed) as failure:
        return await _wizard(
            request, user, task_id, **back, error=_sentence(failure.message), status=422
        )
    return see_other(
        task_url(task_id, agreement=agreement_id, source=price_source.value, mapped="product"),
        request,
    )
