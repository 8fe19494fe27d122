"""Connection settings, request signing and codebase discovery."""

from __future__ import annotations

import base64
import random

import httpx
import pytest

from psasync.adapters.connectwise.site import (
    ACCEPT,
    ConnectWiseSite,
    SiteError,
    agreement_record_url,
    discover_codebase,
)
from psasync.adapters.http import RetryPolicy

pytestmark = pytest.mark.anyio
SECRET = "pr1vate-Key"


def site(**changes: str | None) -> ConnectWiseSite:
    values: dict[str, str | None] = {
        "site_url": "api-na.myconnectwise.net/",
        "company_id": "northwind",
        "public_key": "pubKey",
        "private_key": SECRET,
        "client_id": "5b1c2a6e",
    }
    return ConnectWiseSite(**{**values, **changes})  # type: ignore[arg-type]


def test_requests_are_signed_the_vendor_way() -> None:
    headers = site().headers()
    scheme, token = headers["Authorization"].split()
    assert scheme == "Basic"
    assert base64.b64decode(token).decode() == f"northwind+pubKey:{SECRET}"
    assert headers["clientId"] == "5b1c2a6e"
    assert headers["Accept"] == ACCEPT == "application/vnd.connectwise.com+json; version=2026.11"


def test_the_private_key_stays_out_of_the_repr() -> None:
    assert SECRET not in repr(site()) and SECRET not in str(site())


def test_urls_get_a_scheme_and_lose_trailing_slashes() -> None:
    assert site().root == "https://api-na.myconnectwise.net"
    assert site(site_url="http://127.0.0.1:8000").api_base("/v2026_11/") == (
        "http://127.0.0.1:8000/v2026_11/apis/3.0/"
    )


@pytest.mark.parametrize("name", ["site_url", "company_id", "public_key", "private_key"])
def test_empty_settings_are_refused_by_name(name: str) -> None:
    with pytest.raises(SiteError, match=name.replace("_", " ")):
        site(**{name: "  "})


def test_a_codebase_that_is_not_a_path_segment_is_refused() -> None:
    with pytest.raises(SiteError, match="codebase"):
        site(codebase="../admin")


def answering(*responses: httpx.Response | Exception) -> tuple[httpx.AsyncClient, list[str]]:
    seen: list[str] = []
    queue = list(responses)

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return httpx.AsyncClient(transport=httpx.MockTransport(handle)), seen


async def no_sleep(_: float) -> None:
    return None


POLICY = RetryPolicy(attempts=2, sleep=no_sleep, rng=random.Random(1))


async def test_the_codebase_comes_from_company_info() -> None:
    http, seen = answering(httpx.Response(200, json={"Codebase": "v2026_11/", "IsCloud": True}))
    async with http:
        assert await discover_codebase(http, site(), policy=POLICY) == "v2026_11"
    assert seen == ["https://api-na.myconnectwise.net/login/companyinfo/northwind"]


async def test_an_explicit_codebase_wins_without_a_request() -> None:
    http, seen = answering()
    async with http:
        assert await discover_codebase(http, site(codebase="v2025_1/"), policy=POLICY) == "v2025_1"
    assert seen == []


@pytest.mark.parametrize(
    "answers",
    [
        [httpx.Response(404, json={"code": "NotFound", "message": "no"})],
        [httpx.Response(200, json={"CompanyName": "x"})],
        [httpx.Response(200, json={"Codebase": "../../etc/"})],
        [httpx.Response(200, json=["v1"])],
        [httpx.Response(200, content=b"<html>maintenance</html>")],
        [httpx.ConnectError("refused"), httpx.ConnectError("refused")],
    ],
    ids=["404", "absent", "unsafe", "not-an-object", "not-json", "unreachable"],
)
async def test_the_default_codebase_is_used_when_the_site_cannot_say(
    answers: list[httpx.Response | Exception],
) -> None:
    http, _ = answering(*answers)
    async with http:
        assert await discover_codebase(http, site(), policy=POLICY) == "v4_6_release"


# The agreement's page in the ConnectWise screens -------------------------------------------------

RECORD = "services/system_io/router/openrecord.rails"


@pytest.mark.parametrize(
    ("site_url", "screens"),
    [
        ("api-na.myconnectwise.net/", "https://na.myconnectwise.net"),
        ("https://API-EU.MyConnectWise.net", "https://eu.myconnectwise.net"),
        ("https://api-au.myconnectwise.net:8443/", "https://au.myconnectwise.net:8443"),
        ("https://cw.example.com", "https://cw.example.com"),
        ("https://api-cw.example.com", "https://api-cw.example.com"),
        ("https://api.myconnectwise.net", "https://api.myconnectwise.net"),
        ("http://127.0.0.1:8001", "http://127.0.0.1:8001"),
        ("https://psa.example.com/manage/", "https://psa.example.com/manage"),
    ],
)
def test_the_agreement_link_opens_the_sites_screens(site_url: str, screens: str) -> None:
    url = agreement_record_url(site(site_url=site_url), codebase="v2026_11", agreement_id=1201)
    assert url == (
        f"{screens}/v2026_11/{RECORD}?recordType=AgreementFV&recid=1201&companyName=northwind"
    )


def test_the_agreement_link_takes_a_site_url_and_company_id() -> None:
    url = agreement_record_url(
        " api-na.myconnectwise.net ",
        codebase="/v4_6_release/",
        agreement_id=7,
        company_id=" North Wind&Co/1 ",
    )
    assert url == (
        f"https://na.myconnectwise.net/v4_6_release/{RECORD}"
        "?recordType=AgreementFV&recid=7&companyName=North%20Wind%26Co%2F1"
    )


def test_a_given_company_id_wins_over_the_sites() -> None:
    url = agreement_record_url(site(), codebase="v4_6_release", agreement_id=1, company_id="other")
    assert url.endswith("&companyName=other")


@pytest.mark.parametrize(
    ("target", "changes", "message"),
    [
        ("  ", {"company_id": "northwind"}, "site url"),
        ("https://cw.example.com", {}, "company id"),
        ("https://cw.example.com", {"company_id": " "}, "company id"),
        ("https://cw.example.com", {"company_id": "x", "agreement_id": 0}, "agreement id"),
        ("https://cw.example.com", {"company_id": "x", "agreement_id": True}, "agreement id"),
        ("https://cw.example.com", {"company_id": "x", "codebase": "../admin"}, "codebase"),
        ("https://api-na.myconnectwise.net:99999", {"company_id": "x"}, "port"),
    ],
)
def test_an_agreement_link_that_cannot_be_made_is_refused(
    target: str, changes: dict[str, object], message: str
) -> None:
    arguments: dict[str, object] = {"codebase": "v4_6_release", "agreement_id": 5, **changes}
    with pytest.raises(SiteError, match=message):
        agreement_record_url(target, **arguments)  # type: ignore[arg-type]
