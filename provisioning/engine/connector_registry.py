"""The HR connectors every door sees: the built-ins, CONNECTORS_FOLDER, and ``connectors/definitions/`` in
the config container. A definition that is not valid is left out and named (in ``GET /api/connectors``
and the log); the others still work."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from provisioning.hr.jobs import DEFINITIONS_PREFIX
from provisioning.settings import Settings

if TYPE_CHECKING:
    from connectors.definition import ConnectorDefinition
    from provisioning.state.bytes_store import BytesStore
    from provisioning.state.storage import StorageClients

log = logging.getLogger("provisioning.engine.connector_registry")


@dataclass
class ConnectorRegistry:
    definitions: dict[str, ConnectorDefinition]
    problems: list[str] = field(default_factory=list)
    """One line per definition that was left out, naming its file or blob and what is wrong."""


def connector_registry(
    settings: Settings, storage: StorageClients | None = None, *, config: BytesStore | None = None
) -> ConnectorRegistry:
    """``config``: where the config container's ``connectors/definitions/`` are (``storage``'s container, or the
    local folder that stands for it)."""
    from connectors.registry import load_registry
    from provisioning.state.bytes_store import BlobBytesStore

    if config is None and storage is not None:
        config = BlobBytesStore(storage.container(settings.hr_config_container))
    stored: list[tuple[str, bytes]] = []
    if config is not None:
        for name in config.names(DEFINITIONS_PREFIX):
            data = config.read(name) if name.endswith(".json") else None
            if data is not None:
                stored.append((f"{config.description}/{name}", data))
    problems: list[str] = []
    folder = Path(settings.connectors_folder) if settings.connectors_folder else None
    definitions = load_registry(folder, extra=stored, problems=problems)
    for problem in problems:
        log.error("connector definition left out: %s", problem)
    return ConnectorRegistry(definitions, problems)
