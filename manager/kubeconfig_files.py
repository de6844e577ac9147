"""Read kubeconfig files and merge a list of them as clientcmd's loader does.

Role: the file half of :mod:`manager.kubeconfig`: YAML in, one merged :class:`Kubeconfig` out.

Merge rules (client-go's ``ClientConfigLoadingRules.Load``): files are read in order; the first
file to name a cluster, user or context wins, and that entry is taken whole (a later file's
entry of the same name is ignored even for fields the first one left out); ``current-context``
is the first one a file sets. Every entry remembers the file it came from, so relative paths in
it (certificate files, ``tokenFile``, an exec ``command`` holding a ``/``) resolve against that
file's directory.

Errors: a file that cannot be read or parsed, or whose shape is wrong, is a
:class:`~manager.restconfig.ConfigError` naming the file and what is wrong, never skipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from manager.restconfig import ConfigError

__all__ = ["Entry", "Kubeconfig", "merge_files", "read_file"]

_SECTIONS = (("clusters", "cluster"), ("users", "user"), ("contexts", "context"))


@dataclass(frozen=True, slots=True)
class Entry:
    """One named cluster, user or context, with the file it was read from."""

    name: str
    body: Mapping[str, Any]
    origin: Path

    def resolve(self, value: str) -> str:
        """``value`` as a path: absolute as is, else relative to the origin file's directory."""
        path = Path(value).expanduser()
        return str(path if path.is_absolute() else self.origin.parent.resolve() / path)


@dataclass
class Kubeconfig:
    """Merged kubeconfig maps (first file wins per name) and the current context."""

    clusters: dict[str, Entry] = field(default_factory=dict)
    users: dict[str, Entry] = field(default_factory=dict)
    contexts: dict[str, Entry] = field(default_factory=dict)
    current_context: str = ""
    files: list[Path] = field(default_factory=list)

    @property
    def source(self) -> str:
        """The file list, for error messages."""
        return ", ".join(str(f) for f in self.files) or "(no file)"


def read_file(path: Path) -> Kubeconfig:
    """One kubeconfig file; an empty file is an empty config (as clientcmd's)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read kubeconfig {path}: {exc}") from exc
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"kubeconfig {path} is not valid YAML: {exc}") from exc
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise ConfigError(f"kubeconfig {path}: the document is not a mapping")
    config = Kubeconfig(files=[path])
    for section, key in _SECTIONS:
        entries = doc.get(section) or []
        if not isinstance(entries, list):
            raise ConfigError(f"kubeconfig {path}: {section} must be a list")
        target: dict[str, Entry] = getattr(config, section)
        for item in entries:
            name = item.get("name") if isinstance(item, dict) else None
            if not isinstance(name, str) or not name:
                raise ConfigError(f"kubeconfig {path}: an entry of {section} has no name")
            body = item.get(key) or {}
            if not isinstance(body, dict):
                raise ConfigError(f"kubeconfig {path}: {section} {name!r}: {key} is not a mapping")
            target.setdefault(name, Entry(name, body, path))
    current = doc.get("current-context") or ""
    if not isinstance(current, str):
        raise ConfigError(f"kubeconfig {path}: current-context is not a string")
    config.current_context = current
    return config


def merge_files(paths: Iterable[Path]) -> Kubeconfig:
    """Merge the files in order (module docstring); every path must exist."""
    merged = Kubeconfig()
    for path in paths:
        one = read_file(path)
        merged.files.append(path)
        for section, _ in _SECTIONS:
            target: dict[str, Entry] = getattr(merged, section)
            for name, entry in getattr(one, section).items():
                target.setdefault(name, entry)
        merged.current_context = merged.current_context or one.current_context
    return merged
