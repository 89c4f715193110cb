"""One provisioning job's state: status, schema, emulated directory, throttle windows, counters."""

from __future__ import annotations

import copy
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from emulators.entra_directory import Directory
from emulators.entra_log_entries import JobIdentity, iso_seconds
from emulators.entra_mapping import UserMapping, compile_user_mapping
from emulators.entra_schema import AD_DIRECTORY, ENTRA_DIRECTORY, default_schema, is_ad_job
from emulators.entra_throttle import SlidingWindow

JOB_STATUSES = ("NotConfigured", "NotRun", "Active", "Paused", "Quarantine")
# synchronizationSchedule.state: "Active, Disabled, Paused"
# (https://learn.microsoft.com/graph/api/resources/synchronization-synchronizationschedule).
SCHEDULE_STATES = ("Active", "Disabled", "Paused")
STATUS_SHAPES = ("full", "no code", "absent")
DEFAULT_TENANT = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
# Every emulated app shares one application (client) id: nothing in this API depends on it.
APPLICATION_ID = "b8a3c1d2-4e5f-4a6b-8c7d-9e0f1a2b3c4d"


@dataclass
class JobState:
    identity: JobIdentity
    schema: dict[str, Any]
    mapping: UserMapping
    window: SlidingWindow
    daily: SlidingWindow | None
    """The tenant's daily bulkUpload quota: one window shared by every job of the tenant."""
    status: str = "Active"
    directory: Directory = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)
    schema_puts: int = 0
    accepted_operations: int = 0
    dropped_operations: int = 0  # accepted while NotRun, NotConfigured, Paused or not scheduled: not processed
    late: list[list[dict[str, Any]]] = field(default_factory=list)
    """Batches accepted while quarantined. The service retries a quarantined job at reduced frequency
    (down to once a day, https://learn.microsoft.com/entra/identity/app-provisioning/application-provisioning-quarantine-status),
    so they are processed late or not at all. Modelled as: kept here, processed when the job leaves
    quarantine for Active (EntraEmulator.retry_quarantine, or a start), dropped by a restart."""
    last_execution: dict[str, Any] | None = None
    schedule_state: str | None = None
    """A test control's schedule.state, whatever the status (None: the one the status implies)."""
    status_shape: str = "full"
    """A test control's job resource: "full", "no code" (a status without code) or "absent" (no status)."""

    @property
    def to_ad(self) -> bool:
        return is_ad_job(self.identity.job_id)

    @property
    def schedule(self) -> str:
        """schedule.state: a new job is created disabled until started (Graph's "Create synchronizationJob");
        a paused job's schedule is paused; a quarantined job still runs, less often."""
        implied = {"Active": "Active", "Paused": "Paused", "Quarantine": "Active"}.get(self.status, "Disabled")
        return self.schedule_state or implied

    @property
    def runs(self) -> bool:
        """Whether an upload is processed now: only by an Active job on an Active schedule."""
        return self.status == "Active" and self.schedule == "Active"

    def set_aside(self, users: list[dict[str, Any]]) -> None:
        """An upload the job does not process now: accepted and not processed (nothing in the provisioning
        logs, as Microsoft's "Troubleshoot inbound provisioning API issues" says of a paused job), or, when
        quarantined, kept to be processed late."""
        if self.status == "Quarantine":
            self.late.append(users)
        else:
            self.dropped_operations += len(users)

    def change_status(self, code: str, *, purge: bool) -> list[list[dict[str, Any]]]:
        """A new status code (start, pause, restart, a test control); test overrides of the schedule and of
        the resource's shape end with it. Returns the quarantined batches now due: those of a job leaving
        quarantine for Active (start clears a quarantine). A restart purges them instead."""
        leaving = self.status == "Quarantine" and code == "Active"
        self.status, self.schedule_state, self.status_shape = code, None, "full"
        if purge:
            self.late = []
        due, self.late = (self.late, []) if leaving else ([], self.late)
        return due

    def replace_schema(self, schema: dict[str, Any]) -> None:
        self.schema = copy.deepcopy(schema)
        # A schema with no usable user mapping keeps processing on the default one rather than
        # silently dropping every user; the PUT itself already checked enum values.
        self.mapping = compile_user_mapping(self.schema) or self.mapping


def new_job(
    sp_id: str, job_id: str, *, variant: str, rate_limit: tuple[int, float], daily: SlidingWindow | None
) -> JobState:
    schema = default_schema(variant, job_id)
    mapping = compile_user_mapping(schema)
    assert mapping is not None, "the default schema always maps users"
    template = job_id.split(".", 1)[0] or "API2AAD"
    identity = JobIdentity(
        sp_id=sp_id,
        job_id=job_id,
        tenant_id=tenant_of(job_id),
        application_id=APPLICATION_ID,
        app_display_name=f"{template}-Emulated",
        target_directory=AD_DIRECTORY if is_ad_job(job_id) else ENTRA_DIRECTORY,
    )
    return JobState(
        identity=identity,
        schema=schema,
        mapping=mapping,
        window=SlidingWindow(*rate_limit),
        daily=daily,
    )


def tenant_of(job_id: str) -> str:
    """The tenant id a job id embeds (API2AAD.<tenant without dashes>.<guid>), else a default."""
    parts = job_id.split(".")
    if len(parts) >= 2 and re.fullmatch(r"[0-9a-fA-F]{32}", parts[1]):
        t = parts[1].lower()
        return f"{t[:8]}-{t[8:12]}-{t[12:16]}-{t[16:20]}-{t[20:]}"
    return DEFAULT_TENANT


def job_resource(job: JobState, context: str) -> dict[str, Any]:
    """The synchronizationJob resource, with the parts a client reads (status.code above all)."""
    code = job.status
    quarantine = None
    if code == "Quarantine":
        quarantine = {
            "currentBegan": job.last_execution["timeEnded"] if job.last_execution else None,
            "reason": "EncounteredQuarantineException",
            "error": {"code": "QuarantineEmulated", "message": "Quarantined by the emulator's test control."},
        }
    resource: dict[str, Any] = {
        "@odata.context": context,
        "id": job.identity.job_id,
        "templateId": job.identity.job_id.split(".", 1)[0],
        "schedule": {"expiration": None, "interval": "PT40M", "state": job.schedule},
        "status": {
            "code": code,
            "countSuccessiveCompleteFailures": 0,
            "escrowsPruned": False,
            "lastExecution": job.last_execution,
            "lastSuccessfulExecution": job.last_execution,
            "lastSuccessfulExecutionWithExports": job.last_execution,
            "progress": [],
            "quarantine": quarantine,
            "steadyStateFirstAchievedTime": "0001-01-01T00:00:00Z",
            "steadyStateLastAchievedTime": "0001-01-01T00:00:00Z",
            "synchronizedEntryCountByType": [{"key": "User", "value": len(job.directory)}],
            "troubleshootingUrl": None,
        },
        "synchronizationJobSettings": [
            {"name": "QuarantineTooManyDeletesThreshold", "value": "500"},
            {"name": "LookaheadQueryEnabled", "value": "False"},
        ],
    }
    if job.status_shape == "absent":
        del resource["status"]
    elif job.status_shape == "no code":
        del resource["status"]["code"]
    return resource


def execution_record(cycle_id: str, began: int, ended: int, imported: int, exported: int) -> dict[str, Any]:
    return {
        "activityIdentifier": cycle_id,
        "countEntitled": imported,
        "countEntitledForProvisioning": imported,
        "countEscrowed": 0,
        "countEscrowedRaw": 0,
        "countExported": exported,
        "countExports": exported,
        "countImported": imported,
        "countImportedDeltas": imported,
        "countImportedReferenceDeltas": 0,
        "error": None,
        "state": "Succeeded",
        "timeBegan": iso_seconds(began),
        "timeEnded": iso_seconds(ended),
    }
