"""HR systems as a source of worker records: connector configurations, their secrets, rotated tokens.

A connector configuration is JSON: ``baseUrl`` and the connector's fields. A value written ``%NAME%`` is
read from the setting ``NAME`` (an app setting, which may be a Key Vault reference), so no secret sits
in a file. A scheduled pull is a *job*: a configuration with a name, a connector id, a profile and
whether it is enabled (``connectors/<name>.json`` in the config container).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import ContainerClient
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from provisioning.core.errors import ProfileError
from provisioning.core.read.json_source import JsonSource
from provisioning.settings import SettingsError

SETTING_REFERENCE = re.compile(r"^%([A-Za-z_][A-Za-z0-9_]*)%$")
JOBS_PREFIX = "connectors/"
PAGES_AHEAD = 4
"""Pages requested at once where the paging style allows it (offset, page number, $skip): bounded, so
memory stays a few pages whatever the size of the HR system."""
DEFINITIONS_PREFIX = "connectors/definitions/"


class ConnectorJob(BaseModel):
    """A scheduled pull: which connector, with which configuration, through which mapping profile."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
    """Defaults to the file name (``connectors/<name>.json``)."""
    connector: str
    enabled: bool = True
    profile: str | None = None
    """The mapping profile (default: the connector's own)."""
    config: dict[str, Any] = Field(default_factory=dict)


def resolve_settings(config: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The configuration with every ``%NAME%`` value replaced by the setting ``NAME``."""
    environ = os.environ if environ is None else environ
    resolved: dict[str, Any] = {}
    for key, value in config.items():
        match = SETTING_REFERENCE.match(value) if isinstance(value, str) else None
        if match is None:
            resolved[key] = value
            continue
        setting = match.group(1)
        if not environ.get(setting):
            raise SettingsError(f"connector configuration: {key} refers to the setting {setting}, which is not set")
        resolved[key] = environ[setting]
    return resolved


def load_config_file(path: str | Path) -> dict[str, Any]:
    """A ``--connector-config`` file: a JSON object (values may be ``%SETTING%`` references)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ProfileError(f"connector configuration {path}: cannot be read ({exc.strerror})") from exc
    except ValueError as exc:
        raise ProfileError(f"connector configuration {path}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise ProfileError(f"connector configuration {path}: must be a JSON object")
    return resolve_settings(data)


class TokenStore(Protocol):
    """Where a rotated refresh token is kept for the next run (Workday rotates it on every use)."""

    def load(self, name: str) -> str | None: ...
    def save(self, name: str, token: str) -> None: ...


class LocalTokenStore:
    """``<folder>/<name>.refresh-token``, readable by the owner only (the CLI)."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def _path(self, name: str) -> Path:
        return self.folder / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}.refresh-token"

    def load(self, name: str) -> str | None:
        path = self._path(name)
        return path.read_text(encoding="utf-8").strip() or None if path.is_file() else None

    def save(self, name: str, token: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self._path(name)
        path.touch(mode=0o600, exist_ok=True)
        path.write_text(token, encoding="utf-8")


class BlobTokenStore:
    """``connectors/<name>/refresh-token`` in the state container (the Function App)."""

    def __init__(self, container: ContainerClient) -> None:
        self.container = container

    def load(self, name: str) -> str | None:
        try:
            return self.container.download_blob(f"connectors/{name}/refresh-token").readall().decode().strip() or None
        except ResourceNotFoundError:
            return None

    def save(self, name: str, token: str) -> None:
        self.container.upload_blob(f"connectors/{name}/refresh-token", token.encode(), overwrite=True)


def connector_source(
    connector_id: str,
    config: Mapping[str, Any],
    *,
    name: str | None = None,
    tokens: TokenStore | None = None,
    extra_definitions: Path | None = None,
    limit: int | None = None,
    changed_since: str | None = None,
    allow_loopback_http: bool = False,
) -> JsonSource:
    """The records of an HR system as a source for the pipeline (fetched page by page as it reads).

    With ``changed_since``, only the workers the system reports as changed since then (its own delta,
    where it has one: ``connector_supports_changes``).
    """
    from connectors.fetch import fetch_records
    from connectors.registry import load_registry

    registry = load_registry(extra_definitions)
    if connector_id not in registry:
        known = ", ".join(sorted(registry))
        raise ProfileError(f"connector {connector_id!r} not found (connectors: {known})")
    definition = registry[connector_id]
    config = dict(config)
    key = name or connector_id
    if tokens is not None and definition.auth.type == "oauth2-refresh-token":
        config["refreshToken"] = tokens.load(key) or config.get("refreshToken", "")
    on_rotate = (lambda token: tokens.save(key, token)) if tokens is not None else None
    if changed_since is not None:
        from connectors.changes import fetch_changes

        changes = fetch_changes(
            definition,
            config,
            since=changed_since,
            limit=limit,
            on_rotate=on_rotate,
            allow_loopback_http=allow_loopback_http,
        )
        return JsonSource(changes, name=f"hrms:{connector_id} (changed since {changed_since})", allow_empty=True)
    records = fetch_records(
        definition,
        config,
        limit=limit,
        on_rotate=on_rotate,
        concurrency=PAGES_AHEAD,
        allow_loopback_http=allow_loopback_http,
    )
    return JsonSource(records, name=f"hrms:{connector_id}")


def connector_supports_changes(connector_id: str, extra_definitions: Path | None = None) -> bool:
    from connectors.changes import supports_changes
    from connectors.registry import load_registry

    definition = load_registry(extra_definitions).get(connector_id)
    return definition is not None and supports_changes(definition)


def parse_job(data: bytes, origin: str) -> ConnectorJob:
    try:
        document = json.loads(data)
    except ValueError as exc:
        raise ProfileError(f"{origin}: not valid JSON ({exc})") from None
    if isinstance(document, dict):
        document.setdefault("name", Path(origin).stem)
    try:
        return ConnectorJob.model_validate(document)
    except ValidationError as exc:
        from provisioning.core.mapping.profiles import describe_validation_error

        raise ProfileError(f"{origin}: {describe_validation_error(exc)}") from None
