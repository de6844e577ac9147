"""Running the database tools: short commands, and streaming ones with a drained stderr.

Role: :func:`run_capture` runs a short command (a version query, a connection probe);
:class:`ToolProcess` runs a dump or restore tool whose stdin or stdout is a pipe.
Guarantees: stderr is read concurrently (a chatty tool never blocks) and only its last
:data:`STDERR_LINES` lines are kept; a :class:`ToolProcess` left by an exception is killed and
reaped; a missing executable is a :class:`~runner.errors.ConfigError` (wrong image).
Non-goals: deciding what a tool's failure means (the engine classifies it).
"""

from __future__ import annotations

import collections
import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import IO

from runner.errors import ConfigError

__all__ = ["PROBE_TIMEOUT_SECONDS", "STDERR_LINES", "ToolProcess", "run_capture"]

STDERR_LINES = 20
PROBE_TIMEOUT_SECONDS = 60


def run_capture(argv: Sequence[str], env: Mapping[str, str]) -> tuple[int, str, str]:
    """``(exit code, stdout, stderr)`` of a short command."""
    try:
        done = subprocess.run(
            list(argv),
            env=dict(env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            encoding="utf-8",
            errors="replace",
            timeout=PROBE_TIMEOUT_SECONDS,
            check=False,
        )
    except FileNotFoundError:
        raise ConfigError(f"{argv[0]} is not installed in this image") from None
    except subprocess.TimeoutExpired:
        return -1, "", f"{argv[0]} did not answer within {PROBE_TIMEOUT_SECONDS}s"
    return done.returncode, done.stdout.strip(), done.stderr.strip()


class ToolProcess:
    """A tool with a piped stdin (``feed=True``, restores) or stdout (dumps)."""

    def __init__(self, argv: Sequence[str], env: Mapping[str, str], *, feed: bool) -> None:
        self.name = argv[0]
        try:
            self._proc = subprocess.Popen(
                list(argv),
                env=dict(env),
                stdin=subprocess.PIPE if feed else subprocess.DEVNULL,
                stdout=subprocess.DEVNULL if feed else subprocess.PIPE,
                stderr=subprocess.PIPE,
                # Its own process group: kill() reaches what the tool started too
                # (pg_dumpall's pg_dump, a shell's pipeline), which would else keep the pipes
                # open and the runner waiting.
                start_new_session=True,
            )
        except FileNotFoundError:
            raise ConfigError(f"{argv[0]} is not installed in this image") from None
        self._tail: collections.deque[str] = collections.deque(maxlen=STDERR_LINES)
        self._drain = threading.Thread(target=self._read_stderr, daemon=True)
        self._drain.start()

    def _read_stderr(self) -> None:
        assert self._proc.stderr is not None
        for line in self._proc.stderr:
            self._tail.append(line.decode(errors="replace").rstrip())

    @property
    def stdout(self) -> IO[bytes]:
        assert self._proc.stdout is not None
        return self._proc.stdout

    @property
    def stdin(self) -> IO[bytes]:
        assert self._proc.stdin is not None
        return self._proc.stdin

    def wait(self) -> tuple[int, str]:
        """``(exit code, last stderr lines)`` once the tool has exited."""
        if self._proc.stdin is not None and not self._proc.stdin.closed:
            with contextlib.suppress(BrokenPipeError):
                self._proc.stdin.close()
        code = self._proc.wait()
        self._drain.join()
        return code, "\n".join(self._tail)

    def kill(self) -> None:
        """Stop the tool and everything it started now (a restore killed before its input
        ended commits nothing)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._proc.pid, signal.SIGKILL)
        self._proc.wait()
        for pipe in (self._proc.stdin, self._proc.stdout):
            if pipe is not None and not pipe.closed:
                with contextlib.suppress(BrokenPipeError):
                    pipe.close()
        self._drain.join()

    def __enter__(self) -> ToolProcess:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        if kind is not None:
            self.kill()
        for pipe in (self._proc.stdin, self._proc.stdout, self._proc.stderr):
            if pipe is not None and not pipe.closed:
                with contextlib.suppress(BrokenPipeError):
                    pipe.close()
