"""Sending one stored request, the same way for every strategy, and the in-process strategy (threads).

``send_request`` claims the request's manifest, sends it unless it was already answered, and records
the answer under the claim. Pacing and retries are the Graph client's; the manager-level barrier is
the plan's groups: a group starts only when every request of the group before it was answered. The
queue strategy (``queue_sender``) calls the same function from the upload queue's trigger.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from provisioning.core.errors import ProvisioningError
from provisioning.core.plan.bulk import BulkRequest
from provisioning.core.runs import FINAL, BatchOutcome, RunPlan, RunRecord
from provisioning.state.interface import Claim, RunNotFound, StateStore

if TYPE_CHECKING:
    from provisioning.engine.workflow import Workflow
    from provisioning.entra.graph_client import GraphClient

log = logging.getLogger("provisioning.sending")

Sent = Literal["accepted", "failed", "busy", "unknown", "already", "retry-later"]


class RunInterrupted(ProvisioningError):
    """The person stopped the run (Ctrl-C): what was in flight was answered and recorded; the rest waits."""

    def __init__(self, run_id: str, answered: int, left: int) -> None:
        self.run_id = run_id
        super().__init__(
            f"run {run_id} interrupted: {answered} requests answered this time, {left} not sent yet; "
            f"nothing in flight was lost. Resume with: python -m provisioning resume {run_id}"
        )


@dataclass(frozen=True)
class SendResult:
    status: Sent
    outcome: BatchOutcome | None = None


def send_request(
    state: StateStore, graph: GraphClient, run_id: str, number: int, *, deadline: float | None = None
) -> SendResult:
    """Sends request ``number`` of ``run_id`` unless another sender holds it or it was already answered."""
    try:
        with state.claim(run_id, number) as claim:
            return _send_claimed(state, graph, claim, run_id, number, deadline)
    except RunNotFound as exc:
        log.error("dropped a request that was never planned: %s", exc)
        return SendResult("unknown")


def _send_claimed(
    state: StateStore, graph: GraphClient, claim: Claim | None, run_id: str, number: int, deadline: float | None
) -> SendResult:
    if claim is None:
        return SendResult("busy")
    manifest = state.load_manifest(run_id, number)
    if manifest is None:
        return SendResult("unknown")
    if manifest.final:
        return SendResult("already")
    manifest.status = "sending"
    manifest.sends += 1
    claim.save(manifest)
    body = state.load_request(run_id, number)
    outcome = graph.upload(BulkRequest(number, body, manifest.externalIds), deadline=deadline)
    if outcome.gave_up_at_deadline:
        manifest.status = "pending"  # not answered for good: the queue delivers the message again
        manifest.error = f"{outcome.error_code}: {outcome.error}"
        claim.save(manifest)
        return SendResult("retry-later", outcome)
    manifest.record(outcome)
    claim.renew()
    claim.save(manifest)
    log.info("run %s request %d: %s after %d attempts", run_id, number, outcome.status, outcome.attempts)
    return SendResult(outcome.status, outcome)


def end_unsent(
    state: StateStore,
    run_id: str,
    numbers: list[int],
    code: str,
    reason: str,
    *,
    wait: float = 0.0,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Requests that will not be sent in this run end as failed with the reason, never left pending.

    Each is claimed first, so an answer being recorded right now is never overwritten. A claim held by
    someone else is waited for up to ``wait`` seconds (a lease held by an instance that died lapses
    within a minute); a request still held after that is left to its holder, which records its answer.
    """
    for number in numbers:
        waited = 0.0
        while True:
            try:
                with state.claim(run_id, number) as claim:
                    if claim is not None:
                        manifest = state.load_manifest(run_id, number)
                        if manifest is not None and not manifest.final:
                            manifest.fail(code, reason)
                            claim.save(manifest)
                        break
            except RunNotFound:
                log.error("request %d of run %s was never planned: nothing to end", number, run_id)
                break
            if waited >= wait:
                log.warning("request %d of run %s is held by another sender: it records the answer", number, run_id)
                break
            sleep(_CLAIM_POLL)
            waited += _CLAIM_POLL


_CLAIM_POLL = 5.0


class ThreadSender:
    """Sends a run's requests from this process (the CLI), ``concurrency`` at a time, group after group."""

    def __init__(
        self,
        graph: GraphClient,
        *,
        concurrency: int = 4,
        wait_for_results: bool = True,
        sleep: Callable[[float], None] | None = None,
        echo: Callable[[str], None] = lambda line: None,
    ) -> None:
        self.graph = graph
        self.concurrency = max(1, concurrency)
        self.wait_for_results = wait_for_results
        self._sleep = sleep or time.sleep
        self._echo = echo

    def release(self, workflow: Workflow, record: RunRecord, plan: RunPlan) -> RunRecord:
        state = workflow.state
        run_id = record.runId
        statuses = state.statuses(run_id)
        todo = [[n for n in group if statuses.get(n) not in FINAL] for group in plan.groups]
        total = sum(len(g) for g in todo)
        answered = 0
        every = max(10, total // 10)  # about ten progress lines for a long send, none for a short one
        stop: BatchOutcome | None = None
        for group in todo:
            if stop is not None:
                end_unsent(state, run_id, group, "NotSent", _not_sent_reason(stop))
                continue
            pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="bulkUpload")
            futures: dict[Future[SendResult], int] = {
                pool.submit(send_request, state, self.graph, run_id, n): n for n in group
            }
            pending = set(futures)
            try:
                while pending:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        if future.cancelled():  # not started when the sending stopped: ended "not sent" below
                            continue
                        result = future.result()
                        answered += 1
                        outcome = result.outcome
                        if outcome is not None and outcome.status == "failed":
                            self._echo(
                                f"request {outcome.number} failed: {outcome.http_status or '-'} "
                                f"{outcome.error_code}: {outcome.error}"
                            )
                            if outcome.fatal and stop is None:
                                stop = outcome
                                for other in pending:
                                    other.cancel()
                        if answered % every == 0 and answered < total:
                            self._echo(f"  {answered} of {total} requests answered")
            except KeyboardInterrupt:
                for other in pending:
                    other.cancel()
                _drain(pool)
                left = sum(1 for s in state.statuses(run_id).values() if s not in FINAL)
                raise RunInterrupted(run_id, answered, left) from None
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
            if stop is not None:
                unsent = [futures[f] for f in futures if f.cancelled()]
                end_unsent(state, run_id, unsent, "NotSent", _not_sent_reason(stop))
        return workflow.finalise(run_id)

    def results(self, workflow: Workflow, record: RunRecord) -> RunRecord:
        """Polls the logs with backoff until every sent record has an entry or the wait limit passes."""
        if not self.wait_for_results:
            return record
        delays = workflow.poll_delays()
        for attempt in range(len(delays) + 1):
            record, done = workflow.poll_results(record.runId, final=attempt == len(delays))
            if done:
                return record
            pending = len((record.results or {}).get("pending") or [])
            self._echo(f"waiting {delays[attempt]:.0f} s for the provisioning logs ({pending} pending)")
            self._sleep(delays[attempt])
        return record


def _drain(pool: ThreadPoolExecutor) -> None:
    """Waits for the requests in flight to be answered and recorded, whatever the person presses meanwhile."""
    while True:
        try:
            pool.shutdown(wait=True, cancel_futures=True)
            return
        except KeyboardInterrupt:
            continue


def _not_sent_reason(stop: BatchOutcome) -> str:
    return (
        f"not sent: request {stop.number} failed with {stop.http_status or '-'} {stop.error_code}: {stop.error}, "
        "and every further request would fail the same way"
    )
