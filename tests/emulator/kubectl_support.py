"""The real ``kubectl`` bound to one kubeconfig, and what makes its output comparable.

A kubectl session's output differs between two runs only in what time and identity write into
it: ages (``AGE``, ``LAST SEEN``, an Event's ``Age``), uids, resourceVersions and creation
timestamps. :func:`table` and :func:`describe` replace exactly those, so a test can assert the
rest of what a user reads, character for character, as kube-apiserver v1.32 made kubectl print
it. An age is replaced only when it is one a fresh object can show (an hour or less): an absurd
age (``143m`` for an object made a second ago, ``<invalid>`` for one stamped in the future) stays
in the text and fails the comparison.

kubectl aligns a table with a tabwriter (padding 3 for ``get``, 2 for describe's Events), so a
replaced age would shift the columns after it; :func:`table` therefore reads the cells at the
header's column starts and renders them again with the same padding. ``get -w`` prints each
watch event as its own block that keeps the header's column widths and widens a column only
where a cell is wider, which the same reading covers.
"""

from __future__ import annotations

import copy
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "KUBECTL",
    "Kubectl",
    "LineReader",
    "Result",
    "describe",
    "editor",
    "is_fresh_age",
    "namespace",
    "remove_namespace",
    "table",
]

KUBECTL = shutil.which("kubectl") or "kubectl"  # v1.32, the one .ci/run installs
COMMAND_TIMEOUT = 60.0  # seconds for one kubectl call; they take ~0.1-0.3 s
GET_PADDING = 3  # kubectl get's tabwriter padding (printers.GetNewTabWriter)
DESCRIBE_PADDING = 2  # describe's tabwriter padding
AGE_COLUMNS = frozenset({"AGE", "LAST SEEN", "FIRST SEEN", "LAST SUCCESS", "Age"})
FRESH_SECONDS = 3600  # an object a test made is younger than an hour
AGE = "<age>"
UID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
# kubectl's HumanDuration below three hours: "59s", "119s", "2m5s", "45m".
HUMAN_AGE = re.compile(r"(?:(\d+)m)?(?:(\d+)s)?")
VOLATILE_NAMES = {
    "Creation Timestamp": "<timestamp>",
    "Deletion Timestamp": "<timestamp>",
    "Resource Version": "<resourceVersion>",
}
DESCRIBE_VOLATILE = re.compile(rf"^(\s*({'|'.join(VOLATILE_NAMES)}):\s+)\S.*$", re.M)
HEADER_CELL = re.compile(r"\S+(?: \S+)*")


@dataclass(frozen=True)
class Result:
    """What one kubectl call printed, and its exit code."""

    code: int
    stdout: str
    stderr: str


class Kubectl:
    """``kubectl`` with a kubeconfig, a private ``HOME`` (its discovery cache) and a default
    namespace; every call is bounded by :data:`COMMAND_TIMEOUT`."""

    def __init__(self, kubeconfig: Path, home: Path, namespace: str) -> None:
        self.namespace = namespace
        self.env = dict(os.environ, KUBECONFIG=str(kubeconfig), HOME=str(home))
        self.env.pop("KUBE_EDITOR", None)

    def within(self, namespace: str) -> Kubectl:
        """The same kubectl with another default namespace."""
        other = copy.copy(self)
        other.namespace = namespace
        return other

    def command(self, args: Sequence[str], namespaced: bool) -> list[str]:
        # The namespace goes first: whatever follows "--" is the command of `create job`.
        return [KUBECTL, *(["-n", self.namespace] if namespaced else []), *args]

    def run(
        self,
        *args: str,
        stdin: str | None = None,
        namespaced: bool = True,
        env: dict[str, str] | None = None,
    ) -> Result:
        done = subprocess.run(
            self.command(args, namespaced),
            input=stdin,
            capture_output=True,
            text=True,
            env={**self.env, **(env or {})},
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    def ok(self, *args: str, stdin: str | None = None, namespaced: bool = True) -> str:
        """stdout of a call that must succeed."""
        result = self.run(*args, stdin=stdin, namespaced=namespaced)
        assert result.code == 0, f"kubectl {' '.join(args)}: {result.stderr}"
        return result.stdout

    def error(self, *args: str, stdin: str | None = None, namespaced: bool = True) -> str:
        """stderr of a call that must fail (exit code 1, kubectl's for every error)."""
        result = self.run(*args, stdin=stdin, namespaced=namespaced)
        assert result.code == 1, f"kubectl {' '.join(args)} exited {result.code}: {result.stdout}"
        return result.stderr

    def start(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        """A kubectl that keeps running (``wait``, ``get -w``, ``delete`` held by a finalizer)."""
        return subprocess.Popen(
            self.command(args, True),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**self.env, **(env or {})},
        )


class LineReader:
    """A running process's stdout, line by line, read by a thread so the pipe never fills."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        self._lines: queue.Queue[str] = queue.Queue()
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._pump, args=(process.stdout,), daemon=True)
        self._thread.start()

    def _pump(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            self._lines.put(line)

    def join(self) -> None:
        """Wait for the reader to see the end of the output (after the process ended)."""
        self._thread.join(timeout=COMMAND_TIMEOUT)

    def wait_lines(self, count: int, timeout: float = COMMAND_TIMEOUT) -> list[str]:
        """The first ``count`` lines, waiting at most ``timeout`` seconds for them."""
        deadline = time.monotonic() + timeout
        while len(self.lines) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"waited {timeout}s for {count} lines, got {self.lines}")
            try:
                self.lines.append(self._lines.get(timeout=remaining))
            except queue.Empty:
                continue
        return self.lines[:count]


def is_fresh_age(text: str) -> bool:
    """Whether ``text`` is kubectl's age of something made within the last hour."""
    match = HUMAN_AGE.fullmatch(text)
    if not text or match is None:
        return False
    minutes, seconds = (int(g) if g else 0 for g in match.groups())
    return minutes * 60 + seconds <= FRESH_SECONDS


def _columns(header: str) -> list[tuple[int, str]]:
    """Where each column starts, and its name, from a header line (names may hold one space)."""
    return [(m.start(), m.group()) for m in HEADER_CELL.finditer(header)]


def _cells(line: str, columns: list[tuple[int, str]], padding: int) -> list[str]:
    """The cells of one row: each starts where the previous column ends, which is the header's
    width unless the previous cell was wider (then the cell plus the padding)."""
    cells, pos = [], columns[0][0]
    for i, (start, _) in enumerate(columns):
        if i == len(columns) - 1:
            cells.append(line[pos:].strip())
            break
        width = columns[i + 1][0] - start
        if line[pos : pos + 1] in ("", " "):
            cell = ""
        else:
            gap = line.find("  ", pos)
            cell = line[pos:] if gap < 0 else line[pos:gap]
        cells.append(cell)
        pos += max(width, len(cell) + padding)
    return cells


def _render(rows: list[list[str]], indent: str, padding: int) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    out = []
    for row in rows:
        text = "".join(c.ljust(w + padding) for c, w in zip(row[:-1], widths, strict=False))
        out.append((indent + text + row[-1]).rstrip())
    return out


def _normalise_rows(rows: list[list[str]]) -> list[list[str]]:
    names = rows[0]
    normal = [names]
    for row in rows[1:]:
        normal.append(
            [
                AGE if n in AGE_COLUMNS and is_fresh_age(c) else c
                for n, c in zip(names, row, strict=True)
            ]
        )
    return normal


def table(text: str, padding: int = GET_PADDING) -> str:
    """A table kubectl printed (first line its header), with fresh ages and uids replaced."""
    lines = [line for line in UID.sub("<uid>", text).splitlines() if line.strip()]
    if not lines:
        return ""
    columns = _columns(lines[0])
    indent = lines[0][: columns[0][0]]
    rows = [[name for _, name in columns]]
    rows += [_cells(line, columns, padding) for line in lines[1:]]
    return "\n".join(_render(_normalise_rows(rows), indent, padding)) + "\n"


def describe(text: str) -> str:
    """``kubectl describe`` output with uids, resourceVersions, timestamps and the Events'
    ages replaced."""
    text = UID.sub("<uid>", text)
    text = DESCRIBE_VOLATILE.sub(lambda m: m.group(1) + VOLATILE_NAMES[m.group(2)], text)
    head, events_title, events = text.partition("\nEvents:\n")
    if not events_title or events.strip() == "<none>":
        return text
    # The header, a line of dashes under it, then one line per Event: one table.
    return head + events_title + table(events, DESCRIBE_PADDING)


def namespace(name: str) -> str:
    """A Namespace for ``kubectl create -f -`` (a document goes as JSON; ``kubectl create
    namespace`` sends protobuf)."""
    return json.dumps({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})


def remove_namespace(kubectl: Kubectl, name: str) -> None:
    """Delete a namespace and what is in it on a real server, doing the controllers' part: a
    bare kube-apiserver runs no namespace controller (the namespace would stay Terminating and
    its objects in storage) and no PVC-protection controller (the PVC would keep its
    finalizer)."""
    kinds = "dbbackup,dbrestore,jobs,secrets,configmaps,serviceaccounts,pvc,events"
    there = kubectl.within(name)
    for obj in there.ok("get", kinds, "-o", "name").split():
        there.run("patch", obj, "--type=merge", "-p", '{"metadata":{"finalizers":null}}')
    there.ok("delete", kinds, "--all", "--wait=false")
    kubectl.ok("delete", "namespace", name, "--wait=false", "--ignore-not-found", namespaced=False)
    finalize = json.dumps({**json.loads(namespace(name)), "spec": {"finalizers": []}})
    path = f"/api/v1/namespaces/{name}/finalize"
    kubectl.run("replace", "--raw", path, "-f", "-", stdin=finalize, namespaced=False)


def editor(tmp_path: Path, old: str, new: str) -> dict[str, str]:
    """``KUBE_EDITOR``: a script that replaces ``old`` with ``new`` in the file kubectl opens."""
    script = tmp_path / "editor.py"
    script.write_text(
        f"#!{sys.executable}\nimport sys\nfrom pathlib import Path\n"
        f"path = Path(sys.argv[-1])\ntext = path.read_text()\nassert {old!r} in text, text\n"
        f"path.write_text(text.replace({old!r}, {new!r}))\n"
    )
    script.chmod(0o755)
    return {"KUBE_EDITOR": str(script)}
