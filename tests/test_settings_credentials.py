"""Settings are validated on use and errors name the setting; the credential is chosen by the settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from azure.identity import (
    AzureAuthorityHosts,
    AzureCliCredential,
    CertificateCredential,
    ClientSecretCredential,
    DefaultAzureCredential,
    ManagedIdentityCredential,
)

from provisioning.entra.credentials import build_credential, resolve_auth_mode
from provisioning.entra.graph_endpoint import GRAPH_HOSTS, authority_for
from provisioning.settings import Settings, SettingsError, load_settings

SECRET = "s3cr3t-value-never-shown"
GLOBAL = "graph.microsoft.com"
IDS = {"AZURE_TENANT_ID": "contoso.onmicrosoft.com", "AZURE_CLIENT_ID": "11111111-2222-3333-4444-555555555555"}


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
    assert isinstance(build_credential(Settings(), env, graph_host=GLOBAL), ManagedIdentityCredential)
    assert isinstance(
        build_credential(Settings(AZURE_CLIENT_ID="11111111-2222-3333-4444-555555555555"), env, graph_host=GLOBAL),
        ManagedIdentityCredential,
    )


def test_secret_certificate_cli_default(tmp_path: Path) -> None:
    secret = build_credential(Settings(ENTRA_AUTH="secret", AZURE_CLIENT_SECRET=SECRET, **IDS), {}, graph_host=GLOBAL)
    assert isinstance(secret, ClientSecretCredential)
    assert isinstance(build_credential(Settings(ENTRA_AUTH="cli"), {}, graph_host=GLOBAL), AzureCliCredential)
    assert isinstance(build_credential(Settings(ENTRA_AUTH="default"), {}, graph_host=GLOBAL), DefaultAzureCredential)
    pem = _self_signed_pem(tmp_path)
    certificate = build_credential(
        Settings(ENTRA_AUTH="certificate", AZURE_CLIENT_CERTIFICATE_PATH=str(pem), **IDS), {}, graph_host=GLOBAL
    )
    assert isinstance(certificate, CertificateCredential)


@pytest.mark.parametrize(
    ("graph_host", "login_host"),
    [
        ("graph.microsoft.com", AzureAuthorityHosts.AZURE_PUBLIC_CLOUD),
        ("graph.microsoft.us", AzureAuthorityHosts.AZURE_GOVERNMENT),  # L4
        ("dod-graph.microsoft.us", AzureAuthorityHosts.AZURE_GOVERNMENT),  # L5 (DoD)
        ("microsoftgraph.chinacloudapi.cn", AzureAuthorityHosts.AZURE_CHINA),
        ("Graph.Microsoft.US", AzureAuthorityHosts.AZURE_GOVERNMENT),
        ("127.0.0.1", AzureAuthorityHosts.AZURE_PUBLIC_CLOUD),  # the emulator, or anything unknown
        ("graph.example.org", AzureAuthorityHosts.AZURE_PUBLIC_CLOUD),
    ],
)
def test_each_cloud_signs_in_at_its_own_login_host(graph_host: str, login_host: str) -> None:
    assert authority_for(graph_host) == login_host


def test_every_allowed_graph_host_has_its_login_host() -> None:
    national = {host for host in GRAPH_HOSTS if host != GLOBAL}
    assert national and all(authority_for(host) != AzureAuthorityHosts.AZURE_PUBLIC_CLOUD for host in national)


def _authority(credential: object) -> str:
    # azure-identity exposes no public getter; its MsalCredential keeps the normalised authority here.
    # Reading it is the only way to check the sign-in host without sending a token request.
    return credential._authority  # type: ignore[attr-defined]


def test_a_secret_for_a_us_government_endpoint_signs_in_there(tmp_path: Path) -> None:
    settings = Settings(ENTRA_AUTH="secret", AZURE_CLIENT_SECRET=SECRET, **IDS)
    secret = build_credential(settings, {}, graph_host="graph.microsoft.us")
    assert isinstance(secret, ClientSecretCredential)
    assert _authority(secret) == "https://login.microsoftonline.us"
    assert _authority(build_credential(settings, {}, graph_host=GLOBAL)) == "https://login.microsoftonline.com"
    pem = _self_signed_pem(tmp_path)
    certificate = build_credential(
        Settings(ENTRA_AUTH="certificate", AZURE_CLIENT_CERTIFICATE_PATH=str(pem), **IDS),
        {},
        graph_host="microsoftgraph.chinacloudapi.cn",
    )
    assert isinstance(certificate, CertificateCredential)
    assert _authority(certificate) == "https://login.chinacloudapi.cn"


def test_the_authority_setting_wins_over_the_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(
        ENTRA_AUTH="secret", AZURE_CLIENT_SECRET=SECRET, AZURE_AUTHORITY_HOST="login.partner.example", **IDS
    )
    assert (
        _authority(build_credential(settings, {}, graph_host="graph.microsoft.us")) == "https://login.partner.example"
    )
    monkeypatch.setenv("AZURE_AUTHORITY_HOST", "https://login.microsoftonline.us/")
    loaded = load_settings(ENTRA_AUTH="secret", AZURE_CLIENT_SECRET=SECRET, **IDS)
    assert _authority(build_credential(loaded, {}, graph_host=GLOBAL)) == "https://login.microsoftonline.us"
    assert Settings(AZURE_AUTHORITY_HOST="  ").azure_authority_host is None
    monkeypatch.setenv("AZURE_AUTHORITY_HOST", "http://login.microsoftonline.us")
    with pytest.raises(SettingsError, match="AZURE_AUTHORITY_HOST: .*must be a host name or an https URL"):
        load_settings()


def test_a_secret_in_the_environment_of_default_sign_in_signs_in_at_the_endpoints_cloud(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from azure.identity import EnvironmentCredential

    for name, value in {**IDS, "AZURE_CLIENT_SECRET": SECRET}.items():
        monkeypatch.setenv(name, value)
    chain = build_credential(Settings(ENTRA_AUTH="default"), {}, graph_host="dod-graph.microsoft.us")
    assert isinstance(chain, DefaultAzureCredential)
    (environment,) = [c for c in chain.credentials if isinstance(c, EnvironmentCredential)]
    assert _authority(environment._credential) == "https://login.microsoftonline.us"  # private, as above


def test_managed_identity_and_developer_sign_in_take_any_graph_host() -> None:
    env = {"IDENTITY_ENDPOINT": "http://127.0.0.1:1/msi", "IDENTITY_HEADER": "x"}
    assert isinstance(build_credential(Settings(), env, graph_host="graph.microsoft.us"), ManagedIdentityCredential)
    assert isinstance(
        build_credential(Settings(ENTRA_AUTH="cli"), {}, graph_host="graph.microsoft.us"), AzureCliCredential
    )


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
        build_credential(Settings(ENTRA_AUTH="secret", AZURE_CLIENT_SECRET=SECRET), {}, graph_host=GLOBAL)
    assert "needs AZURE_TENANT_ID, AZURE_CLIENT_ID" in str(caught.value)
    assert SECRET not in str(caught.value)
    with pytest.raises(SettingsError, match="needs AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_CERTIFICATE_PATH"):
        build_credential(Settings(ENTRA_AUTH="certificate"), {}, graph_host=GLOBAL)


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
