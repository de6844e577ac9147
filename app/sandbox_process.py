"""Supervising the sandbox's operator subprocess, its logs, and the sandbox's own signals.

Role: the process plumbing of ``dbbackup-operator sandbox``, kept apart from what runs.

- :class:`Console` serializes lines written by several threads to one text stream (the
  banner, the sandbox's notices, the operator's prefixed log lines).
- :class:`ChildProcess` starts a command in its own session (so a terminal's Ctrl-C reaches
  the sandbox only, which then stops the child in order), streams its merged stdout/stderr
  line by line with a prefix, and :meth:`ChildProcess.stop` sends SIGTERM, waits (bounded),
  then SIGKILLs — at once when ``hurry`` is set.
- :class:`ShutdownSignals` turns SIGINT/SIGTERM/SIGHUP into two events: the first signal sets
  ``stop`` (stop everything gracefully), a second sets ``hurry`` (stop without waiting).
  Handlers are restored on :meth:`ShutdownSignals.restore`.

Guarantees: no thread outlives :meth:`ChildProcess.stop`; the child never outlives a sandbox
that stops normally or by signal. Non-goals: surviving a SIGKILL of the sandbox itself (the
child then runs on until its API disappears).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Callable, Sequence
from types import FrameType
from typing import IO, TextIO

from manager.clock import Clock, RealClock

__all__ = ["ChildProcess", "Console", "ShutdownSignals", "StopHandle"]

DEFAULT_KILL_GRACE = 5.0  # seconds after the child's own shutdown timeout before SIGKILL
_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

StopHandle = Callable[[int, FrameType | None], None]


class Console:
    """A text stream shared by threads; each call writes whole lines and flushes."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def say(self, text: str) -> None:
        if not text.endswith("\n"):
            text += "\n"
        # ValueError/OSError: the stream was closed by an exiting interpreter.
        with self._lock, contextlib.suppress(ValueError, OSError):
            self._stream.write(text)
            self._stream.flush()


class ChildProcess:
    """One subprocess whose output is streamed to a :class:`Console` with ``prefix``."""

    def __init__(
        self,
        command: Sequence[str],
        console: Console,
        *,
        prefix: str,
        env: dict[str, str] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.command = list(command)
        self._console = console
        self._prefix = prefix
        self._env = env
        self._clock = clock or RealClock()
        self._process: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError("the process is not started")
        return self._process.pid

    def start(self) -> None:
        self._process = subprocess.Popen(
            self.command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=self._env,
            start_new_session=True,
        )
        stdout = self._process.stdout
        assert stdout is not None  # PIPE was asked for
        self._reader = threading.Thread(
            target=self._stream, args=(stdout,), name="sandbox-operator-logs", daemon=True
        )
        self._reader.start()

    def _stream(self, stdout: IO[bytes]) -> None:
        with stdout:
            for raw in iter(stdout.readline, b""):
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                self._console.say(f"{self._prefix}{line}")

    def poll(self) -> int | None:
        """The exit code once the process ended, else None."""
        return None if self._process is None else self._process.poll()

    def stop(self, timeout: float, hurry: threading.Event | None = None) -> int | None:
        """SIGTERM, wait up to ``timeout`` real seconds (less once ``hurry`` is set), SIGKILL.

        Returns the exit code (negative: the signal that ended it), or None if never started.
        """
        process = self._process
        if process is None:
            return None
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            deadline = self._clock.monotonic() + timeout
            while process.poll() is None and self._clock.monotonic() < deadline:
                if hurry is not None and hurry.is_set():
                    break
                self._clock.sleep(0.05, hurry)
            if process.poll() is None:
                self._console.say(f"{self._prefix}did not stop in time: killing it")
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
        code = process.wait()
        if self._reader is not None:
            self._reader.join(timeout=5)
        return code


class ShutdownSignals:
    """SIGINT/SIGTERM/SIGHUP → ``stop``; a second one → ``hurry`` as well (main thread only)."""

    def __init__(self, console: Console | None = None) -> None:
        self.stop = threading.Event()
        self.hurry = threading.Event()
        self._console = console
        self._previous: dict[signal.Signals, object] = {}

    def install(self) -> ShutdownSignals:
        for sig in _SIGNALS:
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.stop.is_set():
            name = signal.Signals(signum).name
            self.hurry.set()
            # A raw write: a lock held by the interrupted frame cannot deadlock it.
            os.write(2, f"second {name}: stopping without waiting\n".encode())
            return
        self.stop.set()

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
        self._previous.clear()
