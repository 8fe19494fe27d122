"""Cloud Marketplace client against its emulator, and the emulator against the vendor spec."""
