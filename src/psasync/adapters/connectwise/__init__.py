"""The ConnectWise PSA (Manage REST 3.0) client."""
