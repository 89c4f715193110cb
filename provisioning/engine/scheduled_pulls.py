"""Scheduled pulls: every enabled connector job in the config container becomes a run, like a dropped file.

Jobs are ``connectors/<name>.json`` in the config container (see ``provisioning.hr.connector_source.ConnectorJob``);
user-defined connector definitions are ``connectors/definitions/<id>.json`` there. Every
HRMS_FULL_SYNC_EVERY-th pull of a job sends every record; the others send only what changed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

from provisioning.core.errors import ProfileError, ProvisioningError
from provisioning.core.plan.delta import change_due
from provisioning.core.runs import RunRecord, new_run_id, utc_now
from provisioning.engine.connector_registry import connector_registry
from provisioning.engine.workflow import StartRequest, Workflow
from provisioning.hr.connector_source import connector_source, connector_supports_changes
from provisioning.hr.jobs import DEFINITIONS_PREFIX, JOBS_PREFIX, ConnectorJob, parse_job, resolve_settings
from provisioning.settings import Settings
from provisioning.state.blob_json import update_json
from provisioning.state.interface import RunNotFound
from provisioning.state.storage import StorageClients
from provisioning.state.tokens import BlobTokenStore

if TYPE_CHECKING:
    from connectors.definition import ConnectorDefinition

log = logging.getLogger("provisioning.engine.scheduled_pulls")


def enabled_jobs(storage: StorageClients, settings: Settings) -> list[ConnectorJob]:
    container = storage.container(settings.hr_config_container)
    jobs = []
    for item in container.list_blobs(name_starts_with=JOBS_PREFIX):
        name = item.name
        if name.startswith(DEFINITIONS_PREFIX) or not name.endswith(".json"):
            continue
        try:
            job = parse_job(container.download_blob(name).readall(), f"{container.container_name}/{name}")
        except ProvisioningError as exc:
            log.error("connector job %s is invalid and was skipped: %s", name, exc)
            continue
        if job.enabled:
            jobs.append(job)
    return jobs


def run_scheduled_pulls(workflow: Workflow, storage: StorageClients, settings: Settings) -> list[RunRecord]:
    """One run per enabled job; a job that fails is recorded as a failed run and the others go on."""
    registry = connector_registry(settings, storage).definitions
    records = []
    for job in enabled_jobs(storage, settings):
        try:
            records.append(_pull(workflow, storage, settings, job, registry))
        except Exception as exc:  # one job's failure, whatever it is, is that job's run; the others go on
            log.exception("connector job %s failed", job.name)
            records.append(_failed(workflow, new_run_id(), job, _reason(exc)))
    return records


def _pull(
    workflow: Workflow,
    storage: StorageClients,
    settings: Settings,
    job: ConnectorJob,
    registry: Mapping[str, ConnectorDefinition],
) -> RunRecord:
    state = storage.container(settings.hr_state_container)
    pulls_blob = f"connectors/{job.name}/pulls.json"
    counter = update_json(
        state, pulls_blob, lambda data: {**(data or {}), "pulls": int((data or {}).get("pulls", 0)) + 1}, attempts=20
    )
    since = counter.get("lastPull")
    full_sync = (counter["pulls"] - 1) % settings.hrms_full_sync_every == 0 or since is None
    run_id = new_run_id()
    started = utc_now()
    tokens = BlobTokenStore(state)
    try:
        # A worker whose start or last day has come changes today without any change entered in the HR system,
        # which its own delta would report: read the whole source then (only what changed is still sent).
        feed = workflow.state.load_feed(f"hrms:{job.name}")
        effective = change_due(feed, workflow.clock().date().isoformat())
        native_delta = not full_sync and not effective and connector_supports_changes(registry.get(job.connector))
        source = connector_source(
            job.connector,
            resolve_settings(job.config),
            name=job.name,
            registry=registry,
            tokens=tokens,
            changed_since=since if native_delta else None,
            allow_loopback_http=settings.connectors_allow_loopback_http,
            allow_private_networks=settings.connectors_allow_private_networks,
        )
        profile = job.profile or _default_profile(job.connector, registry)
    except Exception as exc:  # a bad job, a connector that cannot start: this job's run says why
        return _failed(workflow, run_id, job, _reason(exc))
    request = StartRequest(
        source=source,
        profile=profile,
        trigger="timer",
        feed=f"hrms:{job.name}",
        run_id=run_id,
        full_sync=full_sync,
        partial=native_delta,
    )
    try:
        record = workflow.start(request)
    except Exception as exc:  # the HR system failed mid-pull: the run says so, nothing was sent
        return _failed(workflow, run_id, job, _reason(exc))
    if record.status != "failed":
        update_json(state, pulls_blob, lambda data: {**(data or {}), "lastPull": started}, attempts=20)
    return record


def _reason(exc: Exception) -> str:
    if isinstance(exc, ProvisioningError):
        return str(exc)
    log.error("connector pull failed unexpectedly", exc_info=exc)
    return f"the pull failed unexpectedly ({type(exc).__name__}); see the function's log"


def _failed(workflow: Workflow, run_id: str, job: ConnectorJob, message: str) -> RunRecord:
    try:
        record = workflow.state.load_record(run_id)
    except RunNotFound:
        record = RunRecord(runId=run_id, trigger="timer", source=f"hrms:{job.connector}", profile=job.profile or "")
    record.status, record.message = "failed", message
    workflow.state.save_record(record)
    log.error("connector job %s: %s", job.name, message)
    return record


def _default_profile(connector_id: str, registry: Mapping[str, ConnectorDefinition]) -> str:
    definition = registry.get(connector_id)
    if definition is None:
        raise ProfileError(f"connector {connector_id!r} not found (connectors: {', '.join(sorted(registry))})")
    if not definition.defaultProfile:
        raise ProfileError(f"connector {connector_id!r} has no default mapping profile: set 'profile' in the job")
    return definition.defaultProfile
