"""Test-suite settings shared by every layer."""

import os

import pytest
from hypothesis import HealthCheck, settings

# Property tests must not flake on a slow or busy machine: no per-example deadline.
settings.register_profile("default", deadline=None)
# A deeper search, run on demand: HYPOTHESIS_PROFILE=thorough make unit
settings.register_profile(
    "thorough", deadline=None, max_examples=3000, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture
def anyio_backend() -> str:
    """Async tests (``@pytest.mark.anyio``) run on asyncio, like the product."""
    return "asyncio"
