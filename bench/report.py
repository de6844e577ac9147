"""Render ``docs/performance.md`` and its herd-lag chart from one invocation's results.

Role: turn the JSON lines of :mod:`bench.run` into the published report: per N a table with the
operator, the floor and the kopf peer side by side, the targets of issue 9 marked met or missed
with the figure that decides it, memory per cached object (the RSS slope between two N), which
side limits the floor (CPU of the client and of the API server during it, and the client's
profile), the machine the figures came from and how to reproduce them. Nothing is typed in by
hand: every number comes from the results, except the ``## Notes`` section at the end, which
is kept as it is across renders (the analysis of a run, written by a person). Non-goals:
history across runs (the JSON lines file keeps that), pretty typography.
"""

from __future__ import annotations

import math
from typing import Any

from bench.harness import ROOT

DOC = ROOT / "docs/performance.md"
# The real-server section (bench.real_report) sits between these markers at the top of DOC; the
# emulator's render keeps it as it was rendered.
BEGIN = "<!-- real-server:begin (rendered by bench.run --kubeconfig ... --report) -->"
END = "<!-- real-server:end -->"
CHART = ROOT / "docs/performance-herd-lag.png"
MIB = 2**20
NOTES_HEADING = "## Notes"  # written by hand; kept across renders


def _f(value: Any, fmt: str = ".2f") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return format(value, fmt)


def _get(result: dict[str, Any] | None, *path: str) -> Any:
    node: Any = result
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def _mark(ok: bool | None) -> str:
    return "—" if ok is None else ("met" if ok else "**missed**")


def _table(n: int, op: dict[str, Any] | None, kopf: dict[str, Any] | None) -> list[str]:
    floor = _get(op, "floor")
    herd, fl_s = _get(op, "herd", "herd_s"), _get(floor, "floor_s")
    ratio = herd / fl_s if herd and fl_s else None
    kherd = _get(kopf, "herd", "herd_s")
    storm = _get(op, "restart", "storm", "all_succeeded_s")
    rows = [
        ("cold start: process start → caches synced (s)", _get(op, "cold_start", "synced_s"),
         None, _get(kopf, "cold_start", "synced_s"), ".2f"),
        ("cold start: → every backup has status (s)", _get(op, "cold_start", "all_status_s"),
         None, _get(kopf, "cold_start", "all_status_s"), ".2f"),
        ("RSS on an empty cluster, caches synced (MiB)", _mb(_get(op, "empty", "rss_bytes")),
         None, None, ".1f"),
        ("peak RSS during cold start (MiB)", _mb(_get(op, "cold_start", "peak_rss_bytes")), None,
         _mb(_get(kopf, "cold_start", "peak_rss_bytes")), ".1f"),
        ("RSS settled, after the idle window (MiB)", _mb(_get(op, "idle", "rss_bytes")), None,
         _mb(_get(kopf, "idle", "rss_bytes")), ".1f"),
        ("idle: requests/virtual hour (not lease, not watch)",
         _get(op, "idle", "other_per_virtual_hour"), None,
         _get(kopf, "idle", "other_per_virtual_hour"), ".0f"),
        ("idle: watch re-opens in the window", _get(op, "idle", "watch_reopens"), None,
         _get(kopf, "idle", "watch_reopens"), "d"),
        ("idle: CPU (% of a core, clock xspeed)", _get(op, "idle", "cpu_percent"), None,
         _get(kopf, "idle", "cpu_percent"), ".2f"),
        ("herd: boundary → last Job POST (s)", herd, fl_s, kherd, ".2f"),
        ("herd: lag p50 (s)", _get(op, "herd", "lag", "p50"), _get(floor, "lag", "p50"),
         _get(kopf, "herd", "lag", "p50"), ".2f"),
        ("herd: lag p99 (s)", _get(op, "herd", "lag", "p99"), _get(floor, "lag", "p99"),
         _get(kopf, "herd", "lag", "p99"), ".2f"),
        ("herd: lag max (s)", _get(op, "herd", "lag", "max"), _get(floor, "lag", "max"),
         _get(kopf, "herd", "lag", "max"), ".2f"),
        ("herd: writes per fire", _get(op, "herd", "writes_per_fire"), 1.0,
         _get(kopf, "herd", "writes_per_fire"), ".2f"),
        ("herd: status writes before the last Job POST", _get(op, "herd",
         "status_writes_before_last_job"), 0, _get(kopf, "herd", "status_writes_before_last_job"),
         "d"),
        ("herd: duplicates / missed / errors", _dme(_get(op, "herd")), _dme(floor, True),
         _dme(_get(kopf, "herd")), "s"),
        ("herd: 409 answers (a slot retried)", _get(op, "herd", "conflicts"), None,
         _get(kopf, "herd", "conflicts"), "d"),
        ("herd: API server CPU (% of its core)", _get(op, "herd", "server_cpu_percent"),
         _get(floor, "server_cpu_percent"), _get(kopf, "herd", "server_cpu_percent"), ".0f"),
        ("restart after herd: writes", _get(op, "restart", "write_count"), None, None, "d"),
        ("completion storm: → every status Succeeded (s)", storm, None,
         _get(kopf, "storm", "all_succeeded_s"), ".2f"),
    ]  # fmt: skip
    speed = _get(op, "speed") or _get(kopf, "speed")
    out = [f"### N = {n:,} (virtual clock x{_f(speed, 'g')})", ""]
    out.append("| figure | operator | floor | kopf peer |")
    out.append("| --- | --- | --- | --- |")
    for label, a, b, c, fmt in rows:
        out.append(f"| {label} | {_f(a, fmt)} | {_f(b, fmt)} | {_f(c, fmt)} |")
    out += ["", f"Herd time as a ratio of the floor: **{_f(ratio)}x** (target ≤ 1.25x); "
            f"kopf's herd is {_f(kherd / herd if kherd and herd else None)}x the operator's.",
            ""]  # fmt: skip
    return out


def _mb(value: Any) -> float | None:
    return None if value is None else value / MIB


def _dme(section: Any, floor: bool = False) -> str | None:
    if not isinstance(section, dict):
        return None
    if floor:
        return f"— / — / {section.get('errors')}"
    return f"{section.get('duplicates')} / {section.get('missed')} / {section.get('errors')}"


def _per_object(ops: list[dict[str, Any]]) -> float | None:
    """Settled RSS growth per cached object (a backup and its Job count two) between two N:
    after the idle window, so the cold start's transient list pages are not counted (the
    peak row shows those)."""
    points = sorted((r["n"], _get(r, "idle", "rss_bytes")) for r in ops)
    points = [(n, rss) for n, rss in points if rss]
    if len(points) < 2 or points[-1][0] == points[0][0]:
        return None
    (n0, r0), (n1, r1) = points[0], points[-1]
    return float((r1 - r0) / (2 * (n1 - n0)))


def _targets(ops: list[dict[str, Any]], kopfs: list[dict[str, Any]]) -> list[str]:
    by_n = {r["n"]: r for r in ops}
    kopf_by_n = {r["n"]: r for r in kopfs}
    per_obj = _per_object(ops)
    smallest = by_n[min(by_n)] if by_n else None
    lines = ["## Targets", "", "| target | figure | verdict |", "| --- | --- | --- |"]
    for n, r in sorted(by_n.items()):
        idle = r.get("idle", {})
        other, cpu = idle.get("other"), idle.get("cpu_percent")
        lines.append(f"| idle, N={n:,}: 0 requests besides leases/watches | {other} | "
                     f"{_mark(None if other is None else other == 0)} |")  # fmt: skip
        lines.append(f"| idle, N={n:,}: CPU < 0.5 % | {_f(cpu)} % | "
                     f"{_mark(None if cpu is None else cpu < 0.5)} |")  # fmt: skip
        ratio = None
        if _get(r, "herd", "herd_s") and _get(r, "floor", "floor_s"):
            ratio = r["herd"]["herd_s"] / r["floor"]["floor_s"]
        lines.append(f"| herd, N={n:,}: ≤ 1.25x the floor | {_f(ratio)}x | "
                     f"{_mark(None if ratio is None else ratio <= 1.25)} |")  # fmt: skip
        early = _get(r, "herd", "status_writes_before_last_job")
        lines.append(f"| herd, N={n:,}: one write per fire on the critical path (status after) | "
                     f"{early} status writes before the last Job POST; all writes: "
                     f"{_get(r, 'herd', 'writes')} | "
                     f"{_mark(None if early is None else early == 0)} |")  # fmt: skip
        k = kopf_by_n.get(n)
        if k and "herd" in k and "herd" in r:
            better = all(
                (_get(r, *p) or 0) <= (_get(k, *p) or 0)
                for p in (("herd", "herd_s"), ("cold_start", "peak_rss_bytes"),
                          ("idle", "cpu_percent"), ("cold_start", "all_status_s"))
            )  # fmt: skip
            lines.append(f"| N={n:,}: better than kopf on herd, memory, idle CPU, cold start | "
                         f"see table | {_mark(better)} |")  # fmt: skip
    if smallest is not None:
        start_rss = _get(smallest, "empty", "rss_bytes")
        lines.append(f"| memory at start (empty cluster, caches synced) < 60 MB | "
                     f"{_f(_mb(start_rss), '.1f')} MiB | "
                     f"{_mark(None if start_rss is None else start_rss < 60e6)} |")  # fmt: skip
    lines.append(f"| < 2 KiB per cached object (settled RSS slope) | {_f(per_obj, '.0f')} B | "
                 f"{_mark(None if per_obj is None else per_obj < 2048)} |")  # fmt: skip
    ten = by_n.get(10_000)
    if ten is not None:
        cold = _get(ten, "cold_start", "synced_s")
        lines.append(f"| cold start 10k + 10k synced < 2 s | {_f(cold)} s | "
                     f"{_mark(None if cold is None else cold < 2)} |")  # fmt: skip
    return [*lines, ""]


def _floor_verdict(ops: list[dict[str, Any]]) -> list[str]:
    lines = ["## What limits the floor", ""]
    for r in sorted(ops, key=lambda r: r["n"]):
        floor = r.get("floor")
        if not floor:
            continue
        client, server = floor.get("client_cpu_percent"), floor.get("server_cpu_percent")
        if server is not None and server >= 85:
            verdict = "the API server (its core is saturated)"
        elif client is not None and client >= 85:
            verdict = "our client (its core is saturated)"
        else:
            verdict = "neither core: request latency at this concurrency (round trips)"
        lines.append(f"- N={r['n']:,}: client CPU {_f(client, '.0f')} % of its core, API server "
                     f"CPU {_f(server, '.0f')} % of its core → limited by {verdict}.")  # fmt: skip
    profiled = [r for r in ops if _get(r, "floor_profiled", "profile")]
    if profiled:
        last = max(profiled, key=lambda r: r["n"])
        lines += ["", f"The floor's client under cProfile (N={last['n']:,}, all worker threads, "
                  "by own time; `recv_into` is waiting for the server):", "", "```",
                  *[ln for ln in last["floor_profiled"]["profile"].splitlines() if ln.strip()][:22],
                  "```"]  # fmt: skip
    return [*lines, ""]


def chart(ops: list[dict[str, Any]], kopfs: list[dict[str, Any]]) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    if not ops:
        return False
    runs = sorted(ops, key=lambda r: r["n"])
    fig, axes = plt.subplots(1, len(runs), figsize=(6 * len(runs), 4), squeeze=False)
    for ax, r in zip(axes[0], runs, strict=True):
        k = next((x for x in kopfs if x["n"] == r["n"]), None)
        series = [("operator", _get(r, "herd", "lags")), ("floor", _get(r, "floor", "lags")),
                  ("kopf peer", _get(k, "herd", "lags"))]  # fmt: skip
        for label, lags in series:
            if lags:
                ax.plot(sorted(lags), [(i + 1) / len(lags) for i in range(len(lags))],
                        label=label)  # fmt: skip
        ax.set_xlabel("lag: scheduled time → Job POST received (s)")
        ax.set_ylabel("fraction of the N Jobs")
        ax.set_title(f"Herd of N = {r['n']:,} backups at one cron boundary")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(CHART, dpi=110)
    plt.close(fig)
    return True


def render(results: list[dict[str, Any]]) -> None:
    ops = [r for r in results if r["program"] == "operator" and "error" not in r]
    # A peer's run that failed a phase keeps the figures of the phases before it.
    kopfs = [r for r in results if r["program"] == "kopf"]
    first = results[0] if results else {}
    m = first.get("machine", {})
    lines = [
        "# Performance",
        "",
        "## On the API emulator",
        "",
        "Rendered by `make bench` (`bench/run.py`, `bench/report.py`) from the run below; every",
        "figure is measured side by side in one run on the same API emulator. Absolute times on",
        "shared machines drift: read the ratios and counts.",
        "",
        "## How it ran (emulator)",
        "",
        *sorted(
            {
                f"- command: `{r.get('command', '')}` at commit `{r.get('commit', '')}`"
                for r in results
            }
        ),
        f"- machine: {m.get('cpu', '?')}, {m.get('cpus', '?')} CPUs, "
        f"{_f(_mb(m.get('memory_bytes')), '.0f')} MiB, Linux {m.get('kernel', '?')}, "
        f"Python {m.get('python', '?')}; operator (or kopf, or the floor) and the API emulator "
        f"{'pinned to one CPU each' if m.get('pinned') else 'not pinned (one CPU)'}",
        "- a virtual clock (its speed is in each table's heading) is shared by the API server "
        "and the program: the idle window is compressed (timers fire that much more often per "
        "real second, so idle CPU is an upper bound); lags and times are in real seconds; the "
        "speed is lower for large N because the cache sync timeout (2 min) runs on it too",
        "- workloads and method: `bench/workloads.py`'s docstring; the floor: `bench/floor.py`; "
        "the kopf peer: `bench/peers/kopf_peer.py`",
        "- reproduce: `make bench` (N = 1,000 and 10,000; about 25 minutes) or "
        "`make bench-quick` (N = 1,000, fails only on duplicates, missed runs or errors); "
        "N = 50,000: `.venv/bin/python -m bench.run --n 50000 --no-kopf --check` (about 25 "
        "minutes, most of it seeding the emulator)",
        "",
    ]
    for r in results:
        if "error" in r:
            lines.append(f"- **{r['program']} at N={r['n']:,} failed**: {r['error']}")
    lines += ["", "## Figures", ""]
    for n in sorted({r["n"] for r in [*ops, *kopfs]}):
        op = next((r for r in ops if r["n"] == n), None)
        kopf = next((r for r in kopfs if r["n"] == n), None)
        lines += _table(n, op, kopf)
    if chart(ops, kopfs):
        lines += [f"![herd lag CDF]({CHART.name})", ""]
    lines += _targets(ops, kopfs)
    lines += _floor_verdict(ops)
    old = DOC.read_text() if DOC.exists() else ""
    if BEGIN in old and END in old:
        kept = BEGIN + old.split(BEGIN, 1)[1].split(END, 1)[0] + END
        lines[1:1] = ["", kept]
    notes = ""
    if DOC.exists() and NOTES_HEADING in DOC.read_text():
        notes = DOC.read_text().split(NOTES_HEADING, 1)[1]
    lines += [NOTES_HEADING + notes.rstrip()]
    DOC.write_text("\n".join(lines).rstrip() + "\n")
