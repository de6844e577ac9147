"""Token files and exec credential plugins, with a real plugin process (a small Python script)."""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from manager.clock import FakeClock
from manager.credentials import (
    TOKEN_FILE_LEEWAY,
    TOKEN_FILE_PERIOD,
    ExecCredentials,
    ExecError,
    credentials_for,
)
from manager.restconfig import ExecConfig, RestConfig

V1 = "client.authentication.k8s.io/v1"

# Counts its runs in argv[1], records KUBERNETES_EXEC_INFO and $GREETING in argv[2], and
# answers token-<run> (expiring at $EXPIRES when set) in the apiVersion it was asked for.
PLUGIN = """
import json, os, pathlib, sys
count = pathlib.Path(sys.argv[1])
n = int(count.read_text()) + 1 if count.exists() else 1
count.write_text(str(n))
info = json.loads(os.environ["KUBERNETES_EXEC_INFO"])
seen = {"info": info, "greeting": os.environ.get("GREETING")}
pathlib.Path(sys.argv[2]).write_text(json.dumps(seen))
status = {"token": f"token-{n}"}
if os.environ.get("EXPIRES"):
    status["expirationTimestamp"] = os.environ["EXPIRES"]
print(json.dumps({"apiVersion": info["apiVersion"], "kind": "ExecCredential", "status": status}))
"""


def _plugin(tmp_path: Path, *, expires: str = "", **kw: object) -> ExecConfig:
    script = tmp_path / "plugin.py"
    script.write_text(PLUGIN)
    env = [("GREETING", "hello")] + ([("EXPIRES", expires)] if expires else [])
    fields: dict[str, object] = {
        "command": sys.executable,
        "api_version": V1,
        "args": (str(script), str(tmp_path / "count"), str(tmp_path / "seen")),
        "env": tuple(env),
        "interactive_mode": "Never",
    }
    fields.update(kw)
    return ExecConfig(**fields)  # type: ignore[arg-type]


def _runs(tmp_path: Path) -> int:
    return int((tmp_path / "count").read_text())


def test_the_plugin_answer_is_cached_until_it_expires(tmp_path: Path) -> None:
    clock = FakeClock()
    expires = (clock.now() + timedelta(seconds=60)).strftime("%Y-%m-%dT%H:%M:%SZ")
    creds = ExecCredentials(_plugin(tmp_path, expires=expires), {"server": "x"}, clock)
    assert [creds.authorization() for _ in range(5)] == ["Bearer token-1"] * 5
    assert _runs(tmp_path) == 1
    clock.step(59)
    assert creds.authorization() == "Bearer token-1"
    clock.step(2)
    assert creds.authorization() == "Bearer token-2"
    assert _runs(tmp_path) == 2


def test_a_401_runs_the_plugin_again_once(tmp_path: Path) -> None:
    creds = ExecCredentials(_plugin(tmp_path), {"server": "x"}, FakeClock())
    first = creds.authorization()
    assert first == "Bearer token-1"
    creds.unauthorized(first)
    creds.unauthorized(first)  # a second request that carried the same token: no extra run
    assert creds.authorization() == "Bearer token-2"
    creds.unauthorized(first)  # stale: the token was already replaced
    assert creds.authorization() == "Bearer token-2"
    assert _runs(tmp_path) == 2


def test_exec_info_env_and_cluster_info_reach_the_plugin(tmp_path: Path) -> None:
    config = RestConfig(
        host="https://10.0.0.1:6443",
        ca_data=b"CA",
        server_name="kube.test",
        exec_provider=_plugin(tmp_path, provide_cluster_info=True, cluster_config={"a": 1}),
    )
    creds = credentials_for(config, FakeClock())
    assert creds.authorization() == "Bearer token-1"
    seen = json.loads((tmp_path / "seen").read_text())
    assert seen["greeting"] == "hello"
    assert seen["info"] == {
        "kind": "ExecCredential",
        "apiVersion": V1,
        "spec": {
            "interactive": False,
            "cluster": {
                "server": "https://10.0.0.1:6443",
                "tls-server-name": "kube.test",
                "certificate-authority-data": "Q0E=",
                "config": {"a": 1},
            },
        },
    }


def test_a_missing_plugin_names_the_command_and_its_install_hint(tmp_path: Path) -> None:
    config = ExecConfig(
        command=str(tmp_path / "no-such-plugin"),
        api_version=V1,
        install_hint="brew install no-such-plugin",
        interactive_mode="Never",
    )
    creds = ExecCredentials(config, {}, FakeClock())
    with pytest.raises(ExecError) as err:
        creds.authorization()
    assert str(err.value) == (
        f"exec: executable {tmp_path / 'no-such-plugin'} not found\n\nbrew install no-such-plugin"
    )


def test_a_failing_or_confused_plugin_is_an_error(tmp_path: Path) -> None:
    failing = ExecConfig(
        command=sys.executable, api_version=V1, args=("-c", "raise SystemExit(3)"),
        interactive_mode="Never",
    )  # fmt: skip
    with pytest.raises(ExecError, match="failed with exit code 3"):
        ExecCredentials(failing, {}, FakeClock()).authorization()
    other_version = ExecConfig(
        command=sys.executable,
        api_version=V1,
        args=("-c", 'print(\'{"kind":"ExecCredential","apiVersion":"x/v9","status":{}}\')'),
        interactive_mode="Never",
    )
    with pytest.raises(ExecError, match="plugin returned version x/v9"):
        ExecCredentials(other_version, {}, FakeClock()).authorization()
    always = ExecConfig(command=sys.executable, api_version=V1, interactive_mode="Always")
    creds = ExecCredentials(always, {}, FakeClock(), is_terminal=lambda: False)
    with pytest.raises(ExecError, match="standard input is not a terminal"):
        creds.authorization()


def test_a_token_file_is_reread_about_once_a_minute(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("one\n")
    clock = FakeClock()
    creds = credentials_for(
        RestConfig(host="https://h", bearer_token="one", bearer_token_file=str(token)), clock
    )
    assert creds.authorization() == "Bearer one"
    token.write_text("two\n")
    clock.step(TOKEN_FILE_PERIOD - TOKEN_FILE_LEEWAY - 1)
    assert creds.authorization() == "Bearer one"
    clock.step(1)
    assert creds.authorization() == "Bearer two"
    token.unlink()  # a failed re-read keeps the token already held
    clock.step(TOKEN_FILE_PERIOD)
    assert creds.authorization() == "Bearer two"


def test_a_token_and_a_certificate_win_over_an_exec_plugin(tmp_path: Path) -> None:
    plugin = _plugin(tmp_path)
    creds = credentials_for(RestConfig(host="https://h", bearer_token="t", exec_provider=plugin))
    assert creds.authorization() == "Bearer t"
    assert not (tmp_path / "count").exists()
