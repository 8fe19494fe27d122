"""Login: token, reseller account, wrong credentials versus an unreachable marketplace, renewal."""

from __future__ import annotations

import logging

import httpx
import pytest

from psasync.adapters.http import Unreachable
from psasync.adapters.marketplace import (
    InvalidCredentials,
    MarketplaceClient,
    MarketplaceUnreachable,
    RequestRejected,
)
from tests.integration.marketplace.conftest import Clock, Sandbox, Sleeps, make_client
from tests.integration.marketplace.data import ALICE, BASE, BOB, CAROL, CONTOSO, NORTHWIND
from tests.integration.marketplace.spec import SpecChecker

pytestmark = pytest.mark.anyio


async def test_login_gives_the_users_reseller_account(
    client: MarketplaceClient, sandbox: Sandbox, spec: SpecChecker
) -> None:
    session = await client.login(**ALICE)
    account = session.reseller
    assert (account.id, account.name, account.currency, account.marketplace) == (
        NORTHWIND,
        "Northwind IT",
        "USD",
        "us",
    )
    assert sandbox.calls.snapshot() == {("POST", "/token"): 1, ("GET", "/resellers"): 1}
    assert spec.checked >= 2, "the token and reseller answers were checked against the spec"


async def test_another_user_of_the_marketplace_gets_their_own_account(
    client: MarketplaceClient,
) -> None:
    assert (await client.login(**BOB)).reseller.id == CONTOSO


@pytest.mark.parametrize(
    ("username", "password"),
    [
        (ALICE["username"], "wrong-password"),
        ("nobody@example.test", ALICE["password"]),
        (CAROL["username"], CAROL["password"]),  # a user of the eu marketplace
    ],
)
async def test_wrong_credentials_are_invalid_credentials(
    client: MarketplaceClient, sandbox: Sandbox, username: str, password: str
) -> None:
    with pytest.raises(InvalidCredentials, match="invalid marketplace credentials") as raised:
        await client.login(username=username, password=password)
    assert raised.value.status == 401
    assert not isinstance(raised.value, Unreachable)
    assert raised.value.correlation_id, "the vendor's correlation id travels with the error"
    assert sandbox.calls.total(method="POST") == 1, "a refused login is not retried"


async def test_a_wrong_subscription_key_is_refused_as_credentials(
    http: httpx.AsyncClient, sandbox: Sandbox, sleeps: Sleeps
) -> None:
    client = make_client(http, sleeps=sleeps, clock=sandbox.clock, key="not-the-key")
    with pytest.raises(InvalidCredentials, match="invalid subscription key"):
        await client.login(**ALICE)


async def test_empty_credentials_are_refused_without_a_call(
    client: MarketplaceClient, sandbox: Sandbox
) -> None:
    with pytest.raises(InvalidCredentials, match="username and a password are needed"):
        await client.login(username=" ", password="x")
    with pytest.raises(InvalidCredentials):
        await client.login(username="alice", password="")
    assert sandbox.calls.total() == 0


async def test_a_token_for_another_marketplace_code_is_a_rejected_request(
    http: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    client = MarketplaceClient(
        http, base_url=BASE, code="eu", subscription_key="us-gateway-key-0001", now=sandbox.clock
    )
    with pytest.raises(RequestRejected, match="'eu' is not served here"):
        await client.login(**ALICE)


async def test_a_refused_connection_is_unreachable_not_invalid_credentials(
    sleeps: Sleeps,
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as http:
        client = make_client(http, sleeps=sleeps, clock=Clock(), attempts=3)
        with pytest.raises(MarketplaceUnreachable, match="marketplace unreachable") as raised:
            await client.login(**ALICE)
    assert isinstance(raised.value, Unreachable)
    assert not isinstance(raised.value, InvalidCredentials)
    assert len(sleeps.delays) == 2, "the token request was retried before giving up"


async def test_the_token_is_renewed_before_it_lapses(
    client: MarketplaceClient, sandbox: Sandbox
) -> None:
    session = await client.login(**ALICE)
    sandbox.clock.advance(1500 - 120)  # two minutes left: still used
    await session.get_customer("1000048531")
    assert sandbox.calls.total(method="POST") == 1
    sandbox.clock.advance(90)  # thirty seconds left, inside the 60 s margin: renewed first
    await session.get_customer("1000048531")
    assert sandbox.calls.total(method="POST") == 2
    assert sandbox.calls.snapshot()[("GET", "/customers/1000048531")] == 2, "no call was refused"


async def test_a_token_refused_early_is_renewed_once_and_the_call_repeated(
    http: httpx.AsyncClient, sandbox: Sandbox, sleeps: Sleeps
) -> None:
    client_clock = Clock()  # the client believes the token is fresh …
    client = make_client(http, sleeps=sleeps, clock=client_clock)
    session = await client.login(**ALICE)
    sandbox.clock.advance(1501)  # … but the marketplace's clock says it lapsed
    customer = await session.get_customer("1000048531")
    assert customer.name == "Green Lane LLC"
    assert sandbox.calls.total(method="POST") == 2
    assert sandbox.calls.snapshot()[("GET", "/customers/1000048531")] == 2
    assert sleeps.delays == [], "a 401 is renewed at once, not backed off"


async def test_concurrent_calls_share_one_renewal(
    client: MarketplaceClient, sandbox: Sandbox
) -> None:
    import anyio

    session = await client.login(**ALICE)
    sandbox.clock.advance(1490)

    async with anyio.create_task_group() as group:
        for _ in range(5):
            group.start_soon(session.get_customer, "1000048531")
    assert sandbox.calls.total(method="POST") == 2


async def test_secrets_never_reach_logs_reprs_or_messages(
    http: httpx.AsyncClient, sandbox: Sandbox, sleeps: Sleeps, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = make_client(http, sleeps=sleeps, clock=sandbox.clock)
    texts = [repr(client)]
    session = await client.login(**ALICE)
    texts += [repr(session), repr(session._reader), repr(session._reader.tokens)]
    token = session._reader.tokens._token
    assert token is not None
    texts.append(repr(token))
    for wrong in ("wrong-password", ALICE["password"] + "x"):
        try:
            await client.login(username=ALICE["username"], password=wrong)
        except InvalidCredentials as error:
            texts += [str(error), repr(error)]
    sandbox.clock.advance(1501)
    await session.list_customers()  # refused, renewed, repeated: all logged
    everything = "\n".join([*texts, caplog.text])
    for secret in (ALICE["password"], "us-gateway-key-0001", token.value):
        assert secret not in everything
    assert "X-Correlation-ID" in caplog.text
