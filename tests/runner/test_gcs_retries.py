"""GCS resumable uploads survive transient failures (Cloud Storage's retry strategy).

A small resumable-upload endpoint on 127.0.0.1 stands in for GCS where the emulator cannot
fail on purpose: it answers chosen chunk PUTs with 503 after keeping part of the bytes, as a
real session may. The runner must ask the session how far it got, send only the rest, and end
with exactly the bytes it was given; with every try failing it gives up after the policy's
attempts with the upload error, waiting longer each time, and cancels the session.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from runner.errors import UploadError
from runner.retry import RetryPolicy
from runner.storage.base import CHUNK_SIZE
from runner.storage.gcs import GCSStorage


class FlakySession:
    """One resumable session: ``failures`` data PUTs answer 503 after keeping ``keep`` bytes."""

    def __init__(self, failures: int, keep: int) -> None:
        self.data = bytearray()
        self.failures = failures
        self.keep = keep
        self.cancelled = False
        self.complete = False


def _handler(session: FlakySession) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _answer(self, code: int, headers: dict[str, str] | None = None) -> None:
            self.send_response(code)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._answer(200, {"Location": f"http://{self.headers['Host']}/session"})

        def do_DELETE(self) -> None:
            session.cancelled = True
            self._answer(204)

        def do_PUT(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            span, total = self.headers["Content-Range"].removeprefix("bytes ").split("/")
            if span != "*":
                start = int(span.split("-")[0])
                assert start == len(session.data), "a chunk must start where the session is"
                if session.failures:
                    session.failures -= 1
                    session.data += body[: session.keep]
                    self._answer(503)
                    return
                session.data += body
            if total != "*" and len(session.data) == int(total):
                session.complete = True
                self._answer(200)
            elif session.data:
                self._answer(308, {"Range": f"bytes=0-{len(session.data) - 1}"})
            else:
                self._answer(308)

    return Handler


@pytest.fixture
def flaky(request: pytest.FixtureRequest) -> Iterator[tuple[FlakySession, str]]:
    failures, keep = request.param
    session = FlakySession(failures, keep)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(session))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield session, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _payload() -> bytes:
    return bytes(range(256)) * ((CHUNK_SIZE + 1000) // 256 + 1)


@pytest.mark.parametrize("flaky", [(2, 1000), (1, 0), (3, 300_000)], indirect=True)
def test_a_transient_failure_resumes_from_what_the_session_holds(
    flaky: tuple[FlakySession, str],
) -> None:
    session, endpoint = flaky
    failures = session.failures
    waits: list[float] = []
    storage = GCSStorage("bkt", "p", endpoint=endpoint, retry=RetryPolicy(sleep=waits.append))
    payload = _payload()

    storage.upload("dump.sql.zst", [payload])

    assert session.complete and bytes(session.data) == payload
    assert len(waits) == failures  # one wait before each retry
    assert not session.cancelled


@pytest.mark.parametrize("flaky", [(99, 0)], indirect=True)
def test_retries_are_bounded_and_the_session_is_cancelled(flaky: tuple[FlakySession, str]) -> None:
    session, endpoint = flaky
    waits: list[float] = []
    policy = RetryPolicy(attempts=4, initial=1.0, maximum=32.0, jitter=0.0, sleep=waits.append)
    storage = GCSStorage("bkt", "p", endpoint=endpoint, retry=policy)

    with pytest.raises(UploadError, match="503"):
        storage.upload("dump.sql.zst", [_payload()])

    assert waits == [1.0, 2.0, 4.0]  # exponential, three waits between four tries
    assert session.cancelled and not session.complete
