"""The browser session: a signed, HttpOnly, SameSite=Lax cookie naming an in-memory session,
and the CSRF rule for requests that change something.

CSRF: SameSite=Lax already keeps the cookie off cross-site POSTs. On top of that, a form-encoded
or plain-text request (what an HTML form on another site can send) must carry the session's
token (``csrf_token`` field or ``X-CSRF-Token`` header), and a request whose ``Origin`` names
another site is refused.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request, Response
from itsdangerous import BadSignature, URLSafeSerializer

from psasync.services import Services
from psasync.services.errors import Forbidden, NotAuthenticated
from psasync.services.sessions import UserSession

COOKIE = "psasync_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data", "text/plain")


class CookieSigner:
    """Signs session ids with a key derived from PSASYNC_SECRET_KEY."""

    def __init__(self, key: bytes) -> None:
        self._serializer = URLSafeSerializer(key, salt="psasync session")

    def __repr__(self) -> str:
        return "CookieSigner(<hidden>)"

    def sign(self, session_id: str) -> str:
        return self._serializer.dumps(session_id)

    def unsign(self, value: str) -> str | None:
        try:
            loaded = self._serializer.loads(value)
        except BadSignature:
            return None
        return loaded if isinstance(loaded, str) else None


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def signer_of(request: Request) -> CookieSigner:
    signer: CookieSigner = request.app.state.signer
    return signer


def session_of(request: Request) -> UserSession | None:
    """The logged-in user's session, or None."""
    value = request.cookies.get(COOKIE)
    if not value:
        return None
    session_id = signer_of(request).unsign(value)
    return services_of(request).sessions.get(session_id) if session_id else None


async def current_user(request: Request) -> UserSession:
    """The session of the request; 401 without one, 403 for a cross-site change."""
    user = session_of(request)
    if user is None:
        raise NotAuthenticated("Log in first.", code="NotAuthenticated")
    if request.method in _UNSAFE:
        await check_csrf(request, user)
    return user


async def check_csrf(request: Request, user: UserSession) -> None:
    origin = request.headers.get("origin")
    if origin and urlsplit(origin).netloc != request.url.netloc:
        raise Forbidden("The request comes from another site.", code="CrossSiteRequest")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in _FORM_TYPES:
        return
    token = request.headers.get(CSRF_HEADER)
    if token is None and content_type != "text/plain":
        form = await request.form()
        field = form.get(CSRF_FIELD)
        token = field if isinstance(field, str) else None
    if token != user.csrf_token:
        raise Forbidden(
            "The form's security token is missing or stale; reload the page.", code="CsrfFailed"
        )


def set_session_cookie(request: Request, response: Response, user: UserSession) -> None:
    response.set_cookie(
        COOKIE,
        signer_of(request).sign(user.id),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax")


CurrentUser = Annotated[UserSession, Depends(current_user)]
ServicesDep = Annotated[Services, Depends(services_of)]
