"""Micro-benchmark (not a test): informer sync time and memory for N objects.

Starts the API emulator, creates N ConfigMaps that carry ``managedFields`` and a
last-applied annotation (as ``kubectl apply`` leaves them), then syncs a fresh
:class:`~manager.informer.SharedInformer` with the default transform and without it, and
reports sync time, tracemalloc peak/retained bytes and the RSS delta. The ratio of the two
runs is the in-run baseline (absolute figures depend on the machine).

Run: ``.venv/bin/python -m bench.bench_informer [--objects 10000]``
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import sys
import threading
import time
import tracemalloc
from typing import Any

from emulator.audit import ADMIN_TOKEN
from emulator.server import ApiServer
from manager.clock import RealClock
from manager.informer import LAST_APPLIED_ANNOTATION, SharedInformer, strip_bulky_fields
from manager.rest import RestClient
from manager.restconfig import RestConfig
from manager.scheme import ResourceType

CONFIGMAPS = ResourceType("", "v1", "ConfigMap", "configmaps")


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def sample(i: int) -> dict[str, Any]:
    data = {f"key-{k}": f"value-{i}-{k}" * 8 for k in range(8)}
    obj: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": f"cm-{i:05d}", "namespace": "default",
                     "labels": {"app": "bench", "shard": str(i % 16)}},
        "data": data,
    }  # fmt: skip
    applied = json.dumps(obj)
    obj["metadata"]["annotations"] = {LAST_APPLIED_ANNOTATION: applied}
    obj["metadata"]["managedFields"] = [
        {"manager": "kubectl-client-side-apply", "operation": "Update", "apiVersion": "v1",
         "time": "2025-03-27T00:00:00Z", "fieldsType": "FieldsV1",
         "fieldsV1": {"f:data": {f"f:{k}": {} for k in data},
                      "f:metadata": {"f:annotations": {f"f:{LAST_APPLIED_ANNOTATION}": {}},
                                     "f:labels": {"f:app": {}, "f:shard": {}}}}},
    ]  # fmt: skip
    return obj


def sync_once(server: ApiServer, transform: bool) -> dict[str, float]:
    rest = RestClient(RestConfig(host=server.url, bearer_token=ADMIN_TOKEN), read_timeout=120)
    gc.collect()
    rss0 = rss_bytes()
    tracemalloc.start()
    informer = SharedInformer(rest, CONFIGMAPS, clock=RealClock(),
                              transform=strip_bulky_fields if transform else None)  # fmt: skip
    stop = threading.Event()
    thread = threading.Thread(target=informer.start, args=(stop,), daemon=True)
    started = time.perf_counter()
    thread.start()
    if not informer.wait_for_sync(300):
        raise SystemExit("informer did not sync")
    elapsed = time.perf_counter() - started
    gc.collect()
    retained, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss1 = rss_bytes()
    count = len(informer.store)
    stop.set()
    thread.join(30)
    rest.close()
    return {"objects": count, "sync_seconds": elapsed, "retained_bytes": retained,
            "peak_bytes": peak, "rss_delta_bytes": rss1 - rss0,
            "bytes_per_object": retained / max(count, 1)}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=10_000)
    args = parser.parse_args(argv)
    with ApiServer(history_size=1000) as server:
        for i in range(args.objects):
            server.create_object(sample(i))
        results = {}
        # Off first so the RSS high-water mark of the baseline does not hide the second run.
        for transform in (False, True):
            results["on" if transform else "off"] = sync_once(server, transform)
    for name, r in results.items():
        sys.stdout.write(
            f"transform {name:3}: {r['objects']:.0f} objects, sync {r['sync_seconds']:.2f} s, "
            f"retained {r['retained_bytes'] / 2**20:.1f} MiB "
            f"({r['bytes_per_object'] / 1024:.2f} KiB/object), "
            f"peak {r['peak_bytes'] / 2**20:.1f} MiB, RSS +{r['rss_delta_bytes'] / 2**20:.1f} MiB\n"
        )
    on, off = results["on"], results["off"]
    sys.stdout.write(
        f"ratio on/off: retained {on['retained_bytes'] / off['retained_bytes']:.2f}, "
        f"sync time {on['sync_seconds'] / off['sync_seconds']:.2f}\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
