"""manager.http1 against a loopback server that answers with exactly the bytes a test scripts.

The client is our own seam (and ``RestClient.watch`` on it): these tests pin how it frames
requests and reads every response shape HTTP/1.1 allows (RFC 9112 §6.3), and when it resends
on a new connection (Go's ``net/http`` rule). Real API servers are exercised through
``RestClient`` by the integration tests (tests/integration/manager/test_rest_transport.py)
against the emulator.
"""

from __future__ import annotations

import contextlib
import gzip
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from manager.errors import Gone
from manager.http1 import ConnectionPool, HttpError
from manager.rest import RestClient
from manager.restconfig import RestConfig

Script = Callable[[socket.socket, int], None]  # (accepted connection, its index)

TIMEOUTS = {"connect_timeout": 2.0, "read_timeout": 2.0}
HEADERS = b"Host: test\r\nAccept: application/json\r\n"


def read_request(conn: socket.socket) -> bytes:
    """One request's head and body (by its Content-Length)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        body += conn.recv(65536)
    return head + b"\r\n\r\n" + body


class Server:
    """Accepts connections on loopback; each is handed to ``script`` in its own thread."""

    def __init__(self, script: Script) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.script = script
        self.requests: list[bytes] = []
        self.connections = 0
        self.closed = 0
        self._threads: list[threading.Thread] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            index = self.connections
            self.connections += 1
            thread = threading.Thread(target=self._serve, args=(conn, index), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket, index: int) -> None:
        with conn, contextlib.suppress(OSError):
            self.script(conn, index)
        self.closed += 1

    def record(self, conn: socket.socket) -> bytes:
        request = read_request(conn)
        if request:
            self.requests.append(request)
        return request


@contextmanager
def serving(script: Script) -> Iterator[tuple[Server, ConnectionPool]]:
    server = Server(script)
    pool = ConnectionPool("127.0.0.1", server.port, maxsize=4)
    try:
        yield server, pool
    finally:
        pool.close()
        server.listener.close()


def answer_each(server_ref: list[Server], response: bytes) -> Script:
    """A keep-alive script answering every request on a connection with ``response``."""

    def script(conn: socket.socket, _index: int) -> None:
        while server_ref[0].record(conn):
            conn.sendall(response)

    return script


def keep_alive(response: bytes) -> Callable[[], tuple[list[Server], Script]]:
    ref: list[Server] = []
    return lambda: (ref, answer_each(ref, response))


def run(
    response: bytes, method: str = "GET", body: bytes | None = None, times: int = 1
) -> tuple[Server, list[tuple[int, dict[str, str], bytes]]]:
    ref: list[Server] = []
    got = []
    with serving(answer_each(ref, response)) as (server, pool):
        ref.append(server)
        for _ in range(times):
            r = pool.request(method, "/apis/x?limit=1", HEADERS, body, **TIMEOUTS)
            got.append((r.status, r.headers, r.body))
    return server, got


def test_the_request_is_one_well_framed_message_with_its_content_length() -> None:
    server, got = run(b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}", "POST", b'{"a":1}')
    assert got == [(201, {"content-length": "2"}, b"{}")]
    assert server.requests == [
        b"POST /apis/x?limit=1 HTTP/1.1\r\nHost: test\r\nAccept: application/json\r\n"
        b'Content-Length: 7\r\n\r\n{"a":1}'
    ]


def test_a_content_length_body_is_read_exactly_and_the_connection_reused() -> None:
    server, got = run(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", times=3)
    assert [g[2] for g in got] == [b"hello"] * 3
    assert server.connections == 1


def test_a_chunked_body_is_joined_with_its_extensions_and_trailers_dropped() -> None:
    response = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"4;ext=1\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX-Trailer: t\r\n\r\n"
    )
    server, got = run(response, times=2)
    assert [g[2] for g in got] == [b"Wikipedia in\r\n\r\nchunks."] * 2
    assert server.connections == 1


def test_a_body_delimited_by_close_is_read_to_the_end_and_the_connection_not_reused() -> None:
    def script(conn: socket.socket, _index: int) -> None:
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\n\r\nall of it")

    with serving(script) as (server, pool):
        for _ in range(2):
            assert pool.request("GET", "/", HEADERS, None, **TIMEOUTS).body == b"all of it"
        assert server.connections == 2


def test_connection_close_is_honoured() -> None:
    server, got = run(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", times=2)
    assert [g[0] for g in got] == [200, 200]
    assert server.connections == 2


def test_informational_answers_are_skipped_and_204_and_head_have_no_body() -> None:
    _, got = run(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", times=2)
    assert got == [(204, {}, b""), (204, {}, b"")]
    _, got = run(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", "HEAD", times=2)
    assert [g[2] for g in got] == [b"", b""]


def test_a_gzip_body_is_inflated() -> None:
    packed = gzip.compress(b'{"kind":"Status"}')
    head = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(packed)
    _, got = run(head + packed)
    assert got[0][2] == b'{"kind":"Status"}'


def test_a_connection_the_server_closed_while_idle_is_replaced_before_use() -> None:
    def script(conn: socket.socket, index: int) -> None:
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n%d" % index)
        # then close: the pooled connection is dead before the next request

    with serving(script) as (server, pool):
        first = pool.request("POST", "/", HEADERS, b"x", **TIMEOUTS)
        wait_for(lambda: server.closed == 1)
        second = pool.request("POST", "/", HEADERS, b"x", **TIMEOUTS)
        assert (first.body, second.body) == (b"0", b"1")


def test_a_get_is_resent_when_a_reused_connection_ends_without_an_answer() -> None:
    def script(conn: socket.socket, index: int) -> None:
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n%d" % index)
        if index == 0:
            read_request(conn)  # the second request arrives, and the server closes unanswered

    with serving(script) as (server, pool):
        assert pool.request("GET", "/", HEADERS, None, **TIMEOUTS).body == b"0"
        assert pool.request("GET", "/", HEADERS, None, **TIMEOUTS).body == b"1"
        assert server.connections == 2


def test_a_post_is_not_resent_when_it_may_have_reached_the_server() -> None:
    def script(conn: socket.socket, index: int) -> None:
        read_request(conn)
        conn.sendall(b"HTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\n%d" % index)
        if index == 0:
            read_request(conn)

    with serving(script) as (server, pool):
        assert pool.request("POST", "/", HEADERS, b"{}", **TIMEOUTS).body == b"0"
        with pytest.raises(ConnectionError, match="without an answer"):
            pool.request("POST", "/", HEADERS, b"{}", **TIMEOUTS)
        assert server.connections == 1


def test_a_silent_server_times_out_and_its_connection_is_dropped() -> None:
    def script(conn: socket.socket, index: int) -> None:
        read_request(conn)
        if index == 0:
            threading.Event().wait(3)  # never answers in time
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")

    with serving(script) as (server, pool):
        with pytest.raises(TimeoutError):
            pool.request("GET", "/", HEADERS, None, connect_timeout=1.0, read_timeout=0.3)
        assert pool.request("GET", "/", HEADERS, None, **TIMEOUTS).status == 200
        assert server.connections == 2


@pytest.mark.parametrize(
    "response",
    [
        b"SSH-2.0-OpenSSH\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: many\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
)
def test_an_answer_that_is_not_http_is_an_error_that_says_so(response: bytes) -> None:
    with pytest.raises(HttpError):
        run(response)


def test_a_body_cut_short_is_a_connection_error() -> None:
    def script(conn: socket.socket, _index: int) -> None:
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort")

    with serving(script) as (_, pool), pytest.raises(ConnectionError, match="5 of 10"):
        pool.request("GET", "/", HEADERS, None, **TIMEOUTS)


def test_a_target_that_could_split_the_request_is_refused() -> None:
    pool = ConnectionPool("127.0.0.1", 9)
    for target in ("/a b", "/a\r\nX: y", "no-slash"):
        with pytest.raises(ValueError, match="not a request target"):
            pool.request("GET", target, HEADERS, None, **TIMEOUTS)


def wait_for(condition: Callable[[], bool]) -> None:
    done = threading.Event()
    for _ in range(200):
        if condition():
            return
        done.wait(0.01)
    raise AssertionError("condition not met")


def streaming(
    pieces: list[bytes], then_wait: float = 0.0, seen: list[bytes] | None = None
) -> Script:
    def script(conn: socket.socket, _index: int) -> None:
        request = read_request(conn)
        if seen is not None:
            seen.append(request)
        for piece in pieces:
            conn.sendall(piece)
        if then_wait:
            threading.Event().wait(then_wait)

    return script


WATCH_HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
)


def test_a_stream_yields_each_chunk_as_it_arrives_until_the_last() -> None:
    events = [b'{"type":"ADDED"}\n', b'{"type":"DELETED"}\n']
    body = b"".join(b"%x\r\n%s\r\n" % (len(e), e) for e in events) + b"0\r\n\r\n"
    seen: list[bytes] = []
    with serving(streaming([WATCH_HEAD, body], seen=seen)) as (_, pool):
        stream = pool.stream("GET", "/w?watch=true", HEADERS, **TIMEOUTS)
        try:
            assert stream.status == 200
            assert list(stream.chunks()) == events
        finally:
            stream.close()
        assert seen == [b"GET /w?watch=true HTTP/1.1\r\n" + HEADERS + b"\r\n"]


def test_aborting_a_stream_ends_a_blocked_read_at_once() -> None:
    first = b'{"type":"ADDED"}\n'
    piece = b"%x\r\n%s\r\n" % (len(first), first)
    with serving(streaming([WATCH_HEAD, piece], then_wait=5)) as (_, pool):
        stream = pool.stream("GET", "/w", HEADERS, connect_timeout=2.0, read_timeout=10.0)
        chunks = stream.chunks()
        assert next(chunks) == first
        threading.Timer(0.2, stream.abort).start()
        with pytest.raises(ConnectionError, match="ended early"):
            next(chunks)  # blocked until the abort, far short of the read timeout
        stream.close()


def test_a_silent_stream_times_out() -> None:
    with serving(streaming([WATCH_HEAD], then_wait=3)) as (_, pool):
        stream = pool.stream("GET", "/w", HEADERS, connect_timeout=2.0, read_timeout=0.3)
        with pytest.raises(TimeoutError):
            next(stream.chunks())
        stream.close()


def test_an_error_answer_to_a_stream_is_read_whole() -> None:
    status = b'{"kind":"Status","code":410}'
    head = b"HTTP/1.1 410 Gone\r\nContent-Length: %d\r\n\r\n" % len(status)
    with serving(streaming([head + status])) as (_, pool):
        stream = pool.stream("GET", "/w", HEADERS, **TIMEOUTS)
        assert (stream.status, stream.read_all()) == (410, status)
        stream.close()


def test_a_watch_reads_events_however_the_server_splits_them_into_chunks() -> None:
    lines = [b'{"type":"ADDED","object":{"n":%d}}' % i for i in range(4)]
    pieces = [lines[0] + b"\n", lines[1][:10], lines[1][10:] + b"\n" + lines[2] + b"\n", lines[3]]
    body = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"
    seen: list[bytes] = []
    with serving(streaming([WATCH_HEAD, body], seen=seen)) as (server, _):
        rest = RestClient(RestConfig(host=f"http://127.0.0.1:{server.port}"))
        events = list(rest.watch("/apis/x", read_timeout=2.0))
    assert [e["object"]["n"] for e in events] == [0, 1, 2, 3]
    assert seen[0].startswith(b"GET /apis/x?watch=true HTTP/1.1\r\n")


def test_a_watch_answered_with_an_error_raises_the_api_error() -> None:
    status = b'{"kind":"Status","code":410,"reason":"Expired","message":"too old"}'
    head = b"HTTP/1.1 410 Gone\r\nContent-Length: %d\r\n\r\n" % len(status)
    with serving(streaming([head + status])) as (server, _):
        rest = RestClient(RestConfig(host=f"http://127.0.0.1:{server.port}"))
        with pytest.raises(Gone, match="too old"):
            list(rest.watch("/apis/x", read_timeout=2.0))
