"""Structured log output for the operator process: JSON lines or ``key=value`` text.

Library code only logs (``logging.getLogger(__name__)``, a constant message, fields passed as
``extra={"controller": ..., "namespace": ..., "name_": ..., "reconcileID": ...}``). The CLI,
and nothing else, calls :func:`configure_logging` once at start-up to choose the format:

* ``json``: one object per line with ``ts`` (RFC 3339, UTC, milliseconds), ``level``,
  ``logger``, ``msg``, every ``extra`` key, and ``error`` / ``stacktrace`` for exceptions —
  the shape of controller-runtime's zap JSON logs, so log pipelines parse both alike;
* ``text``: ``ts=... level=info logger=... msg="..." key=value ...``, values quoted when they
  contain spaces, quotes or ``=`` (logfmt).

``logging`` refuses ``extra`` keys that are ``LogRecord`` attributes (``name``, ``msg``,
``args``, ``module``, …: ``KeyError``). Pass such a key with one trailing underscore
(``name_``); the formatters write it without (``name``). ``resource_name`` (the spelling
``manager.controller`` uses) is written as ``name`` too, so every reconcile log carries
``controller``, ``namespace``, ``name`` and ``reconcileID``. Extra values that JSON cannot encode
are written with ``str()``. Non-goals: log rotation,
sampling, per-logger levels beyond the root level.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

__all__ = ["FORMATS", "JsonFormatter", "TextFormatter", "configure_logging", "record_fields"]

FORMATS = ("json", "text")
_LEVEL_NAMES = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}
_LEVEL_NAMES |= {"error": logging.ERROR}

# Every attribute a bare LogRecord has; anything else on a record came from ``extra``.
_RESERVED = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}
_HANDLER_MARK = "_dbbackup_handler"
_ALIASES = {"resource_name": "name"}  # extra keys written under another name


def record_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The ``extra`` keys of ``record``, in the order they were given (``name_`` is ``name``)."""
    fields: dict[str, Any] = {}
    for key, value in record.__dict__.items():
        if key in _RESERVED or key.startswith("_"):
            continue
        if key.endswith("_") and key[:-1] in _RESERVED:
            key = key[:-1]
        key = _ALIASES.get(key, key)
        fields[key] = value
    return fields


def _timestamp(record: logging.LogRecord) -> str:
    when = datetime.fromtimestamp(record.created, UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _base(record: logging.LogRecord) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "ts": _timestamp(record),
        "level": record.levelname.lower(),
        "logger": record.name,
        "msg": record.getMessage(),
    }
    for key, value in record_fields(record).items():
        fields.setdefault(key, value)
    return fields


class JsonFormatter(logging.Formatter):
    """One JSON object per line (see the module docstring for the keys)."""

    def format(self, record: logging.LogRecord) -> str:
        fields = _base(record)
        if record.exc_info and record.exc_info[1] is not None:
            fields["error"] = str(record.exc_info[1]) or type(record.exc_info[1]).__name__
            fields["stacktrace"] = self.formatException(record.exc_info)
        if record.stack_info:
            fields["stack"] = record.stack_info
        return json.dumps(fields, default=str, ensure_ascii=False)


def _logfmt_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    if text == "" or any(c in text for c in ' "=\n\t\\'):
        return json.dumps(text, ensure_ascii=False)
    return text


class TextFormatter(logging.Formatter):
    """``key=value`` pairs (logfmt); a traceback, if any, follows on the next lines."""

    def format(self, record: logging.LogRecord) -> str:
        fields = _base(record)
        line = " ".join(f"{key}={_logfmt_value(value)}" for key, value in fields.items())
        if record.exc_info and record.exc_info[1] is not None:
            line += f" error={_logfmt_value(str(record.exc_info[1]))}"
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure_logging(
    level: str | int = "info", fmt: str = "text", stream: TextIO | None = None
) -> None:
    """Route the root logger to ``stream`` (stderr) in ``fmt`` at ``level``.

    Idempotent: calling it again replaces the handler it installed before, never stacking a
    second one. For the CLI only; library code must not call it.
    """
    if fmt not in FORMATS:
        raise ValueError(f"log format must be one of {FORMATS}, got {fmt!r}")
    if isinstance(level, str):
        try:
            level = _LEVEL_NAMES[level.lower()]
        except KeyError:
            raise ValueError(f"unknown log level {level!r}") from None
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    setattr(handler, _HANDLER_MARK, True)
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, _HANDLER_MARK, False):
            root.removeHandler(old)
            old.close()
    root.addHandler(handler)
    root.setLevel(level)
