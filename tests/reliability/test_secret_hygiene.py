"""Scenario 6, secret hygiene: a credential never leaves its Secret through the operator.

A sentinel value sits in every Secret the backups reference (plain in ``stringData``, hence
base64 in ``data``) and in each backup's annotations. The operator runs at debug level, in
json and in text log format, through successful, failed and invalid backups. Then the
sentinel (plain and base64) appears in none of: the operator's whole log, any Event, any
backup status, ``/metrics``, any Job; and the audit log shows zero operator requests on
Secrets (it never reads them: the Job references them by name).
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from tests.reliability.world import World
from tests.support.operator import OPERATOR_USER, wait_for

SPEED = 60.0
START = datetime(2025, 3, 27, 0, 59, 30, tzinfo=UTC)
SENTINEL = "s3ntinel-Zq8X-do-not-leak"


def forms() -> list[str]:
    return [SENTINEL, base64.b64encode(SENTINEL.encode()).decode()]


def secret(name: str, keys: list[str]) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": "default", "annotations": {"x": SENTINEL}},
        "stringData": dict.fromkeys(keys, SENTINEL),
    }


@pytest.mark.timeout(60)
@pytest.mark.parametrize("log_format", ["json", "text"])
def test_the_sentinel_never_leaves_its_secret(log_format: str) -> None:
    world = World(speed=SPEED, start=START, lead=1.0)
    try:
        world.server.create_object(secret("postgres-credentials", ["username", "password"]))
        world.server.create_object(
            secret("s3-credentials", ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"])
        )
        for name in ("good", "bad"):
            obj = world.add_backup(name, schedule="* * * * *")
            obj["metadata"]["annotations"] = {"example.com/token": SENTINEL}
            world.server.update_object(obj)
        invalid = world.add_backup("invalid", schedule="* * * * *", retention="1s")
        invalid["metadata"]["annotations"] = {"example.com/token": SENTINEL}
        world.server.update_object(invalid)
        world.start_completer(10, lambda job: job.startswith("bad-"))
        operator = world.operator(log_format=log_format)
        operator.wait_ready(30)
        wait_for(
            lambda: all(
                len(world.status(n).get("history") or []) >= 2
                and world.status(n)["history"][-1]["result"] != "Running"
                for n in ("good", "bad")
            ),
            30,
            "two finished runs per backup",
        )
        assert world.status("invalid")["conditions"][0]["reason"] == "InvalidSpec"
        metrics = operator.metrics()
        assert operator.stop() == 0
        logs = operator.logs()
        assert "Reconcil" in logs and "BackupFailed" in json.dumps(world.events())
        places = {
            "logs": logs,
            "events": json.dumps(world.events(None)),
            "status": json.dumps([b.get("status") for b in world.backups(None)]),
            "metrics": metrics,
            "jobs": json.dumps(world.jobs(None)),
        }
        for where, text in places.items():
            for form in forms():
                assert form not in text, f"the sentinel leaked into {where}"
        on_secrets = [r for r in world.records(OPERATOR_USER) if r.resource == "secrets"]
        assert on_secrets == []
    finally:
        world.close()
