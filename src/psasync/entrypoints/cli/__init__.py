"""The ``psasync`` command: ``app`` (Typer) and ``main`` (the console script)."""

from psasync.entrypoints.cli.operations import app, main

__all__ = ["app", "main"]
