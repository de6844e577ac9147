"""One log line per step, with sizes, throughput and durations, and never a credential.

Role: :func:`setup` configures the root logger for the CLI; :func:`step` logs one finished
step; :func:`redact` removes secret values from any text quoted from a tool or a server.
Guarantees: :func:`step` formats ``key=value`` pairs in the order given; sizes in bytes and
MiB, durations in seconds, throughput in MiB/s. Non-goals: structured (JSON) logging.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterable

__all__ = ["MIB", "redact", "setup", "step"]

MIB = 1024 * 1024
REDACTED = "***"
LOG = logging.getLogger("dbbackup-runner")


def setup(level: int = logging.INFO) -> None:
    """Log to stderr, one line per record, UTC timestamps."""
    handler = logging.StreamHandler(sys.stderr)
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%S")
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("botocore", "boto3", "urllib3", "s3transfer", "google"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret value replaced by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def step(
    name: str, *, seconds: float | None = None, size: int | None = None, **fields: object
) -> None:
    """Log ``step=<name>`` with the given fields, plus size, duration and throughput."""
    parts = [f"step={name}"]
    parts += [f"{k}={v}" for k, v in fields.items()]
    if size is not None:
        parts.append(f"bytes={size} mib={size / MIB:.1f}")
    if seconds is not None:
        parts.append(f"seconds={seconds:.2f}")
        if size is not None and seconds > 0:
            parts.append(f"mib_per_s={size / MIB / seconds:.1f}")
    LOG.info(" ".join(parts))
