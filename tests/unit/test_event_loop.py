"""Every command runs on uvloop where it is installed (bootstrap.run): a sync is CPU-bound in
the event loop's own work, and uvloop's is about a fifth cheaper (docs/performance.md)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest
from typer.testing import CliRunner

from psasync import bootstrap
from psasync.entrypoints.cli import operations
from psasync.entrypoints.cli.app import app

T = TypeVar("T")

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="uvloop is not installed there")


async def loop_module() -> str:
    return type(asyncio.get_running_loop()).__module__


def test_run_runs_the_coroutine_on_uvloop() -> None:
    assert bootstrap.run(loop_module()).startswith("uvloop")


def test_run_returns_the_result_and_raises_the_error() -> None:
    async def fails() -> None:
        raise LookupError("refused")

    async def answers() -> int:
        await asyncio.sleep(0)
        return 42

    assert bootstrap.run(answers()) == 42
    with pytest.raises(LookupError, match="refused"):
        bootstrap.run(fails())


def test_a_command_runs_its_use_case_on_uvloop(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    real_run = bootstrap.run

    def recording_run(main: Coroutine[Any, Any, T]) -> T:
        async def watched() -> T:
            seen.append(await loop_module())
            return await main

        return real_run(watched())

    monkeypatch.setattr(operations, "run", recording_run)
    monkeypatch.setenv("PSASYNC_DATABASE_URL", "sqlite:///:memory:")
    result = CliRunner().invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert len(seen) == 1
    assert seen[0].startswith("uvloop")
