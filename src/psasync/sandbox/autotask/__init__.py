"""The Autotask PSA (REST v1.0) emulator of the sandbox.

:func:`build_autotask` gives the ASGI app the sandbox server mounts at ``/atservicesrest``: the
request limits (thread limit, hourly budget) outside, then the shared fault injection and call
counting, then the emulator, so a request held by the latency fault holds its thread slot.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.types import ASGIApp

from psasync.sandbox.autotask.app import create_autotask_app
from psasync.sandbox.autotask.control import control_router
from psasync.sandbox.autotask.errors import autotask_error_body
from psasync.sandbox.autotask.fixture import AutotaskFixture
from psasync.sandbox.autotask.limits import LimitMiddleware, LimitSettings, RequestLimits
from psasync.sandbox.autotask.state import AutotaskState
from psasync.sandbox.faults import CallCounter, FaultInjector, FaultMiddleware

MOUNT = "/atservicesrest"


@dataclass(frozen=True)
class AutotaskSandbox:
    """The mountable app, the emulator's data and its request limits."""

    app: ASGIApp
    state: AutotaskState
    limits: RequestLimits


def build_autotask(
    fixture: AutotaskFixture,
    *,
    faults: FaultInjector,
    calls: CallCounter,
    limits: RequestLimits | None = None,
) -> AutotaskSandbox:
    state = AutotaskState(fixture)
    limits = limits or RequestLimits()
    inner = create_autotask_app(state, limits)
    wrapped = FaultMiddleware(inner, faults=faults, calls=calls, error_body=autotask_error_body)
    return AutotaskSandbox(
        app=LimitMiddleware(wrapped, limits=limits, calls=calls), state=state, limits=limits
    )


__all__ = [
    "MOUNT",
    "AutotaskFixture",
    "AutotaskSandbox",
    "AutotaskState",
    "LimitSettings",
    "RequestLimits",
    "autotask_error_body",
    "build_autotask",
    "control_router",
]
