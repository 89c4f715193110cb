"""Scheduled pulls of HR systems: a *job* is a connector, its configuration and the mapping profile to use.

A configuration is JSON: ``baseUrl`` and the connector's fields. A value written ``%NAME%`` is read
from the setting ``NAME`` (an app setting, which may be a Key Vault reference), so no secret sits in
a file. Jobs are ``connectors/<name>.json`` in the config container.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from provisioning.core.errors import ProfileError
from provisioning.settings import SettingsError

SETTING_REFERENCE = re.compile(r"^%([A-Za-z_][A-Za-z0-9_]*)%$")
JOBS_PREFIX = "connectors/"
DEFINITIONS_PREFIX = "connectors/definitions/"
JOB_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
FILE_FIELDS = frozenset({"certificatePath", "keyPath", "caCertificatePath"})
"""Configuration fields that name a file on the app's machine."""


class ConnectorJob(BaseModel):
    """A scheduled pull: which connector, with which configuration, through which mapping profile."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=rf"^{JOB_NAME.pattern}$")
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


def inline_connector_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """A configuration sent by a caller (the HTTP connection test), taken as it is: a ``%NAME%`` reference
    would hand the caller an app setting, and a file path would let it probe the app's disk, so both are
    refused, without saying whether such a setting or file exists."""
    refused = sorted(k for k, v in config.items() if isinstance(v, str) and SETTING_REFERENCE.match(v))
    if refused:
        raise ProfileError(
            f"{', '.join(refused)}: setting references (%NAME%) are resolved only in stored connector jobs; "
            'test a stored job with {"job": NAME}'
        )
    files = sorted(FILE_FIELDS.intersection(k for k, v in config.items() if v))
    if files:
        raise ProfileError(f"{', '.join(files)}: file paths are accepted only in stored connector jobs")
    return dict(config)


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
