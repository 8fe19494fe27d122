"""The Cloud Marketplace (CloudBlue "SimpleAPI") client.

``MarketplaceClient(http, base_url=, code=, subscription_key=)`` per configured marketplace;
``await client.login(username=, password=)`` gives a :class:`MarketplaceSession` with the user's
:class:`ResellerAccount` and typed, paginated reads of customers, orders, subscriptions and
products mapped to domain objects.
"""

from psasync.adapters.marketplace.auth import AccessToken, Credentials, TokenKeeper
from psasync.adapters.marketplace.client import MarketplaceClient
from psasync.adapters.marketplace.errors import (
    AccessDenied,
    InvalidCredentials,
    MarketplaceError,
    MarketplaceUnreachable,
    NotFound,
    PagingError,
    RequestRejected,
    ResellerAccountUnclear,
    SessionRejected,
    UnexpectedResponse,
    UnsupportedOrder,
    UnsupportedSubscription,
)
from psasync.adapters.marketplace.models import (
    Customer,
    Listing,
    OrderResult,
    Product,
    ProductPrice,
    ResellerAccount,
    SkipKind,
    Skipped,
)
from psasync.adapters.marketplace.session import MarketplaceSession

__all__ = [
    "AccessDenied",
    "AccessToken",
    "Credentials",
    "Customer",
    "InvalidCredentials",
    "Listing",
    "MarketplaceClient",
    "MarketplaceError",
    "MarketplaceSession",
    "MarketplaceUnreachable",
    "NotFound",
    "OrderResult",
    "PagingError",
    "Product",
    "ProductPrice",
    "RequestRejected",
    "ResellerAccount",
    "ResellerAccountUnclear",
    "SessionRejected",
    "SkipKind",
    "Skipped",
    "TokenKeeper",
    "UnexpectedResponse",
    "UnsupportedOrder",
    "UnsupportedSubscription",
]
