"""The metrics server's certificate: self-signed at start, or a directory's pair that rotates.

Each test serves over a real loopback TLS socket and reads back the certificate a client is
shown, which is what Prometheus sees.
"""

from __future__ import annotations

import os
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from manager.httpserver import BackgroundHTTPServer, HTTPRequest, HTTPResponse
from manager.servingcert import (
    CERT_NAME,
    KEY_NAME,
    CertDirSource,
    SelfSignedSource,
    self_signed_pair,
)


def _ok(_: HTTPRequest) -> HTTPResponse:
    return HTTPResponse(status=200, body=b"ok\n")


def served_certificate(server: BackgroundHTTPServer) -> bytes:
    """The DER certificate the server presents on a new connection."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return der


def write_pair(directory: Path, cert_pem: bytes, key_pem: bytes) -> None:
    """Replace the pair the way a mounted Secret changes: new files renamed into place."""
    for name, data in ((CERT_NAME, cert_pem), (KEY_NAME, key_pem)):
        staged = directory / f".{name}.new"
        staged.write_bytes(data)
        os.replace(staged, directory / name)


@pytest.fixture
def cert_dir(tmp_path: Path) -> Path:
    pair = self_signed_pair()
    write_pair(tmp_path, pair.cert_pem, pair.key_pem)
    return tmp_path


@pytest.fixture
def dir_server(cert_dir: Path) -> Iterator[BackgroundHTTPServer]:
    server = BackgroundHTTPServer(("127.0.0.1", 0), _ok, tls=CertDirSource(str(cert_dir)))
    try:
        yield server
    finally:
        server.close()


def _der(pem: bytes) -> bytes:
    return x509.load_pem_x509_certificate(pem).public_bytes(Encoding.DER)


def test_the_self_signed_certificate_names_localhost_and_the_loopback_address() -> None:
    source = SelfSignedSource()
    server = BackgroundHTTPServer(("127.0.0.1", 0), _ok, tls=source)
    try:
        der = served_certificate(server)
    finally:
        server.close()
    assert der == _der(source.pair.cert_pem)
    names = x509.load_der_x509_certificate(der).extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    )
    assert names.value.get_values_for_type(x509.DNSName) == ["localhost"]
    assert [str(ip) for ip in names.value.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]


def test_a_rotated_pair_is_served_on_the_next_connection(
    cert_dir: Path, dir_server: BackgroundHTTPServer
) -> None:
    first = served_certificate(dir_server)
    assert first == _der((cert_dir / CERT_NAME).read_bytes())
    renewed = self_signed_pair()
    write_pair(cert_dir, renewed.cert_pem, renewed.key_pem)
    assert served_certificate(dir_server) == _der(renewed.cert_pem)


def test_a_broken_rotation_keeps_serving_the_previous_pair(
    cert_dir: Path, dir_server: BackgroundHTTPServer
) -> None:
    before = served_certificate(dir_server)
    other = self_signed_pair()
    write_pair(cert_dir, other.cert_pem, b"not a key\n")  # a key that does not match
    assert served_certificate(dir_server) == before


def test_a_missing_pair_stops_the_start(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        CertDirSource(str(tmp_path))
