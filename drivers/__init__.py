"""Hardware adapters and their emulators."""
