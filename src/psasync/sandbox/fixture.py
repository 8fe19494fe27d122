"""The sandbox fixture: one YAML or JSON file that seeds the emulators (DESIGN.md §4, §11).

Each emulator owns the model of its own section; this module reads the file, checks it strictly
(an unknown key is an error naming the key, so a typo never silently drops data) and hands each
section to its emulator.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from psasync.sandbox.autotask import AutotaskFixture
from psasync.sandbox.connectwise import ConnectWiseFixture
from psasync.sandbox.marketplace import MarketplaceFixture

DEMO_FIXTURE = Path(__file__).with_name("demo.yaml")
# A small reseller's Autotask (DESIGN §11), for tests until the demo carries one.
AUTOTASK_DEMO_FIXTURE = Path(__file__).with_name("autotask_demo.yaml")


class FixtureError(ValueError):
    """A fixture file that cannot seed the sandbox; the message says where and why."""


class SandboxFixture(BaseModel):
    """The whole fixture: the marketplace section, the ConnectWise section and the optional
    Autotask section (absent: an Autotask with no data and no credentials)."""

    model_config = ConfigDict(extra="forbid")

    marketplace: MarketplaceFixture = Field(default_factory=MarketplaceFixture)
    connectwise: ConnectWiseFixture = Field(default_factory=ConnectWiseFixture)
    autotask: AutotaskFixture = Field(default_factory=AutotaskFixture)


def _where(location: tuple[int | str, ...]) -> str:
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "the fixture"


def parse_fixture(data: Mapping[str, Any], *, source: str = "fixture") -> SandboxFixture:
    """Validate already-loaded fixture data; raises :class:`FixtureError` naming each problem."""
    try:
        return SandboxFixture.model_validate(data)
    except ValidationError as error:
        problems = []
        for problem in error.errors():
            where = _where(tuple(problem["loc"]))
            if problem["type"] == "extra_forbidden":
                problems.append(f"unknown key {where!r}")
            else:
                problems.append(f"{where}: {problem['msg']}")
        raise FixtureError(f"{source}: " + "; ".join(problems)) from None


def load_fixture(path: Path | str) -> SandboxFixture:
    """Read a YAML fixture file, or a JSON one (``.json``: much faster for generated fixtures)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        if path.suffix.lower() == ".json":
            data = json.loads(text, parse_float=Decimal)
        else:
            data = yaml.safe_load(text)
    except OSError as error:
        raise FixtureError(f"cannot read fixture {path}: {error.strerror}") from None
    except (yaml.YAMLError, json.JSONDecodeError) as error:
        raise FixtureError(f"{path} is not valid YAML or JSON: {error}") from None
    if not isinstance(data, Mapping):
        raise FixtureError(
            f"{path}: a fixture is a mapping with marketplace/connectwise/autotask sections"
        )
    return parse_fixture(data, source=str(path))
