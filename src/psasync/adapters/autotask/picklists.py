"""Picklist values, read from ``/{Entity}/entityInformation/fields`` and looked up by label.

Autotask numbers picklist values per database (a contract type, a status, a period type), so
psasync never writes a number down: it reads each entity's fields once per client and asks for
"Recurring Service" or "Monthly". Labels compare without case, spaces or punctuation
("Semi-Annual" is "semiannual").
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from dataclasses import dataclass

from psasync.adapters.autotask.errors import AutotaskDataError
from psasync.adapters.autotask.transport import AutotaskApi

_NOT_LETTERS = re.compile(r"[^0-9a-z]")


def label_key(label: str) -> str:
    """A label as compared: ``"Semi-Annual"`` → ``"semiannual"``."""
    return _NOT_LETTERS.sub("", label.casefold())


@dataclass(frozen=True)
class Picklist:
    """One picklist field's values: label by value, value by (normalised) label."""

    entity: str
    field: str
    labels: Mapping[int, str]

    def value(self, label: str) -> int:
        """The value of ``label``; ``AutotaskDataError`` when this database has no such label."""
        wanted = label_key(label)
        for value, shown in self.labels.items():
            if label_key(shown) == wanted:
                return value
        raise AutotaskDataError(
            f"Autotask's {self.entity}.{self.field} has no value labelled {label!r} "
            f"(it has: {', '.join(sorted(self.labels.values())) or 'none'})"
        )

    def label(self, value: object) -> str | None:
        """The label of ``value`` (a number, or a number as text), None when unknown."""
        number = _as_int(value)
        return None if number is None else self.labels.get(number)


class Picklists:
    """Each entity's picklists, read at most once per instance (one per client)."""

    def __init__(self, api: AutotaskApi) -> None:
        self.api = api
        self._fields: dict[str, dict[str, Picklist]] = {}
        self._lock = asyncio.Lock()

    async def field(self, entity: str, name: str) -> Picklist:
        """The picklist ``entity.name``; ``AutotaskDataError`` when it is not one."""
        async with self._lock:
            if entity not in self._fields:
                self._fields[entity] = await self._read(entity)
        found = self._fields[entity].get(name.casefold())
        if found is None:
            raise AutotaskDataError(f"Autotask's {entity} has no picklist field {name!r}")
        return found

    async def value(self, entity: str, name: str, label: str) -> int:
        return (await self.field(entity, name)).value(label)

    async def _read(self, entity: str) -> dict[str, Picklist]:
        answer = await self.api.get(f"{entity}/entityInformation/fields")
        fields = answer.get("fields") if isinstance(answer, dict) else None
        if not isinstance(fields, list):
            raise AutotaskDataError(f"Autotask answered {entity}/entityInformation/fields badly")
        found: dict[str, Picklist] = {}
        for entry in fields:
            if not isinstance(entry, dict) or not entry.get("isPickList"):
                continue
            name = entry.get("name")
            if isinstance(name, str):
                labels = _labels(entry.get("picklistValues"))
                found[name.casefold()] = Picklist(entity=entity, field=name, labels=labels)
        return found


def _labels(values: object) -> dict[int, str]:
    labels: dict[int, str] = {}
    for entry in values if isinstance(values, list) else []:
        if not isinstance(entry, dict):
            continue
        number, label = _as_int(entry.get("value")), entry.get("label")
        if number is not None and isinstance(label, str):
            labels[number] = label.strip()
    return labels


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None
