"""Who may call: the gateway's subscription key, Basic login at ``/token``, bearer tokens.

Every call needs the marketplace's ``X-Subscription-Key`` (the psasync installation's gateway
key); ``POST /token`` also needs a reseller user's HTTP Basic credentials, every other call the
bearer token it issued. Each failure is a 401 with a message saying which check failed — but
never whether a username exists.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from psasync.sandbox.marketplace.errors import ApiError
from psasync.sandbox.marketplace.state import MarketplaceData, TokenStore

BAD_LOGIN = "Invalid username or password"


def _same(given: str, expected: str) -> bool:
    return secrets.compare_digest(given.encode(), expected.encode())


def basic_credentials(header: str | None) -> tuple[str, str]:
    """``(username, password)`` of an HTTP Basic ``Authorization`` header; 401 if absent/bad."""
    scheme, _, encoded = (header or "").partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        raise ApiError(401, "Basic authentication with the API user's credentials is required")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise ApiError(
            401, "The Basic credentials are not valid base64 of username:password"
        ) from None
    username, colon, password = decoded.partition(":")
    if not colon:
        raise ApiError(401, "The Basic credentials are not valid base64 of username:password")
    return username, password


def bearer_token(header: str | None) -> str:
    scheme, _, token = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "A bearer token from POST /token is required")
    return token.strip()


def requested_marketplace(body: bytes) -> str | None:
    """The ``marketplace`` of a ``TokenRequest`` body (optional); 400 if the body is not one."""
    if not body.strip():
        return None
    try:
        request = json.loads(body)
    except ValueError:
        raise ApiError(400, "The token request body is not JSON") from None
    if not isinstance(request, dict):
        raise ApiError(400, "The token request body must be a JSON object")
    code = request.get("marketplace")
    if code is not None and not isinstance(code, str):
        raise ApiError(400, "marketplace must be a string")
    return code


@dataclass(frozen=True)
class Access:
    """The checks of one emulated marketplace."""

    data: MarketplaceData
    tokens: TokenStore

    def check_key(self, headers: Mapping[str, str]) -> None:
        key = headers.get("x-subscription-key")
        if not key:
            raise ApiError(
                401,
                "Access denied due to missing subscription key. "
                "Make sure to include the X-Subscription-Key header.",
            )
        if not _same(key, self.data.marketplace.subscription_key):
            raise ApiError(
                401,
                "Access denied due to invalid subscription key. "
                "Make sure to provide a valid key for an active subscription.",
            )

    def issue_token(self, headers: Mapping[str, str], body: bytes) -> str:
        """A token for the user of the Basic credentials."""
        self.check_key(headers)
        username, password = basic_credentials(headers.get("authorization"))
        login = self.data.logins.get(username)
        if login is None or not _same(password, login.password):
            raise ApiError(401, BAD_LOGIN)
        code = requested_marketplace(body)
        if code is not None and code != self.data.marketplace.code:
            raise ApiError(
                400, f"marketplace {code!r} is not served here ({self.data.marketplace.code})"
            )
        return self.tokens.issue(login.reseller_id)

    def reseller(self, headers: Mapping[str, str]) -> str:
        """The reseller a call acts for, from its live bearer token."""
        self.check_key(headers)
        reseller_id = self.tokens.reseller_for(bearer_token(headers.get("authorization")))
        if reseller_id is None:
            raise ApiError(401, "The bearer token is invalid or has expired")
        return reseller_id
