"""Narrowing a list query to the objects it can match before any of them is rendered.

A query such as ``conditions=name = "Contoso"`` used to render, flatten and test every company
of the fixture: with thousands of them each answer cost the emulator more than the latency it
stands for, and a benchmark measured the emulator instead of psasync. A collection now keeps,
for a few of its fields, the positions of its objects by the value each shows; when the
conditions are an ``and`` of comparisons one of which says ``field = v`` or ``field in (…)``,
only the objects showing one of those values are rendered. The full conditions are still
evaluated on them, so the answer (its objects, order, paging and errors) is exactly the one the
whole list would give.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from psasync.sandbox.connectwise.conditions import BoolOp, Comparison, Node, Value
from psasync.sandbox.connectwise.errors import VendorError
from psasync.sandbox.connectwise.query import Schema, checked_conditions, normalised


def required_values(node: Node, path: str) -> tuple[Value, ...] | None:
    """The values ``path`` must equal for an object to match the conditions ``node``, or None
    when the conditions do not pin it."""
    for comparison in _conjuncts(node):
        if comparison.path != path or comparison.negated:
            continue
        if comparison.operator == "=" and not isinstance(comparison.value, tuple | type(None)):
            return (comparison.value,)
        if comparison.operator == "in" and isinstance(comparison.value, tuple):
            # A null in the list never matches (SQL): it picks no object.
            return tuple(value for value in comparison.value if value is not None)
    return None


def _conjuncts(node: Node) -> Iterator[Comparison]:
    """The comparisons every matching object satisfies: those joined to the top by ``and``."""
    if isinstance(node, BoolOp):
        if node.operator == "and":
            yield from _conjuncts(node.left)
            yield from _conjuncts(node.right)
    elif isinstance(node, Comparison):
        yield node


class CollectionIndex:
    """Positions of a read-only collection's objects by the values of some of their fields.

    Built on first use from ``rows`` (each object flattened as queries see it), in the
    collection's own order, so narrowed candidates keep the order the whole list has.
    """

    def __init__(
        self,
        *,
        fields: Sequence[str],
        schema: Schema,
        rows: Callable[[], Sequence[Mapping[str, object]]],
    ) -> None:
        self.fields = tuple(fields)
        self.schema = schema
        self._rows = rows
        self._positions: dict[str, dict[object, list[int]]] | None = None

    def candidates(self, conditions: str) -> list[int] | None:
        """Positions of the objects that may match, in order; None: every object may (also
        when the conditions are invalid: evaluating them reports it, as on the whole list)."""
        try:
            node = checked_conditions(conditions, self.schema)
        except VendorError:
            return None
        for path in self.fields:
            values = required_values(node, path)
            if values is not None:
                return self._lookup(path, values)
        return None

    def _lookup(self, path: str, values: tuple[Value, ...]) -> list[int]:
        kind = self.schema[path]
        by_value = self._built()[path]
        found: set[int] = set()
        for value in values:  # checked: each is of the field's kind
            found.update(by_value.get(normalised(value, kind), ()))
        return sorted(found)

    def _built(self) -> dict[str, dict[object, list[int]]]:
        if self._positions is None:
            positions: dict[str, dict[object, list[int]]] = {path: {} for path in self.fields}
            for position, row in enumerate(self._rows()):
                for path in self.fields:
                    value = normalised(row.get(path), self.schema[path])
                    if value is not None:
                        positions[path].setdefault(value, []).append(position)
            self._positions = positions
        return self._positions


def narrowed(items: Sequence[Any], positions: list[int] | None) -> Sequence[Any]:
    return items if positions is None else [items[position] for position in positions]
