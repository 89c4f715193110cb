"""The one run engine: plan, hold checks, send, finalise, results, approve, retry and resume.

Every door drives this class; what differs between them is injected: the state backend (a local folder
or blob storage), the sender (threads in this process, or the queue fan-out) and where lines of progress
go. Each step may run twice (queues and Event Grid redeliver, processes die): the manifests make sure an
accepted request is never sent again, markers make sure a run is finalised once, and the feed state is
updated without losing a concurrent update.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from provisioning.core.errors import ProfileError, ProvisioningError, SourceError
from provisioning.core.mapping.profile import Profile
from provisioning.core.plan.bulk import BulkRequest, request_body
from provisioning.core.plan.delta import (
    DeltaFilter,
    SourceState,
    forget,
    remember_accepted,
    safety_check,
    stale_approval,
    with_next_change,
)
from provisioning.core.plan.pipeline import Plan, Reject, plan_run
from provisioning.core.plan.reports import RejectsCsv, describe_lifecycle, describe_reject
from provisioning.core.read.records import RecordSource
from provisioning.core.results.log_query import MAX_TOP, poll_delays, provisioning_log_params
from provisioning.core.results.log_summary import LogCollector, RunResults
from provisioning.core.runs import (
    ENDED,
    Approval,
    Manifest,
    RunPlan,
    RunRecord,
    RunStatus,
    Trigger,
    new_run_id,
    utc_now,
)
from provisioning.core.schema.sync import SchemaSyncError, plan_schema_sync
from provisioning.engine.config import RunConfig
from provisioning.engine.sending import end_unsent
from provisioning.entra.graph_client import GraphError
from provisioning.settings import SettingsError
from provisioning.state.interface import RunNotFound, StateStore

if TYPE_CHECKING:
    from provisioning.entra.graph_client import GraphClient

log = logging.getLogger("provisioning.workflow")

NO_STATUS = "without a status"
"""The held state of a job resource with no ``status`` or no ``status.code``."""
HELD_JOB_STATUSES: dict[str, str] = {
    "NotConfigured": "is NotConfigured: its provisioning is not set up yet, so uploads would be accepted and not "
    "processed (nothing in the provisioning logs). Finish its setup on the provisioning app's Provisioning page first",
    "NotRun": "is NotRun: provisioning was never started, so uploads would be accepted and not processed (nothing "
    "in the provisioning logs)",
    "Paused": "is Paused: uploads would be accepted and not processed while it is paused (nothing in the "
    "provisioning logs)",
    "Quarantine": "is in Quarantine: the provisioning service retries a quarantined job at reduced frequency (down "
    "to once a day), so uploads would be processed late or not at all. Fix what its status.quarantine names first",
    "schedule Disabled": "has its schedule Disabled (schedule.state), so it does not run: uploads would be accepted "
    "and not processed",
    "schedule Paused": "has its schedule Paused (schedule.state), so it does not run: uploads would be accepted and "
    "not processed",
    NO_STATUS: "comes without a status (no status.code), so whether it would process uploads cannot be told. "
    "Check it in the Entra admin center",
}
"""What holds a run, and what it means: a job's status.code, its schedule.state, or a missing status."""
JOB_UNREADABLE = "job state unknown: grant Synchronization.Read.All to check it"
"""The run's warning when the token may not read the job (403): the run goes on, unchecked."""
LISTED_REJECTS = 10
LOG_CLOCK_MARGIN = timedelta(seconds=5)
"""Logs are read from a little before the run started, in case the two clocks disagree a little; not
more, or the entries of an earlier run of the same workers would be taken for this run's."""


class Sender(Protocol):
    """How a run's stored requests go out: in this process (threads) or through the queues."""

    def release(self, workflow: Workflow, record: RunRecord, plan: RunPlan) -> RunRecord:
        """Starts (or goes on) sending; the threads strategy returns once the run is finalised."""
        ...

    def results(self, workflow: Workflow, record: RunRecord) -> RunRecord:
        """After finalising: reads the provisioning logs now (threads) or schedules it (queue)."""
        ...


class ProfileSource(Protocol):
    def load(self, name: str) -> Profile: ...


@dataclass
class StartRequest:
    """What a door asks the engine to run."""

    source: RecordSource
    profile: str
    """A profile name (or, for the CLI, a path): loaded again to approve or retry the run."""
    trigger: Trigger
    feed: str
    """Delta state and safety checks are kept per feed."""
    run_id: str | None = None
    """A door that must start one run for one input, however often it is delivered, names it."""
    dry_run: bool = False
    full_sync: bool | None = None
    """None: RunConfig.full_sync."""
    partial: bool = False
    """The source holds only what changed (an HR system's own delta): no shrink check."""
    approved_by: Approval | None = None


class Workflow:
    def __init__(
        self,
        state: StateStore,
        *,
        graph: Callable[[], GraphClient],
        profiles: ProfileSource,
        sender: Sender,
        config: RunConfig,
        echo: Callable[[str], None] | None = None,
        progress: Callable[[int], None] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.state = state
        self.graph = graph
        self.profiles = profiles
        self.clock = clock
        """What "today" is for a profile's lifecycle dates (tests move it instead of waiting for the day)."""
        self.sender = sender
        self.config = config
        self._echo = echo or (lambda line: log.info("%s", line))
        self._progress = progress

    # ---- a run from a source ---------------------------------------------------------------------

    def start(self, request: StartRequest) -> RunRecord:
        """Plans a run and lets it go unless something holds it; the same ``run_id`` twice is one run."""
        run_id = request.run_id or new_run_id()
        existing = self._existing(run_id)
        if existing is not None:
            if existing.status == "held" and run_id in self.config.approved_runs:
                return self.approve(run_id, by="setting")  # delivered again after the setting was added
            if existing.status != "planning":
                log.info("run %s already exists (%s): nothing to do", run_id, existing.status)
                return existing
        record = RunRecord(
            runId=run_id,
            trigger=request.trigger,
            source=request.source.name,
            profile=request.profile,
            status="planning",
            dryRun=request.dry_run,
            sourceKey=request.feed,
            approvedBy=request.approved_by,
            partialSource=request.partial,
        )
        self.state.save_record(record)
        try:
            profile = self.profiles.load(request.profile)
        except ProfileError as exc:
            return self._end(record, "failed", str(exc))
        feed = self.state.load_feed(request.feed)
        history = feed
        if not (feed.records or feed.rows) and request.feed != profile_feed(profile.name):
            # A feed with no history yet (a new folder, a new source name) is weighed against the profile's
            # last run, so that renaming a feed is no way around the safety stop.
            history = self.state.load_feed(profile_feed(profile.name))
        full_sync = self.config.full_sync if request.full_sync is None else request.full_sync
        delta = DeltaFilter(feed, full_sync=full_sync, history=history)
        # Only a whole source can tell who vanished from it.
        known_active = None if request.partial else [i for i, (_, active) in feed.records.items() if active]
        try:
            plan = self._plan(record, request.source, profile, delta, known_active)
        except SourceError as exc:
            self._end(record, "failed", str(exc))
            raise
        except BaseException:  # Ctrl-C or a crash while reading: nothing was sent
            self._end(record, "failed", "interrupted while reading the source: nothing was sent; run it again")
            raise
        groups = self._store_requests(record, plan)
        run_plan = RunPlan(groups=groups, sourceKey=request.feed, rows=plan.summary.rows)
        self.state.save_plan(run_id, run_plan)
        verdict = safety_check(
            history,
            rows_now=history.rows if request.partial else plan.summary.rows,
            disables=delta.disables,
            max_disable_share=self.config.max_disable_share,
            max_shrink_share=self.config.max_shrink_share,
        )
        if record.approvedBy is None and run_id in self.config.approved_runs:
            record.approvedBy = "setting"
        if request.dry_run:
            self._sync_schema(record, profile, dry_run=True)
            held = f"; it would be held by the safety stop: {verdict.message}" if verdict.held else ""
            return self._end(record, "dry-run", f"nothing was sent (dry run){held}")
        if verdict.held and record.approvedBy is None:
            return self._end(
                record,
                "held",
                f"held by the safety stop: {verdict.message}. Nothing was sent. Approve it with "
                f"`python -m provisioning approve {run_id}`, POST /api/runs/{run_id}/approve, or by adding "
                f"{run_id} to SAFETY_APPROVED_RUNS (a dropped file: drop it again with the blob metadata "
                "approved=true).",
            )
        return self._release(record, profile, run_plan)

    def _plan(
        self,
        record: RunRecord,
        source: RecordSource,
        profile: Profile,
        delta: DeltaFilter,
        known_active: list[str] | None,
    ) -> Plan:
        listed: list[Reject] = []
        with self.state.rejects_writer(record.runId) as stream:
            write = RejectsCsv(stream)

            def on_reject(reject: Reject) -> None:
                write(reject)
                if len(listed) < LISTED_REJECTS:
                    listed.append(reject)

            plan = plan_run(
                source,
                profile,
                on_reject=on_reject,
                changed=delta,
                batch_size=self.config.batch_size,
                progress=self._progress,
                now=self.clock(),
                known_active=known_active,
            )
        finish_progress = getattr(self._progress, "done", None)
        if finish_progress is not None:
            finish_progress()  # end the progress line before the report
        summary = plan.summary
        record.summary = summary.as_json()
        counts = record.counts
        counts.rows, counts.operations = summary.rows, summary.operations
        counts.rejected, counts.unchanged = summary.rejected, summary.unchanged
        unchanged = f", {summary.unchanged} unchanged" if summary.unchanged else ""
        self._echo(
            f"run {record.runId}: {summary.rows} rows -> {summary.operations} operations in "
            f"{summary.requests} requests, {summary.rejected} rejected{unchanged}"
        )
        if summary.lifecycle:
            self._echo("  " + describe_lifecycle(summary.lifecycle))
        for reject in listed:
            self._echo("  rejected " + describe_reject(reject, source.line_label))
        if summary.rejected > len(listed):
            self._echo(f"  ... and {summary.rejected - len(listed)} more: see rejects.csv of the run")
        return plan

    def _store_requests(self, record: RunRecord, plan: Plan | Iterator[BulkRequest]) -> list[list[int]]:
        """Stores each request and its manifest; returns the groups (a group waits for the one before)."""
        requests = plan.requests() if isinstance(plan, Plan) else plan
        groups: list[list[int]] = []
        group_floor = -1  # the lowest first level in the current group
        record.batches = []
        for request in requests:
            if not groups or request.last_level > group_floor:
                groups.append([])
                group_floor = request.first_level
            group_floor = min(group_floor, request.first_level)
            groups[-1].append(request.number)
            self.state.save_request(record.runId, request.number, request.body)
            operations = orjson.loads(request.body)["Operations"]
            manifest = self.state.create_manifest(
                record.runId,
                Manifest(
                    number=request.number,
                    group=len(groups) - 1,
                    externalIds=request.external_ids,
                    fingerprints=[op["bulkId"] for op in operations],
                    actives=[bool(op["data"].get("active")) for op in operations],
                ),
            )
            record.batches.append(manifest.batch())
        self.state.save_record(record)
        return groups

    # ---- letting a planned run go ----------------------------------------------------------------

    def _release(self, record: RunRecord, profile: Profile, plan: RunPlan) -> RunRecord:
        if not record.batches:
            self._remember(record, [])  # still the feed's latest run: an older held run must not overtake it
            return self._end(record, "completed", "nothing to send: every record is unchanged or rejected")
        try:
            client = self.graph()
            record.endpoint = _endpoint_of(client)
            try:
                job: dict[str, Any] | None = client.job()
            except GraphError as exc:
                if exc.status != 403:  # only a missing permission lets the run go on unchecked
                    raise
                job = None
        except ProvisioningError as exc:  # settings, Graph, credentials
            return self._end(record, "failed", f"cannot read the provisioning job: {exc}")
        held = None
        if job is None:
            self._warn(record, JOB_UNREADABLE)
        else:
            record.jobStatus, held = job_hold(job)
        if held is not None:
            start = f"{client.endpoint.job_url}/start"
            if not self.config.ignore_job_status:
                return self._end(record, "held", job_held_message(held, start_url=start))
            self._warn(record, f"the provisioning job {HELD_JOB_STATUSES[held]}; sent anyway (ENTRA_IGNORE_JOB_STATUS)")
        # After the hold check: a held run changes nothing in the job, its schema included.
        if not self._sync_schema(record, profile, dry_run=False):
            return record
        record.status, record.message, record.finishedAt = "sending", "", None
        self.state.save_record(record)
        return self.sender.release(self, record, plan)

    def _warn(self, record: RunRecord, warning: str) -> None:
        """Something the run could not check or was told to overlook: on the record (once) and echoed."""
        if warning not in record.warnings:
            record.warnings.append(warning)
        self._echo(f"warning: {warning}")

    def _sync_schema(self, record: RunRecord, profile: Profile, *, dry_run: bool) -> bool:
        """Adds the profile's custom attributes to the job schema; False when the run must stop.

        In a dry run a schema error is recorded, not fatal: a dry run's point is to show what would fail.
        """
        try:
            record.schemaSync, diff = sync_job_schema(self.graph(), profile, dry_run=dry_run)
        except (SchemaSyncError, SettingsError, ProvisioningError) as exc:
            if dry_run:
                record.schemaSync = {"error": str(exc)}
                self._echo(f"schema: {exc}")
                return True
            self._end(record, "failed", f"schema sync: {exc}")
            return False
        if record.schemaSync is not None:
            written = record.schemaSync["written"]
            self._echo("schema: " + ("updated" if written else "dry run" if diff else "no change needed"))
            for line in diff:
                self._echo("  " + line)
        return True

    def approve(self, run_id: str, by: Approval, *, principal: str | None = None) -> RunRecord:
        """Lets a held run go (its requests are already stored); ``principal``: who, when a sign-in says so."""
        record = self.state.load_record(run_id)
        if record.status != "held":
            raise ProvisioningError(f"run {run_id} is {record.status}, not held: there is nothing to approve")
        plan = self.state.load_plan(run_id)
        if plan is None:
            raise ProvisioningError(f"run {run_id} has no stored plan: it cannot be approved")
        if record.sourceKey is not None:
            stale = stale_approval(self.state.load_feed(record.sourceKey), run_id, record.createdAt)
            if stale:
                raise ProvisioningError(f"run {run_id} cannot be approved: {stale}")
        record.approvedBy = by
        record.approvedByPrincipal = principal
        try:
            profile = self.profiles.load(record.profile)
        except ProfileError as exc:
            return self._end(record, "failed", str(exc))
        return self._release(record, profile, plan)

    # ---- sending, then finalising -----------------------------------------------------------------

    def finalise(self, run_id: str) -> RunRecord:
        """Folds the answered requests into the run record and the feed state, once; then the results."""
        record = self.state.load_record(run_id)
        if not self.state.mark_once(run_id, "finalised") and record.status != "sending":
            return record  # finalised already; a run still "sending" was stopped mid-way: finalise it again
        manifests = self.state.manifests(run_id)
        for manifest in manifests:
            if not manifest.final:  # every request is answered by now; one that is not was lost: say so
                manifest.fail("NotAnswered", "the request was never answered (the sender stopped)")
                self.state.save_manifest(run_id, manifest)
        record.batches = [m.batch() for m in manifests]
        counts = record.counts
        counts.sent = sum(len(m.externalIds) for m in manifests if m.sends)
        counts.accepted = sum(len(m.externalIds) for m in manifests if m.status == "accepted")
        counts.failed = sum(len(m.externalIds) for m in manifests if m.status == "failed")
        # A request sent again after a kill (sends > 1) or after a try that got no answer (status 0): both may
        # have reached Graph twice, with the same bulkIds.
        counts.resent = sum(1 for m in manifests if m.sends > 1 or 0 in m.retriedStatuses)
        counts.calls = sum(m.attempts for m in manifests)
        counts.callsToday = self.state.add_calls(usage_day(), counts.calls)
        accepted = [
            triple
            for m in manifests
            if m.status == "accepted"
            for triple in zip(m.externalIds, m.fingerprints, m.actives, strict=True)
        ]
        self._remember(record, accepted)
        record.message = _failed_requests_message(record)
        # Failed requests end the run as failed now (whether or not the logs are read for the rest).
        record.status = "failed" if record.message else "sent"
        record.finishedAt = utc_now() if record.message else None
        self.state.save_record(record)
        self._echo(
            f"sent {counts.sent} operations in {len(manifests)} requests: "
            f"{counts.accepted} accepted, {counts.failed} in failed requests"
        )
        return self.sender.results(self, record)

    # ---- results from the provisioning logs -------------------------------------------------------

    def _remember(self, record: RunRecord, accepted: list[tuple[str, str, bool]]) -> None:
        """The run's accepted records, its source's size and itself as the latest run, in its feed and in its
        profile's (the history every feed of the profile is weighed against)."""
        if record.sourceKey is None:
            return
        rows = None if record.partialSource else record.counts.rows
        run = (record.runId, record.createdAt)
        lifecycle = record.summary.get("lifecycle") or {}

        def remember(feed: SourceState) -> SourceState:
            feed = remember_accepted(feed, accepted, rows=rows, run=run)
            if not lifecycle:
                return feed
            return with_next_change(feed, lifecycle.get("nextChange"), whole_source=not record.partialSource)

        for key in sorted({record.sourceKey, profile_feed(record.summary.get("profile") or record.profile)}):
            self.state.update_feed(key, remember)

    def poll_delays(self) -> list[float]:
        return poll_delays(first=self.config.log_first_poll, limit=self.config.log_wait)

    def poll_results(self, run_id: str, *, final: bool) -> tuple[RunRecord, bool]:
        """Reads the logs once, merges what they say into the run (never making a result worse), and ends
        the run when every sent record has an entry or ``final`` says the waiting is over."""
        record = self.state.load_record(run_id)
        if record.status not in ("sent", "completed", "failed") or not record.sent_external_ids():
            return record, True
        results = self._read_results(record)
        if results is None:
            if final:
                # The logs could not be read before the wait ended: what was recorded stands, and a record
                # never read is pending, never taken for complete.
                known = RunResults.from_json(record.results) if record.results else None
                unread = RunResults(outcomes={}, pending=record.sent_external_ids(), counts={}, unrelated=0)
                return self._end_results(record, known or unread), True
            return record, False
        record.results = results.as_json()
        waited = datetime.now(UTC) - _created(record) > timedelta(seconds=self.config.log_wait)
        if results.complete or final or waited:
            return self._end_results(record, results), True
        record.message = f"{len(results.pending)} records still pending in the provisioning logs"
        self.state.save_record(record)
        return record, False

    def refresh_results(self, run_id: str) -> RunRecord:
        """One more look at the logs for a run that may be over (``logs --run``): only ever an improvement."""
        record, _ = self.poll_results(run_id, final=False)
        return record

    def _read_results(self, record: RunRecord) -> RunResults | None:
        """One poll: only the entries newer than the last poll's (its cursor), on top of what was recorded."""
        start = _created(record) - LOG_CLOCK_MARGIN
        previous = RunResults.from_json(record.results) if record.results else None
        collector = LogCollector(record.sent_external_ids(), since=start, previous=previous)
        since = previous.cursor.since(start) if previous and previous.cursor else start
        try:
            client = self.graph()
            params = provisioning_log_params(client.endpoint.job_id, since=since, top=MAX_TOP)
            for page in client.provisioning_logs(params):
                collector.add(page)
        except ProvisioningError as exc:
            self._echo(f"cannot read the provisioning logs yet: {exc}")
            return None
        return collector.results()

    def _end_results(self, record: RunRecord, results: RunResults) -> RunRecord:
        # A failed record, and one whose manager Entra could not resolve yet (it resolves only when the user is
        # sent again), go again next run even if unchanged. Forgetting twice is harmless.
        again = [*results.failed(), *results.manager_unresolved()]
        if again and record.sourceKey is not None:
            for key in sorted({record.sourceKey, profile_feed(record.summary.get("profile") or record.profile)}):
                self.state.update_feed(key, lambda feed: forget(feed, again))
        failed_requests = _failed_requests_message(record)
        if failed_requests:
            return self._end(record, "failed", failed_requests)
        if results.complete:
            return self._end(record, "completed", _unresolved_message(results))
        if record.status == "completed":
            return record  # an earlier look saw everything: a later, partial look changes nothing
        return self._end(
            record,
            "sent",
            f"{len(results.pending)} records still pending in the provisioning logs; "
            f"`python -m provisioning logs --run {record.runId}` reads them later",
        )

    # ---- retry and resume -------------------------------------------------------------------------

    def retry(self, run_id: str, *, principal: str | None = None) -> RunRecord:
        """Sends again, as a new run, the records of ``run_id`` that failed (from its stored requests)."""
        original = self.state.load_record(run_id)
        if original.status not in ENDED and original.status != "sent":
            hint = "approve it" if original.status == "held" else "resume it"
            raise ProvisioningError(f"run {run_id} is {original.status}: {hint} instead of retrying it")
        wanted = set(original.failed_external_ids())
        retry = RunRecord(
            runId=new_run_id(),
            trigger="retry",
            source=original.source,
            profile=original.profile,
            retryOf=run_id,
            status="planning",
            sourceKey=original.sourceKey,
            partialSource=True,  # a retry holds a few records: it says nothing of the feed's size
            requestedBy=principal,
        )
        if not wanted:
            return self._end(retry, "completed", f"run {run_id} has no failed records")
        self.state.save_record(retry)
        requests = self._requests_for(original, wanted)
        groups = self._store_requests(retry, requests)
        retry.counts.operations = sum(len(b.externalIds) for b in retry.batches)
        plan = RunPlan(groups=groups, sourceKey=original.sourceKey)
        self.state.save_plan(retry.runId, plan)
        self._echo(f"run {retry.runId}: retrying {retry.counts.operations} records of run {run_id}")
        try:
            profile = self.profiles.load(original.profile)
        except ProfileError as exc:
            return self._end(retry, "failed", str(exc))
        return self._release(retry, profile, plan)

    def _requests_for(self, original: RunRecord, wanted: set[str]) -> Iterator[BulkRequest]:
        """The stored operations of ``wanted`` records, in their original order, in new requests that never
        mix two of the original groups (so managers still go first)."""
        plan = self.state.load_plan(original.runId)
        group_of = {n: g for g, numbers in enumerate(plan.groups) for n in numbers} if plan else {}
        chunk: list[tuple[bytes, str]] = []
        chunk_group = 0
        number = 0
        for batch in original.batches:
            if not wanted.intersection(batch.externalIds):
                continue
            group = group_of.get(batch.number, batch.number)
            if chunk and (group != chunk_group or len(chunk) == self.config.batch_size):
                number += 1
                yield _request(number, chunk, chunk_group)
                chunk = []
            chunk_group = group
            for op in orjson.loads(self.state.load_request(original.runId, batch.number))["Operations"]:
                if op["data"].get("externalId") in wanted:
                    if len(chunk) == self.config.batch_size:
                        number += 1
                        yield _request(number, chunk, chunk_group)
                        chunk = []
                    chunk.append((orjson.dumps(op), op["data"]["externalId"]))
        if chunk:
            yield _request(number + 1, chunk, chunk_group)

    def resume(self, run_id: str) -> RunRecord:
        """Goes on with a run that stopped (Ctrl-C, a kill, a crash): nothing accepted is sent again."""
        record = self.state.load_record(run_id)
        if record.status == "sending":
            plan = self.state.load_plan(run_id)
            if plan is None:
                return self._end(record, "failed", "the run's plan is missing: nothing more can be sent")
            self._echo(f"run {run_id}: resuming")
            return self.sender.release(self, record, plan)
        if record.status == "sent":
            return self.sender.results(self, record)
        if record.status == "planning":
            return self._end(record, "failed", "interrupted while reading the source: nothing was sent; run it again")
        if record.status == "held":
            raise ProvisioningError(f"run {run_id} is held: {record.message}")
        hint = ": retry-failed sends its failed records again" if record.status == "failed" else ""
        raise ProvisioningError(f"run {run_id} is {record.status}: there is nothing to resume{hint}")

    # ---- nothing stays stuck ---------------------------------------------------------------------------

    def abandon(self, run_id: str, reason: str) -> RunRecord:
        """Ends a run that cannot go on (its coordinator failed every delivery, it made no progress after
        being resumed): what was not answered ends as failed with ``reason``, the rest is kept."""
        record = self.state.load_record(run_id)
        if record.status == "planning":
            return self._end(record, "failed", f"{reason}; nothing was sent")
        if record.status != "sending":
            return record
        unanswered = [m.number for m in self.state.manifests(run_id) if not m.final]
        end_unsent(self.state, run_id, unanswered, "NotSent", f"not sent: {reason}")
        record = self.finalise(run_id)
        if record.status in ("failed", "sent") and reason not in record.message:
            record.message = f"{reason}. {record.message}".strip()
            self.state.save_record(record)
        return record

    def sweep(self, *, stuck_after: timedelta, resumes: int = 2, limit: int = 200) -> list[str]:
        """The periodic check: runs that made no progress for ``stuck_after`` are resumed (at most
        ``resumes`` times), then ended with the reason; runs waiting for logs past the wait are ended.
        Returns a line per run it touched."""
        now = datetime.now(UTC)
        touched = []
        for record in self.state.list_runs(limit):
            started = _created(record)
            if now - started < stuck_after:
                continue
            if record.status == "planning":
                self.abandon(record.runId, f"planning stopped (no progress for {_minutes(stuck_after)})")
                touched.append(f"{record.runId}: planning never finished: failed")
            elif record.status == "sending":
                last = max([_parse(m.updatedAt) for m in self.state.manifests(record.runId)] + [started])
                if now - last < stuck_after:
                    continue
                if record.sweeps < resumes:
                    record.sweeps += 1
                    record.message = f"resumed by the periodic check: no progress for {_minutes(now - last)}"
                    self.state.save_record(record)
                    plan = self.state.load_plan(record.runId)
                    if plan is not None:
                        self.sender.release(self, record, plan)
                        touched.append(f"{record.runId}: resumed ({record.sweeps} of {resumes})")
                        continue
                self.abandon(record.runId, f"no progress for {_minutes(now - last)} after {record.sweeps} resumes")
                touched.append(f"{record.runId}: ended")
            elif record.status == "sent" and now - started > stuck_after + timedelta(seconds=self.config.log_wait):
                self.poll_results(record.runId, final=True)
                touched.append(f"{record.runId}: stopped waiting for the logs")
        return touched

    # ---- reading ------------------------------------------------------------------------------------

    def view(self, run_id: str) -> RunRecord:
        """The run record, with each request's live status while it is being sent."""
        record = self.state.load_record(run_id)
        if record.status == "sending":
            statuses = self.state.statuses(run_id)
            for batch in record.batches:
                status = statuses.get(batch.number, "pending")
                batch.status = status if status in ("accepted", "failed") else "pending"
        return record

    def _existing(self, run_id: str) -> RunRecord | None:
        try:
            return self.state.load_record(run_id)
        except RunNotFound:
            return None

    def _end(self, record: RunRecord, status: RunStatus, message: str) -> RunRecord:
        record.status = status
        record.message = message
        record.finishedAt = utc_now() if status not in ("sending", "planning") else None
        self.state.save_record(record)
        log.info("run %s: %s %s", record.runId, status, message)
        return record


def usage_day(moment: datetime | None = None) -> str:
    """The UTC day a bulkUpload call counts against (the tenant's quota is per 24 hours)."""
    return (moment or datetime.now(UTC)).strftime("%Y-%m-%d")


def profile_feed(profile_name: str) -> str:
    """The feed of every run of a profile: the default feed, and the history a new feed is weighed against."""
    return f"profile:{profile_name}"


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


def job_hold(job: dict[str, Any]) -> tuple[str, str | None]:
    """The job resource's ``status.code`` (``Unknown`` when it has none) and what in it holds a run (a key of
    ``HELD_JOB_STATUSES``), or None when the job processes uploads."""
    status = job.get("status")
    code = status.get("code") if isinstance(status, dict) else None
    if not code:
        return "Unknown", NO_STATUS
    if str(code) in HELD_JOB_STATUSES:
        return str(code), str(code)
    schedule = job.get("schedule")
    state = f"schedule {schedule.get('state')}" if isinstance(schedule, dict) else ""
    return str(code), state if state in HELD_JOB_STATUSES else None


def job_held_message(held: str, *, start_url: str = ".../synchronization/jobs/{jobId}/start") -> str:
    """Why a run is held by the job's state, and what to do about it."""
    meaning = HELD_JOB_STATUSES.get(held, f"is {held}")
    return (
        f"the provisioning job {meaning}. Nothing was sent. Start provisioning in the Entra admin center "
        f"(the provisioning app's Overview) or POST {start_url}, then run again; or set ENTRA_IGNORE_JOB_STATUS "
        "(--ignore-job-status) to send anyway."
    )


def _unresolved_message(results: RunResults) -> str:
    unresolved = results.manager_unresolved()
    if not unresolved:
        return ""
    shown = ", ".join(unresolved[:5]) + (f" and {len(unresolved) - 5} more" if len(unresolved) > 5 else "")
    return (
        f"{len(unresolved)} provisioned, manager not resolved ({shown}): the manager was not found in the job; "
        "they are sent again next run"
    )


def _failed_requests_message(record: RunRecord) -> str:
    failed = [b for b in record.batches if b.status != "accepted"]
    if not failed:
        return ""
    codes = sorted({b.errorCode or "unknown" for b in failed})
    records = sum(len(b.externalIds) for b in failed)
    return (
        f"{len(failed)} of {len(record.batches)} requests failed ({', '.join(codes)}: {failed[0].error}); "
        f"retry-failed sends their {records} records again"
    )


def _endpoint_of(client: GraphClient) -> dict[str, str]:
    endpoint = {
        "bulkUploadUrl": client.endpoint.bulk_upload_url,
        "graph": client.endpoint.base,
        "jobId": client.endpoint.job_id,
    }
    if client.embedded:
        endpoint["embedded"] = "the CLI's embedded Graph emulator, gone with the process that ran it"
    return endpoint


def _parse(moment: str | None) -> datetime:
    return datetime.fromisoformat(moment.replace("Z", "+00:00")) if moment else datetime.min.replace(tzinfo=UTC)


def _minutes(span: timedelta) -> str:
    return f"{span.total_seconds() / 60:.0f} minutes"


def _created(record: RunRecord) -> datetime:
    return datetime.fromisoformat(record.createdAt.replace("Z", "+00:00"))


def _request(number: int, chunk: list[tuple[bytes, str]], group: int) -> BulkRequest:
    # The original group stands in for the manager level: a new group waits for the one before it.
    return BulkRequest(number, request_body([op for op, _ in chunk]), [i for _, i in chunk], group, group)
