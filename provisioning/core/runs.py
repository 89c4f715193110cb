"""Run records: what a run read, built, sent and got back. The same JSON in a local folder or blob storage.

A run record never holds a secret, and holds worker values only in the rejects file and the stored
request bodies (which must be kept to retry failed records without re-reading the source).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

RunStatus = Literal["planning", "planned", "dry-run", "held", "sending", "sent", "completed", "failed"]
BatchStatus = Literal["pending", "accepted", "failed"]


def new_run_id(now: datetime | None = None) -> str:
    """Sortable and unique: ``20261128T150501Z-3f9a1c``."""
    moment = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"{moment}-{secrets.token_hex(3)}"


def utc_now() -> str:
    """Milliseconds, so that runs started within the same second still sort by when they started."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


class BatchRecord(_Model):
    number: int
    externalIds: list[str]
    status: BatchStatus = "pending"
    httpStatus: int | None = None
    attempts: int = 0
    seconds: float = 0.0
    errorCode: str = ""
    error: str = ""


class Counts(_Model):
    rows: int = 0
    operations: int = 0
    rejected: int = 0
    unchanged: int = 0
    sent: int = 0
    accepted: int = 0
    failed: int = 0


class RunRecord(_Model):
    runId: str
    trigger: Literal["cli", "blob", "http", "timer", "retry"] = "cli"
    source: str
    profile: str
    status: RunStatus = "planned"
    message: str = ""
    """Why the run is held or failed, in a sentence a person can act on."""
    dryRun: bool = False
    createdAt: str = Field(default_factory=utc_now)
    finishedAt: str | None = None
    endpoint: dict[str, str] = Field(default_factory=dict)
    """Graph base and job id (never a token)."""
    jobStatus: str | None = None
    counts: Counts = Field(default_factory=Counts)
    summary: dict[str, Any] = Field(default_factory=dict)
    schemaSync: dict[str, Any] | None = None
    batches: list[BatchRecord] = Field(default_factory=list)
    results: dict[str, Any] | None = None
    """Per-record outcomes from the provisioning logs, once read."""
    retryOf: str | None = None
    sourceKey: str | None = None
    """The feed this run belongs to (delta state and safety are kept per feed)."""
    partialSource: bool = False
    """The source holds only what changed (an HR system's own delta): no shrink check, its size is not kept."""
    approvedBy: str | None = None
    """How a held run was let go: "setting", "http", "marker"."""

    def sent_external_ids(self) -> list[str]:
        return [i for b in self.batches if b.status == "accepted" for i in b.externalIds]
