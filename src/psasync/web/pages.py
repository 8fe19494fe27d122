"""The pages a reseller uses (DESIGN.md §4 "Pages"): server-rendered, enhanced by htmx, on the
same session and use cases as the REST API.

Every form works without JavaScript (a post answers with a redirect or the page again); htmx
only swaps the part of the page that changed. A page whose session is missing sends the
browser to the login page and back.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from psasync.services import (
    auth,
    automation,
    check_changes,
    history,
    integrations,
    mappings,
    unattended,
)
from psasync.services import tasks as task_service
from psasync.services.automation import Every
from psasync.services.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    Invalid,
    NotAuthenticated,
    ServiceError,
    UpstreamFailed,
)
from psasync.services.integrations import IntegrationState, IntegrationTile
from psasync.services.sessions import UserSession
from psasync.services.types import OrderType, PriceSource, TaskStatus
from psasync.web.bounds import MAX_ID, MAX_OFFSET, OutOfBounds, clean_text, parse_amount
from psasync.web.formatting import PAGE_HELPERS, run_lines
from psasync.web.session import (
    check_csrf,
    clean_query,
    clear_session_cookie,
    keep_renewed_token,
    load_session,
    services_of,
    set_session_cookie,
)
from psasync.web.templating import (
    AUTOTASK_PAGES,
    form_id,
    psa_page,
    render,
    see_other,
    with_query,
)

router = APIRouter(include_in_schema=False, dependencies=[Depends(clean_query)])
# Task ids in addresses are 32-bit record ids, offsets at most 10^9: beyond, a 422 page.
TaskId = Annotated[int, Path(ge=1, le=MAX_ID)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]
Filter = Annotated[str | None, Query(max_length=200)]
# Form fields naming a marketplace customer or product are at most this long (as in the API).
MAX_CUSTOMER_ID = 64
MAX_MPN = 200
# The integration user's fields are as long as a login's (docs/api.md).
MAX_USERNAME = 300
MAX_PASSWORD = 1000
DASHBOARD = "/integrations/connectwise"
SETTINGS = "/integrations/connectwise/settings"
AUTOMATION = "/integrations/connectwise/automation"
AUTOTASK = "/integrations/autotask"
AUTOTASK_SETTINGS = "/integrations/autotask/settings"
# The Autotask settings page: its own form, reachable whichever PSA the tenant uses (web.app
# serves every other ConnectWise page under /integrations/autotask too).
autotask_router = APIRouter(include_in_schema=False, dependencies=[Depends(clean_query)])
TASKS_PER_PAGE = 25
HISTORY_PER_PAGE = 25


class LoginRequired(Exception):
    """A page was asked for without a session: the browser goes to the login page."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


async def page_user(request: Request) -> AsyncIterator[UserSession]:
    """The logged-in user of a page; a post must also carry the session's form token."""
    user = await load_session(request)
    if user is None:
        query = f"?{request.url.query}" if request.url.query else ""
        if request.method == "GET":
            raise LoginRequired(request.url.path + query)
        raise LoginRequired(await _review_to_resume(request))
    if request.method != "GET":
        await check_csrf(request, user)
        await _clean_form(request)
    try:
        yield user
    finally:
        await keep_renewed_token(request, user)


# A review posted after the session ended comes back through the login as the query of
# GET …/tasks/{id}/review (psasync.web.wizard); longer forms than this go back to the task.
_REVIEW_POST = re.compile(r"^(/integrations/connectwise/tasks/[0-9]{1,10})/(review|sync)$")
MAX_RESUME = 6000
RESUMED = "resumed"


async def _review_to_resume(request: Request) -> str:
    """Where the login leads back to after a post without a session: for the Sync Changes
    review, the review with what the reseller had typed (a query, so nothing is stored and
    nothing is synced on the way back); for any other post, nowhere in particular."""
    found = _REVIEW_POST.match(request.url.path)
    if found is None:
        return ""
    try:
        form = await request.form()
    except Exception:  # a body that is no form: back to the task only
        return found.group(1)
    kept = [
        (name, value)
        for name, value in form.multi_items()
        if isinstance(value, str) and name not in ("csrf_token", "intent") and clean_text(value)
    ]
    address = f"{found.group(1)}/review?{urlencode([*kept, (RESUMED, '1')])}"
    return address if len(address) <= MAX_RESUME else found.group(1)


async def _clean_form(request: Request) -> None:
    """A form with control characters in a field is refused (400) before any handler reads it."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return
    for name, value in (await request.form()).multi_items():
        if not clean_text(name) or (isinstance(value, str) and not clean_text(value)):
            raise BadRequest(
                "The form carries control characters; remove them and try again.",
                code="InvalidForm",
            )


PageUser = Annotated[UserSession, Depends(page_user)]


def login_redirect(request: Request, error: Exception) -> Response:
    assert isinstance(error, LoginRequired)  # noqa: S101 - registered for this class only
    return see_other(with_query("/login", next=error.next_url or None), request)


def _sentence(text: str) -> str:
    """A service's message as a sentence on a page: capital first, full stop last."""
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")


def _safe_next(value: str | None) -> str:
    """Only a path on this site: never an address that sends a fresh login elsewhere."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/integrations"


# Login -----------------------------------------------------------------------------------------


@router.get("/")
async def home(request: Request) -> Response:
    return see_other("/integrations" if await load_session(request) else "/login")


@router.get("/login")
async def login_page(request: Request, next: str | None = None) -> Response:  # noqa: A002
    if await load_session(request) is not None:
        return see_other(_safe_next(next))
    if next and f"{RESUMED}=1" in next and "/review?" in next:
        return _login_form(
            request,
            next_url=next,
            error=(
                "Your session ended before the Sync. Log in again: your review comes back as "
                "you left it, and nothing has been synced."
            ),
            error_kind="session",
        )
    return _login_form(request, next_url=next)


def _login_form(
    request: Request,
    *,
    next_url: str | None = None,
    error: str | None = None,
    error_kind: str | None = None,
    username: str = "",
    marketplace: str | None = None,
    status: int = 200,
) -> Response:
    configured = services_of(request).settings.marketplaces
    return render(
        request,
        "login.html",
        {
            "marketplaces": configured,
            "chosen": marketplace or (configured[0].code if configured else ""),
            "username": username,
            "next_url": _safe_next(next_url) if next_url else "",
            "error": error,
            "error_kind": error_kind,
        },
        status=status,
    )


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    marketplace = str(form.get("marketplace") or "")
    username = str(form.get("username") or "").strip()
    password = str(form.get("password") or "")
    next_url = str(form.get("next") or "") or None
    retry: dict[str, Any] = {"next_url": next_url, "username": username, "marketplace": marketplace}
    if not username or not password:
        return _login_form(
            request,
            **retry,
            error="Enter your Cloud Marketplace username and password.",
            error_kind="missing",
            status=422,
        )
    services = services_of(request)
    try:
        user = await auth.login(
            services, marketplace=marketplace, username=username, password=password
        )
    except NotAuthenticated:
        name = _marketplace_name(request, marketplace)
        return _login_form(
            request,
            **retry,
            error=f"{name} did not accept this username and password. Check them and try again.",
            error_kind="credentials",
            status=401,
        )
    except UpstreamFailed as error:
        name = _marketplace_name(request, marketplace)
        return _login_form(
            request,
            **retry,
            error=(
                f"{name} cannot be reached right now, so nobody can log in. Your password was "
                f"not checked; try again in a few minutes. ({error.message})"
            ),
            error_kind="unreachable",
            status=502,
        )
    except ServiceError as error:
        return _login_form(request, **retry, error=error.message, error_kind="other", status=400)
    response = see_other(_safe_next(next_url))
    set_session_cookie(request, response, user)
    return response


def _marketplace_name(request: Request, code: str) -> str:
    found = services_of(request).settings.marketplace(code)
    return found.name if found else "The Cloud Marketplace"


@router.post("/logout")
async def logout(request: Request, user: PageUser) -> Response:
    await auth.logout(services_of(request), user.id)
    response = see_other("/login")
    clear_session_cookie(response)
    return response


# PSA Integrations and ConnectWise settings ----------------------------------------------------


def page_psa(request: Request) -> str:
    """The PSA a page's address names: ``autotask`` under /integrations/autotask, else
    ``connectwise``."""
    return "autotask" if psa_page(request.url.path) is AUTOTASK_PAGES else "connectwise"


def dashboard_url(request: Request) -> str:
    """The dashboard of the PSA the page's address names."""
    return f"/integrations/{page_psa(request)}"


async def connectwise_tile(request: Request, user: UserSession) -> IntegrationTile:
    """The tile of the PSA the page's address names (ConnectWise, or Autotask under
    /integrations/autotask)."""
    tiles = await integrations.integrations(services_of(request), user.actor)
    wanted = page_psa(request)
    return next(tile for tile in tiles if tile.id == wanted)


psa_tile = connectwise_tile


@router.get("/integrations")
async def integrations_page(request: Request, user: PageUser) -> Response:
    tiles = await integrations.integrations(services_of(request), user.actor)
    return render(request, "integrations.html", {"tiles": tiles})


@router.get(SETTINGS)
async def settings_page(request: Request, user: PageUser) -> Response:
    tile = await connectwise_tile(request, user)
    values = {
        "site_url": tile.site_url or "",
        "company_id": tile.company_id or "",
        "public_key": tile.public_key or "",
        "client_id": tile.client_id or "",
    }
    return render(request, "settings.html", _settings_context(tile, values))


# The settings form's fields and their longest values (as the API's, docs/api.md).
SETTINGS_FIELDS = {
    "site_url": 300,
    "company_id": 100,
    "public_key": 200,
    "private_key": 200,
    "client_id": 100,
}


def _settings_context(
    tile: IntegrationTile, values: dict[str, str], *, typed_private_key: bool = False
) -> dict[str, Any]:
    """The form's values (never the private key) and what its private key field says: blank
    keeps the stored key; "enter it again" only when a typed key was not saved."""
    return {
        "tile": tile,
        "values": {name: value for name, value in values.items() if name != "private_key"},
        "keeps_private_key": tile.in_use,
        "retype_private_key": typed_private_key,
    }


def _settings_errors(values: dict[str, str], *, keeps_private_key: bool) -> dict[str, str]:
    errors = {}
    for name, longest in SETTINGS_FIELDS.items():
        if not values[name] and not (name == "private_key" and keeps_private_key):
            errors[name] = "Required."
        elif len(values[name]) > longest:
            errors[name] = f"At most {longest} characters."
    return errors


@router.post(SETTINGS)
async def save_settings(request: Request, user: PageUser) -> Response:
    form = await request.form()
    values = {name: str(form.get(name) or "").strip() for name in SETTINGS_FIELDS}
    tile = await connectwise_tile(request, user)
    typed = bool(values["private_key"])
    errors = _settings_errors(values, keeps_private_key=tile.in_use)
    if errors:
        missing = any(not values[name] for name in errors)
        shown = {name: value[: SETTINGS_FIELDS[name]] for name, value in values.items()}
        return render(
            request,
            "settings.html",
            {
                **_settings_context(tile, shown, typed_private_key=typed),
                "field_errors": errors,
                "error": (
                    "Fill in every field: ConnectWise needs all five to let psasync in."
                    if missing
                    else "Some fields are too long for ConnectWise settings."
                ),
            },
            status=422,
        )
    try:
        await integrations.configure_connectwise(
            services_of(request),
            user.actor,
            integrations.ConnectWiseForm(
                site_url=values["site_url"],
                company_id=values["company_id"],
                public_key=values["public_key"],
                private_key=values["private_key"] or None,  # blank: keep the stored key
                client_id=values["client_id"],
            ),
            switch=form.get("switch") == "1",
        )
    except (Invalid, UpstreamFailed, Conflict) as error:
        field_errors = (
            {"private_key": "Enter the private key."} if error.code == "PrivateKeyNeeded" else {}
        )
        return render(
            request,
            "settings.html",
            {
                **_settings_context(tile, values, typed_private_key=typed),
                "field_errors": field_errors,
                "error": settings_problem(error, values["site_url"]),
            },
            status=_settings_status(error),
        )
    return see_other(with_query(DASHBOARD, notice="connected"), request)


def _settings_status(error: ServiceError) -> int:
    if isinstance(error, Conflict):
        return 409
    return 422 if isinstance(error, Invalid) else 502


# Autotask settings -----------------------------------------------------------------------------

# The Autotask form's fields and their longest values (as the API's, docs/api.md).
AUTOTASK_FIELDS = {"username": 256, "secret": 256, "integration_code": 256, "zone_url": 2000}
AUTOTASK_REQUIRED = ("username", "secret", "integration_code")


async def _autotask_context(request: Request, user: UserSession) -> dict[str, Any]:
    tiles = await integrations.integrations(services_of(request), user.actor)
    tile = next(tile for tile in tiles if tile.id == "autotask")
    other = next((t for t in tiles if t.id != "autotask" and t.in_use), None)
    return {"tile": tile, "other": other}


def _autotask_errors(values: dict[str, str]) -> dict[str, str]:
    errors = {}
    for name, longest in AUTOTASK_FIELDS.items():
        if not values[name] and name in AUTOTASK_REQUIRED:
            errors[name] = "Required."
        elif len(values[name]) > longest:
            errors[name] = f"At most {longest} characters."
    return errors


@autotask_router.get(AUTOTASK_SETTINGS)
async def autotask_settings_page(request: Request, user: PageUser) -> Response:
    context = await _autotask_context(request, user)
    tile = context["tile"]
    values = {"username": tile.username or "", "zone_url": tile.zone_url or ""}
    return render(request, "autotask_settings.html", {**context, "values": values})


@autotask_router.post(AUTOTASK_SETTINGS)
async def save_autotask_settings(request: Request, user: PageUser) -> Response:
    form = await request.form()
    values = {name: str(form.get(name) or "").strip() for name in AUTOTASK_FIELDS}
    context = await _autotask_context(request, user)
    errors = _autotask_errors(values)
    shown = {name: value[: AUTOTASK_FIELDS[name]] for name, value in values.items()}
    if errors:
        return render(
            request,
            "autotask_settings.html",
            {
                **context,
                "values": shown,
                "field_errors": errors,
                "error": "Fill in the API user's name, its secret and the integration code.",
            },
            status=422,
        )
    try:
        await integrations.configure_autotask(
            services_of(request),
            user.actor,
            integrations.AutotaskForm(
                username=values["username"],
                secret=values["secret"],
                integration_code=values["integration_code"],
                zone_url=values["zone_url"] or None,
            ),
            switch=form.get("switch") == "1",
        )
    except (Invalid, UpstreamFailed, Conflict) as error:
        return render(
            request,
            "autotask_settings.html",
            {**context, "values": shown, "error": _sentence(_ERRNO.sub(" ", error.message))},
            status=_settings_status(error),
        )
    return see_other(with_query(AUTOTASK, notice="connected"), request)


_ERRNO = re.compile(r"\s*\[Errno -?\d+\]\s*")


def settings_problem(error: ServiceError, site_url: str) -> str:
    """Why the settings check failed, in the reseller's words: no socket or library texts."""
    if error.code == "ConnectWiseUnreachable":
        return (
            f"ConnectWise did not answer at {site_url}. Check the site address; if it is right, "
            "ConnectWise may be down: try again in a few minutes."
        )
    if error.code == "ConnectWiseRefused":
        return (
            "ConnectWise answered but refused these settings: check the company ID and the "
            "client ID (from the ConnectWise developer portal)."
        )
    return _ERRNO.sub(" ", error.message).strip()


# Dashboard -------------------------------------------------------------------------------------

_NOTICES = {
    "connectwise:connected": (
        "ConnectWise is connected: the keys were checked and stored encrypted."
    ),
    "autotask:connected": (
        "Autotask is connected: the API user was checked, and its secret and integration code "
        "stored encrypted."
    ),
}


@router.get(DASHBOARD)
async def dashboard(
    request: Request,
    user: PageUser,
    status: Filter = None,
    type: Filter = None,  # noqa: A002 - the query parameter the filter form sends
    q: Filter = None,
    offset: Offset = 0,
    notice: Filter = None,
) -> Response:
    tile = await connectwise_tile(request, user)
    if tile.state is IntegrationState.NOT_CONFIGURED:
        return see_other(f"{dashboard_url(request)}/settings", request)
    return await _dashboard(
        request,
        user,
        tile,
        status=status,
        order_type=type,
        query=q,
        offset=offset,
        notice=_NOTICES.get(f"{page_psa(request)}:{notice}" if notice else ""),
    )


async def _dashboard(
    request: Request,
    user: UserSession,
    tile: IntegrationTile,
    *,
    status: str | None,
    order_type: str | None,
    query: str | None,
    offset: int,
    notice: str | None = None,
    check: check_changes.CheckResult | None = None,
    check_error: str | None = None,
    bulk_error: str | None = None,
    http_status: int = 200,
) -> Response:
    filters = {"status": status or "", "type": order_type or "", "q": (query or "").strip()}
    try:
        wanted = task_service.task_filter(
            status=status or None,
            order_type=order_type or None,
            query=query,
            limit=TASKS_PER_PAGE,
            offset=offset,
        )
        page = await task_service.list_tasks(services_of(request), user.actor, wanted)
        filter_error = None
    except ServiceError as error:
        page, filter_error = task_service.TaskPage(items=[], total=0), error.message
        http_status = 400
    services = services_of(request)
    synced = [task.id for task in page.items if task.status is TaskStatus.SYNCED]
    return render(
        request,
        "dashboard.html",
        {
            "tile": tile,
            "page": page,
            # Synced tasks whose sync left lines out say so, as their task page does.
            "with_exclusions": await history.synced_with_exclusions(services, user.actor, synced),
            "filters": filters,
            "offset": offset,
            "per_page": TASKS_PER_PAGE,
            "statuses": list(TaskStatus),
            "order_types": list(OrderType),
            "notice": notice,
            "filter_error": filter_error,
            "check": check,
            "check_error": check_error,
            "bulk_error": bulk_error,
            # "Sync all that can be synced" takes the filter's status only if it is one of these.
            "bulk_statuses": ("new", "failed"),
            "page_url": lambda new_offset: with_query(
                dashboard_url(request), **filters, offset=new_offset
            ),
            # The next scheduled check and what the last unattended run did (DESIGN §8).
            "automation": await automation.automation_settings(services, user.actor),
            "last_run": await unattended.last_run(services, user.actor),
        },
        status=http_status,
    )


# The dashboard as the bulk sync buttons show it again when a bulk sync is refused
# (psasync.web.pages_jobs).
render_dashboard = _dashboard


@router.post(f"{DASHBOARD}/check-changes")
async def run_check_changes(request: Request, user: PageUser) -> Response:
    tile = await connectwise_tile(request, user)
    try:
        result = await check_changes.check_changes(services_of(request), user.actor)
        error, status = None, 200
    except ServiceError as failure:
        result, error = None, failure.message
        status = 502 if isinstance(failure, UpstreamFailed) else 409
    return await _dashboard(
        request,
        user,
        tile,
        status=None,
        order_type=None,
        query=None,
        offset=0,
        check=result,
        check_error=error,
        http_status=status,
    )


@router.post(DASHBOARD + "/tasks/{task_id}/ignore")
async def ignore_task(task_id: TaskId, request: Request, user: PageUser) -> Response:
    await task_service.ignore_task(services_of(request), user.actor, task_id)
    return see_other(_back_to_list(request), request)


@router.post(DASHBOARD + "/tasks/{task_id}/unignore")
async def unignore_task(task_id: TaskId, request: Request, user: PageUser) -> Response:
    await task_service.unignore_task(services_of(request), user.actor, task_id)
    form = await request.form()
    back = str(form.get("back") or "")
    return see_other(_safe_next(back) if back else _back_to_list(request), request)


def _back_to_list(request: Request) -> str:
    """The list the reseller was looking at, filters and page kept."""
    referer = request.headers.get("referer") or ""
    dashboard = dashboard_url(request)
    marker = f"{request.url.netloc}{dashboard}"
    if marker in referer:
        return referer.split(request.url.netloc, 1)[1]
    return dashboard


# Mappings --------------------------------------------------------------------------------------


@router.get(DASHBOARD + "/mappings")
async def mappings_page(
    request: Request,
    user: PageUser,
    company_q: Annotated[str, Query(max_length=200)] = "",
    catalog_q: Annotated[str, Query(max_length=200)] = "",
    saved: Filter = None,
    customer: Annotated[str, Query(max_length=MAX_CUSTOMER_ID)] = "",
    mpn: Annotated[str, Query(max_length=MAX_MPN)] = "",
) -> Response:
    return await _mappings(
        request,
        user,
        company_q=company_q,
        catalog_q=catalog_q,
        saved=saved,
        back_to_automatic=(customer, mpn),
    )


# What a mapping put back to automatic is now, by what became of it.
_BACK_TO_AUTOMATIC = {
    ("customer", True): "{name} is automatic again: matched by name to {psa} company {now}.",
    ("customer", False): (
        "{name} is automatic again, and not mapped: no single {psa} company has exactly its "
        "name. Map it by hand, or it is matched when one does."
    ),
    ("product", True): "{name} is automatic again: matched by MPN to catalog item {now}.",
    ("product", False): (
        "{name} is automatic again, and not mapped: no single active catalog item carries this "
        "MPN. Map it by hand, or it is matched on first use when one does."
    ),
}


def _back_to_automatic_notice(
    context: dict[str, Any], psa_name: str, customer_id: str, mpn: str
) -> str | None:
    """The confirmation of a mapping put back to automatic, from its state now."""
    if customer_id:
        found = next((c for c in context["customers"] if c.customer_id == customer_id), None)
        if found is None:
            return None
        name, now = found.customer_name, f"{found.company_name} (#{found.company_id})"
        kind, matched = "customer", found.company_id is not None
    elif mpn:
        product = next((p for p in context["products"] if p.mpn == mpn), None)
        name, now = mpn, f"{product.identifier} (#{product.catalog_item_id})" if product else ""
        kind, matched = "product", product is not None and product.catalog_item_id is not None
    else:
        return None
    return _BACK_TO_AUTOMATIC[kind, matched].format(name=name, now=now, psa=psa_name)


async def _mappings(
    request: Request,
    user: UserSession,
    *,
    company_q: str = "",
    catalog_q: str = "",
    saved: str | None = None,
    error: str | None = None,
    status: int = 200,
    back_to_automatic: tuple[str, str] = ("", ""),
    ask: dict[str, str] | None = None,
) -> Response:
    services = services_of(request)
    tile = await connectwise_tile(request, user)
    if tile.state is IntegrationState.NOT_CONFIGURED:
        return see_other(f"{dashboard_url(request)}/settings", request)
    context: dict[str, Any] = {
        "company_q": company_q,
        "catalog_q": catalog_q,
        "saved": {"customers": "Customer mapping saved.", "products": "Product mapping saved."}.get(
            saved or ""
        ),
        "error": _sentence(error) if error else None,
        "ask": ask,
    }
    try:
        context["customers"] = await mappings.customer_mappings(services, user.actor)
        context["products"] = await mappings.product_mappings(services, user.actor)
        context["companies"] = await mappings.find_companies(services, user.actor, company_q)
        context["catalog"] = await mappings.find_catalog_items(services, user.actor, catalog_q)
    except UpstreamFailed as failure:
        context.update(customers=[], products=[], companies=[], catalog=[])
        context["error"] = failure.message
        status = 502
    if saved == "automatic":
        vendor = tile.name.removesuffix(" PSA")
        context["saved"] = _back_to_automatic_notice(context, vendor, *back_to_automatic)
    return render(request, "mappings.html", context, status=status)


@router.post(DASHBOARD + "/mappings/customers/automatic")
async def customer_back_to_automatic(request: Request, user: PageUser) -> Response:
    """Put a customer mapped by hand back to automatic: first ask, then (``confirmed``) do."""
    form = await request.form()
    customer_id = str(form.get("customer_id") or "")
    if not 1 <= len(customer_id) <= MAX_CUSTOMER_ID:
        return await _mappings(request, user, error="Choose a marketplace customer.", status=422)
    if form.get("confirmed") != "1":
        return await _mappings(request, user, ask={"customer_id": customer_id})
    try:
        await mappings.customer_back_to_automatic(services_of(request), user.actor, customer_id)
    except (Invalid, UpstreamFailed) as error:
        return await _mappings(request, user, error=error.message, status=_settings_status(error))
    page = with_query(f"{dashboard_url(request)}/mappings", saved="automatic", customer=customer_id)
    return see_other(page, request)


@router.post(DASHBOARD + "/mappings/products/automatic")
async def product_back_to_automatic(request: Request, user: PageUser) -> Response:
    """Put a product mapped by hand back to automatic: first ask, then (``confirmed``) do."""
    form = await request.form()
    mpn = str(form.get("mpn") or "")
    if not 1 <= len(mpn) <= MAX_MPN:
        return await _mappings(request, user, error="Choose a marketplace product.", status=422)
    if form.get("confirmed") != "1":
        return await _mappings(request, user, ask={"mpn": mpn})
    try:
        await mappings.product_back_to_automatic(services_of(request), user.actor, mpn)
    except (Invalid, UpstreamFailed) as error:
        return await _mappings(request, user, error=error.message, status=_settings_status(error))
    return see_other(
        with_query(f"{dashboard_url(request)}/mappings", saved="automatic", mpn=mpn), request
    )


@router.post(DASHBOARD + "/mappings/customers")
async def map_customer(request: Request, user: PageUser) -> Response:
    form = await request.form()
    customer_id = str(form.get("customer_id") or "")
    company_id = form_id(form, "company_id")
    if not 1 <= len(customer_id) <= MAX_CUSTOMER_ID:
        return await _mappings(request, user, error="Choose a marketplace customer.", status=422)
    if company_id is None:
        return await _mappings(request, user, error="Choose a ConnectWise company.", status=422)
    try:
        await mappings.map_customers(services_of(request), user.actor, [(customer_id, company_id)])
    except (Invalid, UpstreamFailed) as error:
        return await _mappings(request, user, error=error.message, status=422)
    return see_other(with_query(DASHBOARD + "/mappings", saved="customers"), request)


@router.post(DASHBOARD + "/mappings/products")
async def map_product(request: Request, user: PageUser) -> Response:
    form = await request.form()
    mpn = str(form.get("mpn") or "")
    item_id = form_id(form, "catalog_item_id")
    if not 1 <= len(mpn) <= MAX_MPN:
        return await _mappings(request, user, error="Choose a marketplace product.", status=422)
    if item_id is None:
        return await _mappings(
            request, user, error="Choose a ConnectWise catalog item.", status=422
        )
    setup_items, setup_error = setup_item_of(form, mpn)
    if setup_error:
        return await _mappings(request, user, error=setup_error, status=422)
    try:
        await mappings.map_products(
            services_of(request), user.actor, [(mpn, item_id)], setup_items=setup_items
        )
    except (Invalid, UpstreamFailed) as error:
        return await _mappings(request, user, error=error.message, status=422)
    return see_other(with_query(DASHBOARD + "/mappings", saved="products"), request)


def setup_item_of(form: FormData, mpn: str) -> tuple[dict[str, int | None], str | None]:
    """The setup-fee item a product form names: absent, the product keeps the one it has;
    empty, it has none; else a catalog item id. A value that is no record id is an error."""
    if "setup_catalog_item_id" not in form:
        return {}, None
    value = form.get("setup_catalog_item_id")
    if not (isinstance(value, str) and value.strip()):
        return {mpn: None}, None
    item_id = form_id(form, "setup_catalog_item_id")
    if item_id is None:
        return {}, f"Choose a ConnectWise catalog item as the setup-fee item of {mpn}, or none."
    return {mpn: item_id}, None


# Automation ------------------------------------------------------------------------------------

_AUTOMATION_NOTICES = {
    "set": "The integration user was checked with the Cloud Marketplace and saved encrypted.",
    "forgotten": "The integration user is forgotten: nothing runs unattended now.",
    "saved": "The automation settings are saved.",
    "queued": "The unattended run is queued: Check Changes, auto-sync, then the notification.",
}
# Form fields of the automation settings are at most this long (the API's bounds).
MAX_SETTING = 4000


@router.get(AUTOMATION)
async def automation_page(request: Request, user: PageUser, notice: Filter = None) -> Response:
    return await _automation(request, user, notice=_AUTOMATION_NOTICES.get(notice or ""))


async def _automation(
    request: Request,
    user: UserSession,
    *,
    notice: str | None = None,
    error: str | None = None,
    username: str = "",
    form: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    services = services_of(request)
    settings = await automation.automation_settings(services, user.actor)
    context = {
        "settings": settings,
        "last_run": await unattended.last_run(services, user.actor),
        "why_not": automation.NO_INTEGRATION_USER,
        "notice": notice,
        "error": error,
        "username": username,
        "form": form or _settings_form(settings),
        "every_choices": [("", "Never (run it by hand)"), *((e.value, e.label) for e in Every)],
        "order_types": list(OrderType),
        "price_sources": [
            ("marketplace", "Cloud Marketplace"),
            ("connectwise", f"{psa_page(request.url.path).name} catalog"),
        ],
        "timezones": automation.timezones(),
    }
    return render(request, "automation.html", context, status=status)


def _settings_form(settings: automation.AutomationSettings) -> dict[str, Any]:
    policy = settings.policy
    return {
        "every": settings.every.value if settings.every else "",
        "at": settings.at.strftime("%H:%M") if settings.at else "",
        "timezone": settings.timezone,
        "order_types": [t.value for t in policy.order_types],
        "price_source": policy.price_source.value,
        "allow_credits": policy.allow_credits,
        "max_amount": str(policy.max_amount) if policy.max_amount is not None else "",
        "emails": "\n".join(settings.emails),
        "webhook_url": settings.webhook_url or "",
    }


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip()[:MAX_SETTING] if isinstance(value, str) else ""


@router.post(AUTOMATION + "/settings")
async def save_automation_settings(request: Request, user: PageUser) -> Response:
    form = await request.form()
    typed = {
        "every": _text(form, "every"),
        "at": _text(form, "at"),
        "timezone": _text(form, "timezone") or "UTC",
        "order_types": [v for v in form.getlist("order_types") if isinstance(v, str)],
        "price_source": _text(form, "price_source") or "marketplace",
        "allow_credits": _text(form, "allow_credits") == "true",
        "max_amount": _text(form, "max_amount"),
        "emails": _text(form, "emails"),
        "webhook_url": _text(form, "webhook_url"),
    }
    try:
        change = _settings_change(typed)
        await automation.change_settings(services_of(request), user.actor, change)
    except (Invalid, BadRequest) as refused:
        return await _automation(request, user, error=refused.message, form=typed, status=422)
    return see_other(with_query(AUTOMATION, notice="saved"), request)


def _settings_change(typed: dict[str, Any]) -> automation.SettingsChange:
    every = {e.value: e for e in Every}.get(typed["every"])
    if typed["every"] and every is None:
        raise BadRequest("Choose how often Check Changes runs.", code="InvalidAutomation")
    known_types = {t.value: t for t in OrderType}
    if any(value not in known_types for value in typed["order_types"]):
        raise BadRequest("Choose order types from the list.", code="InvalidAutomation")
    if typed["price_source"] not in ("marketplace", "connectwise"):
        raise BadRequest("Choose where prices come from.", code="InvalidAutomation")
    try:
        amount = parse_amount(typed["max_amount"]) if typed["max_amount"] else None
    except OutOfBounds as error:
        raise BadRequest(f"The limit per task {error}.", code="InvalidAutomation") from None
    emails = [e for e in re.split(r"[\s,;]+", typed["emails"]) if e]
    return automation.SettingsChange(
        schedule=automation.ScheduleChange(
            every=every, at=typed["at"] or None, timezone=typed["timezone"]
        ),
        policy=automation.AutoSyncPolicy(
            order_types=frozenset(known_types[v] for v in typed["order_types"]),
            price_source=PriceSource(typed["price_source"]),
            allow_credits=typed["allow_credits"],
            max_amount=amount,
        ),
        notify=automation.NotifyChange(
            emails=tuple(emails), webhook_url=typed["webhook_url"] or None
        ),
    )


@router.post(AUTOMATION + "/run")
async def run_automation_now(request: Request, user: PageUser) -> Response:
    try:
        await unattended.submit_run(services_of(request), user.actor)
    except (Invalid, Conflict) as refused:
        status = 409 if isinstance(refused, Conflict) else 422
        return await _automation(request, user, error=refused.message, status=status)
    return see_other(with_query(AUTOMATION, notice="queued"), request)


@router.post(AUTOMATION + "/marketplace-user")
async def save_marketplace_user(request: Request, user: PageUser) -> Response:
    form = await request.form()
    username = str(form.get("username") or "").strip()
    password = str(form.get("password") or "")
    if not 1 <= len(username) <= MAX_USERNAME or not 1 <= len(password) <= MAX_PASSWORD:
        username = username[:MAX_USERNAME]
        return await _automation(
            request,
            user,
            error="Enter the integration user's username and password.",
            username=username,
            status=422,
        )
    try:
        await automation.set_integration_user(
            services_of(request), user.actor, username=username, password=password
        )
    except (Invalid, UpstreamFailed, Forbidden) as failure:
        status = 502 if isinstance(failure, UpstreamFailed) else 422
        return await _automation(
            request, user, error=failure.message, username=username, status=status
        )
    return see_other(with_query(AUTOMATION, notice="set"), request)


@router.post(AUTOMATION + "/marketplace-user/forget")
async def forget_marketplace_user(request: Request, user: PageUser) -> Response:
    await automation.forget_integration_user(services_of(request), user.actor)
    return see_other(with_query(AUTOMATION, notice="forgotten"), request)


# History ---------------------------------------------------------------------------------------


@router.get(DASHBOARD + "/history")
async def history_page(request: Request, user: PageUser, offset: Offset = 0) -> Response:
    services = services_of(request)
    page = await history.history(services, user.actor, limit=HISTORY_PER_PAGE, offset=offset)
    tile = await connectwise_tile(request, user)
    return render(
        request,
        "history.html",
        {
            "page": page,
            "offset": offset,
            "per_page": HISTORY_PER_PAGE,
            "tile": tile,
            "page_url": lambda new_offset: with_query(DASHBOARD + "/history", offset=new_offset),
            "lines_of": {entry.run.id: run_lines(entry.run.plan_json) for entry in page.items},
            **PAGE_HELPERS,
        },
    )


def error_page(request: Request, status: int, title: str, message: str) -> HTMLResponse:
    response = render(
        request, "error.html", {"title": title, "message": message, "status": status}, status=status
    )
    if request.headers.get("HX-Request") == "true":
        # The fragment an htmx request asked for is not in an error page: show the whole message.
        response.headers.update(
            {"HX-Retarget": "#main", "HX-Reselect": "#main", "HX-Reswap": "outerHTML"}
        )
    return response
