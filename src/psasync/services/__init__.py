"""Use cases: login, ConnectWise settings, Check Changes, tasks, preview, sync, mappings, history.

Each function takes the process's :class:`Services` and an :class:`Actor` (the tenant, who acts
— a logged-in user or ``automation`` — and the marketplace access to read with), and raises
:class:`ServiceError` subclasses for anything it refuses.
"""

from psasync.services.actor import AUTOMATION, Actor, MarketplaceAccess
from psasync.services.context import Services
from psasync.services.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    Invalid,
    NotAuthenticated,
    NotFound,
    ServiceError,
    UpstreamFailed,
)
from psasync.services.sessions import UserSession

__all__ = [
    "AUTOMATION",
    "Actor",
    "MarketplaceAccess",
    "BadRequest",
    "Conflict",
    "Forbidden",
    "Invalid",
    "NotAuthenticated",
    "NotFound",
    "ServiceError",
    "Services",
    "UpstreamFailed",
    "UserSession",
]
