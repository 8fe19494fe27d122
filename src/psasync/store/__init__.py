"""Persistence: SQLAlchemy models, repositories and Alembic migrations (SQLite or PostgreSQL)."""

from psasync.store.database import Database, DatabaseError, async_url
from psasync.store.models import (
    ActionOutcome,
    ConnectWiseSettings,
    Customer,
    CustomerMapping,
    IntegrationUser,
    MappingSource,
    ProductMapping,
    RunOutcome,
    SyncAction,
    SyncEvent,
    SyncEventKind,
    SyncRun,
    SyncTask,
    TaskStatus,
    Tenant,
    TenantLock,
    UserSessionRow,
)
from psasync.store.secrets import SecretBox, SecretKeyError, derive_key
from psasync.store.tasks import TaskFilter

__all__ = [
    "ActionOutcome",
    "ConnectWiseSettings",
    "Customer",
    "CustomerMapping",
    "Database",
    "DatabaseError",
    "IntegrationUser",
    "MappingSource",
    "ProductMapping",
    "RunOutcome",
    "SecretBox",
    "SecretKeyError",
    "SyncAction",
    "SyncEvent",
    "SyncEventKind",
    "SyncRun",
    "SyncTask",
    "TaskFilter",
    "TaskStatus",
    "Tenant",
    "TenantLock",
    "UserSessionRow",
    "async_url",
    "derive_key",
]
