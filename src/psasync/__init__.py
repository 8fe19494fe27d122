"""psasync keeps Cloud Marketplace subscriptions and ConnectWise PSA agreements in step."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("psasync")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0+unknown"
