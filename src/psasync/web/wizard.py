"""The Sync Changes wizard of one task: map the customer (and products) if needed, choose the
agreement, review and edit the additions, confirm, Sync.

The page is rebuilt from the services on every step, so what it shows is what Sync would do:
the preview and the sync run the same planning code. Nothing the reseller typed is lost when a
step comes back with errors.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from psasync.services import Services, history, mappings, planning
from psasync.services import sync as sync_service
from psasync.services import tasks as task_service
from psasync.services.errors import Conflict, CustomerNotMapped, Invalid, UpstreamFailed
from psasync.services.integrations import IntegrationState
from psasync.services.sessions import UserSession
from psasync.services.tasks import TaskView
from psasync.services.types import NoticeCode, Plan, PriceSource, ReviewedAddition, TaskStatus
from psasync.web.bounds import MAX_ID
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
    editable,
    overlay,
    parse_rows,
    read_rows,
    rows_of,
    service_problems,
)
from psasync.web.session import clean_query, services_of
from psasync.web.templating import form_id, render, see_other, with_query

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
) -> Response:
    return await _wizard(
        request,
        user,
        task_id,
        agreement_id=agreement,
        price_source=_price_source(source),
        company_q=company_q,
        catalog_q=catalog_q,
    )


class _Step:
    """What the wizard renders: the context grows as the steps succeed."""

    def __init__(self, request: Request, context: dict[str, Any]) -> None:
        self.request = request
        self.context = context
        self.status = 200

    def fail(self, message: str, status: int, **more: Any) -> None:
        self.context.update(error=message, **more)
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
            "error": error,
            "busy_until": _busy_until(services, view),
        },
    )
    step.status = status
    if view.status in (TaskStatus.SYNCED, TaskStatus.FAILED):
        step.context["runs"] = (await history.history(services, user.actor, task_id=task_id)).items
    if view.status in (TaskStatus.SYNCED, TaskStatus.IGNORED):
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
            reasons=[reason.message for reason in chosen.eligibility.reasons],
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
    step.context.update(
        plan=plan,
        lines=[
            (action, row, editable(action)) for action, row in zip(plan.actions, rows, strict=True)
        ],
        loose_errors=loose,
        has_errors=bool(loose) or any(row.errors for row in rows),
    )
    if step.context["has_errors"] and step.status == 200:
        step.status = 422
    step.context["confirm"] = confirm and not step.context["has_errors"] and not plan.blocked
    return step.page()


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
                return plan, rows_of(plan), []
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
    """Recalculate with the edits; with ``intent=sync``, ask to confirm the Sync."""
    agreement_id, price_source, rows, reviewed, problems = await _submitted(request)
    intent = str((await request.form()).get("intent") or "preview")
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


@router.post(TASK + "/sync")
async def sync(task_id: TaskId, request: Request, user: PageUser) -> Response:
    agreement_id, price_source, rows, reviewed, problems = await _submitted(request)
    retry: dict[str, Any] = {
        "agreement_id": agreement_id,
        "price_source": price_source,
        "sent": rows,
        "reviewed": reviewed,
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
            reviewed=reviewed,
        )
    except Invalid as failure:
        found = service_problems(failure.details)
        if found:
            return await _wizard(request, user, task_id, **retry, problems=found, status=422)
        return await _wizard(request, user, task_id, **retry, error=failure.message, status=422)
    except Conflict as failure:
        return await _wizard(request, user, task_id, **retry, error=failure.message, status=409)
    except UpstreamFailed as failure:
        message = (
            f"{failure.message} Nothing is lost: what reached ConnectWise is recorded, and "
            "Sync again finishes the rest without writing anything twice."
        )
        return await _wizard(request, user, task_id, **retry, error=message, status=502)
    return see_other(task_url(task_id, synced=1), request)


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
        return await _wizard(request, user, task_id, **back, error=failure.message, status=422)
    return see_other(task_url(task_id), request)


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
        return await _wizard(request, user, task_id, **back, error=failure.message, status=422)
    return see_other(task_url(task_id, agreement=agreement_id, source=price_source.value), request)
