"""The runner's failures, each carrying the contract's exit code.

Role: every expected failure is one of these; :mod:`runner.cli` prints its message and exits
with its code. Guarantees: messages never contain credentials (callers pass them through
:func:`runner.log.redact` when they quote a tool). Non-goals: recovery (the Job retries).
"""

from __future__ import annotations

from api.v1alpha1 import contract as c

__all__ = [
    "ConfigError",
    "DatabaseAuthError",
    "DatabaseUnreachableError",
    "RunnerError",
    "StorageError",
    "ToolError",
    "UploadError",
    "VerificationError",
]


class RunnerError(Exception):
    """A failure the runner explains and exits on."""

    exit_code = c.EXIT_INTERNAL


class ConfigError(RunnerError):
    """The environment or the arguments are wrong; retrying will not help."""

    exit_code = c.EXIT_CONFIG


class DatabaseUnreachableError(RunnerError):
    """The database server did not answer."""

    exit_code = c.EXIT_DB_UNREACHABLE


class DatabaseAuthError(RunnerError):
    """The database server refused the credentials."""

    exit_code = c.EXIT_DB_AUTH


class ToolError(RunnerError):
    """The dump or restore tool exited non-zero."""

    exit_code = c.EXIT_TOOL_FAILED


class StorageError(RunnerError):
    """The storage could not be reached or refused a request."""

    exit_code = c.EXIT_STORAGE


class UploadError(RunnerError):
    """Writing the dump or its manifest failed (nothing partial is left)."""

    exit_code = c.EXIT_UPLOAD


class VerificationError(RunnerError):
    """A dump is incomplete, missing, or does not match its manifest's size and SHA-256."""

    exit_code = c.EXIT_VERIFY
