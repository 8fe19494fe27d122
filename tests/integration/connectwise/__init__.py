"""The ConnectWise client against its sandbox, in-process and over loopback."""
