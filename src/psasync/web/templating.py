"""Rendering the pages: one Jinja2 environment, the filters the templates use, and the
context every page shares (who is logged in, the form token, the current path)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData

from psasync import __version__
from psasync.web import formatting
from psasync.web.session import session_of

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
TEMPLATES = Jinja2Templates(directory=str(HERE / "templates"))
TEMPLATES.env.filters.update(
    money=formatting.format_money,
    date=formatting.format_date,
    iso_date=formatting.format_iso_date,
    instant=formatting.format_instant,
    order_type=formatting.order_type_label,
    status=formatting.status_label,
    action=formatting.action_label,
    price_origin=formatting.price_origin_label,
    hour_utc=formatting.busy_until_label,
)
TEMPLATES.env.globals.update(version=__version__)
# The wording helpers every page's partials call (``say``, ``kind``, ``outcome``, ``plain``).
TEMPLATES.env.globals.update(formatting.PAGE_HELPERS)


@dataclass(frozen=True)
class PsaPage:
    """The PSA a page belongs to: its name in the text and the root of its pages."""

    name: str
    base: str


CONNECTWISE_PAGES = PsaPage("ConnectWise", "/integrations/connectwise")
AUTOTASK_PAGES = PsaPage("Autotask", "/integrations/autotask")


def psa_page(path: str) -> PsaPage:
    """The PSA a page's address names; pages outside both (the tiles, login) link to the
    ConnectWise address, which sends an Autotask tenant on to its own."""
    base = AUTOTASK_PAGES.base
    return AUTOTASK_PAGES if path == base or path.startswith(base + "/") else CONNECTWISE_PAGES


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, *, status: int = 200
) -> HTMLResponse:
    user = session_of(request)
    shared = {
        "user": user,
        "csrf_token": user.csrf_token if user else "",
        "path": request.url.path,
        "psa": psa_page(request.url.path),
    }
    response = TEMPLATES.TemplateResponse(
        request, template, {**shared, **(context or {})}, status_code=status
    )
    # Pages show one reseller's billing data: never from a shared cache, never after logout.
    response.headers["Cache-Control"] = "no-store"
    return response


def see_other(url: str, request: Request | None = None) -> RedirectResponse | HTMLResponse:
    """Go to ``url`` after a form post (303). htmx follows ``HX-Redirect`` instead, so a
    partial request is not answered with a whole page swapped into a fragment."""
    if request is not None and request.headers.get("HX-Request") == "true":
        return HTMLResponse("", status_code=200, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def with_query(path: str, **params: object) -> str:
    """``path`` with the given non-empty query parameters."""
    kept = {name: str(value) for name, value in params.items() if value not in (None, "")}
    return f"{path}?{urlencode(kept)}" if kept else path


# ConnectWise record ids are 32-bit integers; anything else in a form is not one of them.
_MAX_ID = 2**31 - 1


def form_id(form: FormData, name: str) -> int | None:
    """The record id a form field names (a chosen company, item or agreement), or None.

    Only ASCII digits count: ``str.isdigit`` also admits "²", which ``int`` refuses.
    """
    value = form.get(name)
    text = value.strip() if isinstance(value, str) else ""
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= _MAX_ID:
        return None
    return int(text)
