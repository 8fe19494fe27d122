"""Unit tests of the ConnectWise client's pure parts."""
