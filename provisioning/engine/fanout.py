"""Runs in the Function App: plan into blob storage, one queue message per request, a coordinator per run.

``start`` reads, maps, checks and orders the source, stores every request with a small manifest, applies
delta sends and safety stops, and enqueues the first group of requests. ``send_batch`` (the upload
queue) sends one request and records its outcome on the manifest. ``coordinate`` (the coordination
queue) lets the next manager level go once the previous one is answered, folds the outcomes into the
run record and the delta state, and then reads the per-record results from the provisioning logs.

Every step may run twice (queues and Event Grid redeliver; instances crash): a manifest's lease and
status make sure a request that was accepted is never sent again, markers make sure a group is
enqueued and a run finalised once, and the delta state is updated with ETags.
"""

from __future__ import annotations

import contextlib
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.core.exceptions import HttpResponseError, ResourceExistsError
from azure.storage.blob import BlobLeaseClient

from provisioning.core.errors import ProfileError, ProvisioningError, SourceError
from provisioning.core.plan.bulk import BulkRequest
from provisioning.core.plan.delta import DeltaFilter, SourceState, forget, remember_accepted, safety_check
from provisioning.core.plan.pipeline import plan_run
from provisioning.core.plan.reports import RejectsCsv
from provisioning.core.read.records import RecordSource
from provisioning.core.results.log_query import poll_delays, provisioning_log_params
from provisioning.core.results.log_summary import LogCollector
from provisioning.core.runs import BatchRecord, RunRecord, utc_now
from provisioning.core.schema.sync import SchemaSyncError
from provisioning.engine.runner import HELD_JOB_STATUSES, LOG_CLOCK_MARGIN, job_held_message, sync_job_schema
from provisioning.engine.services import Services
from provisioning.entra.graph_client import GraphError
from provisioning.settings import SettingsError
from provisioning.state.blob import BlobRunStore, create_marker, lease, read_json, update_json
from provisioning.state.local import RunNotFound

log = logging.getLogger("provisioning.engine.fanout")

FINAL = frozenset({"accepted", "failed"})
COORDINATE_MAX_SECONDS = 30.0


class BatchBusy(ProvisioningError):
    """Another instance holds this request's lease: the queue will deliver the message again later."""


def _batch_name(run_id: str, number: int) -> str:
    return f"{run_id}/batches/{number:04d}.json"


def _state_name(source_key: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in source_key) or "_"
    return f"{safe}/state.json"


class Fanout:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.settings = services.settings
        storage = services.storage
        self.store = BlobRunStore(storage, self.settings.hr_runs_container)
        self.runs = storage.container(self.settings.hr_runs_container)
        self.state = storage.container(self.settings.hr_state_container)
        self.uploads = storage.queue(self.settings.hr_upload_queue)
        self.coordination = storage.queue(self.settings.hr_results_queue)

    # ---- planning --------------------------------------------------------------------------------------

    def start(
        self,
        source: RecordSource,
        *,
        profile_name: str,
        run_id: str,
        trigger: str,
        source_key: str,
        approved_by: str | None = None,
        dry_run: bool = False,
        full_sync: bool | None = None,
        partial: bool = False,
    ) -> RunRecord:
        """Plans a run and lets its first requests go; the same ``run_id`` twice starts one run, not two.

        ``full_sync`` overrides DELTA_FULL_SYNC for this run (scheduled pulls send everything every Nth time);
        ``partial`` says the source holds only changed records (an HR system's own delta).
        """
        existing = self._existing(run_id)
        if existing is not None and existing.status == "held" and run_id in self._approved_runs():
            return self.approve(run_id, by="setting")  # the file delivered again after the setting was added
        if existing is not None and existing.status != "planning":
            log.info("run %s already exists (%s): nothing to do", run_id, existing.status)
            return existing
        record = RunRecord(
            runId=run_id,
            trigger=trigger,  # type: ignore[arg-type]
            source=source.name,
            profile=profile_name,
            status="planning",
            dryRun=dry_run,
            sourceKey=source_key,
            approvedBy=approved_by,
            partialSource=partial,
        )
        self.store.save_record(record)
        try:
            profile = self.services.profiles.load(profile_name)
        except ProfileError as exc:
            return self._finish(record, "failed", str(exc))
        state = SourceState.from_json(read_json(self.state, _state_name(source_key))[0])
        delta = DeltaFilter(state, full_sync=self.settings.delta_full_sync if full_sync is None else full_sync)
        try:
            with self.store.rejects_writer(run_id) as stream:
                plan = plan_run(
                    source,
                    profile,
                    on_reject=RejectsCsv(stream),
                    changed=delta,
                    batch_size=self.settings.entra_batch_size,
                )
        except SourceError as exc:
            self._finish(record, "failed", str(exc))
            raise
        summary = plan.summary
        record.summary = summary.as_json()
        counts = record.counts
        counts.rows, counts.operations = summary.rows, summary.operations
        counts.rejected, counts.unchanged = summary.rejected, summary.unchanged
        groups = self._store_requests(record, plan.requests())
        self._write_plan(run_id, groups, source_key, summary.rows)
        verdict = safety_check(
            state,
            rows_now=state.rows if partial else summary.rows,
            disables=delta.disables,
            max_disable_share=self.settings.safety_max_disable_share,
            max_shrink_share=self.settings.safety_max_shrink_share,
        )
        approved_by = approved_by or ("setting" if run_id in self._approved_runs() else None)
        record.approvedBy = approved_by
        log.info(
            "run %s planned: %d rows, %d operations in %d requests, %d rejected, %d unchanged",
            run_id, summary.rows, summary.operations, summary.requests, summary.rejected, summary.unchanged,
        )  # fmt: skip
        if dry_run:
            self._sync_schema(record, profile, dry_run=True)
            return self._finish(record, "dry-run", "nothing was sent (dry run)")
        if verdict.held and not approved_by:
            return self._finish(
                record,
                "held",
                f"held by the safety stop: {verdict.message}. Nothing was sent. Approve it with POST "
                f"/api/runs/{run_id}/approve, by adding {run_id} to SAFETY_APPROVED_RUNS, or by dropping the "
                "file again with the blob metadata approved=true.",
            )
        return self._release(record, profile)

    def approve(self, run_id: str, by: str) -> RunRecord:
        """Lets a held run go (its requests are already stored)."""
        record = self.store.load_record(run_id)
        if record.status != "held":
            raise ProvisioningError(f"run {run_id} is {record.status}, not held: there is nothing to approve")
        record.approvedBy = by
        try:
            profile = self.services.profiles.load(record.profile)
        except ProfileError as exc:
            return self._finish(record, "failed", str(exc))
        return self._release(record, profile)

    def _release(self, record: RunRecord, profile: Any) -> RunRecord:
        if not record.batches:
            return self._finish(record, "completed", "nothing to send: every record is unchanged or rejected")
        try:
            client = self.services.graph()
            record.endpoint = {"graph": client.endpoint.base, "jobId": client.endpoint.job_id}
            if not self._sync_schema(record, profile, dry_run=False):
                return record
            record.jobStatus = client.job_status()
        except (SettingsError, GraphError) as exc:
            return self._finish(record, "failed", str(exc))
        if record.jobStatus in HELD_JOB_STATUSES:
            return self._finish(record, "held", job_held_message(record.jobStatus))
        record.status = "sending"
        record.message = ""
        record.finishedAt = None
        self.store.save_record(record)
        self._enqueue_group(record.runId, 0)
        self._coordinate_later(record.runId, attempt=0)
        return record

    def _sync_schema(self, record: RunRecord, profile: Any, *, dry_run: bool) -> bool:
        try:
            record.schemaSync, _ = sync_job_schema(self.services.graph(), profile, dry_run=dry_run)
        except (SchemaSyncError, GraphError, SettingsError) as exc:
            if dry_run:
                record.schemaSync = {"error": str(exc)}
                return True
            self._finish(record, "failed", f"schema sync: {exc}")
            return False
        return True

    def _store_requests(self, record: RunRecord, requests: Any) -> list[list[int]]:
        """Stores each request with its manifest; returns the groups (a group waits for the one before)."""
        groups: list[list[int]] = []
        group_floor = -1  # the lowest first level in the current group
        for request in requests:
            if not groups or request.last_level > group_floor:
                groups.append([])
                group_floor = request.first_level
            group_floor = min(group_floor, request.first_level)
            groups[-1].append(request.number)
            self.store.save_request(record.runId, request.number, request.body)
            operations = json.loads(request.body)["Operations"]
            manifest = {
                "number": request.number,
                "group": len(groups) - 1,
                "externalIds": request.external_ids,
                "fingerprints": [op["bulkId"] for op in operations],
                "actives": [bool(op["data"].get("active")) for op in operations],
                "status": "pending",
            }
            self._write_manifest(record.runId, manifest, keep_final=True)
            record.batches.append(BatchRecord(number=request.number, externalIds=request.external_ids))
        return groups

    def _write_plan(self, run_id: str, groups: list[list[int]], source_key: str, rows: int) -> None:
        body = json.dumps({"groups": groups, "sourceKey": source_key, "rows": rows}).encode()
        self.runs.get_blob_client(f"{run_id}/plan.json").upload_blob(body, overwrite=True)

    # ---- sending one request (the upload queue) -------------------------------------------------------

    def send_batch(self, run_id: str, number: int) -> str:
        """Sends request ``number`` of ``run_id`` unless it was already answered; returns what happened."""
        blob = self.runs.get_blob_client(_batch_name(run_id, number))
        with lease(blob, 60) as held:
            if held is None:
                raise BatchBusy(f"request {number} of run {run_id} is being sent by another instance")
            manifest, _ = read_json(self.runs, _batch_name(run_id, number))
            if manifest is None:
                log.warning("run %s has no request %d: message ignored", run_id, number)
                return "unknown"
            if manifest["status"] in FINAL:
                return f"already {manifest['status']}"
            body = self.store.load_request(run_id, number)
            manifest["status"] = "sending"
            self._write_manifest(run_id, manifest, held=held)
            outcome = self.services.graph().upload(BulkRequest(number, body, manifest["externalIds"]))
            manifest.update(
                status=outcome.status,
                httpStatus=outcome.http_status,
                attempts=outcome.attempts,
                seconds=outcome.seconds,
                errorCode=outcome.error_code,
                error=outcome.error,
                updatedAt=utc_now(),
            )
            with contextlib.suppress(HttpResponseError):
                held.renew()
            self._write_manifest(run_id, manifest, held=held)
        log.info("run %s request %d: %s after %d attempts", run_id, number, outcome.status, outcome.attempts)
        return outcome.status

    def poison(self, run_id: str, number: int, reason: str) -> None:
        """A message that failed every delivery: its request is recorded as failed, never lost silently."""
        manifest, _ = read_json(self.runs, _batch_name(run_id, number))
        if manifest is None or manifest["status"] in FINAL:
            return
        manifest.update(status="failed", errorCode="PoisonMessage", error=reason, updatedAt=utc_now())
        self._write_manifest(run_id, manifest)

    def _write_manifest(
        self, run_id: str, manifest: dict[str, Any], *, held: BlobLeaseClient | None = None, keep_final: bool = False
    ) -> None:
        """The manifest, with its status and group also as metadata so that a listing tells the progress."""
        blob = self.runs.get_blob_client(_batch_name(run_id, manifest["number"]))
        body = json.dumps(manifest).encode()
        metadata = {"status": manifest["status"], "group": str(manifest["group"])}
        if keep_final:
            try:
                blob.upload_blob(body, overwrite=False, metadata=metadata)
                return
            except ResourceExistsError:
                previous, _ = read_json(self.runs, _batch_name(run_id, manifest["number"]))
                if previous is not None and previous.get("status") in FINAL | {"sending"}:
                    return  # planned again after a crash: what was sent stays as it was
        blob.upload_blob(body, overwrite=True, metadata=metadata, lease=held)

    # ---- the coordinator (one logical loop per run, on the coordination queue) -------------------------

    def coordinate(self, run_id: str, attempt: int = 0, phase: str = "sending") -> str:
        """Moves a run on: the next group, then finalising, then the provisioning logs. Safe to repeat."""
        record = self.store.load_record(run_id)
        if phase == "results":
            return self._collect_results(record, attempt)
        if record.status != "sending":
            return f"run is {record.status}"
        progress = self._progress(run_id)
        groups = self._groups(run_id)
        for group, numbers in enumerate(groups):
            if all(progress.get(n) in FINAL for n in numbers):
                continue
            if group > 0:
                self._enqueue_group(run_id, group)
            self._coordinate_later(run_id, attempt + 1)
            return f"waiting for group {group}"
        self._finalise(record)
        return "finalised"

    def _progress(self, run_id: str) -> dict[int, str]:
        prefix = f"{run_id}/batches/"
        return {
            int(item.name[len(prefix) : -len(".json")]): (item.metadata or {}).get("status", "pending")
            for item in self.runs.list_blobs(name_starts_with=prefix, include=["metadata"])
        }

    def _groups(self, run_id: str) -> list[list[int]]:
        body = self.runs.download_blob(f"{run_id}/plan.json").readall()
        groups: list[list[int]] = json.loads(body)["groups"]
        return groups

    def _enqueue_group(self, run_id: str, group: int) -> None:
        """Enqueues a group's messages once (a marker records it; a crash in between only duplicates
        messages, which the manifests make harmless)."""
        marker = f"{run_id}/markers/group-{group:04d}"
        if self.runs.get_blob_client(marker).exists():
            return
        for number in self._groups(run_id)[group]:
            self.uploads.send_message(json.dumps({"runId": run_id, "batch": number}))
        create_marker(self.runs, marker)

    def _coordinate_later(self, run_id: str, attempt: int, phase: str = "sending", delay: float | None = None) -> None:
        if delay is None:
            delay = min(self.settings.hr_coordinate_seconds * 2 ** min(attempt, 10), COORDINATE_MAX_SECONDS)
        self.coordination.send_message(
            json.dumps({"runId": run_id, "attempt": attempt, "phase": phase}), visibility_timeout=round(delay)
        )

    def _finalise(self, record: RunRecord) -> None:
        if not create_marker(self.runs, f"{record.runId}/markers/finalised"):
            return
        accepted: list[tuple[str, str, bool]] = []
        batches = []
        for number in sorted(self._progress(record.runId)):
            manifest, _ = read_json(self.runs, _batch_name(record.runId, number))
            if manifest is None:
                continue
            batches.append(
                BatchRecord(
                    number=number,
                    externalIds=manifest["externalIds"],
                    status=manifest["status"] if manifest["status"] in FINAL else "failed",
                    httpStatus=manifest.get("httpStatus"),
                    attempts=manifest.get("attempts", 0),
                    seconds=manifest.get("seconds", 0.0),
                    errorCode=manifest.get("errorCode", ""),
                    error=manifest.get("error", ""),
                )
            )
            if manifest["status"] == "accepted":
                accepted.extend(
                    zip(manifest["externalIds"], manifest["fingerprints"], manifest["actives"], strict=True)
                )
        record.batches = batches
        counts = record.counts
        counts.sent = sum(len(b.externalIds) for b in batches)
        counts.accepted = sum(len(b.externalIds) for b in batches if b.status == "accepted")
        counts.failed = counts.sent - counts.accepted
        if record.sourceKey is not None:
            update_json(
                self.state,
                _state_name(record.sourceKey),
                lambda data: remember_accepted(
                    SourceState.from_json(data), accepted, rows=None if record.partialSource else counts.rows
                ).as_json(),
                attempts=50,
            )
        failed = [b for b in batches if b.status == "failed"]
        self._finish(record, "sent", f"{len(failed)} of {len(batches)} requests failed" if failed else "")
        self._coordinate_later(record.runId, 0, "results", delay=self.settings.entra_log_first_poll_seconds)

    def _collect_results(self, record: RunRecord, attempt: int) -> str:
        if record.status not in ("sent", "completed"):
            return f"run is {record.status}"
        created = datetime.fromisoformat(record.createdAt.replace("Z", "+00:00"))
        since = created - LOG_CLOCK_MARGIN
        collector = LogCollector(record.sent_external_ids(), since=since)
        client = self.services.graph()
        for page in client.provisioning_logs(provisioning_log_params(client.endpoint.job_id, since=since)):
            collector.add(page)
        results = collector.results()
        record.results = results.as_json()
        delays = poll_delays(
            first=self.settings.entra_log_first_poll_seconds, limit=self.settings.entra_log_wait_seconds
        )
        waited_long_enough = datetime.now(UTC) - created > timedelta(seconds=self.settings.entra_log_wait_seconds)
        if results.complete or attempt >= len(delays) or waited_long_enough:
            failed = results.failed()
            if failed and record.sourceKey is not None:
                update_json(
                    self.state,
                    _state_name(record.sourceKey),
                    lambda data: forget(SourceState.from_json(data), failed).as_json(),
                    attempts=50,
                )
            message = (
                "" if results.complete else f"{len(results.pending)} records still pending in the provisioning logs"
            )
            self._finish(record, "completed" if results.complete else "sent", message)
            return "results complete" if results.complete else "results still pending; stopped waiting"
        record.message = f"{len(results.pending)} records still pending in the provisioning logs"
        self.store.save_record(record)
        self._coordinate_later(record.runId, attempt + 1, "results", delay=delays[attempt])
        return "results pending"

    # ---- reading ---------------------------------------------------------------------------------------

    def view(self, run_id: str) -> RunRecord:
        """The run record, with each request's live status while it is being sent."""
        record = self.store.load_record(run_id)
        if record.status == "sending":
            progress = self._progress(run_id)
            for batch in record.batches:
                status = progress.get(batch.number, "pending")
                batch.status = status if status in FINAL else "pending"  # type: ignore[assignment]
        return record

    def _existing(self, run_id: str) -> RunRecord | None:
        try:
            return self.store.load_record(run_id)
        except RunNotFound:
            return None

    def _approved_runs(self) -> set[str]:
        return {r.strip() for r in self.settings.safety_approved_runs.split(",") if r.strip()}

    def _finish(self, record: RunRecord, status: str, message: str) -> RunRecord:
        record.status = status  # type: ignore[assignment]
        record.message = message
        record.finishedAt = utc_now() if status not in ("sending", "planning") else None
        self.store.save_record(record)
        log.info("run %s: %s %s", record.runId, status, message)
        return record


def blob_run_id(path: str, etag: str, last_modified: datetime | None) -> str:
    """The same blob (name and ETag) always gives the same run id: redeliveries start one run, not two."""
    import hashlib

    digest = hashlib.sha256(f"{path}\n{etag}".encode()).hexdigest()[:8]
    moment = (last_modified or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{moment}-{digest}"


__all__ = ["BatchBusy", "Fanout", "blob_run_id"]
