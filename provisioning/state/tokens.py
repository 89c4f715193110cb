"""Where a rotated refresh token is kept for the next pull (Workday rotates it on every use)."""

from __future__ import annotations

import re
from pathlib import Path

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import ContainerClient


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
