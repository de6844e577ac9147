"""JSON and text log formatting, and ``configure_logging``'s handler management."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator

import pytest

from manager.logsetup import JsonFormatter, TextFormatter, configure_logging


def make_record(msg: str = "reconcile done", **extra: object) -> logging.LogRecord:
    logger = logging.getLogger("manager.controller")
    return logger.makeRecord(
        "manager.controller", logging.INFO, __file__, 1, msg, (), None, extra=extra
    )


def test_json_has_the_fixed_keys_and_every_extra() -> None:
    record = make_record(
        controller="databasebackup", namespace="prod", name_="pg", reconcileID="abc-1"
    )
    line = JsonFormatter().format(record)
    decoded = json.loads(line)
    assert list(decoded)[:4] == ["ts", "level", "logger", "msg"]
    assert decoded["level"] == "info"
    assert decoded["logger"] == "manager.controller"
    assert decoded["msg"] == "reconcile done"
    assert decoded["controller"] == "databasebackup"
    assert decoded["namespace"] == "prod"
    assert decoded["name"] == "pg"
    assert decoded["reconcileID"] == "abc-1"
    assert decoded["ts"].endswith("Z") and decoded["ts"][10] == "T"
    assert "\n" not in line


def test_reserved_keys_need_the_underscore() -> None:
    with pytest.raises(KeyError):
        make_record(name="pg")
    decoded = json.loads(JsonFormatter().format(make_record(name_="pg", module_="m")))
    assert decoded["logger"] == "manager.controller"
    assert (decoded["name"], decoded["module"]) == ("pg", "m")
    assert "name_" not in decoded
    aliased = json.loads(JsonFormatter().format(make_record(resource_name="pg")))
    assert aliased["name"] == "pg" and "resource_name" not in aliased


def test_json_encodes_odd_values_and_exceptions() -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logger = logging.getLogger("x")
        record = logger.makeRecord(
            "x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info(), extra={"obj": {1, 2}}
        )
    decoded = json.loads(JsonFormatter().format(record))
    assert decoded["level"] == "error"
    assert decoded["error"] == "boom"
    assert "RuntimeError: boom" in decoded["stacktrace"]
    assert decoded["obj"] == str({1, 2})


def test_json_message_arguments_are_interpolated() -> None:
    logger = logging.getLogger("x")
    record = logger.makeRecord("x", logging.WARNING, __file__, 1, "%d jobs", (3,), None)
    assert json.loads(JsonFormatter().format(record))["msg"] == "3 jobs"


def test_text_is_key_value_with_quoting() -> None:
    record = make_record(controller="databasebackup", name_="pg", note='say "hi"', empty="")
    line = TextFormatter().format(record)
    assert line.startswith("ts=")
    assert " level=info logger=manager.controller " in line
    assert ' msg="reconcile done" ' in line
    assert " controller=databasebackup name=pg " in line
    assert r'note="say \"hi\""' in line
    assert line.endswith('empty=""')


@pytest.fixture
def root_logger() -> Iterator[logging.Logger]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield root
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


def test_configure_logging_json_level_and_no_stacking(root_logger: logging.Logger) -> None:
    first, second = io.StringIO(), io.StringIO()
    configure_logging("warning", "json", stream=first)
    configure_logging("debug", "json", stream=second)
    log = logging.getLogger("manager.test")
    log.debug("hello", extra={"namespace": "ns"})
    assert first.getvalue() == ""
    lines = second.getvalue().splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0])["namespace"] == "ns"
    configure_logging("warning", "text", stream=second)
    log.info("dropped")
    assert len(second.getvalue().splitlines()) == 1


def test_configure_logging_rejects_unknown_values(root_logger: logging.Logger) -> None:
    with pytest.raises(ValueError, match="format"):
        configure_logging("info", "yaml")
    with pytest.raises(ValueError, match="level"):
        configure_logging("loud", "json")
