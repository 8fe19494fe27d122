"""Where the Autotask adapter keeps psasync's idempotency key: a contract charge's description.

Contract services carry no key (one service per contract gathers every adjustment of every
order, and adjustments cannot be read back); contract charges can be queried, so a one-time
line (setup fee, usage) is found again by the mark ending its ``description``:
``"Setup fee [psasync task:7:line2:one_time service:301 until:2026-11-30]"``. The mark also
keeps what a contract charge has no field for: the Service it bills and, when it is not the
charge's own day, the last day of the period it bills for (a one-time line runs from its
effective date to the period's last day; a charge has only ``datePurchased``), so the line read
back shows every value psasync wrote. The charge's ``name`` is what the invoice shows.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

# A sync task's key (``task:7:line1:one_time``) or a reconciliation fix's
# (``recon:3f2a9c1b7d4e:line2:one_time``), then the Service it bills.
_KEY = r"(?:task:\d+|recon:[0-9a-f]{12}):line\d+:[a-z_]+"
_MARK = re.compile(
    rf"\s*\[psasync ({_KEY})(?: service:(\d+))?(?: until:(\d{{4}}-\d{{2}}-\d{{2}}))?\]\s*$"
)


@dataclass(frozen=True)
class Mark:
    key: str
    service_id: int | None = None
    until: dt.date | None = None


def mark_description(
    description: str, key: str, *, service_id: int | None = None, until: dt.date | None = None
) -> str:
    """The description with the mark appended:
    ``"Setup fee [psasync task:… service:301 until:2026-11-30]"``."""
    if not re.fullmatch(_KEY, key):
        raise ValueError(f"{key!r} is not an idempotency key like task:7:line1:one_time")
    text = strip_mark(description)
    service = f" service:{service_id}" if service_id is not None else ""
    last_day = f" until:{until.isoformat()}" if until is not None else ""
    mark = f"[psasync {key}{service}{last_day}]"
    return f"{text} {mark}" if text else mark


def read_mark(description: str | None) -> Mark | None:
    """The mark a description ends with, or None (also for a mark with an impossible date)."""
    found = _MARK.search(description or "")
    if found is None:
        return None
    service, until = found.group(2), found.group(3)
    try:
        last_day = dt.date.fromisoformat(until) if until else None
    except ValueError:
        return None
    return Mark(key=found.group(1), service_id=int(service) if service else None, until=last_day)


def strip_mark(description: str | None) -> str:
    """The description as a person wrote it: without psasync's mark."""
    return _MARK.sub("", description or "").rstrip()
