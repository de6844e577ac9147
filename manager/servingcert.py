"""The metrics server's TLS: a certificate from a directory, or a self-signed one made at start.

A port of what controller-runtime's metrics server does with ``SecureServing``
(``pkg/metrics/server/server.go``): with a ``CertDir`` it serves ``tls.crt`` / ``tls.key`` from
there (e.g. a cert-manager Secret mounted into the pod) and picks up a rotated pair without a
restart (its ``certwatcher``); without one it generates a self-signed certificate for
``localhost`` and ``127.0.0.1`` in memory at start (``certutil.GenerateSelfSignedCertKey``
``WithFixtures("localhost", [127.0.0.1])``), which Prometheus accepts with
``insecureSkipVerify`` as kubebuilder's ServiceMonitor configures it.

Guarantees: the generated private key never touches a lasting file (it is written to a private
temporary directory only for ``ssl`` to load it, and removed at once); a rotated pair in the
directory applies to the next connection, and a pair that fails to load keeps the previous one
serving (logged). TLS 1.2 is the minimum, as Go's crypto/tls default for servers. Non-goals:
client certificates, SNI, choosing cipher suites.
"""

from __future__ import annotations

import datetime
import ipaddress
import logging
import os
import ssl
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

__all__ = [
    "CERT_NAME",
    "KEY_NAME",
    "SELF_SIGNED_HOST",
    "SELF_SIGNED_VALIDITY",
    "CertDirSource",
    "KeyPair",
    "SelfSignedSource",
    "self_signed_pair",
    "tls_source",
]

log = logging.getLogger(__name__)

CERT_NAME = "tls.crt"  # controller-runtime metricsserver.Options.CertName default
KEY_NAME = "tls.key"  # controller-runtime metricsserver.Options.KeyName default
SELF_SIGNED_HOST = "localhost"  # the host controller-runtime's self-signed certificate names
SELF_SIGNED_IP = "127.0.0.1"  # and the one address it names
# client-go certutil's validity for a self-signed serving certificate (duration365d).
SELF_SIGNED_VALIDITY = datetime.timedelta(days=365)
# A backdated start absorbs clock skew between the pod and its scrapers (certutil: 1 hour).
BACKDATE = datetime.timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class KeyPair:
    """A PEM certificate and its PEM private key."""

    cert_pem: bytes
    key_pem: bytes


def self_signed_pair(host: str = SELF_SIGNED_HOST) -> KeyPair:
    """A fresh self-signed serving certificate for ``host`` and 127.0.0.1 (ECDSA P-256)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + SELF_SIGNED_VALIDITY)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName(host), x509.IPAddress(ipaddress.ip_address(SELF_SIGNED_IP))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return KeyPair(cert.public_bytes(serialization.Encoding.PEM), key_pem)


def _server_context() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def context_for(pair: KeyPair) -> ssl.SSLContext:
    """A server context holding ``pair``; the key passes through a private temporary file."""
    context = _server_context()
    with tempfile.TemporaryDirectory(prefix="metrics-tls-") as scratch:
        cert_path, key_path = Path(scratch, CERT_NAME), Path(scratch, KEY_NAME)
        cert_path.write_bytes(pair.cert_pem)
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as key_file:
            key_file.write(pair.key_pem)
        context.load_cert_chain(cert_path, key_path)
    return context


class SelfSignedSource:
    """One self-signed certificate for the life of the process."""

    def __init__(self, host: str = SELF_SIGNED_HOST) -> None:
        self.pair = self_signed_pair(host)
        self._context = context_for(self.pair)

    def __call__(self) -> ssl.SSLContext:
        return self._context


class CertDirSource:
    """``tls.crt`` / ``tls.key`` from a directory, reloaded when either file changes.

    The first load raises (a missing or broken pair must stop the start); later reloads that
    fail keep serving the previous pair.
    """

    def __init__(self, cert_dir: str, cert_name: str = CERT_NAME, key_name: str = KEY_NAME):
        self.cert_path = Path(cert_dir, cert_name)
        self.key_path = Path(cert_dir, key_name)
        self._lock = threading.Lock()
        self._stamp = self._current_stamp()
        self._context = self._load()

    def _current_stamp(self) -> tuple[float, float, int, int]:
        cert, key = self.cert_path.stat(), self.key_path.stat()
        return (cert.st_mtime, key.st_mtime, cert.st_ino, key.st_ino)

    def _load(self) -> ssl.SSLContext:
        context = _server_context()
        context.load_cert_chain(self.cert_path, self.key_path)
        return context

    def __call__(self) -> ssl.SSLContext:
        with self._lock:
            try:
                stamp = self._current_stamp()
                if stamp != self._stamp:
                    self._context = self._load()
                    self._stamp = stamp
                    log.info("reloaded the metrics serving certificate",
                             extra={"certFile": str(self.cert_path)})  # fmt: skip
            except (OSError, ssl.SSLError) as err:
                log.error("cannot reload the metrics serving certificate; keeping the old one",
                          extra={"certFile": str(self.cert_path), "error": str(err)})  # fmt: skip
            return self._context


def tls_source(cert_dir: str) -> CertDirSource | SelfSignedSource:
    """The pair in ``cert_dir`` when given, else a self-signed one (controller-runtime's rule)."""
    return CertDirSource(cert_dir) if cert_dir else SelfSignedSource()
