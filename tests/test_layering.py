"""The import rules of docs/contracts.md ("Layering"), and no import cycle anywhere.

``api`` imports nothing of ours; ``manager`` knows nothing of backups; the emulator imports none
of the operator's packages; the backup runner (its own image) imports only ``api``, and nothing
of ours imports it; the kubectl plugin imports ``api`` and ``manager`` (types, REST client),
never the operator's controllers; ``controller`` holds controllers (``api`` and ``manager``);
``app``, the composition root, may import every package but the runner's and the plugin's, and
nothing imports it. The rules hold per package, with no exemption for single files.

No module may take part in an import cycle, whether its modules sit in one package or in
several, and the packages' own graph has no cycle either. The graph is read with ``ast`` from
every import statement, those inside functions and ``TYPE_CHECKING`` blocks included: an import
deferred to run time is still a dependency, and hiding a cycle that way is what this forbids.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = {"api", "manager", "controller", "app", "emulator", "runner", "plugin"}
FORBIDDEN: dict[str, set[str]] = {
    "api": OURS - {"api"},
    "manager": OURS - {"manager"},
    "emulator": OURS - {"emulator"},
    "controller": {"app", "emulator", "runner", "plugin"},
    # The composition root: the sandbox starts the emulator; the runner is a program it runs.
    "app": {"runner", "plugin"},
    "runner": OURS - {"runner", "api"},
    "plugin": {"controller", "app", "emulator", "runner"},
}
# Where cycles are looked for: our packages and the code around them.
CYCLE_ROOTS = sorted(OURS | {"bench", "hack", "tests"})


def _import_targets(tree: ast.AST, module: str, is_package: bool) -> Iterator[tuple[str, str]]:
    """What each name an import statement in ``tree`` binds comes from, anywhere in the file.

    Pairs of (the name as a module, the module it is read from): ``import a.b`` gives
    ``("a.b", "a.b")``; ``from a import n`` gives ``("a.n", "a")``, and the caller keeps
    ``a.n`` when it is a module (``n`` is a submodule), ``a`` otherwise, as import linters do.
    """
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                source = f"{base}.{node.module}" if node.module else base
            else:
                source = node.module or ""
            for alias in node.names:
                yield f"{source}.{alias.name}", source


def _module_name(root: Path, path: Path) -> tuple[str, bool]:
    parts = list(path.relative_to(root).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts.pop()
    return ".".join(parts), is_package


def import_graph(root: Path, packages: list[str]) -> dict[str, set[str]]:
    """Module → the modules of ``packages`` it imports (under ``root``)."""
    files = {
        path: _module_name(root, path)
        for package in packages
        if (root / package / "__init__.py").exists()
        for path in sorted((root / package).rglob("*.py"))
    }
    known = {name for name, _ in files.values()}
    graph: dict[str, set[str]] = {}
    for path, (module, is_package) in files.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        found: set[str] = set()
        for submodule, source in _import_targets(tree, module, is_package):
            target = submodule if submodule in known else source
            if target in known and target != module:
                found.add(target)
        graph[module] = found
    return graph


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def package_graph(graph: Mapping[str, set[str]]) -> dict[str, set[str]]:
    """The module graph folded onto top-level packages (``manager.rest`` → ``manager``)."""
    folded: dict[str, set[str]] = {}
    for module, targets in graph.items():
        top = module.split(".")[0]
        if top == "tests":
            continue  # tests import what they test; a harness shared with bench is not a layer

        edges = folded.setdefault(top, set())
        edges.update(t.split(".")[0] for t in targets if t.split(".")[0] != top)
    return folded


def _violations(graph: Mapping[str, set[str]], package: str) -> list[str]:
    return [
        f"{module} imports {target}"
        for module, targets in sorted(graph.items())
        if module.split(".")[0] == package
        for target in sorted(targets)
        if target.split(".")[0] in FORBIDDEN[package]
    ]


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph(ROOT, CYCLE_ROOTS)


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_respects_import_rules(package: str, graph: dict[str, set[str]]) -> None:
    assert (ROOT / package / "__init__.py").exists()
    assert _violations(graph, package) == []


def test_nothing_imports_the_composition_root(graph: dict[str, set[str]]) -> None:
    importers = {
        module.split(".")[0]
        for module, targets in graph.items()
        if any(t.split(".")[0] == "app" for t in targets)
    }
    assert importers <= {"app", "tests", "bench"}


def test_no_module_is_in_an_import_cycle(graph: dict[str, set[str]]) -> None:
    assert cycles(graph) == []


def test_no_package_is_in_an_import_cycle(graph: dict[str, set[str]]) -> None:
    assert cycles(package_graph(graph)) == []


def test_checker_sees_forbidden_imports(tmp_path: Path) -> None:
    """The checker itself must notice a violation, or the rule above proves nothing."""
    for package in ("api", "manager", "controller"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "manager" / "rest.py").write_text("")
    (tmp_path / "api" / "m.py").write_text(
        "import json\n\ndef late():\n    import manager.rest\n    from controller import cli\n"
    )
    graph = import_graph(tmp_path, ["api", "manager", "controller"])
    assert graph["api.m"] == {"manager.rest", "controller"}
    assert _violations(graph, "api") == ["api.m imports controller", "api.m imports manager.rest"]


def _plant(root: Path, files: Mapping[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_checker_sees_a_cycle_inside_a_package_hidden_in_a_function(tmp_path: Path) -> None:
    _plant(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/cli.py": "def flags():\n    from pkg import options\n",
            "pkg/options.py": "from pkg.cli import flags\n",
            "pkg/other.py": "from . import options\n",
        },
    )
    graph = import_graph(tmp_path, ["pkg"])
    assert graph["pkg.other"] == {"pkg.options"}
    assert cycles(graph) == [["pkg.cli", "pkg.options"]]


def test_checker_sees_a_cycle_across_packages(tmp_path: Path) -> None:
    _plant(
        tmp_path,
        {
            "a/__init__.py": "",
            "a/x.py": "import b.y\n",
            "a/z.py": "",
            "b/__init__.py": "",
            "b/y.py": "from a import z\n",
        },
    )
    graph = import_graph(tmp_path, ["a", "b"])
    assert cycles(graph) == []  # no module cycle: a.x → b.y → a.z
    assert cycles(package_graph(graph)) == [["a", "b"]]
    (tmp_path / "a" / "z.py").write_text("from a import x\n")
    assert cycles(import_graph(tmp_path, ["a", "b"])) == [["a.x", "a.z", "b.y"]]
