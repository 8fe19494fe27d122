"""The layering of DESIGN.md §1: imports point inwards only, the domain needs only stdlib, the
emulators stand apart from the product, and nothing imports the entry points.

Every folder of the table has its rule here; a module in a folder the table does not name fails
:func:`test_every_module_belongs_to_a_layer_of_the_design`, so a new folder comes with its rule.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import psasync

PACKAGE = Path(psasync.__file__).parent

# What each folder may import from psasync besides itself (DESIGN §1).
ALLOWED: dict[str, set[str]] = {
    "domain": set(),
    "adapters": {"domain"},
    "store": {"domain"},
    # Settings (config.py) reach the use cases and the app; config is read, never written back.
    "services": {"domain", "adapters", "store", "config"},
    "web": {"services", "config"},
    "jobs": {"services", "config"},
    # Everything but the emulators' internals (checked apart: SANDBOX_SURFACE).
    "entrypoints": {"domain", "adapters", "store", "services", "web", "jobs", "sandbox", "config"}
    | {"bootstrap"},
    # The emulators reach the product's domain for money and dates only (SANDBOX_DOMAIN).
    "sandbox": {"domain"},
}
# Folders of the design that need not exist yet; their rule holds from the first module on.
NOT_YET = {"jobs"}
# The top-level modules of the package; config.py and bootstrap.py may import everything
# (but the entry points, like everyone).
TOP_LEVEL = {"__init__.py", "config.py", "bootstrap.py"}

# What the product may use of the sandbox: serve it, load and generate fixtures, inject faults.
# Its emulators (sandbox/connectwise, sandbox/marketplace) are internals.
SANDBOX_SURFACE = {
    "psasync.sandbox",
    "psasync.sandbox.server",
    "psasync.sandbox.fixture",
    "psasync.sandbox.faults",
    "psasync.sandbox.generate",
}
# Who may reach the sandbox's internals: the wiring of real or sandbox adapters.
SANDBOX_INTERNALS_ALLOWED = {"bootstrap.py"}
# The domain modules the emulators may use: money, and dates (periods, months, cycles).
SANDBOX_DOMAIN = {"psasync.domain.money", "psasync.domain.billing"}
# Known breaches of SANDBOX_DOMAIN, to be removed (the emulator should spell ConnectWise's
# vocabulary itself rather than borrow the product's enums). The list may only shrink:
# test_known_sandbox_breaches_are_still_real fails once one is fixed, so it is struck off.
SANDBOX_DOMAIN_BREACHES: set[tuple[str, str]] = set()


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, relative imports resolved to absolute names."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = _package_of(path)
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, package)
            names.add(base)
            # ``from psasync import web`` imports the module psasync.web: name it (but not
            # ``from psasync import __version__``, a plain name).
            if base == "psasync":
                names.update(f"psasync.{a.name}" for a in node.names if not a.name.startswith("_"))
    return names


def _package_of(path: Path) -> list[str]:
    """The package a module is in (a package's ``__init__`` is in the package itself)."""
    return ["psasync", *path.relative_to(PACKAGE).parent.parts]


def _absolute(node: ast.ImportFrom, package: list[str]) -> str:
    if node.level == 0:
        return node.module or ""
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def psasync_imports(path: Path) -> Iterator[tuple[str, str]]:
    """``(module, its top-level part under psasync)`` for each psasync module imported."""
    for module in sorted(imported_modules(path)):
        if module.startswith("psasync."):
            yield module, module.split(".")[1]


def all_modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def layer_files(layer: str) -> list[Path]:
    return sorted((PACKAGE / layer).rglob("*.py"))


def where(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


def layer_of(path: Path) -> str:
    """The folder (or top-level module, without ``.py``) a module belongs to."""
    return where(path).split("/")[0].removesuffix(".py")


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layers_import_only_inwards(layer: str) -> None:
    files = layer_files(layer)
    assert files or layer in NOT_YET, f"layer {layer} has no modules"
    for path in files:
        for module, target in psasync_imports(path):
            assert target == layer or target in ALLOWED[layer], (
                f"{where(path)} imports {module}: {layer} may import only "
                f"{sorted(ALLOWED[layer]) or 'itself'}"
            )


def test_every_module_belongs_to_a_layer_of_the_design() -> None:
    for path in all_modules():
        top = where(path).split("/")[0]
        assert top in ALLOWED or top in TOP_LEVEL, (
            f"{where(path)} is in no folder of DESIGN §1: add the folder to the design and its "
            "rule to this test"
        )


def test_nothing_imports_the_entry_points() -> None:
    for path in all_modules():
        if layer_of(path) == "entrypoints":
            continue
        for module, target in psasync_imports(path):
            assert target != "entrypoints", (
                f"{where(path)} imports {module}: the entry points are the outermost shell"
            )


def test_only_the_wiring_reaches_into_the_emulators() -> None:
    for path in all_modules():
        if layer_of(path) == "sandbox" or where(path) in SANDBOX_INTERNALS_ALLOWED:
            continue
        for module, target in psasync_imports(path):
            if target == "sandbox":
                assert module in SANDBOX_SURFACE, (
                    f"{where(path)} imports {module}, an emulator's internals: use "
                    f"{sorted(SANDBOX_SURFACE)}"
                )


def test_the_emulators_use_the_domain_for_money_and_dates_only() -> None:
    for path in layer_files("sandbox"):
        for module, target in psasync_imports(path):
            if target != "domain" or (where(path), module) in SANDBOX_DOMAIN_BREACHES:
                continue
            assert module in SANDBOX_DOMAIN, (
                f"{where(path)} imports {module}: the emulators may use only "
                f"{sorted(SANDBOX_DOMAIN)} of the domain"
            )


def test_known_sandbox_breaches_are_still_real() -> None:
    for name, module in sorted(SANDBOX_DOMAIN_BREACHES):
        assert module in imported_modules(PACKAGE / name), (
            f"{name} no longer imports {module}: strike it off SANDBOX_DOMAIN_BREACHES"
        )


def test_the_domain_needs_only_the_standard_library() -> None:
    for path in layer_files("domain"):
        for module in imported_modules(path):
            top = module.split(".")[0]
            assert top in sys.stdlib_module_names or top == "psasync" or module == "__future__", (
                f"{where(path)} imports {module}, which is not in the stdlib"
            )


def test_the_domain_reads_no_clock() -> None:
    for path in layer_files("domain"):
        source = path.read_text(encoding="utf-8")
        for call in ("date.today(", "datetime.now(", "datetime.utcnow(", "time.time("):
            assert call not in source, f"{where(path)} calls {call}…)"


# The checker itself: relative imports count, and each rule above can fail. ---------------------


@pytest.mark.parametrize(
    ("name", "source", "expected"),
    [
        ("web/pages.py", "from ..entrypoints import cli", "psasync.entrypoints"),
        ("web/pages.py", "from . import schemas", "psasync.web"),
        ("web/__init__.py", "from .schemas import TaskItem", "psasync.web.schemas"),
        ("services/x.py", "from psasync import entrypoints", "psasync.entrypoints"),
    ],
)
def test_relative_and_package_imports_are_resolved(
    name: str, source: str, expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", tmp_path)
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source, encoding="utf-8")
    assert expected in imported_modules(path)


@pytest.mark.parametrize(
    ("name", "source", "test"),
    [
        ("domain/x.py", "import httpx", test_the_domain_needs_only_the_standard_library),
        ("domain/x.py", "from psasync.store import models", "domain"),
        ("adapters/x.py", "from psasync.services import sync", "adapters"),
        ("store/x.py", "from psasync.adapters import http", "store"),
        ("services/x.py", "from psasync.web import schemas", "services"),
        ("web/x.py", "from psasync.store import tasks", "web"),
        ("web/x.py", "from psasync.adapters.connectwise import client", "web"),
        ("jobs/x.py", "from psasync.web import app", "jobs"),
        ("jobs/x.py", "from psasync.store import tasks", "jobs"),
        ("sandbox/x.py", "from psasync.services import sync", "sandbox"),
        ("sandbox/x.py", "from psasync.domain.plan import Plan", "sandbox-domain"),
        ("config.py", "from psasync.entrypoints import cli", test_nothing_imports_the_entry_points),
        ("web/x.py", "from ..entrypoints.cli import app", test_nothing_imports_the_entry_points),
        (
            "entrypoints/x.py",
            "from psasync.sandbox.connectwise.state import State",
            test_only_the_wiring_reaches_into_the_emulators,
        ),
        ("newfolder/x.py", "", test_every_module_belongs_to_a_layer_of_the_design),
    ],
)
def test_each_rule_fails_on_a_violating_import(
    name: str, source: str, test: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fake package with one violating module: the rule that guards it fails."""
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", tmp_path)
    monkeypatch.setattr(sys.modules[__name__], "SANDBOX_DOMAIN_BREACHES", set())
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source, encoding="utf-8")
    with pytest.raises(AssertionError):
        if test == "sandbox-domain":
            test_the_emulators_use_the_domain_for_money_and_dates_only()
        elif isinstance(test, str):
            test_layers_import_only_inwards(test)
        else:
            assert callable(test)
            test()
