"""Choosing the Graph credential: only the composition root (CLI, Function App) calls this.

Managed identity is the default in Azure; a certificate or a client secret for an app registration;
the Azure CLI / ``DefaultAzureCredential`` for a developer. Secrets come from the environment or Key
Vault references and are never logged.
"""

from __future__ import annotations

import os
import time
from typing import Any

from azure.core.credentials import AccessToken

from provisioning.entra.graph_auth import TokenCredentialLike
from provisioning.entra.graph_endpoint import authority_for
from provisioning.settings import Settings, SettingsError

_MANAGED_IDENTITY_MARKERS = ("IDENTITY_ENDPOINT", "MSI_ENDPOINT")


def resolve_auth_mode(settings: Settings, environ: dict[str, str] | None = None) -> str:
    """``auto`` made concrete: managed identity in Azure, else certificate, secret, or developer sign-in."""
    if settings.entra_auth != "auto":
        return settings.entra_auth
    environ = dict(os.environ) if environ is None else environ
    if any(environ.get(marker) for marker in _MANAGED_IDENTITY_MARKERS):
        return "managed-identity"
    if settings.azure_client_certificate_path:
        return "certificate"
    if settings.azure_client_secret:
        return "secret"
    return "default"


def build_credential(
    settings: Settings, environ: dict[str, str] | None = None, *, graph_host: str
) -> TokenCredentialLike:
    """The Graph credential. ``graph_host`` is the endpoint's host: a secret or a certificate signs in at that
    cloud's login host (AZURE_AUTHORITY_HOST overrides it); managed identity and the Azure CLI ignore it."""
    from azure import identity  # imported here: only the composition root needs it

    mode = resolve_auth_mode(settings, environ)
    authority = settings.azure_authority_host or authority_for(graph_host)
    if mode == "managed-identity":
        if settings.azure_client_id:
            return identity.ManagedIdentityCredential(client_id=settings.azure_client_id)
        return identity.ManagedIdentityCredential()
    if mode == "certificate":
        tenant, client = _require(settings, "AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_CERTIFICATE_PATH")
        password = settings.azure_client_certificate_password
        return identity.CertificateCredential(
            tenant,
            client,
            certificate_path=settings.azure_client_certificate_path,
            password=password.get_secret_value() if password else None,
            authority=authority,
        )
    if mode == "secret":
        tenant, client = _require(settings, "AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET")
        assert settings.azure_client_secret is not None
        secret = settings.azure_client_secret.get_secret_value()
        return identity.ClientSecretCredential(tenant, client, secret, authority=authority)
    if mode == "cli":
        return identity.AzureCliCredential()
    # authority reaches only the chain's secret and certificate credentials (AZURE_CLIENT_SECRET... in the
    # environment), never its managed identity or CLI ones.
    return identity.DefaultAzureCredential(managed_identity_client_id=settings.azure_client_id, authority=authority)


def _require(settings: Settings, *names: str) -> tuple[str, str]:
    values = {
        "AZURE_TENANT_ID": settings.azure_tenant_id,
        "AZURE_CLIENT_ID": settings.azure_client_id,
        "AZURE_CLIENT_SECRET": settings.azure_client_secret,
        "AZURE_CLIENT_CERTIFICATE_PATH": settings.azure_client_certificate_path,
    }
    missing = [name for name in names if not values[name]]
    if missing:
        raise SettingsError(f"ENTRA_AUTH={resolve_auth_mode(settings)} needs {', '.join(missing)}")
    return str(settings.azure_tenant_id), str(settings.azure_client_id)


class EmulatorCredential:
    """Tokens for the embedded Graph emulator, which accepts any bearer token. Never used against Entra."""

    def __init__(self, token: str = "emulator-token", lifetime: int = 3600) -> None:
        self._token = token
        self._lifetime = lifetime

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(self._token, int(time.time()) + self._lifetime)
