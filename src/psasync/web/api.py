"""REST API handlers under ``/api/v1`` (DESIGN.md §4): thin — parse, call a use case, answer."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from psasync.services import (
    auth,
    automation,
    check_changes,
    history,
    integrations,
    mappings,
    planning,
    unattended,
)
from psasync.services import sync as sync_service
from psasync.services import tasks as task_service
from psasync.web import schemas
from psasync.web.bounds import MAX_ID, MAX_LIMIT, MAX_OFFSET
from psasync.web.schemas import (
    agreement_json,
    automation_json,
    check_json,
    order_json,
    plan_json,
    sync_json,
    task_json,
)
from psasync.web.schemas_jobs import job_json
from psasync.web.session import (
    CurrentUser,
    ServicesDep,
    clean_query,
    clear_session_cookie,
    session_of,
    set_session_cookie,
)

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": schemas.ErrorOut, "description": meaning}
    for status, meaning in {
        400: "Bad request",
        401: "Not logged in, or invalid marketplace credentials",
        403: "Forbidden",
        404: "Not found (another reseller's objects included)",
        409: "Conflict with the current state",
        422: "Invalid input; details name the fields or reasons; nothing was written",
        502: "A vendor API failed",
    }.items()
}

router = APIRouter(prefix="/api/v1", responses=ERRORS, dependencies=[Depends(clean_query)])
# Ids in paths and queries are ConnectWise's 32-bit record ids; anything else is a 422.
TaskId = Annotated[int, Path(ge=1, le=MAX_ID)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]
Text = Annotated[str | None, Query(max_length=200)]


@router.post("/auth/login", response_model=schemas.LoginResponse, tags=["auth"])
async def login(
    body: schemas.LoginRequest, request: Request, response: Response, services: ServicesDep
) -> dict[str, Any]:
    """Log in with Cloud Marketplace credentials; sets the session cookie."""
    user = await auth.login(
        services, marketplace=body.marketplace, username=body.username, password=body.password
    )
    set_session_cookie(request, response, user)
    return {
        "reseller": {"id": user.reseller_id, "name": user.reseller_name},
        "marketplace": user.marketplace,
        "username": user.username,
        "csrfToken": user.csrf_token,
    }


@router.post("/auth/logout", status_code=204, tags=["auth"])
async def logout(user: CurrentUser, response: Response, services: ServicesDep) -> Response:
    """End the session in every process (its row is deleted) and clear the cookie."""
    await auth.logout(services, user.id)
    clear_session_cookie(response)
    response.status_code = 204
    return response


@router.get("/auth/session", response_model=schemas.LoginResponse, tags=["auth"])
async def whoami(user: CurrentUser) -> dict[str, Any]:
    """Who is logged in, and the token form posts carry."""
    return {
        "reseller": {"id": user.reseller_id, "name": user.reseller_name},
        "marketplace": user.marketplace,
        "username": user.username,
        "csrfToken": user.csrf_token,
    }


@router.get("/integrations", response_model=list[schemas.Tile], tags=["integrations"])
async def list_integrations(user: CurrentUser, services: ServicesDep) -> list[dict[str, Any]]:
    """The PSA tiles with their state."""
    return [_tile(tile) for tile in await integrations.integrations(services, user.actor)]


def _tile(tile: integrations.IntegrationTile) -> dict[str, Any]:
    return {
        "id": tile.id,
        "name": tile.name,
        "state": tile.state.value,
        "message": tile.message,
        "siteUrl": tile.site_url,
        "companyId": tile.company_id,
        "inUse": tile.in_use,
        "username": tile.username,
        "zoneUrl": tile.zone_url,
    }


@router.put("/integrations/connectwise", response_model=schemas.Tile, tags=["integrations"])
async def configure_connectwise(
    body: schemas.ConnectWiseSettingsRequest, user: CurrentUser, services: ServicesDep
) -> dict[str, Any]:
    """Check the keys against ConnectWise, then store them (the private key encrypted).
    While Autotask is in use: 409 unless `switch` is true (a tenant uses one PSA at a time)."""
    form = integrations.ConnectWiseForm(
        site_url=body.site_url,
        company_id=body.company_id,
        public_key=body.public_key,
        private_key=body.private_key,
        client_id=body.client_id,
    )
    tile = await integrations.configure_connectwise(services, user.actor, form, switch=body.switch)
    return _tile(tile)


@router.put("/integrations/autotask", response_model=schemas.Tile, tags=["integrations"])
async def configure_autotask(
    body: schemas.AutotaskSettingsRequest, user: CurrentUser, services: ServicesDep
) -> dict[str, Any]:
    """Find the API user's zone (unless `zoneUrl` is given), check the credentials against
    Autotask, then store them (secret and integration code encrypted, never returned); 422 with
    Autotask's reason, nothing stored. While ConnectWise is in use: 409 unless `switch` is
    true (the switch forgets the ConnectWise settings and the mappings)."""
    form = integrations.AutotaskForm(
        username=body.username,
        secret=body.secret,
        integration_code=body.integration_code,
        zone_url=body.zone_url,
    )
    tile = await integrations.configure_autotask(services, user.actor, form, switch=body.switch)
    return _tile(tile)


@router.post("/connectwise/check-changes", response_model=schemas.CheckChangesOut, tags=["tasks"])
async def run_check_changes(user: CurrentUser, services: ServicesDep) -> dict[str, Any]:
    """New completed marketplace orders become tasks; `created` counts them."""
    return check_json(await check_changes.check_changes(services, user.actor))


@router.get("/connectwise/tasks", response_model=schemas.TaskPageOut, tags=["tasks"])
async def list_tasks(
    user: CurrentUser,
    services: ServicesDep,
    status: Text = None,
    order_type: Annotated[str | None, Query(alias="orderType", max_length=200)] = None,
    q: Text = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    """The tasks, newest order first; `q` searches customer name or id and order number."""
    wanted = task_service.task_filter(
        status=status, order_type=order_type, query=q, limit=limit, offset=offset
    )
    page = await task_service.list_tasks(services, user.actor, wanted)
    return {"items": [task_json(task) for task in page.items], "total": page.total}


@router.get("/connectwise/tasks/{task_id}", response_model=schemas.TaskDetailOut, tags=["tasks"])
async def get_task(task_id: TaskId, user: CurrentUser, services: ServicesDep) -> dict[str, Any]:
    detail = await task_service.get_task_detail(services, user.actor, task_id)
    return {**task_json(detail.view), "order": order_json(detail.order)}


@router.post("/connectwise/tasks/{task_id}/ignore", response_model=schemas.TaskItem, tags=["tasks"])
async def ignore(task_id: TaskId, user: CurrentUser, services: ServicesDep) -> dict[str, Any]:
    return task_json(await task_service.ignore_task(services, user.actor, task_id))


@router.post(
    "/connectwise/tasks/{task_id}/unignore", response_model=schemas.TaskItem, tags=["tasks"]
)
async def unignore(task_id: TaskId, user: CurrentUser, services: ServicesDep) -> dict[str, Any]:
    return task_json(await task_service.unignore_task(services, user.actor, task_id))


@router.get(
    "/connectwise/tasks/{task_id}/agreements",
    response_model=list[schemas.AgreementOut],
    tags=["sync"],
)
async def agreements(
    task_id: TaskId, user: CurrentUser, services: ServicesDep
) -> list[dict[str, Any]]:
    """The customer's agreements; ineligible ones carry their reasons."""
    return [agreement_json(c) for c in await planning.agreements(services, user.actor, task_id)]


@router.post(
    "/connectwise/tasks/{task_id}/preview", response_model=schemas.PreviewOut, tags=["sync"]
)
async def preview(
    task_id: TaskId, body: schemas.PlanRequest, user: CurrentUser, services: ServicesDep
) -> dict[str, Any]:
    """What Sync would do, with the prorated and recurring amounts; nothing is written."""
    plan = await planning.preview(
        services,
        user.actor,
        task_id,
        agreement_id=body.agreement_id,
        price_source=body.price_source,
        reviewed=body.reviewed(),
    )
    return plan_json(plan)


@router.post("/connectwise/tasks/{task_id}/sync", response_model=schemas.SyncOut, tags=["sync"])
async def sync(
    task_id: TaskId, body: schemas.PlanRequest, user: CurrentUser, services: ServicesDep
) -> dict[str, Any]:
    """Apply the reviewed plan (`additions` omitted: as previewed). Repeated: 409."""
    outcome = await sync_service.sync(
        services,
        user.actor,
        task_id,
        agreement_id=body.agreement_id,
        price_source=body.price_source,
        reviewed=body.reviewed(),
    )
    return sync_json(outcome)


@router.get(
    "/connectwise/mappings/customers",
    response_model=list[schemas.CustomerMappingOut],
    tags=["mappings"],
)
async def customer_mappings(user: CurrentUser, services: ServicesDep) -> list[dict[str, Any]]:
    """Every customer seen, with its ConnectWise company (matched by exact name if possible)."""
    return [_customer(view) for view in await mappings.customer_mappings(services, user.actor)]


@router.put(
    "/connectwise/mappings/customers",
    response_model=list[schemas.CustomerMappingOut],
    tags=["mappings"],
)
async def map_customers(
    body: schemas.CustomerMappings, user: CurrentUser, services: ServicesDep
) -> list[dict[str, Any]]:
    pairs = [(item.customer_id, item.company_id) for item in body]
    return [_customer(view) for view in await mappings.map_customers(services, user.actor, pairs)]


def _customer(view: mappings.CustomerMappingView) -> dict[str, Any]:
    return {
        "customerId": view.customer_id,
        "customerName": view.customer_name,
        "companyId": view.company_id,
        "companyName": view.company_name,
        "source": view.source.value if view.source else None,
    }


@router.get(
    "/connectwise/mappings/products",
    response_model=list[schemas.ProductMappingOut],
    tags=["mappings"],
)
async def product_mappings(user: CurrentUser, services: ServicesDep) -> list[dict[str, Any]]:
    return [_product(view) for view in await mappings.product_mappings(services, user.actor)]


@router.put(
    "/connectwise/mappings/products",
    response_model=list[schemas.ProductMappingOut],
    tags=["mappings"],
)
async def map_products(
    body: schemas.ProductMappings, user: CurrentUser, services: ServicesDep
) -> list[dict[str, Any]]:
    pairs = [(item.mpn, item.catalog_item_id) for item in body]
    setup_items = {item.mpn: item.setup_catalog_item_id for item in body if item.names_setup_item}
    views = await mappings.map_products(services, user.actor, pairs, setup_items=setup_items)
    return [_product(view) for view in views]


def _product(view: mappings.ProductMappingView) -> dict[str, Any]:
    return {
        "mpn": view.mpn,
        "catalogItemId": view.catalog_item_id,
        "identifier": view.identifier,
        "source": view.source.value if view.source else None,
        "setupCatalogItemId": view.setup_catalog_item_id,
        "setupIdentifier": view.setup_identifier,
    }


@router.get("/connectwise/history", response_model=schemas.HistoryPageOut, tags=["history"])
async def sync_history(
    user: CurrentUser,
    services: ServicesDep,
    task_id: Annotated[int | None, Query(alias="taskId", ge=1, le=MAX_ID)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Who synced what, when, with which result; newest first."""
    page = await history.history(services, user.actor, task_id=task_id, limit=limit, offset=offset)
    return {
        "items": [
            {
                **sync_json(entry.outcome),
                "user": entry.run.user,
                "outcome": entry.run.outcome,
                "error": entry.run.error,
                "startedAt": entry.run.started_at,
                "finishedAt": entry.run.finished_at,
                "priceSource": entry.run.price_source,
            }
            for entry in page.items
        ],
        "total": page.total,
    }


@router.get("/connectwise/automation", response_model=schemas.AutomationOut, tags=["automation"])
async def automation_settings(user: CurrentUser, services: ServicesDep) -> dict[str, Any]:
    """The schedule, the auto-sync policy, the recipients, the integration user (only who set
    it and when), the last run and the next one."""
    settings = await automation.automation_settings(services, user.actor)
    return automation_json(settings, await unattended.last_run(services, user.actor))


@router.put("/connectwise/automation", response_model=schemas.AutomationOut, tags=["automation"])
async def configure_automation(
    body: schemas.AutomationRequest, user: CurrentUser, services: ServicesDep
) -> dict[str, Any]:
    """Each part sent is changed, an absent one kept. `marketplaceUser: {username, password}`
    is checked against the marketplace (same reseller) and stored encrypted, never returned;
    `null` forgets it. Anything refused is a 422 naming the field, and nothing is stored."""
    settings = await automation.change_settings(services, user.actor, body.change())
    return automation_json(settings, await unattended.last_run(services, user.actor))


@router.post(
    "/connectwise/automation/run",
    status_code=202,
    response_model=schemas.AutomationRunOut,
    tags=["automation"],
)
async def run_automation_now(user: CurrentUser, services: ServicesDep) -> dict[str, Any]:
    """The unattended run (Check Changes, auto-sync, notify) now, exactly as the schedule runs
    it; follow it at `GET /api/v1/jobs/{id}`. 409 when one is already waiting."""
    job = await unattended.submit_run(services, user.actor)
    return {"job": job_json(job)}


__all__ = ["router", "session_of"]
