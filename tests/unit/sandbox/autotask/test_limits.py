"""The request limits' accounting: endpoints, the rolling hour."""

from __future__ import annotations

import pytest

from psasync.sandbox.autotask.limits import LimitSettings, RequestLimits, endpoint_of


@pytest.mark.parametrize(
    ("path", "endpoint"),
    [
        ("/atservicesrest/v1.0/Contracts/query", "Contracts"),
        ("/atservicesrest/v1.0/Contracts/1001", "Contracts"),
        ("/atservicesrest/v1.0/Contracts/1001/Services", "Contracts/Services"),
        ("/atservicesrest/v1.0/Contracts/1001/Charges/5", "Contracts/Charges"),
        ("/atservicesrest/v1.0/ContractServiceUnits/query/count", "ContractServiceUnits"),
        ("/atservicesrest/v1.0/ThresholdInformation", "ThresholdInformation"),
        ("/atservicesrest/v1.0/zoneInformation", None),
        ("/atservicesrest/v1.0/ZONEINFORMATION", None),
        ("/atservicesrest/versioninformation", None),
    ],
)
def test_endpoints(path: str, endpoint: str | None) -> None:
    assert endpoint_of(path) == endpoint


def test_the_budget_rolls_with_the_hour() -> None:
    now = [0.0]
    limits = RequestLimits(LimitSettings(request_threshold=2), clock=lambda: now[0])
    assert limits.spend() is None
    now[0] = 100.0
    assert limits.spend() is None
    assert limits.spend() == pytest.approx(3500.0)
    now[0] = 3600.0
    assert limits.used() == 1
    assert limits.spend() is None and limits.used() == 2


def test_threads_are_counted_per_code_and_endpoint() -> None:
    limits = RequestLimits(LimitSettings(thread_limit=2))
    a, b = ("A", "contracts"), ("B", "contracts")
    assert limits.enter(a) and limits.enter(a) and not limits.enter(a)
    assert limits.enter(b)
    limits.leave(a)
    assert limits.enter(a)
    assert limits.refused_threads == 1
    assert limits.in_flight("A") == {a: 2}
