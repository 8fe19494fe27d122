"""Unit tests of the ConnectWise emulator's pure parts: conditions, queries, fixture."""
