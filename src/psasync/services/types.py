"""Domain and store values the web layer reads and writes, re-exported so the web talks to the
use cases only (DESIGN.md §1: web imports services)."""

from psasync.domain.agreements import Agreement, BillCustomer
from psasync.domain.eligibility import Reason
from psasync.domain.orders import Order, OrderLine, OrderType
from psasync.domain.plan import (
    Action,
    AdditionKind,
    Notice,
    NoticeCode,
    Plan,
    PlannedAddition,
    PriceSource,
)
from psasync.domain.review import ReviewedAddition, editable_fields
from psasync.store import MappingSource, RunOutcome, TaskStatus

__all__ = [
    "Action",
    "AdditionKind",
    "Agreement",
    "BillCustomer",
    "MappingSource",
    "Notice",
    "NoticeCode",
    "Order",
    "OrderLine",
    "OrderType",
    "Plan",
    "PlannedAddition",
    "PriceSource",
    "Reason",
    "ReviewedAddition",
    "RunOutcome",
    "TaskStatus",
    "editable_fields",
]
