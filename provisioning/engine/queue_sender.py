"""The queue strategy (the Function App): one upload message per request, a coordinator per run.

``release`` enqueues the first group and a coordination message. The upload queue's trigger calls
``send`` (the same ``send_request`` the threads use); the coordination queue's trigger calls
``coordinate``, which lets the next group go once the one before is answered, finalises the run, and
then polls the provisioning logs, each step as a delayed message of its own. Every step is safe to run
twice: a group is enqueued once (a marker), and a request's manifest says whether it still needs sending.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from provisioning.core.errors import ProvisioningError
from provisioning.core.runs import FINAL, RunPlan, RunRecord
from provisioning.engine.messages import CoordinateMessage, UploadMessage
from provisioning.engine.sending import SendResult, end_unsent, send_request
from provisioning.state.blob import CLAIM_SECONDS
from provisioning.state.interface import RunNotFound

if TYPE_CHECKING:
    from azure.storage.queue import QueueClient

    from provisioning.engine.workflow import Workflow
    from provisioning.entra.graph_client import GraphClient

log = logging.getLogger("provisioning.queue_sender")

COORDINATE_MAX_SECONDS = 30.0
SEND_DEADLINE_SECONDS = CLAIM_SECONDS - 15
"""A queued send gives up retrying 15 s before its claim (a 60 s lease) could lapse, so that two
instances never send the same request at once; the message is then delivered again."""


class RetryLater(ProvisioningError):
    """The request is still retryable but its time is up: raised so the queue delivers the message again."""


class QueueSender:
    def __init__(
        self,
        uploads: QueueClient,
        coordination: QueueClient,
        *,
        coordinate_seconds: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.uploads = uploads
        self.coordination = coordination
        self.coordinate_seconds = coordinate_seconds
        self._clock = clock

    # ---- the Sender protocol ------------------------------------------------------------------------

    def release(self, workflow: Workflow, record: RunRecord, plan: RunPlan) -> RunRecord:
        """Enqueues the first group that is not answered yet (all of its unanswered requests on a resume)."""
        statuses = workflow.state.statuses(record.runId)
        for group, numbers in enumerate(plan.groups):
            unanswered = [n for n in numbers if statuses.get(n) not in FINAL]
            if unanswered:
                self._enqueue(workflow, record.runId, group, unanswered, again=True)
                break
        self._coordinate_later(record.runId, attempt=0)
        return record

    def results(self, workflow: Workflow, record: RunRecord) -> RunRecord:
        self._coordinate_later(record.runId, 0, "results", delay=workflow.config.log_first_poll)
        return record

    # ---- the triggers' work -------------------------------------------------------------------------

    def send(self, workflow: Workflow, graph: Callable[[], GraphClient], message: UploadMessage) -> SendResult:
        """Sends one request. Raises ``RetryLater`` (the queue redelivers) when another instance holds it
        or its retries ran out of time."""
        state = workflow.state
        try:
            client = graph()
        except ProvisioningError as exc:
            end_unsent(state, message.runId, [message.batch], "NotConfigured", f"not sent: {exc}")
            return SendResult("failed")
        result = send_request(
            state, client, message.runId, message.batch, deadline=self._clock() + SEND_DEADLINE_SECONDS
        )
        if result.status == "busy":
            raise RetryLater(f"request {message.batch} of run {message.runId} is being sent by another instance")
        if result.status == "retry-later":
            raise RetryLater(f"request {message.batch} of run {message.runId}: still retryable, sent again later")
        return result

    def poison(self, workflow: Workflow, message: UploadMessage, reason: str) -> None:
        """A message that failed every delivery: its request is recorded as failed, never lost silently, even
        while an instance that died still holds its lease (it lapses within a minute)."""
        end_unsent(workflow.state, message.runId, [message.batch], "PoisonMessage", reason, wait=CLAIM_SECONDS + 5)

    def coordinate_poison(self, workflow: Workflow, message: CoordinateMessage, reason: str) -> str:
        """A coordination message that failed every delivery: the run is ended (sending) or its wait for the
        logs is (results), with the reason, so that it never stays "sending" forever."""
        try:
            if message.phase == "results":
                record, _ = workflow.poll_results(message.runId, final=True)
            else:
                record = workflow.abandon(message.runId, f"its coordinator {reason}")
        except RunNotFound:
            log.error("dropped a coordination message for an unknown run %s", message.runId)
            return "unknown run"
        return f"run is {record.status}"

    def coordinate(self, workflow: Workflow, message: CoordinateMessage) -> str:
        """Moves a run on: the next group, then finalising, then the provisioning logs. Safe to repeat."""
        try:
            return self._coordinate(workflow, message)
        except RunNotFound:
            log.error("dropped a coordination message for an unknown run %s", message.runId)
            return "unknown run"

    def _coordinate(self, workflow: Workflow, message: CoordinateMessage) -> str:
        if message.phase == "results":
            delays = workflow.poll_delays()
            record, done = workflow.poll_results(message.runId, final=message.attempt >= len(delays))
            if done:
                return f"results: run is {record.status}"
            self._coordinate_later(message.runId, message.attempt + 1, "results", delay=delays[message.attempt])
            return "results pending"
        state = workflow.state
        record = state.load_record(message.runId)
        if record.status != "sending":
            return f"run is {record.status}"
        plan = state.load_plan(message.runId)
        if plan is None:
            return "run has no plan"
        statuses = state.statuses(message.runId)
        for group, numbers in enumerate(plan.groups):
            if all(statuses.get(n) in FINAL for n in numbers):
                continue
            if group > 0:
                self._enqueue(workflow, message.runId, group, numbers)
            self._coordinate_later(message.runId, message.attempt + 1)
            return f"waiting for group {group}"
        workflow.finalise(message.runId)
        return "finalised"

    # ---- messages -----------------------------------------------------------------------------------

    def _enqueue(self, workflow: Workflow, run_id: str, group: int, numbers: list[int], again: bool = False) -> None:
        """Enqueues a group's messages once (a marker records it; a crash in between only duplicates
        messages, which the manifests make harmless). ``again``: a resume sends what is left regardless."""
        marker = f"group-{group:04d}"
        if workflow.state.has_marker(run_id, marker) and not again:
            return
        for number in numbers:
            self.uploads.send_message(UploadMessage(runId=run_id, batch=number).text())
        workflow.state.mark_once(run_id, marker)

    def _coordinate_later(self, run_id: str, attempt: int, phase: Any = "sending", delay: float | None = None) -> None:
        if delay is None:
            delay = min(self.coordinate_seconds * 2 ** min(attempt, 10), COORDINATE_MAX_SECONDS)
        message = CoordinateMessage(runId=run_id, attempt=attempt, phase=phase)
        self.coordination.send_message(message.text(), visibility_timeout=round(delay))
