"""The Autotask PSA (REST v1.0) adapter: contracts, services, adjustments and charges."""

from psasync.adapters.autotask.adjustments import (
    AdjustmentExpectation,
    AdjustmentOutcome,
    AdjustmentOutcomeUnknown,
    decide,
)
from psasync.adapters.autotask.client import AutotaskClient
from psasync.adapters.autotask.errors import (
    AdjustmentConflict,
    AutotaskAuthError,
    AutotaskBudgetSpent,
    AutotaskBusy,
    AutotaskDataError,
    AutotaskError,
    AutotaskNotFound,
    AutotaskPostedPeriod,
)
from psasync.adapters.autotask.psa import AutotaskPsa
from psasync.adapters.autotask.transport import THREADS_PER_ENTITY, EntityGates
from psasync.adapters.autotask.zone import (
    API_VERSION,
    DISCOVERY_ROOT,
    AutotaskCredentials,
    CredentialsError,
    discover_zone,
)

__all__ = [
    "API_VERSION",
    "DISCOVERY_ROOT",
    "THREADS_PER_ENTITY",
    "AdjustmentConflict",
    "AdjustmentExpectation",
    "AdjustmentOutcome",
    "AdjustmentOutcomeUnknown",
    "AutotaskAuthError",
    "AutotaskBudgetSpent",
    "AutotaskBusy",
    "AutotaskClient",
    "AutotaskCredentials",
    "AutotaskDataError",
    "AutotaskError",
    "AutotaskNotFound",
    "AutotaskPostedPeriod",
    "AutotaskPsa",
    "CredentialsError",
    "EntityGates",
    "decide",
    "discover_zone",
]
