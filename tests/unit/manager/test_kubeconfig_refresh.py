"""The client's per-request credential refresh hook runs at most once per REFRESH_INTERVAL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from manager.clock import FakeClock
from manager.kubeconfig import REFRESH_INTERVAL, _throttle_refresh, load_configuration


def _kubeconfig(tmp_path: Path) -> Path:
    doc = {
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": "http://127.0.0.1:1"}}],
        "users": [{"name": "u", "user": {"token": "secret-token"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
    }  # fmt: skip
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_a_static_token_still_authenticates(tmp_path: Path) -> None:
    configuration = load_configuration(str(_kubeconfig(tmp_path)))
    assert configuration.get_api_key_with_prefix("BearerToken") == "Bearer secret-token"
    assert configuration.get_api_key_with_prefix("BearerToken") == "Bearer secret-token"


def test_the_hook_runs_once_per_interval_even_when_it_reinstalls_itself(tmp_path: Path) -> None:
    configuration = load_configuration(str(_kubeconfig(tmp_path)))
    calls: list[object] = []

    def hook(target: Any) -> None:  # like the client's: records, then re-installs itself
        calls.append(target)
        setattr(target, "refresh_api_key_hook", hook)  # noqa: B010 (typed as None)

    setattr(configuration, "refresh_api_key_hook", hook)  # noqa: B010 (typed as None)
    clock = FakeClock()
    _throttle_refresh(configuration, clock)
    for _ in range(100):
        configuration.get_api_key_with_prefix("BearerToken")
    assert len(calls) == 1
    clock.step(REFRESH_INTERVAL)
    for _ in range(100):
        configuration.get_api_key_with_prefix("BearerToken")
    assert len(calls) == 2
