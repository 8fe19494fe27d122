"""The thread limit (real requests in flight), the hourly budget, and the shared faults with
Autotask's error body — in-process and over a loopback socket."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from psasync.sandbox.faults import FaultSettings
from psasync.sandbox.server import Sandbox, serve_in_thread
from tests.integration.autotask.conftest import API, HEADERS

pytestmark = pytest.mark.anyio

CONTRACTS = f"{API}/Contracts/query"
BODY = {"Filter": [{"op": "exist", "field": "id"}]}
SLOW = FaultSettings(latency_ms=300, path_prefix="/atservicesrest/v1.0/Contracts")


@pytest.fixture
def served(sandbox: Sandbox) -> Iterator[str]:
    with serve_in_thread(sandbox.app) as url:
        yield url


def is_thread_limit(answer: httpx.Response) -> bool:
    return answer.status_code == 500 and "Itgenatr005" in answer.json()["errors"][0]


async def test_a_fourth_concurrent_request_is_refused_in_process(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    sandbox.faults.configure(SLOW)
    answers = await asyncio.gather(*(http.post(CONTRACTS, json=BODY) for _ in range(4)))
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 500]
    assert sum(is_thread_limit(a) for a in answers) == 1
    # Once they are answered, the slots are free again.
    assert (await http.post(CONTRACTS, json=BODY)).status_code == 200
    assert sandbox.autotask is not None and sandbox.autotask.limits.in_flight() == {}


async def test_the_limit_is_per_endpoint_and_per_integration_code(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    sandbox.faults.configure(FaultSettings(latency_ms=300, path_prefix=API))
    other_code = {**HEADERS, "ApiIntegrationCode": "SOMEONE-ELSE"}
    answers = await asyncio.gather(
        *(http.post(CONTRACTS, json=BODY) for _ in range(3)),
        *(http.post(f"{API}/Services/query", json=BODY) for _ in range(3)),
        # Another code is counted apart (and is then refused for its credentials).
        http.post(CONTRACTS, json=BODY, headers=other_code),
    )
    assert [a.status_code for a in answers] == [200] * 6 + [401]


async def test_the_thread_limit_over_a_real_socket(sandbox: Sandbox, served: str) -> None:
    sandbox.faults.configure(SLOW)
    async with httpx.AsyncClient(base_url=served, headers=HEADERS, timeout=10) as http:
        answers = await asyncio.gather(*(http.post(CONTRACTS, json=BODY) for _ in range(5)))
        assert sum(a.status_code == 200 for a in answers) == 3
        assert sum(is_thread_limit(a) for a in answers) == 2
        limits = (await http.get(f"{served}/_sandbox/autotask/limits")).json()
    assert limits["threadLimit"] == 3 and limits["threadLimitRefusals"] == 2
    # Every request is counted, the refused ones too.
    assert sandbox.calls.total(prefix=CONTRACTS) == 5


async def test_the_thread_limit_can_be_switched(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    switched = await http.put("/_sandbox/autotask/limits", json={"threadLimit": 1})
    assert switched.json()["threadLimit"] == 1
    sandbox.faults.configure(SLOW)
    answers = await asyncio.gather(*(http.post(CONTRACTS, json=BODY) for _ in range(2)))
    assert sorted(a.status_code for a in answers) == [200, 500]
    assert (await http.put("/_sandbox/autotask/limits", json={"threadLimit": 0})).status_code == 400


async def test_the_hourly_budget(http: httpx.AsyncClient) -> None:
    await http.put("/_sandbox/autotask/limits", json={"requestThreshold": 3})
    await http.delete("/_sandbox/autotask/limits/requests")
    answers = [await http.get(f"{API}/Contracts/1001") for _ in range(3)]
    assert all(a.status_code == 200 for a in answers)
    over = await http.get(f"{API}/Contracts/1001")
    assert over.status_code == 429
    assert "threshold" in over.json()["errors"][0]
    assert 3590 <= int(over.headers["Retry-After"]) <= 3600
    # Zone discovery is not counted against the budget.
    zone = await http.get(f"{API}/zoneInformation", params={"user": HEADERS["UserName"]})
    assert zone.status_code == 200
    await http.put("/_sandbox/autotask/limits", json={"requestThreshold": 10})
    info = (await http.get(f"{API}/ThresholdInformation")).json()
    assert info == {
        "externalRequestThreshold": 10,
        "requestThresholdTimeframe": 60,
        "currentTimeframeRequestCount": 4,
    }


@pytest.mark.parametrize(("fault", "status"), [("rate_429", 429), ("rate_5xx", 503)])
async def test_injected_answers_wear_autotasks_error_body(
    sandbox: Sandbox, http: httpx.AsyncClient, fault: str, status: int
) -> None:
    sandbox.faults.configure(
        FaultSettings.model_validate({fault: 1.0, "path_prefix": "/atservicesrest"})
    )
    answer = await http.get(f"{API}/Contracts/1001")
    assert answer.status_code == status
    assert list(answer.json()) == ["errors"]
    if status == 429:
        assert answer.headers["Retry-After"] == "1"


async def test_a_dropped_answer_after_an_adjustment_applied_it(
    sandbox: Sandbox, served: str
) -> None:
    sandbox.faults.configure(
        FaultSettings(rate_drop=1.0, methods=frozenset({"POST"}), path_prefix=API)
    )
    async with httpx.AsyncClient(base_url=served, headers=HEADERS, timeout=10) as http:
        with pytest.raises(httpx.RemoteProtocolError):
            await http.post(
                f"{API}/ContractServiceAdjustments",
                json={"contractServiceID": 7001, "unitChange": 2, "effectiveDate": "2026-11-11"},
            )
    assert sandbox.autotask is not None
    assert len(sandbox.autotask.state.adjustments()) == 1


async def test_a_late_apply_lands_after_the_client_gave_up(sandbox: Sandbox, served: str) -> None:
    sandbox.faults.configure(
        FaultSettings(
            late_apply_count=1,
            late_apply_seconds=0.5,
            methods=frozenset({"POST"}),
            path_prefix=f"{API}/ContractServiceAdjustments",
        )
    )
    assert sandbox.autotask is not None
    state = sandbox.autotask.state
    async with httpx.AsyncClient(base_url=served, headers=HEADERS) as http:
        with pytest.raises(httpx.ReadTimeout):
            await http.post(
                f"{API}/ContractServiceAdjustments",
                json={"contractServiceID": 7001, "unitChange": 2, "effectiveDate": "2026-11-11"},
                timeout=0.1,
            )
        assert state.adjustments() == []
        await asyncio.sleep(0.8)
    assert len(state.adjustments()) == 1


async def test_the_faults_injected_are_counted_by_kind_until_switched_again(
    http: httpx.AsyncClient,
) -> None:
    """What a soak reports as the faults it endured (``GET /_sandbox/faults/injected``)."""
    refuse_then_late = {
        "refuse_after": 1,
        "refuse_count": 1,
        "late_apply_count": 1,
        "late_apply_seconds": 0,
        "rate_429": 1.0,
        "path_prefix": f"{API}/Contracts",
    }
    assert (await http.put("/_sandbox/faults", json=refuse_then_late)).status_code == 200
    answers = [(await http.get(f"{API}/Contracts/1001")).status_code for _ in range(5)]
    # The first passes the refusal and is held late, the second is refused, then 429s.
    assert answers == [200, 400, 429, 429, 429]
    assert (await http.get(f"{API}/Companies/0")).status_code == 200  # not aimed at
    counted = await http.get("/_sandbox/faults/injected")
    assert counted.json() == {"400": 1, "late": 1, "429": 3}
    await http.put("/_sandbox/faults", json={})
    assert (await http.get("/_sandbox/faults/injected")).json() == {}
