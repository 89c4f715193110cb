"""The storage edge's composition helpers: blob and queue clients for the account named by ``HR_STORAGE``.

Two shapes of settings, the same ones the Functions host reads for its own bindings:

- a connection string in ``HR_STORAGE`` (locally ``UseDevelopmentStorage=true`` for Azurite);
- identity-based: ``HR_STORAGE__blobServiceUri`` and ``HR_STORAGE__queueServiceUri``, with
  ``HR_STORAGE__credential=managedidentity`` (and ``HR_STORAGE__clientId`` for a user-assigned identity),
  or else ``DefaultAzureCredential``.

When both are set the connection string wins, as it does for the Functions host. The doors build one
``StorageClients`` per process and pass it (or stores built on it) down; nothing here logs or raises a key.
"""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING

from azure.core.exceptions import ResourceExistsError
from azure.storage.blob import BlobServiceClient, ContainerClient
from azure.storage.queue import QueueClient, QueueServiceClient, TextBase64DecodePolicy, TextBase64EncodePolicy

from provisioning.settings import Settings, SettingsError

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

_DEVELOPMENT_STORAGE = "UseDevelopmentStorage=true"
_IDENTITY_SETTINGS = ("HR_STORAGE__blobServiceUri", "HR_STORAGE__queueServiceUri")


class StorageClients:
    """One account's blob and queue service clients, and the containers and queues this process made sure exist.

    ``container(name)`` and ``queue(name)`` create what is missing the first time a name is asked for and
    remember it for the life of this object (build it once per process). Queue messages are text, sent and
    read base64-encoded: the encoding the Functions queue trigger expects by default, so a JSON payload sent
    with ``queue(name).send_message(json.dumps(payload))`` arrives in the trigger as that JSON.
    """

    def __init__(self, blob_service: BlobServiceClient, queue_service: QueueServiceClient, description: str) -> None:
        self.blob_service = blob_service
        self.queue_service = queue_service
        self.description = description
        """Where the clients point and how they sign in, safe to log (never a key or a token)."""
        self._lock = threading.Lock()
        self._containers: dict[str, ContainerClient] = {}
        self._queues: dict[str, QueueClient] = {}

    @classmethod
    def from_settings(cls, settings: Settings, *, credential: TokenCredential | None = None) -> StorageClients:
        """The clients for ``HR_STORAGE``; ``credential`` overrides the identity-based choice (tests, the CLI)."""
        if settings.hr_storage:
            return cls.from_connection_string(settings.hr_storage)
        blob_uri = settings.hr_storage_blob_service_uri
        queue_uri = settings.hr_storage_queue_service_uri
        if not blob_uri and not queue_uri:
            raise SettingsError(
                "no storage account is configured: set HR_STORAGE to a connection string "
                f"({_DEVELOPMENT_STORAGE} for Azurite), or {' and '.join(_IDENTITY_SETTINGS)} "
                "(with HR_STORAGE__credential=managedidentity in Azure)"
            )
        missing = [name for name, value in zip(_IDENTITY_SETTINGS, (blob_uri, queue_uri), strict=True) if not value]
        if missing:
            raise SettingsError(f"identity-based storage needs {' and '.join(missing)} as well")
        assert blob_uri is not None and queue_uri is not None
        for name, value in zip(_IDENTITY_SETTINGS, (blob_uri, queue_uri), strict=True):
            if not value.startswith(("https://", "http://")) or "?" in value:
                raise SettingsError(f"{name} must be the service URL, like https://<account>.blob.core.windows.net")
        if credential is None:
            credential, how = _identity_credential(settings)
        else:
            how = type(credential).__name__
        return cls(
            BlobServiceClient(blob_uri, credential=credential),
            QueueServiceClient(queue_uri, credential=credential),
            f"{blob_uri} and {queue_uri} with {how}",
        )

    @classmethod
    def from_connection_string(cls, connection_string: str) -> StorageClients:
        """Clients from a connection string (``UseDevelopmentStorage=true`` in any letter case works)."""
        text = connection_string.strip()
        if text.rstrip(";").replace(" ", "").lower() == _DEVELOPMENT_STORAGE.lower():
            text = _DEVELOPMENT_STORAGE
        try:
            blob_service = BlobServiceClient.from_connection_string(text)
            queue_service = QueueServiceClient.from_connection_string(text)
        except ValueError as exc:  # the SDK's messages never repeat the string
            raise SettingsError(
                f"HR_STORAGE is not a usable storage connection string ({exc}); expected "
                f"AccountName=...;AccountKey=...[;BlobEndpoint=...;QueueEndpoint=...] or {_DEVELOPMENT_STORAGE}"
            ) from None
        where = f"account {blob_service.account_name or '?'} at {blob_service.url.rstrip('/')}"
        return cls(blob_service, queue_service, f"{where} (connection string)")

    def container(self, name: str) -> ContainerClient:
        """The container ``name``, created if missing the first time this process asks for it."""
        with self._lock:
            client = self._containers.get(name)
            if client is None:
                client = self.blob_service.get_container_client(name)
                with contextlib.suppress(ResourceExistsError):
                    client.create_container()
                self._containers[name] = client
            return client

    def queue(self, name: str) -> QueueClient:
        """The queue ``name`` (created if missing), sending and reading base64-encoded text messages."""
        with self._lock:
            client = self._queues.get(name)
            if client is None:
                client = self.queue_service.get_queue_client(
                    name,
                    message_encode_policy=TextBase64EncodePolicy(),
                    message_decode_policy=TextBase64DecodePolicy(),
                )
                with contextlib.suppress(ResourceExistsError):
                    client.create_queue()
                self._queues[name] = client
            return client

    def close(self) -> None:
        self.blob_service.close()
        self.queue_service.close()

    def __repr__(self) -> str:
        return f"StorageClients({self.description})"


def _identity_credential(settings: Settings) -> tuple[TokenCredential, str]:
    from azure import identity  # imported here: only identity-based connections need it

    client_id = settings.hr_storage_client_id or None
    kind = (settings.hr_storage_credential or "").strip().lower()
    if kind == "managedidentity":
        named = f"ManagedIdentityCredential(client_id={client_id})" if client_id else "ManagedIdentityCredential"
        return identity.ManagedIdentityCredential(client_id=client_id), named
    if kind:
        raise SettingsError(
            f"HR_STORAGE__credential must be managedidentity or unset (DefaultAzureCredential), not {kind!r}"
        )
    return identity.DefaultAzureCredential(managed_identity_client_id=client_id), "DefaultAzureCredential"
