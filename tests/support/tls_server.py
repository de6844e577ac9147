"""A real HTTPS server on 127.0.0.1 that asks for client certificates, for transport tests.

It answers every ``GET`` with who the request was, as the API server would see it: the client
certificate's common name (verified against the test CA) and the ``Authorization`` header.
A request whose bearer token is not in ``accepted`` (when that set is not empty) gets a 401
``Status``, as kube-apiserver's token authenticator answers an unknown token.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import ssl
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

__all__ = ["Pki", "TlsServer", "make_pki", "tls_server"]

SERVER_NAME = "kube.test"  # a DNS name in the server certificate besides 127.0.0.1


@dataclass(frozen=True)
class Pki:
    """PEM bytes: a CA, a server pair for 127.0.0.1 and kube.test, a client pair (CN alice)."""

    ca: bytes
    server_cert: bytes
    server_key: bytes
    client_cert: bytes
    client_key: bytes
    other_ca: bytes  # a CA that signed nothing here: verification against it fails


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _cert(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[str, ec.EllipticCurvePrivateKey] | None,
    *,
    ca: bool = False,
    names: list[x509.GeneralName] | None = None,
) -> bytes:
    now = datetime.datetime.now(datetime.UTC)
    issuer_name, issuer_key = issuer or (subject, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_name)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(issuer_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def make_pki() -> Pki:
    ca_key, other_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    server_key, client_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    names: list[x509.GeneralName] = [
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.DNSName(SERVER_NAME),
    ]
    return Pki(
        ca=_cert("test-ca", ca_key, None, ca=True),
        server_cert=_cert("kube-apiserver", server_key, ("test-ca", ca_key), names=names),
        server_key=_key_pem(server_key),
        client_cert=_cert("alice", client_key, ("test-ca", ca_key)),
        client_key=_key_pem(client_key),
        other_ca=_cert("other-ca", other_key, None, ca=True),
    )


@dataclass
class TlsServer:
    url: str
    accepted: set[str] = field(default_factory=set)  # bearer tokens let in; empty: any
    seen: list[dict[str, str]] = field(default_factory=list)


def _server_context(pki: Pki) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.verify_mode = ssl.CERT_OPTIONAL  # as kube-apiserver: a certificate is one way in
    context.load_verify_locations(cadata=pki.ca.decode())
    with tempfile.TemporaryDirectory() as tmp:
        cert, key = Path(tmp, "tls.crt"), Path(tmp, "tls.key")
        cert.write_bytes(pki.server_cert)
        key.write_bytes(pki.server_key)
        key.chmod(0o600)
        context.load_cert_chain(cert, key)
    return context


@contextmanager
def tls_server(pki: Pki) -> Iterator[TlsServer]:
    """Serve HTTPS on a free 127.0.0.1 port until the block ends."""
    state = TlsServer(url="")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            return None

        def do_GET(self) -> None:
            peer = self.connection.getpeercert()
            cn = ""
            for rdn in (peer or {}).get("subject", ()):
                for key, value in rdn:
                    if key == "commonName":
                        cn = value
            auth = self.headers.get("Authorization", "")
            state.seen.append({"cn": cn, "authorization": auth, "path": self.path})
            token = auth.removeprefix("Bearer ")
            if state.accepted and token not in state.accepted:
                status, body = 401, {"kind": "Status", "reason": "Unauthorized", "code": 401}
            else:
                status, body = 200, {"cn": cn, "authorization": auth}
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.socket = _server_context(pki).wrap_socket(httpd.socket, server_side=True)
    state.url = f"https://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)
