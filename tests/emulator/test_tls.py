"""The emulator's HTTPS port: a key pair of its own, made at start, trusted via the kubeconfig.

kubectl sends bearer tokens only over TLS ("Authenticating": "tokens ... over TLS"), so the
emulator serves HTTPS too; its certificate is generated per server, and nothing private lives
in the source tree or the package.
"""

from __future__ import annotations

import base64
import json
import socket
import ssl
import urllib.request
from datetime import timedelta
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

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


def test_the_chain_is_a_throwaway_ca_and_a_serving_certificate_as_kube_apiserver_makes(
    tmp_path: Path,
) -> None:
    """kube-apiserver v1.32 started without ``--tls-cert-file`` presents ``127.0.0.1@<time>``
    signed by ``127.0.0.1-ca@<time>`` (leaf then CA; server auth only, not a CA; SANs
    kubernetes.default.svc, kubernetes.default, kubernetes and the bind address)."""
    with ApiServer() as server:
        ca = x509.load_pem_x509_certificate(_ca(server, tmp_path).encode())
        host, port = server.secure_url.removeprefix("https://").split(":")
        context = ssl.create_default_context(cadata=_ca(server, tmp_path))
        with (
            socket.create_connection((host, int(port)), timeout=10) as raw,
            context.wrap_socket(raw, server_hostname=host) as tls,
        ):
            der = tls.getpeercert(binary_form=True)
        assert der is not None
        leaf = x509.load_der_x509_certificate(der)

    leaf_cn = leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    ca_cn = ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert str(leaf_cn).startswith("127.0.0.1@") and str(ca_cn).startswith("127.0.0.1-ca@")
    assert leaf.issuer == ca.subject == ca.issuer
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    usages = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usages) == [ExtendedKeyUsageOID.SERVER_AUTH]
    sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == [
        "kubernetes.default.svc",
        "kubernetes.default",
        "kubernetes",
    ]
    assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert leaf.not_valid_after_utc - leaf.not_valid_before_utc == timedelta(days=365)
