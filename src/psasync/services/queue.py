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

    async def enqueue_part(self, job_id: int, key: str, *, lock: str | None) -> None:
        """Queue part ``key`` of job ``job_id`` (see :func:`psasync.services.jobs.run_part`);
        a part already waiting is not queued twice. ``lock``: parts sharing it never run at
        the same time."""
        ...

    async def enqueue_finish(self, job_id: int) -> None:
        """Queue the end of job ``job_id`` once its parts have run (at most one waiting)."""
        ...
