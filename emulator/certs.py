"""The emulator's TLS: a self-signed serving certificate generated when a server starts.

Role: give every :class:`~emulator.server.ApiServer` its own key pair for its HTTPS port
(kubectl sends bearer tokens only over TLS), so nothing private is committed, packaged or
shared between servers. The certificate names ``127.0.0.1`` and ``localhost`` and is its own
CA, so a kubeconfig can carry it as ``certificate-authority-data``.

Guarantees: the private key exists only in memory and, for the instant ``ssl`` loads it, in a
private (0600) file of a temporary directory that is removed at once. Non-goals: client
certificates, certificate rotation (a server's pair lives as long as the server).
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

__all__ = ["ServingPair", "serving_pair"]

COMMON_NAME = "emulator"
VALIDITY = datetime.timedelta(days=365)  # longer than any test or sandbox session
BACKDATE = datetime.timedelta(minutes=5)  # tolerates a client clock slightly behind


@dataclass(frozen=True, slots=True)
class ServingPair:
    """The PEM certificate (shareable) and a server context holding its key."""

    cert_pem: bytes
    context: ssl.SSLContext


def serving_pair() -> ServingPair:
    """A fresh ECDSA P-256 certificate for 127.0.0.1 and localhost, and its server context."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, COMMON_NAME)])
    now = datetime.datetime.now(datetime.UTC)
    names = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory(prefix="emulator-tls-") as scratch:
        cert_path, key_path = Path(scratch, "server.crt"), Path(scratch, "server.key")
        cert_path.write_bytes(cert_pem)
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as key_file:
            key_file.write(key_pem)
        context.load_cert_chain(cert_path, key_path)
    return ServingPair(cert_pem=cert_pem, context=context)
