"""Run records, request manifests and run plans: what a run read, built, sent and got back.

The same JSON in a local folder or blob storage, written by the engine and read by every door. A run
record never holds a secret, and holds worker values only in the rejects file and the stored request
bodies (which must be kept to retry failed records without re-reading the source).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

RunStatus = Literal["planning", "planned", "dry-run", "held", "sending", "sent", "completed", "failed"]
"""planning -> (dry-run | held | failed | sending) -> sent -> (completed | failed | sent with pending)."""
ENDED: frozenset[str] = frozenset({"dry-run", "completed", "failed"})
BatchStatus = Literal["pending", "accepted", "failed"]
ManifestStatus = Literal["pending", "sending", "accepted", "failed"]
"""``sending``: a POST started and its answer was not recorded (in flight, or the sender died)."""
FINAL: frozenset[str] = frozenset({"accepted", "failed"})
Trigger = Literal["cli", "blob", "http", "timer", "retry"]
Approval = Literal["setting", "http", "marker", "cli"]

RUN_ID = re.compile(r"^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6,8}$")
"""Every run id the engine makes (``new_run_id``, ``blob_run_id``): a door checks a caller's id against it."""


def new_run_id(now: datetime | None = None) -> str:
    """Sortable and unique: ``20261128T150501Z-3f9a1c``."""
    moment = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"{moment}-{secrets.token_hex(3)}"


def utc_now() -> str:
    """Milliseconds, so that runs started within the same second still sort by when they started."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


@dataclass
class BatchOutcome:
    """What happened to one bulk request when it was sent: what a manifest, a report and a retry need."""

    number: int
    external_ids: list[str]
    status: Literal["accepted", "failed"]
    http_status: int | None
    attempts: int
    seconds: float
    error_code: str = ""
    error: str = ""
    waited_for_throttle: float = 0.0
    retried_statuses: list[int] = field(default_factory=list)
    fatal: bool = False
    gave_up_at_deadline: bool = False
    """Still retryable, but the sender's deadline came first (a queued send retries on redelivery)."""
    """Every further request would fail the same way (no token, 401 after a refresh, 403): stop sending."""

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class _Request(_Model):
    """A request of a run, and its last answer."""

    number: int
    externalIds: list[str]
    httpStatus: int | None = None
    attempts: int = 0
    seconds: float = 0.0
    errorCode: str = ""
    error: str = ""


class BatchRecord(_Request):
    status: BatchStatus = "pending"


class Manifest(_Request):
    """One stored request's state: written at planning, claimed by whoever sends it, final once answered."""

    group: int
    """Requests of a group go out together; a group waits until the one before it is answered."""
    fingerprints: list[str]
    """Each operation's bulkId, the hash of what was sent: what the feed remembers once accepted."""
    actives: list[bool]
    status: ManifestStatus = "pending"
    sends: int = 0
    """POSTs started over every delivery: above 1 only in the at-least-once windows (a crash mid-send)."""
    retriedStatuses: list[int] = Field(default_factory=list)
    """The statuses that were retried (429, 5xx; 0 for a try that got no answer) before the last answer."""
    waitedForThrottle: float = 0.0
    """Seconds spent waiting for the pacer (the job's throttle) rather than for Graph."""
    updatedAt: str | None = None

    @property
    def final(self) -> bool:
        return self.status in FINAL

    def record(self, outcome: BatchOutcome) -> None:
        """The one place an answer becomes a manifest's state."""
        self.status = outcome.status
        self.httpStatus = outcome.http_status
        self.attempts = outcome.attempts
        self.seconds = outcome.seconds
        self.errorCode = outcome.error_code
        self.error = outcome.error
        self.retriedStatuses = list(outcome.retried_statuses)
        self.waitedForThrottle = round(outcome.waited_for_throttle, 3)
        self.updatedAt = utc_now()

    def fail(self, code: str, reason: str) -> None:
        """Ends a request that was not (or could not be) sent: failed with its reason, never left pending."""
        self.status = "failed"
        self.errorCode = code
        self.error = reason
        self.updatedAt = utc_now()

    def batch(self) -> BatchRecord:
        """The request as the run record lists it (in flight counts as pending)."""
        status: BatchStatus = "pending" if self.status in ("pending", "sending") else self.status  # type: ignore[assignment]
        return BatchRecord(**self.model_dump(include=set(_Request.model_fields)), status=status)


class RunPlan(_Model):
    """How a run's stored requests go out: groups in order (managers first), and the feed it belongs to."""

    groups: list[list[int]]
    sourceKey: str | None = None
    rows: int = 0


class Counts(_Model):
    rows: int = 0
    operations: int = 0
    rejected: int = 0
    unchanged: int = 0
    sent: int = 0
    accepted: int = 0
    failed: int = 0
    resent: int = 0
    """Requests that may have reached Graph twice, always with the same bulkIds (the at-least-once windows:
    a kill or crash mid-send, or a retry after a try that got no answer)."""
    calls: int = 0
    """bulkUpload calls this run made, every retry included (what the tenant's daily quota counts)."""
    callsToday: int = 0
    """bulkUpload calls this app made on the run's UTC day, this run's included, when it was finalised."""


class RunRecord(_Model):
    runId: str
    trigger: Trigger = "cli"
    source: str
    profile: str
    status: RunStatus = "planned"
    message: str = ""
    """Why the run is held, failed or not complete, in a sentence a person can act on."""
    dryRun: bool = False
    createdAt: str = Field(default_factory=utc_now)
    finishedAt: str | None = None
    endpoint: dict[str, str] = Field(default_factory=dict)
    """Where the run was sent: ``bulkUploadUrl``, ``graph`` and ``jobId``, and ``embedded`` when it was the
    CLI's embedded emulator, whose directory ended with the process (never a token)."""
    jobStatus: str | None = None
    """The job's ``status.code`` when the run read it (``Unknown``: the job came without one)."""
    warnings: list[str] = Field(default_factory=list)
    """What the run could not check, or was told to overlook, and went on anyway (a job it may not read)."""
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
    approvedBy: Approval | None = None
    approvedByPrincipal: str | None = None
    """Who approved it, when App Service authentication signed them in."""
    requestedBy: str | None = None
    """Who asked for this run (a retry), when App Service authentication signed them in."""
    """How a held run was let go."""
    sweeps: int = 0
    """How often the periodic check found the run making no progress and resumed it."""

    def sent_external_ids(self) -> list[str]:
        return [i for b in self.batches if b.status == "accepted" for i in b.externalIds]

    def failed_external_ids(self) -> list[str]:
        """Records to send again: those of failed (or never answered) requests, and those the logs failed."""
        ids = [i for b in self.batches if b.status != "accepted" for i in b.externalIds]
        seen = set(ids)
        ids += [i for i in (self.results or {}).get("failed") or [] if i not in seen]
        return ids
