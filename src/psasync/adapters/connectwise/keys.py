"""Where the ConnectWise adapter keeps psasync's idempotency key on an addition.

Without a configured custom field, the key rides as a marked suffix of the addition's internal
``description`` (``"Microsoft 365 E3 [psasync task:7:line1:recurring]"``); the customer's invoice
shows ``invoiceDescription`` only, so the customer never sees it.
"""

from __future__ import annotations

import re

# A sync task's key (``task:7:line1:recurring``) or a reconciliation fix's
# (``recon:3f2a9c1b7d4e:line2:recurring``): both are psasync's, both are found again by it.
_MARK = re.compile(r"\s*\[psasync ((?:task:\d+|recon:[0-9a-f]{12}):line\d+:[a-z_]+)\]\s*$")


def mark_description(description: str, key: str) -> str:
    """The internal description with the key appended: ``"Microsoft 365 E3 [psasync task:…]"``."""
    text = strip_mark(description)
    mark = f"[psasync {key}]"
    return f"{text} {mark}" if text else mark


def read_marked_key(description: str | None) -> str | None:
    """The key a description was marked with, or None."""
    found = _MARK.search(description or "")
    return found.group(1) if found else None


def strip_mark(description: str | None) -> str:
    """The description as a person wrote it: without psasync's mark."""
    return _MARK.sub("", description or "").rstrip()
