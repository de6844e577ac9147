"""``emulator.cli.main``: serves in the foreground, prints its URL and kubeconfig, exits 0 on
SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import yaml
from kubernetes import client, config


def test_cli_serves_until_sigterm(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    code = "import sys; from emulator.cli import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "--write-kubeconfig", str(kubeconfig), "--history-size", "5"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert "serving at http://127.0.0.1:" in first
        assert str(kubeconfig) in proc.stdout.readline()
        doc = yaml.safe_load(kubeconfig.read_text())
        assert doc["clusters"][0]["cluster"]["server"].startswith("https://127.0.0.1:")
        api = config.new_client_from_config(config_file=str(kubeconfig))
        with api:
            names = [
                n.metadata.name for n in client.CoreV1Api(api).list_namespace().items if n.metadata
            ]
        assert names == ["default", "kube-system"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
