"""Emulators of the marketplace and ConnectWise APIs for tests, benchmarks and the demo."""
