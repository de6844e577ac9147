"""HTTP/1.1 requests on keep-alive connections, and streamed responses (watches), without
urllib3 or ``http.client``.

Why a client of our own: on a real API server the herd's critical path is one Job POST per
backup, and the operator's CPU competes with the server's for the same cores. A request through
urllib3 cost ~540 µs of CPU on a 3 KiB answer (its pool, ``Retry``, ``Timeout`` and header
objects, then ``http.client``'s header parsing through the ``email`` package); the same request
written in one ``sendall`` and read through the connection's buffered reader costs ~95 µs
(docs/design.md §3, "The transport"). A watch's events cost the same again per event through
urllib3's chunk reader.

What this client does, and only that:

* ``request()`` writes the request line, the given headers and ``Content-Length`` in one
  ``sendall`` and reads one response: ``Content-Length``, ``chunked`` or read-to-close bodies,
  no body for ``HEAD``, 1xx (skipped), 204 and 304; a ``gzip`` body is inflated (never asked
  for: we send no ``Accept-Encoding``, but a proxy in between may compress);
* connections are kept alive and reused last-in first-out; one the server closed while idle
  is noticed before reuse (readable with nothing asked) and replaced, as urllib3 does;
* a request that fails on a reused connection is sent again on a new one only when that cannot
  repeat a write, Go's ``net/http`` rule: nothing of it was sent, or it is a GET/HEAD that got no
  byte of answer. Anything else is the caller's to retry (it raises ``OSError``);
* ``stream()`` opens a connection of its own and returns once the headers are in; its body is
  read chunk by chunk as it arrives, and ``abort()`` from another thread ends a blocked read;
* every connect and read has a timeout; a connection that failed or timed out is closed, never
  reused.
"""

from __future__ import annotations

import contextlib
import select
import socket
import ssl
import threading
import weakref
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from io import BufferedReader

__all__ = ["ConnectionPool", "HttpError", "Response", "Stream"]

MAX_LINE = 64 * 1024  # bytes in a status or header line (Go's server limit is 1 MiB in all)
MAX_HEADERS = 200  # header lines in one response
_REPLAYABLE = frozenset({"GET", "HEAD"})  # Go's Request.isReplayable, body-less methods
_NO_BODY_STATUSES = frozenset({204, 304})


class HttpError(OSError):
    """The server's answer is not HTTP/1.x as we read it (a malformed line or chunk)."""


@dataclass(frozen=True, slots=True)
class Response:
    """A whole response: status, headers (names lower-cased, the last of a repeated name), body."""

    status: int
    headers: dict[str, str]
    body: bytes


class Stream:
    """A response whose body is read as it arrives: a watch. Its connection is its own (never
    returned to the pool); :meth:`abort` from another thread ends a blocked read at once."""

    def __init__(self, conn: _Connection, status: int, headers: dict[str, str]) -> None:
        self.status = status
        self.headers = headers
        self._conn = conn
        self._chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        length = headers.get("content-length")
        self._left = int(length) if length is not None and length.isdigit() else None

    def read_all(self) -> bytes:
        """The whole body (an error answer's ``Status``)."""
        return b"".join(self.chunks())

    def chunks(self) -> Iterator[bytes]:
        """The body's pieces as they arrive (for a watch, each is usually one event line);
        an error mid-stream raises ``OSError`` (``HttpError`` when it is not HTTP)."""
        if self.headers.get("content-encoding", "").lower() == "gzip":
            inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
            for piece in self._pieces():
                yield inflate.decompress(piece)
            yield inflate.flush()
            return
        yield from self._pieces()

    def _pieces(self) -> Iterator[bytes]:
        reader = self._conn.reader
        try:
            if self._chunked:
                while True:
                    size = _chunk_size(reader)
                    if size == 0:
                        _headers(reader)
                        return
                    chunk = reader.read(size)
                    if len(chunk) != size or reader.read(2) != b"\r\n":
                        raise ConnectionError("a chunk ended early")
                    yield chunk
            elif self._left is not None:
                while self._left > 0:
                    piece = reader.read1(min(self._left, 65536))
                    if not piece:
                        raise ConnectionError("the body ended early")
                    self._left -= len(piece)
                    yield piece
            else:
                while piece := reader.read1(65536):
                    yield piece
        except ValueError as exc:
            raise HttpError(str(exc)) from exc

    def abort(self) -> None:
        """End the stream from another thread: a read blocked on it returns at once."""
        with contextlib.suppress(OSError):
            self._conn.sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._conn.close()


class _NothingSent(Exception):
    """The request failed before any byte of it reached the peer (``cause`` says how)."""

    def __init__(self, cause: OSError) -> None:
        super().__init__(str(cause))
        self.cause = cause


class _Unanswered(ConnectionError):
    """The connection ended (closed or reset) before any byte of an answer."""


class _Connection:
    __slots__ = ("reader", "reused", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.reader: BufferedReader = sock.makefile("rb")
        self.reused = False

    def dropped(self) -> bool:
        """The server closed it (or sent something unasked) while it was idle."""
        poller = select.poll()  # not select(): descriptors past 1024 are fine
        poller.register(self.sock, select.POLLIN)
        try:
            return bool(poller.poll(0))
        except OSError:
            return True

    def close(self) -> None:
        for closable in (self.reader, self.sock):
            with contextlib.suppress(OSError):
                closable.close()


class ConnectionPool:
    """Keep-alive connections to one ``host:port``; thread-safe.

    ``tls`` (a client context) makes them HTTPS, verified against ``server_hostname``.
    At most ``maxsize`` idle connections are kept; more may be open at once (urllib3's
    ``block=False``), and those are closed when returned to a full pool.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        tls: ssl.SSLContext | None = None,
        server_hostname: str | None = None,
        maxsize: int = 16,
    ) -> None:
        self._address = (host, port)
        self._tls = tls
        self._server_hostname = server_hostname or host
        self._maxsize = maxsize
        self._idle: list[_Connection] = []
        self._lock = threading.Lock()
        # Idle connections close with the pool, as urllib3's do (no socket left to the GC).
        weakref.finalize(self, _close_all, self._idle)

    def request(
        self,
        method: str,
        target: str,
        headers: bytes,
        body: bytes | None,
        *,
        connect_timeout: float,
        read_timeout: float,
    ) -> Response:
        """Send ``method target`` with ``headers`` (``Name: value\\r\\n`` lines, ``Host``
        included) and ``body``; the whole response. Raises ``OSError`` when no answer came."""
        _check_target(target)
        head = f"{method} {target} HTTP/1.1\r\n".encode("ascii") + headers
        if body is not None or method in ("POST", "PUT", "PATCH"):
            head += b"Content-Length: %d\r\n" % len(body or b"")
        data = head + b"\r\n" + (body or b"")
        while True:
            conn = self._take(connect_timeout)
            try:
                response, reusable = self._exchange(conn, method, data, read_timeout)
            except _NothingSent as exc:
                conn.close()
                if conn.reused:
                    continue  # the server had closed it: nothing was sent, send it on a new one
                raise exc.cause from None
            except _Unanswered:
                conn.close()
                if conn.reused and method in _REPLAYABLE:
                    continue
                raise
            except ValueError as exc:
                conn.close()
                raise HttpError(str(exc)) from exc
            except BaseException:
                conn.close()
                raise
            if reusable:
                self._give_back(conn)
            else:
                conn.close()
            return response

    def stream(
        self,
        method: str,
        target: str,
        headers: bytes,
        *,
        connect_timeout: float,
        read_timeout: float,
    ) -> Stream:
        """Send a body-less request on a new connection and return once the response's
        headers are in; ``read_timeout`` then bounds each read of the body. The caller
        closes the stream."""
        _check_target(target)
        conn = self._connect(connect_timeout)
        try:
            conn.sock.settimeout(read_timeout)
            conn.sock.sendall(f"{method} {target} HTTP/1.1\r\n".encode("ascii") + headers + b"\r\n")
            status, response_headers = _read_head(conn.reader)
        except ValueError as exc:
            conn.close()
            raise HttpError(str(exc)) from exc
        except BaseException:
            conn.close()
            raise
        return Stream(conn, status, response_headers)

    def close(self) -> None:
        """Close the idle connections (those in use close when their request ends)."""
        with self._lock:
            idle = self._idle[:]
            self._idle.clear()
        _close_all(idle)

    # -- connections -------------------------------------------------------------------------

    def _take(self, connect_timeout: float) -> _Connection:
        while True:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                return self._connect(connect_timeout)
            if not conn.dropped():
                conn.reused = True
                return conn
            conn.close()

    def _connect(self, timeout: float) -> _Connection:
        sock = socket.create_connection(self._address, timeout=timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._tls is not None:
                sock = self._tls.wrap_socket(sock, server_hostname=self._server_hostname)
        except BaseException:
            sock.close()
            raise
        return _Connection(sock)

    def _give_back(self, conn: _Connection) -> None:
        with self._lock:
            if len(self._idle) < self._maxsize:
                self._idle.append(conn)
                return
        conn.close()

    # -- one exchange ------------------------------------------------------------------------

    def _exchange(
        self, conn: _Connection, method: str, data: bytes, read_timeout: float
    ) -> tuple[Response, bool]:
        conn.sock.settimeout(read_timeout)
        try:
            conn.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError) as exc:
            # The peer had closed the connection: the kernel refuses the first write, so none
            # of the request left (a later failure mid-body raises as is, below).
            raise _NothingSent(exc) from exc
        reader = conn.reader
        status, headers = _read_head(reader)
        body, reusable = _body(reader, method, status, headers)
        if headers.get("connection", "").lower() == "close":
            reusable = False
        if headers.get("content-encoding", "").lower() == "gzip":
            body = zlib.decompress(body, 16 + zlib.MAX_WBITS)
        return Response(status, headers, body), reusable


def _close_all(connections: list[_Connection]) -> None:
    for conn in connections:
        conn.close()


def _check_target(target: str) -> None:
    if any(c in target for c in " \r\n\t") or not target.startswith("/"):
        raise ValueError(f"not a request target: {target!r}")


def _read_head(reader: BufferedReader) -> tuple[int, dict[str, str]]:
    """The final status line and headers (1xx answers skipped)."""
    first = True
    while True:
        try:
            line = reader.readline(MAX_LINE + 1)
        except (ConnectionResetError, ConnectionAbortedError) as exc:
            if first:
                raise _Unanswered(f"the connection was reset before an answer: {exc}") from exc
            raise
        if not line:
            raise _Unanswered("the server closed the connection without an answer")
        first = False
        status = _status(line)
        headers = _headers(reader)
        if not 100 <= status <= 199:
            return status, headers


def _status(line: bytes) -> int:
    parts = line.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
        raise ValueError(f"not an HTTP/1.x status line: {line[:80]!r}")
    return int(parts[1])


def _headers(reader: BufferedReader) -> dict[str, str]:
    headers: dict[str, str] = {}
    for _ in range(MAX_HEADERS):
        line = reader.readline(MAX_LINE + 1)
        if line in (b"\r\n", b"\n"):
            return headers
        if not line.endswith(b"\n"):
            raise ValueError("the response's headers end early or have a line too long")
        name, sep, value = line.partition(b":")
        if not sep:
            raise ValueError(f"not a header line: {line[:80]!r}")
        headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
    raise ValueError(f"more than {MAX_HEADERS} header lines")


def _body(
    reader: BufferedReader, method: str, status: int, headers: dict[str, str]
) -> tuple[bytes, bool]:
    """The body and whether the connection can carry another request (RFC 9112 §6.3)."""
    if method == "HEAD" or status in _NO_BODY_STATUSES:
        return b"", True
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return _chunked(reader), True
    length = headers.get("content-length")
    if length is not None:
        if not length.isdigit():
            raise ValueError(f"bad Content-Length {length!r}")
        size = int(length)
        body = reader.read(size)
        if len(body) != size:
            raise ConnectionError(f"the body ended after {len(body)} of {size} bytes")
        return body, True
    return reader.read(), False  # delimited by the connection's close


def _chunk_size(reader: BufferedReader) -> int:
    line = reader.readline(MAX_LINE + 1)
    if not line.endswith(b"\n"):
        raise ConnectionError("the chunked body ended early")
    size_text = line.split(b";", 1)[0].strip()
    try:
        return int(size_text, 16)
    except ValueError:
        raise ValueError(f"bad chunk size {size_text[:20]!r}") from None


def _chunked(reader: BufferedReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size = _chunk_size(reader)
        if size == 0:
            _headers(reader)  # trailers, up to the blank line
            return b"".join(parts)
        chunk = reader.read(size)
        if len(chunk) != size or reader.read(2) != b"\r\n":
            raise ConnectionError("a chunk ended early")
        parts.append(chunk)
