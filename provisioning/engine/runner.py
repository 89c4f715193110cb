"""A whole run: build the requests, sync the job schema, check the job, send, and read the outcomes back.

The runner is I/O orchestration only: every decision it takes is made by the pure modules (pipeline,
schema_sync, log_summary); Graph calls go through ``GraphClient`` and records through a ``RunStore``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson

from provisioning.core.errors import ProvisioningError, SourceError
from provisioning.core.mapping.profile import Profile
from provisioning.core.plan.bulk import MAX_OPERATIONS, BulkRequest, request_body
from provisioning.core.plan.pipeline import Plan, Reject, plan_run
from provisioning.core.plan.reports import RejectsCsv, describe_reject
from provisioning.core.read.records import RecordSource
from provisioning.core.results.log_query import poll_delays, provisioning_log_params
from provisioning.core.results.log_summary import LogCollector, RunResults
from provisioning.core.runs import BatchRecord, RunRecord, new_run_id, utc_now
from provisioning.core.schema.sync import SchemaSyncError, plan_schema_sync
from provisioning.entra.graph_client import BatchOutcome, GraphClient, GraphError
from provisioning.state.local import RunStore

HELD_JOB_STATUSES = frozenset({"Paused", "Quarantine"})
LISTED_REJECTS = 10
LOG_CLOCK_MARGIN = timedelta(seconds=5)
"""Logs are read from a little before the run started, in case the two clocks disagree a little; not
more, or the entries of an earlier run of the same workers would be taken for this run's."""


@dataclass
class RunOptions:
    dry_run: bool = False
    wait: bool = True
    concurrency: int = 4
    batch_size: int = MAX_OPERATIONS
    log_wait_seconds: float = 1800.0
    first_poll_seconds: float = 30.0
    ignore_job_status: bool = False
    overwrite_schema: bool = False
    trigger: str = "cli"


class Runner:
    def __init__(
        self,
        client: GraphClient,
        store: RunStore,
        *,
        sleep: Callable[[float], None] = time.sleep,
        echo: Callable[[str], None] = lambda line: None,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self.client = client
        self.store = store
        self._progress = progress
        self._sleep = sleep
        self._echo = echo

    # ---- a run from a source --------------------------------------------------------------------------

    def run(self, source: RecordSource, profile: Profile, options: RunOptions) -> RunRecord:
        record = RunRecord(
            runId=new_run_id(),
            trigger=options.trigger,  # type: ignore[arg-type]
            source=source.name,
            profile=profile.name,
            dryRun=options.dry_run,
            endpoint={"graph": self.client.endpoint.base, "jobId": self.client.endpoint.job_id},
        )
        try:
            plan = self._plan(record, source, profile, options)
        except SourceError as exc:
            self._finish(record, "failed", str(exc))
            raise
        try:
            if not self._sync_schema(record, profile, options) or not self._job_allows_sending(record, options):
                plan.close()
                return record
            requests = self._stored(record, plan.requests())
            if options.dry_run:
                for _ in requests:
                    pass
                self._finish(record, "dry-run", "nothing was sent (dry run)")
                return record
            self._send(record, requests, options)
        finally:
            plan.close()
        if options.wait and record.sent_external_ids():
            self.wait_for_results(record, options)
        return record

    def _plan(self, record: RunRecord, source: RecordSource, profile: Profile, options: RunOptions) -> Plan:
        listed: list[Reject] = []

        with self.store.rejects_writer(record.runId) as stream:
            write = RejectsCsv(stream)

            def on_reject(reject: Reject) -> None:
                write(reject)
                if len(listed) < LISTED_REJECTS:
                    listed.append(reject)

            plan = plan_run(
                source, profile, on_reject=on_reject, batch_size=options.batch_size, progress=self._progress
            )
        finish_progress = getattr(self._progress, "done", None)
        if finish_progress is not None:
            finish_progress()  # end the progress line before the report
        summary = plan.summary
        record.summary = summary.as_json()
        record.counts.rows, record.counts.operations = summary.rows, summary.operations
        record.counts.rejected = summary.rejected
        self.store.save_record(record)
        self._echo(
            f"run {record.runId}: {summary.rows} rows -> {summary.operations} operations in "
            f"{summary.requests} requests, {summary.rejected} rejected"
        )
        for reject in listed:
            self._echo("  rejected " + describe_reject(reject, source.line_label))
        if summary.rejected > len(listed):
            self._echo(f"  ... and {summary.rejected - len(listed)} more: see rejects.csv of the run")
        return plan

    def _sync_schema(self, record: RunRecord, profile: Profile, options: RunOptions) -> bool:
        """Adds the profile's custom attributes to the job schema; False when the run must stop."""
        try:
            record.schemaSync, diff = sync_job_schema(
                self.client, profile, dry_run=options.dry_run, overwrite=options.overwrite_schema
            )
        except (SchemaSyncError, GraphError) as exc:
            self._finish(record, "failed", f"schema sync: {exc}")
            return False
        if record.schemaSync is not None:
            written = record.schemaSync["written"]
            self._echo(
                "schema: " + ("updated" if written else "dry run" if diff and options.dry_run else "no change needed")
            )
            for line in diff:
                self._echo("  " + line)
        return True

    def _job_allows_sending(self, record: RunRecord, options: RunOptions) -> bool:
        try:
            record.jobStatus = self.client.job_status()
        except GraphError as exc:
            self._finish(record, "failed", f"cannot read the provisioning job: {exc}")
            return False
        if record.jobStatus in HELD_JOB_STATUSES and not options.ignore_job_status and not options.dry_run:
            self._finish(record, "held", job_held_message(record.jobStatus))
            return False
        return True

    def _stored(self, record: RunRecord, requests: Iterator[BulkRequest]) -> Iterator[BulkRequest]:
        for request in requests:
            self.store.save_request(record.runId, request.number, request.body)
            record.batches.append(BatchRecord(number=request.number, externalIds=request.external_ids))
            yield request

    def _send(self, record: RunRecord, requests: Iterator[BulkRequest], options: RunOptions) -> None:
        record.status = "sending"
        self.store.save_record(record)
        by_number: dict[int, BatchRecord] = {}

        answered = 0
        planned = record.summary.get("requests", 0)
        every = max(10, planned // 10)  # about ten progress lines for a long run, none for a short one

        def on_outcome(outcome: BatchOutcome) -> None:
            nonlocal answered
            batch = by_number.get(outcome.number) or next(b for b in record.batches if b.number == outcome.number)
            by_number[outcome.number] = batch
            _apply_outcome(batch, outcome)
            answered += 1
            if answered % every == 0 and answered < planned:
                self._echo(f"  {answered} of {planned} requests answered")
            if outcome.status == "failed":
                self._echo(
                    f"request {outcome.number} failed: {outcome.http_status} {outcome.error_code}: {outcome.error}"
                )

        self.client.upload_all(requests, concurrency=options.concurrency, on_outcome=on_outcome)
        _count_batches(record)
        failed = [b for b in record.batches if b.status == "failed"]
        message = f"{len(failed)} of {len(record.batches)} requests failed" if failed else ""
        self._finish(record, "sent", message)
        self._echo(
            f"sent {record.counts.sent} operations in {len(record.batches)} requests: "
            f"{record.counts.accepted} accepted, {record.counts.failed} in failed requests"
        )

    # ---- results from the provisioning logs -----------------------------------------------------------

    def wait_for_results(self, record: RunRecord, options: RunOptions) -> RunResults:
        """Polls the logs with backoff until every sent record has an entry or the wait limit passes."""
        since = datetime.fromisoformat(record.createdAt.replace("Z", "+00:00")) - LOG_CLOCK_MARGIN
        collector = LogCollector(record.sent_external_ids(), since=since)
        delays = [0.0, *poll_delays(first=options.first_poll_seconds, limit=options.log_wait_seconds)]
        results = collector.results()
        for delay in delays:
            if delay:
                self._echo(f"waiting {delay:.0f} s for the provisioning logs ({len(results.pending)} pending)")
                self._sleep(delay)
            params = provisioning_log_params(self.client.endpoint.job_id, since=since)
            try:
                for page in self.client.provisioning_logs(params):
                    collector.add(page)
            except GraphError as exc:
                record.message = f"cannot read the provisioning logs yet: {exc}"
                self._echo(record.message)
                continue
            results = collector.results()
            if results.complete:
                break
        record.results = results.as_json()
        if results.complete:
            self._finish(record, "completed", "")
        else:
            self._finish(record, "sent", f"{len(results.pending)} records still pending in the provisioning logs")
        return results

    # ---- retry-failed --------------------------------------------------------------------------------

    def retry_failed(self, run_id: str, options: RunOptions) -> RunRecord:
        """Sends again the records that failed in ``run_id``, from the run's own stored requests."""
        original = self.store.load_record(run_id)
        failed = {i for b in original.batches if b.status == "failed" for i in b.externalIds}
        failed |= set(RunResultsView(original.results).failed())
        retry = RunRecord(
            runId=new_run_id(),
            trigger="retry",
            source=original.source,
            profile=original.profile,
            retryOf=run_id,
            endpoint={"graph": self.client.endpoint.base, "jobId": self.client.endpoint.job_id},
        )
        if not failed:
            self._finish(retry, "completed", f"run {run_id} has no failed records")
            return retry
        requests = list(self._requests_for(original, failed, options.batch_size))
        retry.counts.operations = sum(len(r.external_ids) for r in requests)
        self.store.save_record(retry)
        if not self._job_allows_sending(retry, options):
            return retry
        self._send(retry, self._stored(retry, iter(requests)), options)
        if options.wait:
            self.wait_for_results(retry, options)
        return retry

    def _requests_for(self, original: RunRecord, wanted: set[str], batch_size: int) -> Iterator[BulkRequest]:
        """The stored operations of ``wanted`` records, in their original order, in new requests."""
        operations: list[tuple[int, bytes, str]] = []
        for batch in original.batches:
            if not wanted.intersection(batch.externalIds):
                continue
            body = orjson.loads(self.store.load_request(original.runId, batch.number))
            for op in body["Operations"]:
                if op["data"].get("externalId") in wanted:
                    operations.append((batch.number, orjson.dumps(op), op["data"]["externalId"]))
        for number, start in enumerate(range(0, len(operations), batch_size), start=1):
            chunk = operations[start : start + batch_size]
            # The original request numbers stand in for manager levels: earlier requests go first.
            yield BulkRequest(
                number, request_body([op for _, op, _ in chunk]), [i for _, _, i in chunk], chunk[0][0], chunk[-1][0]
            )

    def _finish(self, record: RunRecord, status: str, message: str) -> None:
        record.status = status  # type: ignore[assignment]
        record.message = message
        if status != "sending":
            record.finishedAt = utc_now()
        self.store.save_record(record)


def sync_job_schema(
    client: GraphClient, profile: Profile, *, dry_run: bool, overwrite: bool = False
) -> tuple[dict[str, Any] | None, list[str]]:
    """Schema sync for a run: the record's ``schemaSync`` entry and the readable diff (None, [] when the
    profile has no custom attribute with a target). Raises SchemaSyncError or GraphError."""
    if not any(a.target for e in profile.attributes.extensions for a in e.attributes.values()):
        return None, []
    schema_plan = plan_schema_sync(client.get_schema(), profile, job_id=client.endpoint.job_id, overwrite=overwrite)
    written = schema_plan.needs_put and not dry_run
    if written:
        client.put_schema(schema_plan.schema)
    changes = [change.diff_line() for change in schema_plan.changes]
    return {"changes": changes, "written": written}, schema_plan.diff_text().splitlines() if changes else []


def job_held_message(status: str) -> str:
    return (
        f"the provisioning job is {status}: uploads would be accepted and never processed. "
        "Start the job (or clear its quarantine) and run again."
    )


class RunResultsView:
    """Reads the stored results of a run (the JSON written by ``RunResults.as_json``)."""

    def __init__(self, results: dict[str, Any] | None) -> None:
        self._results = results or {}

    def failed(self) -> list[str]:
        return list(self._results.get("failed") or [])


def _apply_outcome(batch: BatchRecord, outcome: BatchOutcome) -> None:
    batch.status = outcome.status
    batch.httpStatus = outcome.http_status
    batch.attempts = outcome.attempts
    batch.seconds = outcome.seconds
    batch.errorCode = outcome.error_code
    batch.error = outcome.error


def _count_batches(record: RunRecord) -> None:
    counts = record.counts
    counts.sent = sum(len(b.externalIds) for b in record.batches if b.status != "pending")
    counts.accepted = sum(len(b.externalIds) for b in record.batches if b.status == "accepted")
    counts.failed = sum(len(b.externalIds) for b in record.batches if b.status == "failed")


__all__ = ["ProvisioningError", "RunOptions", "Runner"]
