"""Newest-first lists indexed by what their list endpoints filter on.

A page of ``GET /orders?creationTimeFrom=…&creationTimeTo=…`` must not cost the emulator a pass
over every order: the benchmarks time psasync, not the sandbox. Each list is kept once, newest
first, with its items grouped by every exact-match filter and its creation dates ascending, so a
date range is two bisections and a view onto the list. A query starts from the smallest of the
candidate lists its filters give and checks the remaining filters on those items only; the
answer is the same list, in the same order, as filtering the whole list would give.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Generic, TypeVar, overload

T = TypeVar("T")
Key = Callable[[T], str | None]


class Run(Sequence[T]):
    """``items[start:stop]`` without copying it."""

    def __init__(self, items: Sequence[T], start: int, stop: int) -> None:
        self._items = items
        self._start = start
        self._stop = max(start, stop)

    def __len__(self) -> int:
        return self._stop - self._start

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[T]: ...
    def __getitem__(self, index: int | slice) -> T | Sequence[T]:
        if isinstance(index, slice):
            start, stop, stride = index.indices(len(self))
            if stride != 1:
                return [self[i] for i in range(start, stop, stride)]
            return self._items[self._start + start : self._start + stop]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self._items[self._start + index]

    def __iter__(self) -> Iterator[T]:
        for index in range(self._start, self._stop):
            yield self._items[index]


class Indexed(Generic[T]):
    """A newest-first list, its items grouped by each of ``keys`` and bisectable by ``created``."""

    def __init__(
        self,
        items: Sequence[T],
        *,
        keys: Mapping[str, Key[T]],
        created: Callable[[T], dt.date],
    ) -> None:
        self.items: tuple[T, ...] = tuple(items)
        self._keys = dict(keys)
        self._groups: dict[str, dict[str | None, list[T]]] = {name: {} for name in keys}
        for item in self.items:
            for name, key in self._keys.items():
                self._groups[name].setdefault(key(item), []).append(item)
        self._created = created
        # Newest first means creation dates descending: reversed, they can be bisected.
        self._ascending = [created(item) for item in reversed(self.items)]

    def __len__(self) -> int:
        return len(self.items)

    def select(
        self,
        equal: Mapping[str, str | None] | None = None,
        *,
        low: dt.date | None = None,
        high: dt.date | None = None,
    ) -> Sequence[T]:
        """The items equal to every given value of ``equal`` (None: no filter) and created
        within ``[low, high]`` (each bound optional), newest first."""
        wanted = {name: value for name, value in (equal or {}).items() if value is not None}
        candidates: list[Sequence[T]] = [
            self._groups[name].get(value, []) for name, value in wanted.items()
        ]
        ranged = low is not None or high is not None
        if ranged:
            candidates.append(self._between(low, high))
        if not candidates:
            return self.items
        smallest = min(candidates, key=len)
        if len(candidates) == 1:
            return smallest
        keys = [(self._keys[name], value) for name, value in wanted.items()]
        return [
            item
            for item in smallest
            if all(key(item) == value for key, value in keys)
            and (not ranged or _within(self._created(item), low, high))
        ]

    def _between(self, low: dt.date | None, high: dt.date | None) -> Sequence[T]:
        count = len(self._ascending)
        first = bisect.bisect_left(self._ascending, low) if low is not None else 0
        last = bisect.bisect_right(self._ascending, high) if high is not None else count
        # Ascending positions [first, last) are newest-first positions [count-last, count-first).
        return Run(self.items, count - last, count - first)


def _within(value: dt.date, low: dt.date | None, high: dt.date | None) -> bool:
    return (low is None or low <= value) and (high is None or value <= high)
