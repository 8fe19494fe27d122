"""Unit tests of the sandbox emulators' pure parts."""
