"""Render the real-server section of ``docs/performance.md`` from :mod:`bench.real` results.

Role: one table with a column per N (the figures of issue 18: herd and the floors, first
install, memory per cached object, Events), the targets marked met or missed with the figure
that decides them, and how the run was made (command, commit, machine, its load). The section
sits between :data:`BEGIN` and :data:`END` at the top of the page; the emulator's render
(:mod:`bench.report`) keeps it, and this render keeps everything else. Nothing is typed in by
hand. Non-goals: comparing runs across commits (the JSON lines file keeps them).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from bench.report import BEGIN, DOC, END, MIB, _f, _get, _mark

__all__ = [
    "BEGIN",
    "END",
    "per_object",
    "render_real",
    "section",
]  # markers re-exported from bench.report

HERD_TARGET = 1.25
INSTALL_TARGET = 1.5
PER_OBJECT_TARGET = 2048  # bytes
# The size at which the per-object target is judged (issue 18: "RSS slope over N backups + N
# Jobs, measured at 10,000"); below it a first install's and a herd's fixed costs dominate the
# slope, and the figure is shown without a verdict.
PER_OBJECT_AT = 10_000
START_TARGET = 50 * MIB


def per_object(result: dict[str, Any]) -> float | None:
    """RSS growth per cached object: (RSS with N backups + N Jobs cached, after the herd and
    its Events) minus (RSS on an empty cluster), over 2N."""
    full, empty = _get(result, "herd", "rss_bytes"), _get(result, "empty", "rss_bytes")
    if not full or not empty or not result.get("n"):
        return None
    return float((full - empty) / (2 * result["n"]))


def _ratio(a: Any, b: Any) -> float | None:
    if not a or not b or (isinstance(a, float) and math.isnan(a)):
        return None
    return float(a / b)


def _floor_with(result: dict[str, Any], workers: int, key: str = "floors") -> dict[str, Any]:
    """The floor run at ``workers`` in flight among ``result[key]`` ({} if none was)."""
    return next((f for f in result.get(key) or () if f.get("workers") == workers), {})


def _floor_at(result: dict[str, Any], workers: int, key: str = "floors") -> float | None:
    seconds = _floor_with(result, workers, key).get("floor_s")
    return None if seconds is None else float(seconds)


def _against_watched(seconds: Any, result: dict[str, Any], key: str) -> str:
    """A watched floor's time and ``seconds`` over it."""
    watched = _get(result, key, "floor_s")
    return f"{_f(watched)}; {_f(_ratio(seconds, watched))}x"


def _rows(r: dict[str, Any]) -> list[tuple[str, str]]:
    herd, floor = r.get("herd") or {}, r.get("floor") or {}
    best = floor.get("floor_s")
    floors = " / ".join(_f(_floor_at(r, w)) for w in (4, 16, 32))
    install = _get(r, "cold_start", "all_status_s")
    status = r.get("status_floor") or {}
    statuses = " / ".join(_f(_floor_at(r, w, "status_floors")) for w in (4, 16, 32))
    dropped = herd.get("events_dropped")
    idle = r.get("idle") or {}
    load = r.get("load_before") or [None]
    load_after = r.get("load_after") or [None]
    return [
        ("herd: boundary → last Job POST (s)", _f(herd.get("herd_s"))),
        ("herd: lag p50 / p99 (s)", f"{_f(_get(herd, 'lag', 'p50'))} / "
         f"{_f(_get(herd, 'lag', 'p99'))}"),
        ("floor at 4 / 16 / 32 in flight (s)", floors),
        ("**herd ÷ best floor** (target ≤ 1.25x)", f"**{_f(_ratio(herd.get('herd_s'), best))}x**"
         f" (best: {floor.get('workers', '—')} in flight)"),
        ("floor at 16 in flight watching its Jobs (s); herd ÷ it",
         _against_watched(herd.get("herd_s"), r, "watched_floor")),
        ("Job POSTs at the server: in flight / ms each, herd; floor at 16", _served(r)),
        ("this machine's busy cores: all / the operator's or the floor's client's / left to "
         "the server and etcd, herd; floor at 16", _cores(r)),
        ("Job POSTs per second per core left to the server and etcd, herd; floor at 16",
         _per_core(r)),
        ("herd: status writes before the last Job POST", _f(
            herd.get("status_writes_before_last_job"), "d")),
        ("herd: duplicates / missed / errors", f"{herd.get('duplicates')} / "
         f"{herd.get('missed')} / {herd.get('errors')}"),
        ("first install: process start → caches synced (s)", _f(_get(r, "cold_start",
                                                                       "synced_s"))),
        ("first install: process start → every backup has status (s)", _f(install)),
        ("**first install ÷ best floor** (target ≤ 1.5x)", f"**{_f(_ratio(install, best))}x**"),
        ("status floor: N status PUTs at 4 / 16 / 32 in flight (s)", statuses),
        ("**first install ÷ best status floor** (target ≤ 1.5x)",
         f"**{_f(_ratio(install, status.get('floor_s')))}x** (best: "
         f"{status.get('workers', '—')} in flight)"),
        ("status floor at 16 in flight watching the backups (s); first install ÷ it",
         _against_watched(install, r, "watched_status_floor")),
        ("RSS at start: empty cluster, caches synced (MiB; target ≤ 50)",
         _f(_mb(_get(r, "empty", "rss_bytes")), ".1f")),
        ("RSS with N backups + N Jobs cached (MiB)", _f(_mb(herd.get("rss_bytes")), ".1f")),
        ("**per cached object** (B; target ≤ 2,048 at 10,000)",
         f"**{_f(per_object(r), '.0f')}**"),
        ("Events: SuccessfulCreate recorded / counted as dropped", f"{herd.get('events_recorded')}"
         f" / {'—' if dropped is None else int(dropped)}"),
        ("idle: requests besides Lease/watch; operator CPU (%)", f"{idle.get('other', '—')}; "
         f"{_f(idle.get('cpu_percent'))}"),
        ("machine load (1-min average) before / after the run", f"{_f(load[0])} / "
         f"{_f(load_after[0])}"),
    ]  # fmt: skip


def _herd_then_floor_16(r: dict[str, Any], cell: Callable[[dict[str, Any], Any], str]) -> str:
    """``cell`` of the herd, then of the floor at 16 in flight; each is given its figures and
    its time (boundary → last Job POST; first → last Job POST)."""
    herd, floor = r.get("herd") or {}, _floor_with(r, 16)
    return f"{cell(herd, herd.get('herd_s'))}; {cell(floor, floor.get('floor_s'))}"


def _served(r: dict[str, Any]) -> str:
    """The server's mean requests in flight and mean time per Job POST, herd; floor at 16
    (from the audit log; bench.audit.concurrency)."""

    def pair(run: dict[str, Any], _seconds: Any) -> str:
        server = run.get("server") or {}
        return f"{_f(server.get('in_flight'), '.1f')} / {_f(server.get('latency_ms'), '.1f')}"

    return _herd_then_floor_16(r, pair)


def _cores(r: dict[str, Any]) -> str:
    """Busy cores on this machine during the herd and the floor at 16 (``bench.machine``):
    all of them, the program's, and what is left to a server sharing the machine."""

    def triple(run: dict[str, Any], _seconds: Any) -> str:
        machine = run.get("machine") or {}
        return " / ".join(_f(machine.get(k)) for k in ("busy_cores", "program_cores",
                                                       "left_cores"))  # fmt: skip

    return _herd_then_floor_16(r, triple)


def _per_core(r: dict[str, Any]) -> str:
    """Jobs created per second per core left to the server: the same for the herd and the
    floor when the herd's distance is the cores the operator takes (docs/performance.md)."""

    def rate(run: dict[str, Any], seconds: Any) -> str:
        left = (run.get("machine") or {}).get("left_cores")
        per_second = _ratio(run.get("jobs"), seconds)
        return _f(None if per_second is None or not left else per_second / left, ".0f")

    return _herd_then_floor_16(r, rate)


def _mb(value: Any) -> float | None:
    return None if value is None else value / MIB


def _targets(ok: list[dict[str, Any]]) -> list[str]:
    lines = ["| target | figure | verdict |", "| --- | --- | --- |"]
    for r in ok:
        n, best = r["n"], _get(r, "floor", "floor_s")
        herd = _ratio(_get(r, "herd", "herd_s"), best)
        install = _ratio(_get(r, "cold_start", "all_status_s"), best)
        like = _ratio(_get(r, "cold_start", "all_status_s"), _get(r, "status_floor", "floor_s"))
        slope = per_object(r)
        recorded = _get(r, "herd", "events_recorded")
        lines += [
            f"| N={n:,}: herd ≤ {HERD_TARGET}x the best floor | {_f(herd)}x | "
            f"{_mark(None if herd is None else herd <= HERD_TARGET)} |",
            f"| N={n:,}: first install ≤ {INSTALL_TARGET}x the best floor | {_f(install)}x | "
            f"{_mark(None if install is None else install <= INSTALL_TARGET)} |",
            f"| N={n:,}: first install ≤ {INSTALL_TARGET}x the best status floor | {_f(like)}x | "
            f"{_mark(None if like is None else like <= INSTALL_TARGET)} |",
            f"| N={n:,}: ≤ 2 KiB per cached object | {_f(slope, '.0f')} B | "
            + (
                f"{_mark(None if slope is None else slope <= PER_OBJECT_TARGET)} |"
                if n >= PER_OBJECT_AT
                else f"judged at {PER_OBJECT_AT:,} |"
            ),
            f"| N={n:,}: every SuccessfulCreate recorded | {recorded} of {n:,} | "
            f"{_mark(None if recorded is None else recorded >= n)} |",
        ]
    starts = [_get(r, "empty", "rss_bytes") for r in ok if _get(r, "empty", "rss_bytes")]
    if starts:
        lines.append(f"| memory at start ≤ 50 MiB | {_f(max(starts) / MIB, '.1f')} MiB | "
                     f"{_mark(max(starts) <= START_TARGET)} |")  # fmt: skip
    return lines


def section(results: list[dict[str, Any]]) -> list[str]:
    """The section's lines (markers included)."""
    ok = sorted((r for r in results if "error" not in r), key=lambda r: r["n"])
    first = results[0] if results else {}
    m = first.get("machine", {})
    commands = sorted({f"`{r.get('command', '')}` at commit `{r.get('commit', '')}`"
                       for r in results})  # fmt: skip
    lines = [BEGIN, "", "## On a real API server", ""]
    lines += [f"- command: {c}" for c in commands]
    lines += [
        f"- server: kube-apiserver v1.32 with etcd on the same machine ({m.get('cpu', '?')}, "
        f"{m.get('cpus', '?')} CPUs, Linux {m.get('kernel', '?')}, Python "
        f"{m.get('python', '?')}); nothing pinned: the operator, the floor and the server "
        "share the cores (with whatever else the machine runs: see the load row)",
        "- the operator runs as its ServiceAccount under the shipped RBAC with "
        "`--leader-elect`; N backups fire on one cron boundary; the floor is `bench/floor.py` "
        "POSTing the same N Jobs with the operator's identity at 4, 16 and 32 requests in "
        "flight right after, the Jobs deleted before each (the herd also starts with none); "
        "the best of the three is the floor; the status floor is the same client PUTting the "
        "N backups' `/status` (the status a first install writes) at the same levels; the "
        "watched floors are the same two at 16 in flight (the operator's writes in flight) with "
        "a watch on what they write read and decoded beside them, as the operator's cache must",
        f"- times: {first.get('clock', 'audit log')} (`stageTimestamp` of each request's "
        "`ResponseComplete`); method: `bench/real.py`'s docstring",
        "",
    ]
    for r in results:
        if "error" in r:
            lines.append(f"- **N={r['n']:,} failed**: {r['error']}")
    if ok:
        lines += ["| figure | " + " | ".join(f"N = {r['n']:,}" for r in ok) + " |",
                  "| --- |" + " --- |" * len(ok)]  # fmt: skip
        table = [_rows(r) for r in ok]
        for i, (label, _) in enumerate(table[0]):
            lines.append(f"| {label} | " + " | ".join(row[i][1] for row in table) + " |")
        lines += ["", *_targets(ok)]
    return [*lines, "", END]


def render_real(results: list[dict[str, Any]]) -> None:
    """Replace (or insert, after the title) the real-server section of the page."""
    text = DOC.read_text() if DOC.exists() else "# Performance\n"
    block = "\n".join(section(results))
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        text = head + block + tail
    else:
        title, _, body = text.partition("\n")
        text = f"{title}\n\n{block}\n{body}"
    DOC.write_text(text)
