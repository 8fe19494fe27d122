"""The FastAPI application: the REST API and the pages over one ``Services``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from psasync import __version__
from psasync.config import Settings
from psasync.services import Services
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
from psasync.web.session import CookieSigner
from psasync.web.templating import STATIC_DIR

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
    app.include_router(api.router)
    app.include_router(api_jobs.router)
    app.include_router(api_reconciliation.router)
    app.include_router(pages.router)
    app.include_router(pages_jobs.router)
    app.include_router(pages_reconciliation.router)
    app.include_router(wizard.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
