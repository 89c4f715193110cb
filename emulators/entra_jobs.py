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
from emulators.entra_throttle import DAY_SECONDS, SlidingWindow

JOB_STATUSES = ("NotConfigured", "NotRun", "Active", "Paused", "Quarantine")
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
    status: str = "Active"
    directory: Directory = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)
    schema_puts: int = 0
    accepted_operations: int = 0
    dropped_operations: int = 0  # accepted while paused/quarantined: never processed
    last_execution: dict[str, Any] | None = None

    @property
    def to_ad(self) -> bool:
        return is_ad_job(self.identity.job_id)

    def replace_schema(self, schema: dict[str, Any]) -> None:
        self.schema = copy.deepcopy(schema)
        # A schema with no usable user mapping keeps processing on the default one rather than
        # silently dropping every user; the PUT itself already checked enum values.
        self.mapping = compile_user_mapping(self.schema) or self.mapping


def new_job(
    sp_id: str, job_id: str, *, variant: str, rate_limit: tuple[int, float], daily_quota: int | None
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
        daily=SlidingWindow(daily_quota, DAY_SECONDS) if daily_quota else None,
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
    return {
        "@odata.context": context,
        "id": job.identity.job_id,
        "templateId": job.identity.job_id.split(".", 1)[0],
        "schedule": {
            "expiration": None,
            "interval": "PT40M",
            "state": {"Active": "Active", "Paused": "Paused"}.get(code, "Disabled"),
        },
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
