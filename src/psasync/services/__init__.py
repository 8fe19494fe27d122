"""Use cases: login, ConnectWise settings, Check Changes, tasks, preview, sync, mappings, history.

Each function takes the process's :class:`Services` and the logged-in :class:`UserSession`
and raises :class:`ServiceError` subclasses for anything it refuses.
"""

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
from psasync.services.sessions import SessionRegistry, UserSession

__all__ = [
    "BadRequest",
    "Conflict",
    "Forbidden",
    "Invalid",
    "NotAuthenticated",
    "NotFound",
    "ServiceError",
    "Services",
    "SessionRegistry",
    "UpstreamFailed",
    "UserSession",
]
