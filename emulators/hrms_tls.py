"""Mutual TLS for the ADP emulator: a throwaway CA, a server certificate for 127.0.0.1, a client certificate.

The server asks for a client certificate (CERT_REQUIRED) on every connection. TLS is capped at 1.2 so
that a missing certificate fails the handshake itself (with TLS 1.3 the client only learns on its
first read), which is how a client sees it against api.adp.com.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import shutil
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path
from socket import socket
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from emulators.entra_server import LoopbackServer

log = logging.getLogger("emulators.hrms")


@dataclass(frozen=True)
class TlsFiles:
    folder: Path
    ca_cert: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _issue(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    ca: bool,
) -> x509.CertificateBuilder:
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
    )


def make_tls_files() -> TlsFiles:
    """Write ca.pem, server.pem/server-key.pem and client.pem/client-key.pem to a new temp folder."""
    folder = Path(tempfile.mkdtemp(prefix="hrms-adp-tls-"))
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        _issue("HRMS Emulator Test CA", ca_key, _name("HRMS Emulator Test CA"), ca_key, ca=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        _issue("127.0.0.1", server_key, ca_cert.subject, ca_key, ca=False)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    client_key = ec.generate_private_key(ec.SECP256R1())
    client_cert = (
        _issue("hr-connector", client_key, ca_cert.subject, ca_key, ca=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    files = TlsFiles(
        folder,
        folder / "ca.pem",
        folder / "server.pem",
        folder / "server-key.pem",
        folder / "client.pem",
        folder / "client-key.pem",
    )
    pem = serialization.Encoding.PEM
    files.ca_cert.write_bytes(ca_cert.public_bytes(pem))
    files.server_cert.write_bytes(server_cert.public_bytes(pem))
    files.server_key.write_bytes(_key_pem(server_key))
    files.client_cert.write_bytes(client_cert.public_bytes(pem))
    files.client_key.write_bytes(_key_pem(client_key))
    return files


def server_context(files: TlsFiles) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(files.server_cert, files.server_key)
    context.load_verify_locations(files.ca_cert)
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def client_context(files: TlsFiles, *, with_certificate: bool = True) -> ssl.SSLContext:
    """What a connector builds from caCertificatePath / certificatePath / keyPath."""
    context = ssl.create_default_context(cafile=str(files.ca_cert))
    if with_certificate:
        context.load_cert_chain(files.client_cert, files.client_key)
    return context


def serve_tls(server: LoopbackServer, context: ssl.SSLContext) -> None:
    """Make a LoopbackServer (not started yet) speak TLS; handshakes run in the connection's thread."""
    inner: Any = server._server
    inner.socket = context.wrap_socket(inner.socket, server_side=True, do_handshake_on_connect=False)
    plain_finish = inner.finish_request

    def finish_request(request: socket, client_address: Any) -> None:
        try:
            request.settimeout(10)
            request.do_handshake()  # type: ignore[attr-defined]
            request.settimeout(None)
        except (ssl.SSLError, OSError) as exc:
            log.debug("TLS handshake with %s failed: %s", client_address, exc)
            return
        plain_finish(request, client_address)

    inner.finish_request = finish_request
