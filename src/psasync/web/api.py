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
from psasync.web.schemas_jobs import JobSubmittedOut
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
) -> schemas.LoginResponse:
    """Log in with Cloud Marketplace credentials; sets the session cookie."""
    user = await auth.login(
        services, marketplace=body.marketplace, username=body.username, password=body.password
    )
    set_session_cookie(request, response, user)
    return schemas.LoginResponse.of(user)


@router.post("/auth/logout", status_code=204, tags=["auth"])
async def logout(user: CurrentUser, response: Response, services: ServicesDep) -> Response:
    """End the session in every process (its row is deleted) and clear the cookie."""
    await auth.logout(services, user.id)
    clear_session_cookie(response)
    response.status_code = 204
    return response


@router.get("/auth/session", response_model=schemas.LoginResponse, tags=["auth"])
async def whoami(user: CurrentUser) -> schemas.LoginResponse:
    """Who is logged in, and the token form posts carry."""
    return schemas.LoginResponse.of(user)


@router.get("/integrations", response_model=list[schemas.Tile], tags=["integrations"])
async def list_integrations(user: CurrentUser, services: ServicesDep) -> list[schemas.Tile]:
    """The PSA tiles with their state."""
    tiles = await integrations.integrations(services, user.actor)
    return [schemas.Tile.of(tile) for tile in tiles]


@router.put("/integrations/connectwise", response_model=schemas.Tile, tags=["integrations"])
async def configure_connectwise(
    body: schemas.ConnectWiseSettingsRequest, user: CurrentUser, services: ServicesDep
) -> schemas.Tile:
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
    return schemas.Tile.of(tile)


@router.put("/integrations/autotask", response_model=schemas.Tile, tags=["integrations"])
async def configure_autotask(
    body: schemas.AutotaskSettingsRequest, user: CurrentUser, services: ServicesDep
) -> schemas.Tile:
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
    return schemas.Tile.of(tile)


@router.post("/connectwise/check-changes", response_model=schemas.CheckChangesOut, tags=["tasks"])
async def run_check_changes(user: CurrentUser, services: ServicesDep) -> schemas.CheckChangesOut:
    """New completed marketplace orders become tasks; `created` counts them."""
    return schemas.CheckChangesOut.of(await check_changes.check_changes(services, user.actor))


@router.get("/connectwise/tasks", response_model=schemas.TaskPageOut, tags=["tasks"])
async def list_tasks(
    user: CurrentUser,
    services: ServicesDep,
    status: Text = None,
    order_type: Annotated[str | None, Query(alias="orderType", max_length=200)] = None,
    q: Text = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> schemas.TaskPageOut:
    """The tasks, newest order first; `q` searches customer name or id and order number."""
    wanted = task_service.task_filter(
        status=status, order_type=order_type, query=q, limit=limit, offset=offset
    )
    page = await task_service.list_tasks(services, user.actor, wanted)
    return schemas.TaskPageOut.of(page)


@router.get("/connectwise/tasks/{task_id}", response_model=schemas.TaskDetailOut, tags=["tasks"])
async def get_task(
    task_id: TaskId, user: CurrentUser, services: ServicesDep
) -> schemas.TaskDetailOut:
    detail = await task_service.get_task_detail(services, user.actor, task_id)
    return schemas.TaskDetailOut.of(detail)


@router.post("/connectwise/tasks/{task_id}/ignore", response_model=schemas.TaskItem, tags=["tasks"])
async def ignore(task_id: TaskId, user: CurrentUser, services: ServicesDep) -> schemas.TaskItem:
    return schemas.TaskItem.of(await task_service.ignore_task(services, user.actor, task_id))


@router.post(
    "/connectwise/tasks/{task_id}/unignore", response_model=schemas.TaskItem, tags=["tasks"]
)
async def unignore(task_id: TaskId, user: CurrentUser, services: ServicesDep) -> schemas.TaskItem:
    return schemas.TaskItem.of(await task_service.unignore_task(services, user.actor, task_id))


@router.get(
    "/connectwise/tasks/{task_id}/agreements",
    response_model=list[schemas.AgreementOut],
    tags=["sync"],
)
async def agreements(
    task_id: TaskId, user: CurrentUser, services: ServicesDep
) -> list[schemas.AgreementOut]:
    """The customer's agreements; ineligible ones carry their reasons."""
    choices = await planning.agreements(services, user.actor, task_id)
    return [schemas.AgreementOut.of(choice) for choice in choices]


@router.post(
    "/connectwise/tasks/{task_id}/preview", response_model=schemas.PreviewOut, tags=["sync"]
)
async def preview(
    task_id: TaskId, body: schemas.PlanRequest, user: CurrentUser, services: ServicesDep
) -> schemas.PreviewOut:
    """What Sync would do, with the prorated and recurring amounts; nothing is written."""
    plan = await planning.preview(
        services,
        user.actor,
        task_id,
        agreement_id=body.agreement_id,
        price_source=body.price_source,
        reviewed=body.reviewed(),
    )
    return schemas.PreviewOut.of(plan)


@router.post("/connectwise/tasks/{task_id}/sync", response_model=schemas.SyncOut, tags=["sync"])
async def sync(
    task_id: TaskId, body: schemas.PlanRequest, user: CurrentUser, services: ServicesDep
) -> schemas.SyncOut:
    """Apply the reviewed plan (`additions` omitted: as previewed). Repeated: 409."""
    outcome = await sync_service.sync(
        services,
        user.actor,
        task_id,
        agreement_id=body.agreement_id,
        price_source=body.price_source,
        reviewed=body.reviewed(),
    )
    return schemas.SyncOut.of(outcome)


@router.get(
    "/connectwise/mappings/customers",
    response_model=list[schemas.CustomerMappingOut],
    tags=["mappings"],
)
async def customer_mappings(
    user: CurrentUser, services: ServicesDep
) -> list[schemas.CustomerMappingOut]:
    """Every customer seen, with its ConnectWise company (matched by exact name if possible)."""
    views = await mappings.customer_mappings(services, user.actor)
    return [schemas.CustomerMappingOut.of(view) for view in views]


@router.put(
    "/connectwise/mappings/customers",
    response_model=list[schemas.CustomerMappingOut],
    tags=["mappings"],
)
async def map_customers(
    body: schemas.CustomerMappings, user: CurrentUser, services: ServicesDep
) -> list[schemas.CustomerMappingOut]:
    pairs = [(item.customer_id, item.company_id) for item in body]
    views = await mappings.map_customers(services, user.actor, pairs)
    return [schemas.CustomerMappingOut.of(view) for view in views]


@router.get(
    "/connectwise/mappings/products",
    response_model=list[schemas.ProductMappingOut],
    tags=["mappings"],
)
async def product_mappings(
    user: CurrentUser, services: ServicesDep
) -> list[schemas.ProductMappingOut]:
    views = await mappings.product_mappings(services, user.actor)
    return [schemas.ProductMappingOut.of(view) for view in views]


@router.put(
    "/connectwise/mappings/products",
    response_model=list[schemas.ProductMappingOut],
    tags=["mappings"],
)
async def map_products(
    body: schemas.ProductMappings, user: CurrentUser, services: ServicesDep
) -> list[schemas.ProductMappingOut]:
    pairs = [(item.mpn, item.catalog_item_id) for item in body]
    setup_items = {item.mpn: item.setup_catalog_item_id for item in body if item.names_setup_item}
    views = await mappings.map_products(services, user.actor, pairs, setup_items=setup_items)
    return [schemas.ProductMappingOut.of(view) for view in views]


@router.get("/connectwise/history", response_model=schemas.HistoryPageOut, tags=["history"])
async def sync_history(
    user: CurrentUser,
    services: ServicesDep,
    task_id: Annotated[int | None, Query(alias="taskId", ge=1, le=MAX_ID)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> schemas.HistoryPageOut:
    """Who synced what, when, with which result; newest first."""
    page = await history.history(services, user.actor, task_id=task_id, limit=limit, offset=offset)
    return schemas.HistoryPageOut.of(page)


@router.get("/connectwise/automation", response_model=schemas.AutomationOut, tags=["automation"])
async def automation_settings(user: CurrentUser, services: ServicesDep) -> schemas.AutomationOut:
    """The schedule, the auto-sync policy, the recipients, the integration user (only who set
    it and when), the last run and the next one."""
    settings = await automation.automation_settings(services, user.actor)
    return schemas.AutomationOut.of(settings, await unattended.last_run(services, user.actor))


@router.put("/connectwise/automation", response_model=schemas.AutomationOut, tags=["automation"])
async def configure_automation(
    body: schemas.AutomationRequest, user: CurrentUser, services: ServicesDep
) -> schemas.AutomationOut:
    """Each part sent is changed, an absent one kept. `marketplaceUser: {username, password}`
    is checked against the marketplace (same reseller) and stored encrypted, never returned;
    `null` forgets it. Anything refused is a 422 naming the field, and nothing is stored."""
    settings = await automation.change_settings(services, user.actor, body.change())
    return schemas.AutomationOut.of(settings, await unattended.last_run(services, user.actor))


@router.post(
    "/connectwise/automation/run",
    status_code=202,
    response_model=JobSubmittedOut,
    tags=["automation"],
)
async def run_automation_now(user: CurrentUser, services: ServicesDep) -> JobSubmittedOut:
    """The unattended run (Check Changes, auto-sync, notify) now, exactly as the schedule runs
    it; follow it at `GET /api/v1/jobs/{id}`. 409 when one is already waiting."""
    job = await unattended.submit_run(services, user.actor)
    return JobSubmittedOut.of(job)


__all__ = ["router", "session_of"]
