"""Named blobs of bytes: a container (and a prefix) in Azure, a folder on this machine.

The config container (profiles, connector jobs, user connector definitions) and the page's uploads are kept
this way; ``serve`` without storage uses a folder laid out like the container, so the same names work in both.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Protocol

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import ContainerClient

_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*(/[A-Za-z0-9][A-Za-z0-9_.-]*)*")


class BytesStore(Protocol):
    description: str

    def read(self, name: str) -> bytes | None: ...
    def write(self, name: str, data: bytes) -> None: ...
    def names(self, prefix: str = "") -> list[str]: ...


def checked_name(name: str) -> str:
    """A relative name of safe segments (no ``..``, no absolute path): the callers build names, never users."""
    if not _SAFE_NAME.fullmatch(name) or ".." in name:
        raise ValueError(f"not a storage name: {name!r}")
    return name


class LocalBytesStore:
    """``<folder>/<name>``, created on first write, readable by the owner only."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.description = f"folder {self.folder}"

    def read(self, name: str) -> bytes | None:
        path = self.folder / checked_name(name)
        return path.read_bytes() if path.is_file() else None

    def write(self, name: str, data: bytes) -> None:
        path = self.folder / checked_name(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.touch(mode=0o600, exist_ok=True)
        partial.write_bytes(data)
        partial.replace(path)  # readers see the old file or the new one, never half of one

    def names(self, prefix: str = "") -> list[str]:
        if not self.folder.is_dir():
            return []
        found = (p.relative_to(self.folder).as_posix() for p in self.folder.rglob("*") if p.is_file())
        return sorted(n for n in found if n.startswith(prefix) and not n.endswith(".partial"))


class BlobBytesStore:
    """``<prefix><name>`` in a blob container."""

    def __init__(self, container: ContainerClient, prefix: str = "") -> None:
        self.container = container
        self.prefix = prefix
        self.description = f"container {container.container_name}"

    def read(self, name: str) -> bytes | None:
        try:
            return bytes(self.container.download_blob(self.prefix + checked_name(name)).readall())
        except ResourceNotFoundError:
            return None

    def write(self, name: str, data: bytes) -> None:
        self.container.upload_blob(self.prefix + checked_name(name), data, overwrite=True)

    def names(self, prefix: str = "") -> list[str]:
        start = self.prefix + prefix
        return sorted(item.name[len(self.prefix) :] for item in self.container.list_blobs(name_starts_with=start))
