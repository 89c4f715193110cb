"""Settings are validated on use and errors name the setting; the credential is chosen by the settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from azure.identity import (
    AzureCliCredential,
    CertificateCredential,
    ClientSecretCredential,
    DefaultAzureCredential,
    ManagedIdentityCredential,
)

from provisioning.entra.credentials import build_credential, resolve_auth_mode
from provisioning.settings import Settings, SettingsError, load_settings

SECRET = "s3cr3t-value-never-shown"


def test_defaults_are_safe() -> None:
    settings = Settings()
    assert settings.entra_bulk_upload_url is None
    assert settings.rate == (40, 5.0)
    assert settings.entra_batch_size == 50
    assert settings.entra_allow_loopback is False


def test_a_wrong_setting_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENTRA_RATE_LIMIT", "fast")
    with pytest.raises(SettingsError, match="ENTRA_RATE_LIMIT: .*rate 'fast' is not CALLS/SECONDS"):
        load_settings()
    monkeypatch.setenv("ENTRA_RATE_LIMIT", "40/5")
    monkeypatch.setenv("ENTRA_BATCH_SIZE", "51")
    with pytest.raises(SettingsError, match="ENTRA_BATCH_SIZE"):
        load_settings()


def test_auto_mode_picks_managed_identity_in_azure() -> None:
    settings = Settings()
    assert resolve_auth_mode(settings, {"IDENTITY_ENDPOINT": "http://169.254.169.254/x"}) == "managed-identity"
    assert resolve_auth_mode(settings, {}) == "default"
    assert resolve_auth_mode(Settings(AZURE_CLIENT_SECRET=SECRET), {}) == "secret"
    assert resolve_auth_mode(Settings(AZURE_CLIENT_CERTIFICATE_PATH="/c.pem"), {}) == "certificate"


def test_managed_identity_system_and_user_assigned() -> None:
    env = {"IDENTITY_ENDPOINT": "http://127.0.0.1:1/msi", "IDENTITY_HEADER": "x"}
    assert isinstance(build_credential(Settings(), env), ManagedIdentityCredential)
    assert isinstance(
        build_credential(Settings(AZURE_CLIENT_ID="11111111-2222-3333-4444-555555555555"), env),
        ManagedIdentityCredential,
    )


def test_secret_certificate_cli_default(tmp_path: Path) -> None:
    ids = {"AZURE_TENANT_ID": "contoso.onmicrosoft.com", "AZURE_CLIENT_ID": "11111111-2222-3333-4444-555555555555"}
    secret = build_credential(Settings(ENTRA_AUTH="secret", AZURE_CLIENT_SECRET=SECRET, **ids), {})
    assert isinstance(secret, ClientSecretCredential)
    assert isinstance(build_credential(Settings(ENTRA_AUTH="cli"), {}), AzureCliCredential)
    assert isinstance(build_credential(Settings(ENTRA_AUTH="default"), {}), DefaultAzureCredential)
    pem = _self_signed_pem(tmp_path)
    certificate = build_credential(
        Settings(ENTRA_AUTH="certificate", AZURE_CLIENT_CERTIFICATE_PATH=str(pem), **ids), {}
    )
    assert isinstance(certificate, CertificateCredential)


def _self_signed_pem(folder: Path) -> Path:
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "provisioning-test")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    path = folder / "app.pem"
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        + certificate.public_bytes(serialization.Encoding.PEM)
    )
    return path


def test_missing_credential_settings_are_named_never_their_values() -> None:
    with pytest.raises(SettingsError) as caught:
        build_credential(Settings(ENTRA_AUTH="secret", AZURE_CLIENT_SECRET=SECRET), {})
    assert "needs AZURE_TENANT_ID, AZURE_CLIENT_ID" in str(caught.value)
    assert SECRET not in str(caught.value)
    with pytest.raises(SettingsError, match="needs AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_CERTIFICATE_PATH"):
        build_credential(Settings(ENTRA_AUTH="certificate"), {})


def test_secrets_do_not_show_in_the_settings_repr() -> None:
    settings = Settings(AZURE_CLIENT_SECRET=SECRET, AZURE_CLIENT_CERTIFICATE_PASSWORD=SECRET)
    assert SECRET not in repr(settings) and SECRET not in str(settings.model_dump())


def test_the_example_settings_file_lists_every_setting_with_a_safe_value() -> None:
    import json

    from tests.support import ROOT

    values = json.loads((ROOT / "local.settings.example.json").read_text())["Values"]
    aliases = {field.alias for field in Settings.model_fields.values()}
    assert aliases <= set(values), f"missing from local.settings.example.json: {sorted(aliases - set(values))}"
    assert not any(values[k] for k in ("AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PASSWORD"))
    example = Settings(**{k: v for k, v in values.items() if k in aliases})
    assert example.entra_bulk_upload_url == "" and example.rate == (40, 5.0)
