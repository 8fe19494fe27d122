"""The job queue port: how a use case hands work to the background (DESIGN §8).

The use cases record each job in psasync's ``jobs`` table and enqueue its id; the
``jobs`` package implements the port on Procrastinate (PostgreSQL, or in memory inside the
``serve``/``demo`` process on SQLite). Nothing here knows which.
"""

from __future__ import annotations

from typing import Protocol


class QueueBusy(Exception):
    """A job of this kind for this tenant is already waiting: a second one would do nothing."""


class JobQueue(Protocol):
    async def enqueue(self, job_id: int, *, lock: str | None, queueing_lock: str | None) -> None:
        """Queue psasync job ``job_id``.

        ``lock``: jobs sharing it never run at the same time, on any worker.
        ``queueing_lock``: at most one job with it waits in the queue (``QueueBusy`` otherwise).
        """
        ...
