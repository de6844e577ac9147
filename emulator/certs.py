"""The emulator's TLS: a CA and a serving certificate it signs, generated when a server starts.

Role: give every :class:`~emulator.server.ApiServer` its own key pair for its HTTPS port
(kubectl sends bearer tokens only over TLS), so nothing private is committed, packaged or
shared between servers. This is what kube-apiserver does when it is given no
``--tls-cert-file`` (client-go's ``GenerateSelfSignedCertKeyWithFixtures``): a throwaway CA
(``<host>-ca@<unix time>``) signs a serving certificate (``<host>@<unix time>``, server auth
only) for the bind address and the in-cluster names ``kubernetes.default.svc``,
``kubernetes.default`` and ``kubernetes``, valid from an hour ago for a year; the server
presents the leaf followed by the CA, and a kubeconfig trusts the CA
(``certificate-authority-data``). One deviation: ECDSA P-256 keys instead of RSA 2048, which
take milliseconds rather than a tenth of a second to generate, and tests start many servers.

Guarantees: the private keys exist only in memory and, for the instant ``ssl`` loads the
serving key, in a private (0600) file of a temporary directory that is removed at once (the
CA's key is never written anywhere). Non-goals: client certificates, rotation (a server's
pair lives as long as the server).
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
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["HOST", "ServingPair", "serving_pair"]

HOST = "127.0.0.1"  # kube-apiserver's self-signed certificate is named after its bind address
# The names kube-apiserver adds (its service IP aside: the emulator serves no Services).
ALTERNATE_DNS = ("kubernetes.default.svc", "kubernetes.default", "kubernetes")
VALIDITY = datetime.timedelta(days=365)  # certutil's one-year self-signed certificates
BACKDATE = datetime.timedelta(hours=1)  # certutil: valid an hour earlier, for clock skew


@dataclass(frozen=True, slots=True)
class ServingPair:
    """The CA clients trust (PEM, shareable) and a server context holding the serving key."""

    ca_pem: bytes
    context: ssl.SSLContext


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _usage(*, cert_sign: bool) -> x509.KeyUsage:
    """certutil's key usages: key encipherment and digital signature, plus cert signing for
    the CA."""
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=True,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def serving_pair(host: str = HOST) -> ServingPair:
    """A fresh CA and the serving certificate it signs for ``host`` (an IP address or a DNS
    name) and the in-cluster names."""
    now = datetime.datetime.now(datetime.UTC)
    stamp = int(now.timestamp())
    valid_from, valid_to = now - BACKDATE, now - BACKDATE + VALIDITY
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name(f"{host}-ca@{stamp}")
    ca = (
        x509.CertificateBuilder(subject_name=ca_name, issuer_name=ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(valid_from)
        .not_valid_after(valid_to)
        .add_extension(_usage(cert_sign=True), critical=True)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName(dns) for dns in ALTERNATE_DNS]
    try:
        names.append(x509.IPAddress(ipaddress.ip_address(host)))
    except ValueError:
        names.append(x509.DNSName(host))
    leaf = (
        x509.CertificateBuilder(subject_name=_name(f"{host}@{stamp}"), issuer_name=ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(valid_from)
        .not_valid_after(valid_to)
        .add_extension(_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_pem = ca.public_bytes(serialization.Encoding.PEM)
    # One PEM file with the key and the chain (leaf, then CA), as ``load_cert_chain`` reads it.
    bundle = b"".join(
        (
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
            leaf.public_bytes(serialization.Encoding.PEM),
            ca_pem,
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory(prefix="emulator-tls-") as scratch:
        path = Path(scratch, "serving.pem")
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
            out.write(bundle)
        context.load_cert_chain(path)
    return ServingPair(ca_pem=ca_pem, context=context)
