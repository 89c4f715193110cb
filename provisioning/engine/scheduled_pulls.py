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
from provisioning.engine.fanout import Fanout
from provisioning.engine.services import Services
from provisioning.hr.connector_source import (
    DEFINITIONS_PREFIX,
    JOBS_PREFIX,
    BlobTokenStore,
    ConnectorJob,
    connector_source,
    connector_supports_changes,
    parse_job,
    resolve_settings,
)
from provisioning.state.blob import update_json
from provisioning.state.local import RunNotFound

log = logging.getLogger("provisioning.engine.scheduled_pulls")


def enabled_jobs(services: Services) -> list[ConnectorJob]:
    container = services.storage.container(services.settings.hr_config_container)
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


def run_scheduled_pulls(services: Services) -> list[RunRecord]:
    """One run per enabled job; a job that fails is recorded as a failed run and the others go on."""
    fanout = Fanout(services)
    records = []
    with tempfile.TemporaryDirectory(prefix="connector-definitions-") as folder:
        definitions = _user_definitions(services, Path(folder))
        for job in enabled_jobs(services):
            records.append(_pull(services, fanout, job, definitions))
    return records


def _pull(services: Services, fanout: Fanout, job: ConnectorJob, definitions: Path | None) -> RunRecord:
    settings = services.settings
    state = services.storage.container(settings.hr_state_container)
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
        )
        profile = job.profile or _default_profile(job.connector, definitions)
    except ProvisioningError as exc:
        return _failed(fanout, run_id, job, str(exc))
    try:
        record = fanout.start(
            source,
            profile_name=profile,
            run_id=run_id,
            trigger="timer",
            source_key=f"hrms:{job.name}",
            full_sync=full_sync,
            partial=native_delta,
        )
    except ProvisioningError as exc:  # the HR system failed mid-pull: the run says so, nothing was sent
        return _failed(fanout, run_id, job, str(exc))
    if record.status != "failed":
        update_json(state, pulls_blob, lambda data: {**(data or {}), "lastPull": started}, attempts=20)
    return record


def _failed(fanout: Fanout, run_id: str, job: ConnectorJob, message: str) -> RunRecord:
    try:
        record = fanout.store.load_record(run_id)
    except RunNotFound:
        record = RunRecord(runId=run_id, trigger="timer", source=f"hrms:{job.connector}", profile=job.profile or "")
    record.status, record.message = "failed", message
    fanout.store.save_record(record)
    log.error("connector job %s: %s", job.name, message)
    return record


def _default_profile(connector_id: str, definitions: Path | None) -> str:
    from connectors.registry import load_registry

    profile = load_registry(definitions)[connector_id].defaultProfile
    if not profile:
        raise ProfileError(f"connector {connector_id!r} has no default mapping profile: set 'profile' in the job")
    return profile


def _user_definitions(services: Services, folder: Path) -> Path | None:
    """User-defined connector definitions from the config container, as files the registry can read."""
    container = services.storage.container(services.settings.hr_config_container)
    found = False
    for item in container.list_blobs(name_starts_with=DEFINITIONS_PREFIX):
        if item.name.endswith(".json"):
            (folder / Path(item.name).name).write_bytes(container.download_blob(item.name).readall())
            found = True
    return folder if found else None
