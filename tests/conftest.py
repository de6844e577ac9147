"""Shared pytest configuration. Fixtures that start servers bind to 127.0.0.1 only."""
