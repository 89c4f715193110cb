"""Every setting in one typed place, read once from the environment (app settings in Azure).

Names follow the Functions and azure-identity conventions (``AZURE_CLIENT_ID``...). Nothing is read
at import time: the doors call ``load_settings()`` when they first need a value, and a missing or
wrong setting is an error that names it.
"""

from __future__ import annotations

import os
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from provisioning.core.errors import ProvisioningError
from provisioning.core.mapping.upn import normal_domain
from provisioning.index_settings import DEFAULT_BLOB_TRIGGER_SOURCE, BlobTriggerSource

AuthMode = Literal["auto", "managed-identity", "certificate", "secret", "cli", "default"]


def parse_rate(text: str) -> tuple[int, float]:
    """``"40/5"`` -> (40, 5.0): calls per seconds."""
    try:
        calls, seconds = text.split("/")
        parsed = int(calls), float(seconds)
    except ValueError as exc:
        raise ValueError(f"rate {text!r} is not CALLS/SECONDS, e.g. 40/5") from exc
    if parsed[0] < 1 or parsed[1] <= 0:
        raise ValueError(f"rate {text!r} must allow at least one call in a positive number of seconds")
    return parsed


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
    azure_authority_host: str | None = Field(default=None, alias="AZURE_AUTHORITY_HOST")
    """Where a certificate or secret signs in (login.microsoftonline.us). Unset: the login host of the
    endpoint's cloud. Managed identity and the Azure CLI do not use it."""
    entra_rate_limit: str = Field(default="40/5", alias="ENTRA_RATE_LIMIT")
    """bulkUpload calls per seconds for the job (Entra documents 40 per 5 s)."""
    entra_log_rate_limit: str = Field(default="5/10", alias="ENTRA_LOG_RATE_LIMIT")
    """Provisioning-log reads per seconds (Graph throttles them at about 5 per 10 s per app and tenant)."""
    hr_upn_domain: str | None = Field(default=None, alias="HR_UPN_DOMAIN")
    """The domain given to a userName without one (a verified domain of the tenant, e.g. contoso.com);
    unset: the profile's ``upnDomain``."""
    entra_upload_concurrency: int = Field(default=4, ge=1, le=16, alias="ENTRA_UPLOAD_CONCURRENCY")
    entra_max_attempts: int = Field(default=6, ge=1, le=20, alias="ENTRA_MAX_ATTEMPTS")
    entra_batch_size: int = Field(default=50, ge=1, le=50, alias="ENTRA_BATCH_SIZE")
    entra_log_wait_seconds: float = Field(default=1800.0, ge=0, alias="ENTRA_LOG_WAIT_SECONDS")
    """How long `run` waits for per-record results in the provisioning logs (they lag 5-10 minutes)."""
    entra_log_first_poll_seconds: float = Field(default=30.0, gt=0, alias="ENTRA_LOG_FIRST_POLL_SECONDS")
    entra_ignore_job_status: bool = Field(default=False, alias="ENTRA_IGNORE_JOB_STATUS")
    """Send even when the provisioning job is not running (paused, quarantined, never run...): its uploads wait."""
    state_dir: str = Field(default="out/state", alias="STATE_DIR")
    """Where the CLI keeps feed state (delta fingerprints) when no storage account is configured."""
    entra_allow_loopback: bool = Field(default=False, alias="ENTRA_ALLOW_LOOPBACK")
    """Accept an http://127.0.0.1 endpoint (tests and the emulator only)."""
    website_auth_enabled: bool = Field(default=False, alias="WEBSITE_AUTH_ENABLED")
    """Set by App Service when its authentication is on: only then is the signed-in principal recorded."""
    config_dir: str = Field(default="out/config", alias="CONFIG_DIR")
    """``serve`` without storage: the folder that stands for the config container (saved profiles as
    ``<name>.json``, connector jobs as ``connectors/<job>.json``)."""
    runs_dir: str = Field(default="out/runs", alias="RUNS_DIR")
    """Where the CLI keeps run records when no storage account is configured."""

    # ---- the Function App: storage, routing, delta and safety ----------------------------------------
    hr_storage: str | None = Field(default=None, alias="HR_STORAGE")
    """Connection string of the storage account (local: UseDevelopmentStorage=true for Azurite). In Azure,
    leave it unset and use the identity-based HR_STORAGE__blobServiceUri / __queueServiceUri instead."""
    hr_storage_blob_service_uri: str | None = Field(default=None, alias="HR_STORAGE__blobServiceUri")
    hr_storage_queue_service_uri: str | None = Field(default=None, alias="HR_STORAGE__queueServiceUri")
    hr_storage_credential: str | None = Field(default=None, alias="HR_STORAGE__credential")
    """managedidentity for identity-based connections."""
    hr_storage_client_id: str | None = Field(default=None, alias="HR_STORAGE__clientId")
    """The user-assigned managed identity used for storage (unset: system-assigned)."""
    hr_inbound_container: str = Field(default="hr-inbound", alias="HR_INBOUND_CONTAINER")
    hr_config_container: str = Field(default="hr-config", alias="HR_CONFIG_CONTAINER")
    """Mapping profiles an admin can change without a deploy: <name>.json."""
    hr_runs_container: str = Field(default="hr-runs", alias="HR_RUNS_CONTAINER")
    hr_state_container: str = Field(default="hr-state", alias="HR_STATE_CONTAINER")
    """Delta fingerprints and the last size of each source."""
    hr_quarantine_container: str = Field(default="hr-quarantine", alias="HR_QUARANTINE_CONTAINER")
    hr_upload_queue: str = Field(default="hr-upload", alias="HR_UPLOAD_QUEUE")
    hr_results_queue: str = Field(default="hr-results", alias="HR_RESULTS_QUEUE")
    hr_default_profile: str = Field(default="microsoft-sample", alias="HR_DEFAULT_PROFILE")
    hr_profile_routes: str = Field(default="", alias="HR_PROFILE_ROUTES")
    """Which profile a dropped blob uses: "employees/=employees;contractors/=contractors;*.interns.csv=interns"
    (a folder prefix or a glob on the blob name); anything else uses HR_DEFAULT_PROFILE."""
    safety_max_disable_share: float = Field(default=0.10, ge=0, le=1, alias="SAFETY_MAX_DISABLE_SHARE")
    """Hold a run that would disable more than this share of the source's active workers."""
    safety_max_shrink_share: float = Field(default=0.10, ge=0, le=1, alias="SAFETY_MAX_SHRINK_SHARE")
    """Hold a run whose source has this much fewer workers than at the last run."""
    safety_approved_runs: str = Field(default="", alias="SAFETY_APPROVED_RUNS")
    """Run ids (comma separated) approved to go past a safety stop."""
    delta_full_sync: bool = Field(default=False, alias="DELTA_FULL_SYNC")
    """Send every record, changed or not (a weekly full sync is common)."""
    http_max_body_bytes: int = Field(default=50 * 1024 * 1024, ge=1024, alias="HTTP_MAX_BODY_BYTES")
    blob_trigger_source: BlobTriggerSource = Field(default=DEFAULT_BLOB_TRIGGER_SOURCE, alias="BLOB_TRIGGER_SOURCE")
    """EventGrid (required on the Flex Consumption plan) or LogsAndContainerScan (polling, other plans).
    The blob trigger's decorator needs it when the host indexes the app, before the settings are loaded:
    ``provisioning.index_settings.blob_trigger_source()`` reads it then, without pydantic."""
    hr_coordinate_seconds: float = Field(default=2.0, ge=0, le=60, alias="HR_COORDINATE_SECONDS")
    """First wait of a run's coordinator between looks at its requests (then doubling, at most 30 s)."""
    hr_sweep_schedule: str = Field(default="0 */15 * * * *", alias="HR_SWEEP_SCHEDULE")
    """NCRONTAB of the periodic check for runs that stopped making progress."""
    hr_stuck_minutes: float = Field(default=30.0, ge=1, le=1440, alias="HR_STUCK_MINUTES")
    """A run with no progress for this long is resumed (twice at most), then ended with the reason."""
    hrms_sync_schedule: str = Field(default="0 0 2 * * *", alias="HRMS_SYNC_SCHEDULE")
    """NCRONTAB of the scheduled HR system pulls."""
    connectors_allow_loopback_http: bool = Field(default=False, alias="CONNECTORS_ALLOW_LOOPBACK_HTTP")
    """Let a connector use plain http to 127.0.0.1 (tests and the HR emulators only)."""
    connectors_allow_private_networks: bool = Field(default=False, alias="CONNECTORS_ALLOW_PRIVATE_NETWORKS")
    """Let a connector reach private addresses (RFC 1918, IPv6 ULA, CGNAT): an HR system reached through a
    virtual network. Loopback, link-local and metadata addresses stay refused."""
    connectors_folder: str | None = Field(default=None, alias="CONNECTORS_FOLDER")
    """A folder of user-defined connector definitions (JSON), besides the built-ins."""
    hrms_full_sync_every: int = Field(default=7, ge=1, le=365, alias="HRMS_FULL_SYNC_EVERY")
    """Every Nth scheduled pull of a connector sends every record, changed or not."""

    @field_validator("azure_authority_host")
    @classmethod
    def _authority(cls, value: str | None) -> str | None:
        value = (value or "").strip()
        if "://" in value and not value.lower().startswith("https://"):  # azure-identity takes https only
            raise ValueError(f"{value!r} must be a host name or an https URL, e.g. login.microsoftonline.us")
        return value or None  # "" (the example file, the template's default) is unset

    @field_validator("hr_upn_domain")
    @classmethod
    def _domain(cls, value: str | None) -> str | None:
        return normal_domain(value)

    @field_validator("entra_rate_limit", "entra_log_rate_limit")
    @classmethod
    def _rate(cls, value: str) -> str:
        parse_rate(value)
        return value

    @property
    def rate(self) -> tuple[int, float]:
        return parse_rate(self.entra_rate_limit)

    @property
    def log_rate(self) -> tuple[int, float]:
        return parse_rate(self.entra_log_rate_limit)


def load_settings(**overrides: object) -> Settings:
    """The settings from the environment (and ``overrides``), or a ``SettingsError`` naming what is wrong."""
    if os.environ.get("AZURE_AUTHORITY_HOST") == "":
        # The example file leaves it empty; azure-identity reads it too, and an empty value would make its
        # default authority "https://" for every credential built without one (the storage credential).
        del os.environ["AZURE_AUTHORITY_HOST"]
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
