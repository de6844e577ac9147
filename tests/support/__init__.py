"""Test helpers shared across the suite (pure functions, no fixtures)."""
