"""The FastAPI application: the REST API and the pages over one ``Services``."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

from psasync import __version__
from psasync.config import Settings
from psasync.services import Services, integrations
from psasync.services.errors import NotFound
from psasync.services.secrets import session_key
from psasync.web import (
    api,
    api_jobs,
    api_reconciliation,
    errors,
    pages,
    pages_jobs,
    pages_reconciliation,
    wizard,
)
from psasync.web.session import CookieSigner, load_session, services_of
from psasync.web.templating import STATIC_DIR

# The paths a PSA names: the API's /api/v1/{psa}/… and the pages' /integrations/{psa}/….
PSAS = ("connectwise", "autotask")
_PSA_PATH = re.compile(r"^(?P<head>/api/v1|/integrations)/connectwise(?P<tail>/.*)?$")
# Reachable whichever PSA the tenant uses: the form that switches to ConnectWise.
UNGUARDED = frozenset({"/integrations/connectwise/settings"})


class OtherPsa(Exception):  # noqa: N818 - a redirect, not a failure
    """A page of the PSA the tenant does not use: the same page of the one it uses."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


def psa_router(routers: Sequence[APIRouter]) -> APIRouter:
    """The routes of ``routers``, those under a PSA's path (``/api/v1/connectwise/…``,
    ``/integrations/connectwise/…``) once per PSA, the PSA's name in the path, each guarded by
    :func:`psa_guard`. A route already defined for a PSA (the Autotask settings page) wins:
    it is not cloned over. Other routes are kept as they are."""
    combined = APIRouter()
    explicit = {
        (route.path, method)
        for router in routers
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in route.methods or ()
    }
    for router in routers:
        for route in router.routes:
            found = _PSA_PATH.match(route.path) if isinstance(route, APIRoute) else None
            if found is None or not isinstance(route, APIRoute):
                combined.routes.append(route)
                continue
            for psa in PSAS:
                path = f"{found['head']}/{psa}{found['tail'] or ''}"
                methods = {
                    method
                    for method in route.methods or ()
                    if psa == PSAS[0] or (path, method) not in explicit
                }
                if methods:
                    options = _route_options(route, psa, methods)
                    combined.add_api_route(path, route.endpoint, **options)
    return combined


def _route_options(route: APIRoute, psa: str, methods: set[str]) -> dict[str, Any]:
    return {
        "methods": sorted(methods),
        "response_model": route.response_model,
        "status_code": route.status_code,
        "tags": route.tags,
        "dependencies": (
            [*route.dependencies]
            if route.path in UNGUARDED
            else [Depends(psa_guard(psa)), *route.dependencies]
        ),
        "summary": route.summary,
        "description": route.description,
        "response_description": route.response_description,
        "responses": route.responses,
        "deprecated": route.deprecated,
        "name": route.name if psa == PSAS[0] else f"{route.name}_{psa}",
        "include_in_schema": route.include_in_schema,
        "response_class": route.response_class,
        "openapi_extra": route.openapi_extra,
    }


def psa_guard(psa: str) -> Callable[[Request], Any]:
    """A dependency: the path's PSA must be the one the tenant uses (any, before one is
    configured). Otherwise the API answers 404 and a page goes to the same page of the PSA in
    use (307: a form post is sent again there). Without a session it lets the handler answer."""

    async def guard(request: Request) -> None:
        user = await load_session(request)
        if user is None:
            return
        used = await integrations.tenant_psa_style(services_of(request), user.tenant_id)
        request.state.psa = used.value if used is not None else psa
        if used is None or used.value == psa:
            return
        path = request.url.path
        if path.startswith("/api/"):
            raise NotFound(
                f"This account uses {used.vendor}, not {psa}: its API is under "
                f"/api/v1/{used.value}/….",
                code="PsaNotInUse",
                details={"psa": used.value},
            )
        other = path.replace(f"/integrations/{psa}", f"/integrations/{used.value}", 1)
        raise OtherPsa(other + (f"?{request.url.query}" if request.url.query else ""))

    return guard


async def _other_psa(_request: Request, error: Exception) -> RedirectResponse:
    assert isinstance(error, OtherPsa)  # noqa: S101 - registered for this class only
    return RedirectResponse(error.url, status_code=307)


# What runs beside the app for its lifetime: the job engine (queue, and a worker on SQLite).
Background = Callable[[Services], AbstractAsyncContextManager[object]]


def create_app(
    settings: Settings,
    *,
    services: Services | None = None,
    background: Background | None = None,
) -> FastAPI:
    """The app; it migrates the database on start. ``services`` given: the caller closes it.

    ``background`` (the process's job engine, from bootstrap) runs while the app does.
    """
    if settings.secret_key is None:
        raise ValueError("PSASYNC_SECRET_KEY must be set: it signs sessions and seals stored keys")
    owned = services is None
    shared = services or Services.create(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await shared.db.upgrade()
        try:
            if background is None:
                yield
            else:
                async with background(shared):
                    yield
        finally:
            if owned:
                await shared.aclose()

    app = FastAPI(
        title="psasync",
        version=__version__,
        description="Keeps Cloud Marketplace subscriptions and ConnectWise PSA agreements in step.",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.services = shared
    app.state.signer = CookieSigner(session_key(settings.secret_key.get_secret_value()))
    errors.install(app, page_error=pages.error_page)
    app.add_exception_handler(pages.LoginRequired, pages.login_redirect)
    app.add_exception_handler(OtherPsa, _other_psa)
    # Every /connectwise/… endpoint and page also answers under /autotask/… (DESIGN §11): the
    # same handlers, each behind a guard that 404s (API) or redirects (pages) when the path
    # names the PSA the tenant does not use. The Autotask settings page is its own.
    routers: list[APIRouter] = [
        api.router,
        api_jobs.router,
        api_reconciliation.router,
        pages.autotask_router,
        pages.router,
        pages_jobs.router,
        pages_reconciliation.router,
        wizard.router,
    ]
    app.include_router(psa_router(routers))
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
