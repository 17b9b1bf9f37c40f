"""Tests that race threads against each other (infra/emulator.py's conflicting transactions)."""

CONFLICT_WINDOW = 0.02  # seconds a transaction stays in flight while a test races threads
