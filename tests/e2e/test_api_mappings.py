"""Product mappings over the API: the optional setup-fee item, saved, kept, removed and checked
(never a Bundle, never an item ConnectWise does not have)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.e2e.conftest import World
from tests.e2e.test_api_flow import error_of

pytestmark = pytest.mark.anyio
PATH = "/api/v1/connectwise/mappings/products"
BACKUP = "BKP-CLOUD-500"  # catalog #303
SETUP_ITEM = 306  # EPP-ANNUAL stands in for an onboarding item
BUNDLE = 390


async def put(client: httpx.AsyncClient, *rows: dict[str, Any]) -> httpx.Response:
    return await client.put(PATH, json=list(rows))


def row_of(answer: httpx.Response, mpn: str = BACKUP) -> dict[str, Any]:
    assert answer.status_code == 200, answer.text
    return dict(next(row for row in answer.json() if row["mpn"] == mpn))


def setup_of(row: dict[str, Any]) -> tuple[Any, Any]:
    return row["setupCatalogItemId"], row["setupIdentifier"]


async def test_a_setup_fee_item_is_saved_kept_and_removed(world: World) -> None:
    async with world.ready() as client:
        saved = row_of(
            await put(client, {"mpn": BACKUP, "catalogItemId": 303, "setupCatalogItemId": 306})
        )
        assert (saved["catalogItemId"], setup_of(saved)) == (303, (SETUP_ITEM, "EPP-ANNUAL"))
        assert setup_of(row_of(await client.get(PATH))) == (SETUP_ITEM, "EPP-ANNUAL")

        # Mapping only the recurring item keeps the setup-fee item; null removes it.
        kept = row_of(await put(client, {"mpn": BACKUP, "catalogItemId": 303}))
        assert setup_of(kept) == (SETUP_ITEM, "EPP-ANNUAL")
        removed = row_of(
            await put(client, {"mpn": BACKUP, "catalogItemId": 303, "setupCatalogItemId": None})
        )
        assert setup_of(removed) == (None, None)
        unmapped = [row for row in (await client.get(PATH)).json() if row["catalogItemId"] is None]
        assert all(setup_of(row) == (None, None) for row in unmapped)


@pytest.mark.parametrize(
    ("row", "code", "words"),
    [
        (
            {"mpn": BACKUP, "catalogItemId": 303, "setupCatalogItemId": BUNDLE},
            "BundleItem",
            "Bundle",
        ),
        ({"mpn": BACKUP, "catalogItemId": BUNDLE}, "BundleItem", "Bundle"),
        (
            {"mpn": BACKUP, "catalogItemId": 303, "setupCatalogItemId": 999999},
            "MappedItemMissing",
            "999999",
        ),
        ({"mpn": "  ", "catalogItemId": 303}, "InvalidMpn", "MPN"),
    ],
)
async def test_a_bundle_or_a_missing_item_is_refused_and_nothing_is_stored(
    world: World, row: dict[str, Any], code: str, words: str
) -> None:
    async with world.ready() as client:
        before = (await client.get(PATH)).json()
        answer = await put(client, row)
        assert answer.status_code == 422, answer.text
        error = error_of(answer)
        assert error["code"] == code and words in error["message"]
        assert (await client.get(PATH)).json() == before
