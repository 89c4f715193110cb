"""Every setting in one typed place, read once from the environment (app settings in Azure).

Names follow the Functions and azure-identity conventions (``AZURE_CLIENT_ID``...). Nothing is read
at import time: the doors call ``load_settings()`` when they first need a value, and a missing or
wrong setting is an error that names it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .errors import ProvisioningError
from .pacing import parse_rate

AuthMode = Literal["auto", "managed-identity", "certificate", "secret", "cli", "default"]


class SettingsError(ProvisioningError):
    """A setting is missing or has a value that cannot work; the message names it (never its secret value)."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False, populate_by_name=True)

    entra_bulk_upload_url: str | None = Field(default=None, alias="ENTRA_BULK_UPLOAD_URL")
    """The job's "Provisioning API Endpoint" from the portal. Unset: the CLI uses its embedded emulator."""
    entra_auth: AuthMode = Field(default="auto", alias="ENTRA_AUTH")
    """How to get Graph tokens. auto: managed identity in Azure, else certificate, secret, or developer sign-in."""
    azure_tenant_id: str | None = Field(default=None, alias="AZURE_TENANT_ID")
    azure_client_id: str | None = Field(default=None, alias="AZURE_CLIENT_ID")
    """A user-assigned managed identity's client id, or the app registration's for a certificate or secret."""
    azure_client_secret: SecretStr | None = Field(default=None, alias="AZURE_CLIENT_SECRET")
    azure_client_certificate_path: str | None = Field(default=None, alias="AZURE_CLIENT_CERTIFICATE_PATH")
    """A PEM or PFX file with the certificate and its RSA private key."""
    azure_client_certificate_password: SecretStr | None = Field(default=None, alias="AZURE_CLIENT_CERTIFICATE_PASSWORD")
    entra_rate_limit: str = Field(default="40/5", alias="ENTRA_RATE_LIMIT")
    """bulkUpload calls per seconds for the job (Entra documents 40 per 5 s)."""
    entra_upload_concurrency: int = Field(default=4, ge=1, le=16, alias="ENTRA_UPLOAD_CONCURRENCY")
    entra_max_attempts: int = Field(default=6, ge=1, le=20, alias="ENTRA_MAX_ATTEMPTS")
    entra_batch_size: int = Field(default=50, ge=1, le=50, alias="ENTRA_BATCH_SIZE")
    entra_log_wait_seconds: float = Field(default=1800.0, ge=0, alias="ENTRA_LOG_WAIT_SECONDS")
    """How long `run` waits for per-record results in the provisioning logs (they lag 5-10 minutes)."""
    entra_log_first_poll_seconds: float = Field(default=30.0, gt=0, alias="ENTRA_LOG_FIRST_POLL_SECONDS")
    entra_allow_loopback: bool = Field(default=False, alias="ENTRA_ALLOW_LOOPBACK")
    """Accept an http://127.0.0.1 endpoint (tests and the emulator only)."""
    runs_dir: str = Field(default="out/runs", alias="RUNS_DIR")
    """Where the CLI keeps run records when no storage account is configured."""

    @field_validator("entra_rate_limit")
    @classmethod
    def _rate(cls, value: str) -> str:
        parse_rate(value)
        return value

    @property
    def rate(self) -> tuple[int, float]:
        return parse_rate(self.entra_rate_limit)


def load_settings(**overrides: object) -> Settings:
    """The settings from the environment (and ``overrides``), or a ``SettingsError`` naming what is wrong."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            name = str(error["loc"][0]) if error["loc"] else "settings"
            field = Settings.model_fields.get(name)
            shown = field.alias if field is not None and field.alias else name.upper()
            problems.append(f"{shown}: {error['msg']}")
        raise SettingsError("; ".join(problems)) from None
