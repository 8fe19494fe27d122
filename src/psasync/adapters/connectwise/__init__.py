"""The ConnectWise PSA (Manage REST 3.0) client."""

from psasync.adapters.connectwise.client import ConnectWiseClient
from psasync.adapters.connectwise.conditions import (
    Condition,
    ConditionError,
    all_of,
    any_of,
    field,
)
from psasync.adapters.connectwise.errors import (
    ConnectWiseAuthError,
    ConnectWiseDataError,
    ConnectWiseError,
    ConnectWiseInvalid,
    ConnectWiseNotFound,
    FieldError,
)
from psasync.adapters.connectwise.mapping import AdditionChanges, AdditionWrite
from psasync.adapters.connectwise.psa import ConnectWisePsa
from psasync.adapters.connectwise.site import (
    API_VERSION,
    DEFAULT_CODEBASE,
    ConnectWiseSite,
    SiteError,
    agreement_record_url,
    discover_codebase,
)

__all__ = [
    "API_VERSION",
    "DEFAULT_CODEBASE",
    "AdditionChanges",
    "AdditionWrite",
    "Condition",
    "ConditionError",
    "ConnectWiseAuthError",
    "ConnectWiseClient",
    "ConnectWiseDataError",
    "ConnectWiseError",
    "ConnectWiseInvalid",
    "ConnectWiseNotFound",
    "ConnectWisePsa",
    "ConnectWiseSite",
    "FieldError",
    "SiteError",
    "agreement_record_url",
    "all_of",
    "any_of",
    "discover_codebase",
    "field",
]
