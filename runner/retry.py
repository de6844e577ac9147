"""Retries of transient storage failures, with tenacity.

Role: the one retry policy of the runner's HTTP storage calls that its client library does not
retry itself (GCS; boto3 retries S3 calls with its own ``standard`` mode). Google's retry
strategy for Cloud Storage: retry 408, 429 and 5xx answers and broken connections, with
truncated exponential backoff and jitter; a resumable upload asks the session how far it got
before sending the rest. Not retried: a dump itself (a dump tool's stream cannot be replayed;
the Job's ``backoffLimit`` runs the whole backup again) and any 4xx but 408 and 429.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import tenacity

__all__ = ["RETRY_STATUSES", "RetryPolicy", "TransientError"]

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})  # Cloud Storage retry strategy
MAX_ATTEMPTS = 5  # the first try and four retries
INITIAL_WAIT_SECONDS = 1.0  # Google's documented starting delay, doubled each time
MAX_WAIT_SECONDS = 32.0  # Google's documented cap
JITTER_SECONDS = 1.0


class TransientError(Exception):
    """A failure worth another try; its message says what failed."""


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """How often and how long to wait; ``sleep`` is injected so tests do not wait."""

    attempts: int = MAX_ATTEMPTS
    initial: float = INITIAL_WAIT_SECONDS
    maximum: float = MAX_WAIT_SECONDS
    jitter: float = JITTER_SECONDS
    sleep: Callable[[float], None] = time.sleep

    def retrying(self) -> tenacity.Retrying:
        """A ``Retrying`` that retries :class:`TransientError` and re-raises the last one."""
        return tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.attempts),
            wait=tenacity.wait_exponential_jitter(
                initial=self.initial, max=self.maximum, jitter=self.jitter
            ),
            retry=tenacity.retry_if_exception_type(TransientError),
            sleep=self.sleep,
            reraise=True,
        )
