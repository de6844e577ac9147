"""The emulator's HTTPS port: a key pair of its own, made at start, trusted via the kubeconfig.

kubectl sends bearer tokens only over TLS ("Authenticating": "tokens ... over TLS"), so the
emulator serves HTTPS too; its certificate is generated per server, and nothing private lives
in the source tree or the package.
"""

from __future__ import annotations

import base64
import json
import ssl
import urllib.request
from pathlib import Path

import yaml

from emulator.server import ADMIN_TOKEN, ApiServer

EMULATOR_DIR = Path(__file__).resolve().parents[2] / "emulator"


def _ca(server: ApiServer, tmp_path: Path) -> str:
    doc = yaml.safe_load(server.write_kubeconfig(tmp_path / "kubeconfig").read_text())
    return base64.b64decode(doc["clusters"][0]["cluster"]["certificate-authority-data"]).decode()


def test_the_kubeconfig_certificate_verifies_the_https_port(tmp_path: Path) -> None:
    with ApiServer() as server:
        context = ssl.create_default_context(cadata=_ca(server, tmp_path))
        request = urllib.request.Request(f"{server.secure_url}/api/v1/namespaces")
        request.add_header("Authorization", f"Bearer {ADMIN_TOKEN}")
        with urllib.request.urlopen(request, timeout=10, context=context) as response:
            assert json.loads(response.read())["kind"] == "NamespaceList"


def test_every_server_makes_its_own_key_pair(tmp_path: Path) -> None:
    with ApiServer() as first, ApiServer() as second:
        assert _ca(first, tmp_path) != _ca(second, tmp_path)


def test_no_private_key_is_in_the_emulator_sources() -> None:
    armour = "PRIVATE KEY-----"
    holders = [
        str(p) for p in EMULATOR_DIR.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and armour in p.read_text(errors="ignore")
    ]  # fmt: skip
    assert holders == []
