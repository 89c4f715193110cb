"""Scheduled pulls: every enabled connector job in the config container becomes a run, like a dropped file.

Jobs are ``connectors/<name>.json`` in the config container (see ``provisioning.hr.connector_source.ConnectorJob``);
user-defined connector definitions are ``connectors/definitions/<id>.json`` there. Every
HRMS_FULL_SYNC_EVERY-th pull of a job sends every record; the others send only what changed.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from provisioning.core.errors import ProfileError, ProvisioningError
from provisioning.core.runs import RunRecord, new_run_id, utc_now
from provisioning.engine.workflow import StartRequest, Workflow
from provisioning.hr.connector_source import connector_source, connector_supports_changes
from provisioning.hr.jobs import DEFINITIONS_PREFIX, JOBS_PREFIX, ConnectorJob, parse_job, resolve_settings
from provisioning.settings import Settings
from provisioning.state.blob_json import update_json
from provisioning.state.interface import RunNotFound
from provisioning.state.storage import StorageClients
from provisioning.state.tokens import BlobTokenStore

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
    records = []
    with tempfile.TemporaryDirectory(prefix="connector-definitions-") as folder:
        definitions = _user_definitions(storage, settings, Path(folder))
        for job in enabled_jobs(storage, settings):
            records.append(_pull(workflow, storage, settings, job, definitions))
    return records


def _pull(
    workflow: Workflow, storage: StorageClients, settings: Settings, job: ConnectorJob, definitions: Path | None
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
        native_delta = not full_sync and connector_supports_changes(job.connector, definitions)
        source = connector_source(
            job.connector,
            resolve_settings(job.config),
            name=job.name,
            tokens=tokens,
            extra_definitions=definitions,
            changed_since=since if native_delta else None,
            allow_loopback_http=settings.connectors_allow_loopback_http,
        )
        profile = job.profile or _default_profile(job.connector, definitions)
    except ProvisioningError as exc:
        return _failed(workflow, run_id, job, str(exc))
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
    except ProvisioningError as exc:  # the HR system failed mid-pull: the run says so, nothing was sent
        return _failed(workflow, run_id, job, str(exc))
    if record.status != "failed":
        update_json(state, pulls_blob, lambda data: {**(data or {}), "lastPull": started}, attempts=20)
    return record


def _failed(workflow: Workflow, run_id: str, job: ConnectorJob, message: str) -> RunRecord:
    try:
        record = workflow.state.load_record(run_id)
    except RunNotFound:
        record = RunRecord(runId=run_id, trigger="timer", source=f"hrms:{job.connector}", profile=job.profile or "")
    record.status, record.message = "failed", message
    workflow.state.save_record(record)
    log.error("connector job %s: %s", job.name, message)
    return record


def _default_profile(connector_id: str, definitions: Path | None) -> str:
    from connectors.registry import load_registry

    profile = load_registry(definitions)[connector_id].defaultProfile
    if not profile:
        raise ProfileError(f"connector {connector_id!r} has no default mapping profile: set 'profile' in the job")
    return profile


def _user_definitions(storage: StorageClients, settings: Settings, folder: Path) -> Path | None:
    """User-defined connector definitions from the config container, as files the registry can read."""
    container = storage.container(settings.hr_config_container)
    found = False
    for item in container.list_blobs(name_starts_with=DEFINITIONS_PREFIX):
        if item.name.endswith(".json"):
            (folder / Path(item.name).name).write_bytes(container.download_blob(item.name).readall())
            found = True
    return folder if found else None
