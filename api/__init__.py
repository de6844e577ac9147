"""The DatabaseBackup API: plain-data types, validation and the Job a backup becomes.

Imports nothing of this project's other packages (a test enforces it), so it can be read,
tested and reused without a cluster or a runtime.
"""
