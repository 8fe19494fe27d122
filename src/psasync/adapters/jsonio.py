"""JSON in and out without binary floating point.

ConnectWise and Autotask write money as JSON numbers (their schemas say double). Reading them with
``parse_float=Decimal`` keeps the digits the vendor sent, and writing ``Decimal`` values as plain
JSON numbers sends exactly the digits psasync computed; no amount ever passes through ``float``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any


def loads(content: bytes | str) -> Any:
    """Parse JSON; numbers with a fraction or exponent become ``Decimal``."""
    return json.loads(content, parse_float=Decimal)


def dumps(value: object) -> bytes:
    """Serialise ``value`` to compact UTF-8 JSON, writing ``Decimal`` as a JSON number."""
    return _encode(value).encode("utf-8")


def _encode(value: object) -> str:
    if value is None or isinstance(value, bool | int | str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} cannot be written as a JSON number")
        # Fixed notation: "1E+1" is valid JSON but reads badly in logs and fixtures.
        return format(value, "f")
    if isinstance(value, Mapping):
        items = (f"{json.dumps(str(key))}:{_encode(item)}" for key, item in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, Sequence):
        return "[" + ",".join(_encode(item) for item in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as JSON: {value!r}")
