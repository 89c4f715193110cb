"""SAP SuccessFactors' OAuth 2.0 SAML bearer flow: an assertion signed here, exchanged for an access token.

SAP removed HTTP basic authentication for its APIs on 2026-11-20, and its ``/oauth/token`` takes no client
secret: it takes a SAML 2.0 assertion (RFC 7522) that the client signs with the private key of the X.509
certificate registered in "Manage OAuth2 Client Applications". ``/oauth/idp``, which once signed assertions
on SAP's side, is deprecated as unsafe (SAP KBA 3462403, "SuccessFactors OData API: OAuth 2.0
Authentication"), so the assertion is built and signed locally.

What the assertion holds follows SAP's own generator, the offline tool of SAP KBA 3031657 ("How to generate
SAML assertions using SAP-provided Offline tool", SAMLAssertionGenerator.java, a copy of which is public at
github.com/esilva45/IGI, SAMLAssertionGen-master), and the OData API developer guide's pages "Generating a SAML
Assertion" and "Requesting an OAuth Access Token with a SAML Assertion":

* ``Issuer``: SAP's tool writes ``www.successfactors.com``; other published generators write the API key
  (Jitterbit's SuccessFactors provider: "Issuer: defaults to the OAuth client identifier"), and both are
  accepted, so SuccessFactors does not appear to check it. The API key is the default here (config
  ``samlIssuer`` overrides it): it is what a strict server would expect of the client that signs.
* ``Subject/NameID`` (format ``urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified``): the API user's
  **userId**. SuccessFactors reads the NameID as a userId (SAP KBA 2668018); a user *name* works only with
  the attribute ``use_username=true``, which SAP's tool adds when it is given a user name and no userId.
* ``SubjectConfirmation`` ``bearer`` whose ``SubjectConfirmationData`` has ``Recipient`` = the token URL and
  ``NotOnOrAfter`` = the end of the validity.
* ``Conditions``: ``NotBefore`` 10 minutes before now (SAP's tool: clocks differ), ``NotOnOrAfter`` 10 minutes
  after (the tool's default ``expireInMinutes``), ``AudienceRestriction/Audience`` = ``www.successfactors.com``.
* ``AuthnStatement`` (PasswordProtectedTransport) and an ``AttributeStatement`` with ``api_key`` = the API key.
* An enveloped XML signature, RSA-SHA256 (SAP's tool: "Support sha256 signing algorithm for external oauth
  saml assertion"), placed after ``Issuer`` as SAML 2.0 Core's schema wants, over exclusive canonical XML
  (SAML 2.0 Core, 5.4.3), referencing the assertion's ``ID``. Signing and canonicalisation are signxml's.

The token request posts ``grant_type=urn:ietf:params:oauth:grant-type:saml2-bearer``, ``company_id``,
``client_id`` (the API key) and ``assertion`` (the signed XML in base64, as SAP's tool encodes it). A token
asked for again with the same assertion comes back unchanged while it is valid unless ``new_token=true``
(SAP KBA 2872019), so every request here signs a new assertion and every renewal sends ``new_token=true``:
a renewal follows a token that expired or was refused, and must not get it back.

The private key is read from PEM text, from the path of a PEM file, or from the key SuccessFactors hands out
when it generates the certificate (base64 of ``<PKCS#8 key in base64>###<certificate>``, which SAP's tool
splits at ``###``). Key material, assertions and tokens never reach a log line, a repr or an error message.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree
from signxml import CanonicalizationMethod, DigestAlgorithm, SignatureMethod, XMLSigner, methods

from .auth import TokenError, _OAuth2
from .definition import AuthSpec

SAML_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:saml2-bearer"
SUCCESSFACTORS_AUDIENCE = "www.successfactors.com"
"""The audience of every published SuccessFactors assertion (SAP's offline tool, Jitterbit, sf-oauth)."""
DEFAULT_TOKEN_PATH = "/oauth/token"
ASSERTION_LIFETIME = dt.timedelta(minutes=10)
"""SAP's offline tool's default ``expireInMinutes``; a token request follows the signature at once."""
CLOCK_SKEW = dt.timedelta(minutes=10)
"""``NotBefore`` is set this far back, as SAP's tool does, so a server whose clock is behind ours accepts it."""

SAML_NS = "urn:oasis:names:tc:SAML:2.0:assertion"
XS_NS = "http://www.w3.org/2001/XMLSchema"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
NAMEID_UNSPECIFIED = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
BEARER_CONFIRMATION = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
PASSWORD_PROTECTED = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
SAP_KEY_SEPARATOR = b"###"

PrivateKey = rsa.RSAPrivateKey


def _saml(name: str) -> str:
    return f"{{{SAML_NS}}}{name}"


def _instant(moment: dt.datetime) -> str:
    """xs:dateTime in UTC with a Z, to the millisecond, as SAML 2.0 Core (1.3.3) asks."""
    utc = moment.astimezone(dt.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def build_assertion(
    *,
    issuer: str,
    name_id: str,
    name_id_is_username: bool,
    api_key: str,
    recipient: str,
    now: dt.datetime,
    audience: str = SUCCESSFACTORS_AUDIENCE,
    lifetime: dt.timedelta = ASSERTION_LIFETIME,
) -> etree._Element:
    """The unsigned assertion, with a signature placeholder after ``Issuer`` (where the schema puts it)."""
    nsmap = {"saml2": SAML_NS, "xs": XS_NS, "xsi": XSI_NS}
    until = _instant(now + lifetime)
    assertion = etree.Element(_saml("Assertion"), nsmap=nsmap)
    # xs:ID values must not begin with a digit: a uuid's hex may.
    assertion.set("ID", f"_{uuid.uuid4().hex}")
    assertion.set("IssueInstant", _instant(now))
    assertion.set("Version", "2.0")
    etree.SubElement(assertion, _saml("Issuer")).text = issuer
    # signxml replaces this element by the signature and leaves it out of the digest.
    etree.SubElement(assertion, f"{{{DS_NS}}}Signature", nsmap={"ds": DS_NS}).set("Id", "placeholder")
    subject = etree.SubElement(assertion, _saml("Subject"))
    name = etree.SubElement(subject, _saml("NameID"))
    name.set("Format", NAMEID_UNSPECIFIED)
    name.text = name_id
    confirmation = etree.SubElement(subject, _saml("SubjectConfirmation"))
    confirmation.set("Method", BEARER_CONFIRMATION)
    data = etree.SubElement(confirmation, _saml("SubjectConfirmationData"))
    data.set("NotOnOrAfter", until)
    data.set("Recipient", recipient)
    conditions = etree.SubElement(assertion, _saml("Conditions"))
    conditions.set("NotBefore", _instant(now - CLOCK_SKEW))
    conditions.set("NotOnOrAfter", until)
    restriction = etree.SubElement(conditions, _saml("AudienceRestriction"))
    etree.SubElement(restriction, _saml("Audience")).text = audience
    statement = etree.SubElement(assertion, _saml("AuthnStatement"))
    statement.set("AuthnInstant", _instant(now))
    statement.set("SessionIndex", f"_{uuid.uuid4().hex}")
    context = etree.SubElement(statement, _saml("AuthnContext"))
    etree.SubElement(context, _saml("AuthnContextClassRef")).text = PASSWORD_PROTECTED
    attributes = etree.SubElement(assertion, _saml("AttributeStatement"))
    _attribute(attributes, "api_key", api_key)
    if name_id_is_username:
        _attribute(attributes, "use_username", "true")
    return assertion


def _attribute(statement: etree._Element, name: str, value: str) -> None:
    attribute = etree.SubElement(statement, _saml("Attribute"))
    attribute.set("Name", name)
    holder = etree.SubElement(attribute, _saml("AttributeValue"))
    holder.set(f"{{{XSI_NS}}}type", "xs:string")
    holder.text = value


def sign_assertion(assertion: etree._Element, key: PrivateKey, certificate: x509.Certificate | None) -> bytes:
    """The assertion signed (enveloped, RSA-SHA256, exclusive c14n, reference to its ID), serialised."""
    signer = XMLSigner(
        method=methods.enveloped,
        signature_algorithm=SignatureMethod.RSA_SHA256,
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    )
    signed = signer.sign(
        assertion,
        key=key,
        cert=[certificate] if certificate is not None else None,
        reference_uri=f"#{assertion.get('ID')}",
        id_attribute="ID",
    )
    return bytes(etree.tostring(signed, xml_declaration=False, encoding="UTF-8"))


# ---- key material ----------------------------------------------------------------------------------------


def _text_or_file(value: str) -> bytes:
    """PEM text as given, or the content of the file ``value`` names."""
    if "-----BEGIN" in value:
        return value.encode()
    candidate = Path(value.strip()).expanduser()
    try:
        if candidate.is_file():
            return candidate.read_bytes()
    except (OSError, ValueError):  # a long base64 text is no path; some systems say so by raising
        pass
    return value.strip().encode()


def load_private_key(value: str, field: str = "privateKey") -> PrivateKey:
    """The RSA private key from PEM text, a PEM file's path, or SuccessFactors' downloaded key.

    ValueError names the field, never its value.
    """
    raw = _text_or_file(value)
    key: Any = None
    try:
        if b"-----BEGIN" in raw:
            key = serialization.load_pem_private_key(raw, password=None)
        else:
            key = _sap_downloaded_key(raw)
    except (ValueError, TypeError, binascii.Error):
        key = None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(
            f"config field {field!r} is not an unencrypted RSA private key (PEM text, the path of a PEM file, or "
            "the key SuccessFactors generated with the certificate)"
        )
    return key


def _sap_downloaded_key(raw: bytes) -> Any:
    """SAP's generated key: base64 of ``<PKCS#8 in base64>###<certificate>`` (KBA 3031657's tool splits at ###),
    or plain base64 of a PKCS#8 key."""
    decoded = base64.b64decode(b"".join(raw.split()), validate=True)
    if SAP_KEY_SEPARATOR in decoded:
        decoded = base64.b64decode(decoded.split(SAP_KEY_SEPARATOR, 1)[0].strip())
    return serialization.load_der_private_key(decoded, password=None)


def load_certificate(value: str, field: str = "certificate") -> x509.Certificate:
    """An X.509 certificate from PEM text, a PEM file's path, or base64 DER (as SuccessFactors shows it)."""
    raw = _text_or_file(value)
    try:
        if b"-----BEGIN" in raw:
            return x509.load_pem_x509_certificate(raw)
        return x509.load_der_x509_certificate(base64.b64decode(b"".join(raw.split()), validate=True))
    except (ValueError, TypeError, binascii.Error):
        raise ValueError(
            f"config field {field!r} is not an X.509 certificate (PEM text or a PEM file's path)"
        ) from None


# ---- the grant -------------------------------------------------------------------------------------------


class SamlBearerAuth(_OAuth2):
    """``grant_type=urn:ietf:params:oauth:grant-type:saml2-bearer`` at SuccessFactors' ``/oauth/token``.

    Caching, the lock shared by concurrent pages and the one renewal after a 401 are ``_OAuth2``'s; each token
    request signs a fresh assertion with the wall clock (``now``), which is what the server compares it with.
    """

    def __init__(self, token_url: str, *, company_id: str, api_key: str, name_id: str, name_id_is_username: bool,
                 key: PrivateKey, certificate: x509.Certificate | None, issuer: str, skew: float = 60.0,
                 now: Callable[[], dt.datetime] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        super().__init__(token_url, api_key, "", client_auth="body", skew=skew, clock=clock)
        self._company_id = company_id
        self._name_id = name_id
        self._name_id_is_username = name_id_is_username
        self._key = key
        self._certificate = certificate
        self._issuer = issuer
        self._now = now or (lambda: dt.datetime.now(dt.UTC))

    def signed_assertion(self) -> bytes:
        """A new signed assertion (tests read it; it is a credential for its ten minutes: never log it)."""
        assertion = build_assertion(issuer=self._issuer, name_id=self._name_id,
                                    name_id_is_username=self._name_id_is_username, api_key=self._client_id,
                                    recipient=self.token_url, now=self._now())  # fmt: skip
        return sign_assertion(assertion, self._key, self._certificate)

    def _token_request(self) -> httpx.Request:
        data = {
            "grant_type": SAML_BEARER_GRANT,
            "company_id": self._company_id,
            "client_id": self._client_id,
            "assertion": base64.b64encode(self.signed_assertion()).decode("ascii"),
        }
        if self.grants:
            data["new_token"] = "true"
        return httpx.Request("POST", self.token_url, data=data, headers={"Accept": "application/json"})

    def _accept_token(self, response: httpx.Response) -> None:
        if response.status_code != 200:
            path = httpx.URL(self.token_url).path
            raise TokenError(
                f"token request to {path} answered HTTP {response.status_code}{_sap_reason(response)}",
                status=response.status_code,
                retry_after=response.headers.get("Retry-After"),
            )
        super()._accept_token(response)


def _sap_reason(response: httpx.Response) -> str:
    """SuccessFactors' ``errorMessage`` (SAP KBA 2668018 shows ``errorHttpCode``/``errorMessage``), on one line.

    It says which check failed (signature, user, client), which no status tells; it carries none of what was
    sent, and whatever it says still goes through the pull's secret scrubbing.
    """
    try:
        body = response.json()
    except ValueError:
        return ""
    message = body.get("errorMessage") if isinstance(body, Mapping) else None
    if not isinstance(message, str) or not message.strip():
        return ""
    return ": " + " ".join(message.split())[:300]


def _same_key(certificate: x509.Certificate, key: PrivateKey) -> bool:
    public = certificate.public_key()
    return isinstance(public, rsa.RSAPublicKey) and public.public_numbers() == key.public_key().public_numbers()


def saml_bearer_auth(spec: AuthSpec, config: Mapping[str, Any], *, token_url: str | None,
                     render: Callable[[str], str]) -> SamlBearerAuth:  # fmt: skip
    """The SAML bearer auth from a connector config; ValueError names a missing or unreadable field.

    The token URL is ``token_url`` when the caller resolved one, else the base URL (already checked by the
    pull: https, or loopback when allowed) joined with the spec's ``tokenPath``: the Recipient the assertion
    names must be that very URL.
    """

    def value(key: str) -> str:
        found = config.get(key)
        return "" if found is None else str(found).strip()

    missing = [key for key in ("companyId", "clientId", "privateKey") if not value(key)]
    if not value("userId") and not value("username"):
        missing.append("userId")
    if missing:
        raise ValueError(f"the SAML bearer sign-in needs config fields: {', '.join(missing)}")
    key = load_private_key(str(config["privateKey"]))
    certificate = load_certificate(str(config["certificate"])) if value("certificate") else None
    if certificate is not None and not _same_key(certificate, key):
        raise ValueError(
            "config fields 'certificate' and 'privateKey' are not a pair: SuccessFactors would refuse the signature"
        )
    url = token_url or value("baseUrl").rstrip("/") + render(spec.tokenPath or DEFAULT_TOKEN_PATH)
    user_id = value("userId")
    return SamlBearerAuth(
        url,
        company_id=value("companyId"),
        api_key=value("clientId"),
        # SAP's tool takes the user name only when no userId is given, and then says so in the assertion.
        name_id=user_id or value("username"),
        name_id_is_username=not user_id,
        key=key,
        certificate=certificate,
        issuer=value("samlIssuer") or value("clientId"),
        skew=spec.expirySkewSeconds,
    )
