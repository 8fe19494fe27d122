"""The browser session: a signed, HttpOnly, SameSite=Lax cookie naming a session stored in the
database, and the CSRF rule for requests that change something.

The cookie carries the session id (the database holds only its hash) and the user's password
sealed with the secret key, which renews the marketplace token when it lapses (DESIGN §7). A
token renewed while a request is served is stored back (sealed) when the request is done.

CSRF (DESIGN.md §7): SameSite=Lax already keeps the cookie off cross-site POSTs. On top of that,
every request that changes something and carries the session cookie must carry the session's
token, whatever its Content-Type (none, JSON, a form, plain text, anything): the
``X-CSRF-Token`` header (the API and htmx send it) or, in a form body, the ``csrf_token``
field (plain HTML forms). A token presented in either place must be the right one. A request
whose ``Origin`` names another site (or is ``null``, or unreadable) is refused.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, Request, Response
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.exc import SQLAlchemyError

from psasync.services import Services, sessions
from psasync.services.errors import BadRequest, Forbidden, NotAuthenticated
from psasync.services.sessions import UserSession
from psasync.web.bounds import clean_text

COOKIE = "psasync_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# The bodies a csrf_token field can travel in (an HTML form's encodings).
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# Where a request keeps the session it was resolved to (None: resolved, nobody logged in).
_RESOLVED = "psasync_user"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SessionCookie:
    """What the cookie carries: the session id and the sealed password that renews the token."""

    session_id: str = field(repr=False)
    renewal: str = field(repr=False)


class CookieSigner:
    """Signs the session cookie with a key derived from PSASYNC_SECRET_KEY."""

    def __init__(self, key: bytes) -> None:
        self._serializer = URLSafeSerializer(key, salt="psasync session")

    def __repr__(self) -> str:
        return "CookieSigner(<hidden>)"

    def sign(self, cookie: SessionCookie) -> str:
        return self._serializer.dumps({"id": cookie.session_id, "renew": cookie.renewal})

    def unsign(self, value: str) -> SessionCookie | None:
        try:
            loaded: Any = self._serializer.loads(value)
        except BadSignature:
            return None
        if not isinstance(loaded, dict):
            return None
        session_id, renewal = loaded.get("id"), loaded.get("renew")
        if not (isinstance(session_id, str) and isinstance(renewal, str)):
            return None
        return SessionCookie(session_id=session_id, renewal=renewal)


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def signer_of(request: Request) -> CookieSigner:
    signer: CookieSigner = request.app.state.signer
    return signer


async def load_session(request: Request) -> UserSession | None:
    """The logged-in user's session from the database (once per request), or None."""
    if hasattr(request.state, _RESOLVED):
        resolved: UserSession | None = getattr(request.state, _RESOLVED)
        return resolved
    user = None
    value = request.cookies.get(COOKIE)
    cookie = signer_of(request).unsign(value) if value else None
    if cookie is not None:
        user = await sessions.resume_session(
            services_of(request), session_id=cookie.session_id, renewal=cookie.renewal
        )
    setattr(request.state, _RESOLVED, user)
    return user


def session_of(request: Request) -> UserSession | None:
    """The session :func:`load_session` resolved for this request (None before, or nobody)."""
    resolved: UserSession | None = getattr(request.state, _RESOLVED, None)
    return resolved


async def keep_renewed_token(request: Request, user: UserSession) -> None:
    """Store the marketplace token renewed while serving the request, if any (sealed)."""
    try:
        await sessions.save_renewed_token(services_of(request), user)
    except SQLAlchemyError as error:  # the next request renews it again; never fail the answer
        log.warning("a renewed marketplace token could not be stored: %s", error)


async def current_user(request: Request) -> AsyncIterator[UserSession]:
    """The session of the request; 401 without one, 403 for a cross-site change."""
    user = await load_session(request)
    if user is None:
        raise NotAuthenticated("Log in first.", code="NotAuthenticated")
    if request.method in _UNSAFE:
        await check_csrf(request, user)
    try:
        yield user
    finally:
        await keep_renewed_token(request, user)


async def check_csrf(request: Request, user: UserSession) -> None:
    """Refuse a change that another site may have asked for (403); see the module docstring."""
    if _foreign_origin(request):
        raise Forbidden("The request comes from another site.", code="CrossSiteRequest")
    presented = [request.headers.get(CSRF_HEADER)]
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in _FORM_TYPES:
        field = (await request.form()).get(CSRF_FIELD)
        presented.append(field if isinstance(field, str) else None)
    tokens = [token for token in presented if token is not None]
    if not tokens or not all(_same(token, user.csrf_token) for token in tokens):
        raise Forbidden(
            "The security token (X-CSRF-Token header or csrf_token field) is missing or stale; "
            "reload the page, or read it from GET /api/v1/auth/session.",
            code="CsrfFailed",
        )


def _foreign_origin(request: Request) -> bool:
    """Whether the ``Origin`` header names a site other than this one."""
    origin = request.headers.get("origin")
    if origin is None:
        return False
    try:
        parts = urlsplit(origin)
    except ValueError:  # "http://[" and the like: nobody's origin
        return True
    return parts.netloc.lower() != request.url.netloc.lower()


def _same(token: str, expected: str) -> bool:
    return hmac.compare_digest(token.encode("utf-8", "replace"), expected.encode("utf-8"))


async def clean_query(request: Request) -> None:
    """Refuse a query string with control characters (NUL among them: PostgreSQL cannot hold
    it) before any handler sees it (400)."""
    for name, value in request.query_params.multi_items():
        if not (clean_text(name) and clean_text(value)):
            raise BadRequest(
                "The address carries control characters; remove them and try again.",
                code="InvalidQuery",
            )


def set_session_cookie(request: Request, response: Response, user: UserSession) -> None:
    setattr(request.state, _RESOLVED, user)
    response.set_cookie(
        COOKIE,
        signer_of(request).sign(SessionCookie(session_id=user.id, renewal=user.renewal)),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax")


CurrentUser = Annotated[UserSession, Depends(current_user)]
ServicesDep = Annotated[Services, Depends(services_of)]
