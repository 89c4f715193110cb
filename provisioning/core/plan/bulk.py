"""The SCIM BulkRequest wire format: operations, bulkIds, envelopes, and the 50-operation limit."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import orjson

BULK_REQUEST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
MAX_OPERATIONS = 50
"""Entra's limit of operations per bulkUpload request."""

_ENVELOPE_HEAD = b'{"schemas":["' + BULK_REQUEST_SCHEMA.encode() + b'"],"Operations":['
_ENVELOPE_TAIL = b'],"failOnErrors":null}'
_OPERATION_HEAD = b'{"method":"POST","bulkId":"'
_OPERATION_MIDDLE = b'","path":"/Users","data":'


def checked_batch_size(size: int) -> int:
    """A batch size setting, refused outside 1..50."""
    if not 1 <= size <= MAX_OPERATIONS:
        raise ValueError(f"batch size must be between 1 and {MAX_OPERATIONS} operations, not {size}")
    return size


def bulk_id(data: bytes) -> str:
    """A UUID-shaped id derived from the user's content: stable across retries of the same record."""
    h = hashlib.blake2b(data, digest_size=16).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def operation(user: dict[str, object]) -> bytes:
    """One bulk operation, serialised: ``{"method": "POST", "bulkId", "path": "/Users", "data"}``."""
    return operation_with_id(user)[1]


def operation_with_id(user: dict[str, object]) -> tuple[str, bytes]:
    """The operation and its bulkId, which doubles as the fingerprint of the user's content."""
    data = orjson.dumps(user)
    identifier = bulk_id(data)
    return identifier, b"".join((_OPERATION_HEAD, identifier.encode(), _OPERATION_MIDDLE, data, b"}"))


def request_body(operations: list[bytes]) -> bytes:
    """The BulkRequest envelope around already serialised operations."""
    if len(operations) > MAX_OPERATIONS:
        raise ValueError(f"{len(operations)} operations in one request; Entra accepts {MAX_OPERATIONS}")
    return _ENVELOPE_HEAD + b",".join(operations) + _ENVELOPE_TAIL


@dataclass(frozen=True)
class BulkRequest:
    """One request ready to POST, with the externalIds it carries (the logs know no bulkIds)."""

    number: int
    body: bytes
    external_ids: list[str] = field(default_factory=list)
    first_level: int = 0
    """Manager level of the first and last record: a request of a new level waits for the earlier ones."""
    last_level: int = 0

    @property
    def file_name(self) -> str:
        return f"bulk-{self.number:04d}.json"
