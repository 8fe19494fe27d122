"""The ``psasync`` command: :data:`app` (Typer) and :func:`main` (the console script).

``app.py`` holds the Typer app, the root options and ``psasync config``; ``sandbox.py`` the
emulators and the demo; ``operations.py`` what an operator runs (``db upgrade``, ``serve``,
``check-changes``, ``tasks``, ``sync``); ``common.py`` their settings and login; ``output.py``
the tables and JSON they print; ``reconcile.py`` the
reconciliation report.
"""

from psasync.entrypoints.cli import operations, reconcile, sandbox
from psasync.entrypoints.cli.app import app, main

__all__ = ["app", "main", "operations", "reconcile", "sandbox"]
