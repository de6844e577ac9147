"""Health probes over real HTTP on 127.0.0.1 (controller-runtime ``healthz_test.go``)."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from manager.healthz import HealthProbes, serve_probes
from manager.httpserver import BackgroundHTTPServer, parse_bind_address


def get(server: BackgroundHTTPServer, path: str) -> tuple[int, str, dict[str, str]]:
    try:
        with urllib.request.urlopen(server.url(path), timeout=5) as resp:
            return resp.status, resp.read().decode(), dict(resp.headers)
    except urllib.error.HTTPError as err:
        with err:
            return err.code, err.read().decode(), dict(err.headers)


class Flag:
    """A check whose outcome the test flips."""

    def __init__(self, healthy: bool = True, reason: str = "not synced") -> None:
        self.healthy = healthy
        self.reason = reason

    def __call__(self) -> None:
        if not self.healthy:
            raise RuntimeError(self.reason)


@pytest.fixture
def probes() -> HealthProbes:
    return HealthProbes()


@pytest.fixture
def server(probes: HealthProbes) -> Iterator[BackgroundHTTPServer]:
    srv = serve_probes(probes, "127.0.0.1:0")
    assert srv is not None
    yield srv
    srv.close()


def test_empty_sets_report_ping(server: BackgroundHTTPServer) -> None:
    for endpoint in ("/healthz", "/readyz"):
        assert get(server, endpoint)[:2] == (200, "ok")
        assert get(server, endpoint + "?verbose")[:2] == (200, "[+]ping ok\nhealthz check passed\n")
        assert get(server, endpoint + "/ping")[:2] == (200, "ok")
        assert get(server, endpoint + "/other")[0] == 404


def test_all_passing(probes: HealthProbes, server: BackgroundHTTPServer) -> None:
    probes.add_readyz_check("informers", Flag())
    probes.add_readyz_check("cache", lambda: True)
    status, body, headers = get(server, "/readyz")
    assert (status, body) == (200, "ok")
    assert headers["Content-Type"] == "text/plain; charset=utf-8"
    assert headers["X-Content-Type-Options"] == "nosniff"
    # Verbose lists the checks sorted by name.
    assert get(server, "/readyz?verbose")[:2] == (
        200,
        "[+]cache ok\n[+]informers ok\nhealthz check passed\n",
    )
    assert get(server, "/readyz/")[:2] == (200, "ok")
    # The liveness set is separate.
    assert get(server, "/healthz?verbose")[1] == "[+]ping ok\nhealthz check passed\n"


def test_a_failing_check_is_always_verbose_and_withholds_the_reason(
    probes: HealthProbes, server: BackgroundHTTPServer
) -> None:
    synced = Flag(healthy=False, reason="informer jobs not synced")
    probes.add_readyz_check("informers", synced)
    probes.add_readyz_check("ping", lambda: None)
    status, body, headers = get(server, "/readyz")
    assert status == 500
    assert body == "[-]informers failed: reason withheld\n[+]ping ok\nhealthz check failed\n"
    assert headers["X-Content-Type-Options"] == "nosniff"
    # The per-check endpoint shows the reason.
    assert get(server, "/readyz/informers")[:2] == (
        500,
        "internal server error: informer jobs not synced\n",
    )
    assert get(server, "/readyz/ping")[:2] == (200, "ok")
    synced.healthy = True
    assert get(server, "/readyz")[:2] == (200, "ok")
    assert get(server, "/readyz/informers")[:2] == (200, "ok")


def test_false_return_fails(probes: HealthProbes, server: BackgroundHTTPServer) -> None:
    probes.add_healthz_check("leader", lambda: False)
    assert get(server, "/healthz")[0] == 500
    assert get(server, "/healthz/leader")[:2] == (
        500,
        "internal server error: check returned False\n",
    )


def test_exclude(probes: HealthProbes, server: BackgroundHTTPServer) -> None:
    probes.add_readyz_check("a", Flag(healthy=False))
    probes.add_readyz_check("b", Flag())
    assert get(server, "/readyz?exclude=a")[:2] == (200, "ok")
    assert get(server, "/readyz?exclude=a&verbose")[:2] == (
        200,
        "[+]a excluded: ok\n[+]b ok\nhealthz check passed\n",
    )
    # Unknown names are reported, sorted and quoted; the real failure still fails.
    assert get(server, "/readyz?exclude=zz&exclude=b&exclude=nope")[:2] == (
        500,
        "[-]a failed: reason withheld\n[+]b excluded: ok\n"
        'warn: some health checks cannot be excluded: no matches for "nope","zz"\n'
        "healthz check failed\n",
    )


def test_unknown_paths_are_404(server: BackgroundHTTPServer) -> None:
    assert get(server, "/")[:2] == (404, "404 page not found\n")
    assert get(server, "/healthzz")[0] == 404
    assert get(server, "/readyz/a/b")[0] == 404


def test_duplicate_and_invalid_names_are_refused(probes: HealthProbes) -> None:
    probes.add_healthz_check("ping", lambda: None)
    with pytest.raises(ValueError, match="already been registered"):
        probes.add_healthz_check("ping", lambda: None)
    probes.add_readyz_check("ping", lambda: None)  # the other set: fine
    with pytest.raises(ValueError):
        probes.add_readyz_check("a/b", lambda: None)


def test_bind_addresses() -> None:
    assert parse_bind_address("0") is None
    assert parse_bind_address("") is None
    assert parse_bind_address(":8081") == ("", 8081)
    assert parse_bind_address("127.0.0.1:0") == ("127.0.0.1", 0)
    assert parse_bind_address("[::1]:9000") == ("::1", 9000)
    for bad in ("8080", "host:x", ":70000"):
        with pytest.raises(ValueError):
            parse_bind_address(bad)
    assert serve_probes(HealthProbes(), "0") is None


def test_server_runnable_closes_on_stop(probes: HealthProbes) -> None:
    srv = serve_probes(probes, "127.0.0.1:0")
    assert srv is not None
    assert get(srv, "/healthz")[0] == 200
    stop = threading.Event()
    t = threading.Thread(target=srv.start, args=(stop,))
    t.start()
    stop.set()
    t.join(10)
    assert not t.is_alive()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(srv.url("/healthz"), timeout=2)
    srv.close()  # idempotent
