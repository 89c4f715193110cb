"""JSON blobs that several Function instances update at once, markers and leases.

``write_json`` writes only if the blob still has the ETag that was read (or does not exist yet),
``update_json`` retries the read-change-write until it goes through, and ``create_marker`` lets exactly
one caller win. (A request's claim, a blob lease, is ``BlobState.claim``.)
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.storage.blob import ContentSettings

from provisioning.core.errors import ProvisioningError
from provisioning.core.retry import Retry, RetryPolicy, retry_loop

if TYPE_CHECKING:
    from azure.storage.blob import BlobClient, ContainerClient

JSON_CONTENT = ContentSettings(content_type="application/json")
RACE_POLICY = RetryPolicy(max_attempts=10, base_delay=0.05, max_delay=1.0)
"""``update_json`` waits a random time up to base x 2^attempt (at most 1 s) after losing a race."""


class ConcurrentUpdate(ProvisioningError):
    """Someone else wrote the blob between our read and our write (HTTP 412), or created it first (409)."""

    def __init__(self, container: str, name: str, detail: str) -> None:
        self.container = container
        self.name = name
        super().__init__(f"{container}/{name}: {detail}")


def read_json(container_client: ContainerClient, name: str) -> tuple[Any | None, str | None]:
    """The blob's JSON and its ETag, or ``(None, None)`` when there is no such blob."""
    try:
        downloader = container_client.download_blob(name)
        body = downloader.readall()
    except ResourceNotFoundError:
        return None, None
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise ProvisioningError(f"{container_client.container_name}/{name} is not JSON: {exc}") from exc
    return data, downloader.properties.etag


def write_json(
    container_client: ContainerClient,
    name: str,
    data: Any,
    *,
    etag: str | None = None,
    create_only: bool = False,
) -> str:
    """Write ``data`` as JSON and return the new ETag.

    With ``etag``, only if the blob still has it; with ``create_only``, only if the blob does not exist.
    Either condition failing raises ``ConcurrentUpdate``. With neither, the write is unconditional.
    """
    if etag is not None and create_only:
        raise ValueError("write_json: pass etag or create_only, not both")
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    conditions: dict[str, Any] = {}
    if etag is not None:
        conditions = {"etag": etag, "match_condition": MatchConditions.IfNotModified}
    try:
        blob_client = container_client.get_blob_client(name)
        result = blob_client.upload_blob(body, overwrite=not create_only, content_settings=JSON_CONTENT, **conditions)
    except HttpResponseError as exc:
        if exc.status_code in (409, 412):
            raise ConcurrentUpdate(container_client.container_name, name, _conflict(exc, create_only)) from exc
        raise
    return str(result["etag"])


def update_json(
    container_client: ContainerClient,
    name: str,
    change: Callable[[Any | None], Any],
    *,
    attempts: int = 10,
) -> Any:
    """Read, ``change`` (given ``None`` when the blob is missing), write back; retried while others write.

    ``change`` may run several times and must only compute the new value from the one it is given.
    Returns the value that was written; ``ConcurrentUpdate`` if every attempt lost the race.
    """

    def once() -> Any:
        data, etag = read_json(container_client, name)
        new = change(data)
        write_json(container_client, name, new, etag=etag, create_only=etag is None)
        return new

    def judge(answer: Any) -> Retry | None:
        return Retry(reason="lost a race") if isinstance(answer, ConcurrentUpdate) else None

    policy = RetryPolicy(max_attempts=attempts, base_delay=RACE_POLICY.base_delay, max_delay=RACE_POLICY.max_delay)
    try:
        return retry_loop(once, judge, policy=policy, sleep=time.sleep)
    except ConcurrentUpdate:
        raise ConcurrentUpdate(
            container_client.container_name, name, f"still being changed by other writers after {attempts} attempts"
        ) from None


def create_marker(container_client: ContainerClient, name: str, body: bytes = b"") -> bool:
    """Create the blob if it does not exist: True for the one caller that created it, False for the others."""
    return _create_if_missing(container_client.get_blob_client(name), body)


def _create_if_missing(blob_client: BlobClient, body: bytes) -> bool:
    try:
        blob_client.upload_blob(body, overwrite=False)
    except HttpResponseError as exc:  # 409 BlobAlreadyExists, or 412 when a racing create got there first
        if exc.status_code in (409, 412):
            return False
        raise
    return True


def _conflict(exc: HttpResponseError, create_only: bool) -> str:
    code = getattr(exc, "error_code", None) or ""
    code = getattr(code, "value", code)  # a StorageErrorCode member or a plain string
    what = "already exists" if create_only else "was changed by another writer since it was read"
    return f"{what} (HTTP {exc.status_code} {code})".replace(" )", ")")
