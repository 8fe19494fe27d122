"""The ConnectWise PSA (Manage REST 3.0) emulator of the sandbox."""

from psasync.sandbox.connectwise.app import create_connectwise_app
from psasync.sandbox.connectwise.errors import connectwise_error_body
from psasync.sandbox.connectwise.fixture import ConnectWiseFixture

__all__ = ["ConnectWiseFixture", "connectwise_error_body", "create_connectwise_app"]
