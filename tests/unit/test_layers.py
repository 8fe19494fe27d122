"""The layering of DESIGN.md §1: imports point inwards only, and the domain needs only stdlib."""

import ast
import sys
from pathlib import Path

import pytest

import psasync

PACKAGE = Path(psasync.__file__).parent

# What each layer may import from psasync besides itself.
ALLOWED = {
    "domain": set(),
    "adapters": {"domain"},
    "store": {"domain"},
    # Settings (config.py) reach the use cases and the app; config is read, never written back.
    "services": {"domain", "adapters", "store", "config"},
    "web": {"services", "config"},
    "sandbox": {"domain"},
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def layer_files(layer: str) -> list[Path]:
    return sorted((PACKAGE / layer).rglob("*.py"))


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layers_import_only_inwards(layer: str) -> None:
    files = layer_files(layer)
    assert files, f"layer {layer} has no modules"
    for path in files:
        for module in imported_modules(path):
            if module == "psasync" or not module.startswith("psasync."):
                continue
            target = module.split(".")[1]
            assert target == layer or target in ALLOWED[layer], (
                f"{path.relative_to(PACKAGE)} imports {module}: {layer} may import only "
                f"{sorted(ALLOWED[layer]) or 'itself'}"
            )


def test_the_domain_needs_only_the_standard_library() -> None:
    for path in layer_files("domain"):
        for module in imported_modules(path):
            top = module.split(".")[0]
            assert top in sys.stdlib_module_names or top == "psasync" or module == "__future__", (
                f"{path.relative_to(PACKAGE)} imports {module}, which is not in the stdlib"
            )


def test_the_domain_reads_no_clock() -> None:
    for path in layer_files("domain"):
        source = path.read_text(encoding="utf-8")
        for call in ("date.today(", "datetime.now(", "datetime.utcnow(", "time.time("):
            assert call not in source, f"{path.relative_to(PACKAGE)} calls {call}…)"
