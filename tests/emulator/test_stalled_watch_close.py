"""Fault injection: a stalled watch stream still ends when the test closes watches.

``Faults.stall_watches`` promises "stalled until closed"; ``close_watches`` must therefore
end a stalled stream at once (as a dropped connection), not at its ``timeoutSeconds``.
"""

from __future__ import annotations

import time

import urllib3

from emulator.server import ApiServer
from tests.emulator.support import Dicts, lease, wait_for

LEASES = ("coordination.k8s.io", "v1")


def test_close_ends_a_stalled_watch_now(api_server: ApiServer, objects: Dicts) -> None:
    resp = objects.list_namespaced_custom_object(
        *LEASES,
        "default",
        "leases",
        watch=True,
        timeout_seconds=60,
        _preload_content=False,
        _request_timeout=(2, 30),
    )
    assert wait_for(lambda: len(api_server.storage.watchers()) == 1)
    assert api_server.faults.stall_watches("leases") == 1
    api_server.create_object(lease("a"))  # swallowed by the stalled stream
    time.sleep(0.3)
    assert api_server.faults.close_watches("leases") == 1
    started = time.monotonic()
    body = b""
    try:
        for chunk in resp.stream(1024):
            body += chunk
    except urllib3.exceptions.ProtocolError:
        pass  # the stream ends without its terminating chunk, like a dropped connection
    assert time.monotonic() - started < 5
    assert b'"a"' not in body
    assert wait_for(lambda: not api_server.storage.watchers())
