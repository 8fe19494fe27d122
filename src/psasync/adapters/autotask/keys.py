"""Where the Autotask adapter keeps psasync's idempotency key: a contract charge's description.

Contract services carry no key (one service per contract gathers every adjustment of every
order, and adjustments cannot be read back); contract charges can be queried, so a one-time
line (setup fee, usage) is found again by the mark ending its ``description``:
``"Setup fee [psasync task:7:line2:one_time service:301]"``. The mark also names the Service
the charge bills, which a contract charge has no field for. The charge's ``name`` is what the
invoice shows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A sync task's key (``task:7:line1:one_time``) or a reconciliation fix's
# (``recon:3f2a9c1b7d4e:line2:one_time``), then the Service it bills.
_KEY = r"(?:task:\d+|recon:[0-9a-f]{12}):line\d+:[a-z_]+"
_MARK = re.compile(rf"\s*\[psasync ({_KEY})(?: service:(\d+))?\]\s*$")


@dataclass(frozen=True)
class Mark:
    key: str
    service_id: int | None = None


def mark_description(description: str, key: str, *, service_id: int | None = None) -> str:
    """The description with the mark appended: ``"Setup fee [psasync task:… service:301]"``."""
    if not re.fullmatch(_KEY, key):
        raise ValueError(f"{key!r} is not an idempotency key like task:7:line1:one_time")
    text = strip_mark(description)
    service = f" service:{service_id}" if service_id is not None else ""
    mark = f"[psasync {key}{service}]"
    return f"{text} {mark}" if text else mark


def read_mark(description: str | None) -> Mark | None:
    """The mark a description ends with, or None."""
    found = _MARK.search(description or "")
    if found is None:
        return None
    service = found.group(2)
    return Mark(key=found.group(1), service_id=int(service) if service else None)


def strip_mark(description: str | None) -> str:
    """The description as a person wrote it: without psasync's mark."""
    return _MARK.sub("", description or "").rstrip()
