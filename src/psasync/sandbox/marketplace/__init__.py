"""Emulator of the Cloud Marketplace reseller API (CloudBlue SimpleAPI 1.15).

``create_marketplace_apps(fixture)`` gives one FastAPI app per marketplace code of the
fixture's ``marketplace:`` section (:class:`MarketplaceFixture`), mounted by the sandbox server
at ``/marketplace/{code}``. ``marketplace_error_body`` is its error JSON, also used by the
fault injection.
"""

from psasync.sandbox.marketplace.app import create_marketplace_app, create_marketplace_apps
from psasync.sandbox.marketplace.errors import marketplace_error_body
from psasync.sandbox.marketplace.fixture import MarketplaceFixture

__all__ = [
    "MarketplaceFixture",
    "create_marketplace_app",
    "create_marketplace_apps",
    "marketplace_error_body",
]
