"""Fault scenarios against the Graph emulator: a 429 storm, 5xx bursts, a token that expires mid-run, an
answer lost after Graph accepted, and every queue message delivered twice. Each ends with every worker
accepted or failed with a reason, counted at the emulator; extra sends happen only in the at-least-once
windows, always with the same bulkIds."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from emulators.entra import EntraEmulator
from provisioning.core.mapping.profiles import parse_profile
from provisioning.core.read.csv_source import CsvSource
from tests.azurite import StorageSandbox
from tests.engine_support import FAST, local_state, start, threaded_workflow
from tests.entra_support import CountingCredential
from tests.functions_support import SMALL_PROFILE, FunctionHost, call, queue_message, small_host
from tests.functions_support import small_workers as workers

PROFILES = {"small": parse_profile(SMALL_PROFILE, origin="test")}


def everyone_ends_accepted_or_failed_with_a_reason(record: object) -> None:
    for batch in record.batches:  # type: ignore[attr-defined]
        assert batch.status == "accepted" or (batch.status == "failed" and batch.error), batch


def run_small(graph: EntraEmulator, tmp_path: Path, count: int, **options: object):  # type: ignore[no-untyped-def]
    state = local_state(tmp_path)
    workflow = threaded_workflow(graph, state, profiles=PROFILES, config=FAST.but(batch_size=10), **options)
    return start(workflow, CsvSource(workers(count, team=10)), "small"), workflow, state


def test_a_429_storm_ends_with_every_worker_accepted_or_failed_with_a_reason(
    graph: EntraEmulator, tmp_path: Path
) -> None:
    graph.inject_faults([429] * 25, retry_after=1)
    record, workflow, _ = run_small(graph, tmp_path, 100)
    everyone_ends_accepted_or_failed_with_a_reason(record)
    assert record.counts.calls == graph.upload_count, "every call counted, none lost"
    if record.status != "completed":  # a request that met six 429s in a row ends failed, saying so
        assert "TooManyRequests" in record.message
        assert workflow.retry(record.runId).status == "completed"
    assert len(graph.directory()) == 100


def test_5xx_bursts_end_accepted_or_failed_with_a_reason_and_retry_sends_the_rest(
    graph: EntraEmulator, tmp_path: Path
) -> None:
    graph.inject_faults([503, 502, 503, 500, 503, 503, 504, 503])
    record, workflow, _ = run_small(graph, tmp_path, 100, max_attempts=3)
    everyone_ends_accepted_or_failed_with_a_reason(record)
    failed = [b for b in record.batches if b.status == "failed"]
    assert failed and record.status == "failed" and "retry-failed" in record.message
    retry = workflow.retry(record.runId)
    assert retry.status == "completed" and len(graph.directory()) == 100


def test_a_token_that_expires_mid_run_is_refreshed_once_and_nothing_is_lost(
    graph: EntraEmulator, tmp_path: Path
) -> None:
    credential = CountingCredential()
    state = local_state(tmp_path)
    workflow = threaded_workflow(graph, state, profiles=PROFILES, config=FAST.but(batch_size=10), credential=credential)
    graph.revoke_token("token-1")  # expired early, as Graph reports a revoked grant or an early expiry
    record = start(workflow, CsvSource(workers(50, team=10)), "small")
    assert record.status == "completed" and credential.issued[:2] == ["token-1", "token-2"]
    assert len(graph.directory()) == 50


class LoseTheAnswer(httpx.HTTPTransport):
    """Graph receives and accepts the upload, and the answer never comes back: the network's fault, not
    the server's. The first ``times`` uploads are lost this way."""

    def __init__(self, times: int) -> None:
        super().__init__()
        self.left = times

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.url.path.endswith("/bulkUpload") and self.left > 0:
            self.left -= 1
            response.close()
            raise httpx.ReadTimeout("the answer was lost", request=request)
        return response


def test_an_answer_lost_after_graph_accepted_sends_the_same_request_again(graph: EntraEmulator, tmp_path: Path) -> None:
    from provisioning.core.mapping.profiles import BundledProfiles
    from provisioning.engine.sending import ThreadSender
    from provisioning.engine.workflow import Workflow
    from tests.entra_support import FakeSleep, client_for

    client = client_for(graph, transport=LoseTheAnswer(3), sleep=FakeSleep())
    workflow = Workflow(
        local_state(tmp_path), graph=lambda: client, profiles=BundledProfiles(PROFILES),
        sender=ThreadSender(client, sleep=FakeSleep()), config=FAST.but(batch_size=10),
    )  # fmt: skip
    record = start(workflow, CsvSource(workers(50, team=10)), "small")
    assert record.status == "completed", record.message
    twice = {digest: n for digest, n in Counter(r.body_digest for r in graph.uploads()).items() if n > 1}
    assert sum(n - 1 for n in twice.values()) == 3, "exactly the lost answers went again, byte for byte"
    assert record.counts.resent == len(twice), "and the run record counts the requests that went again"
    assert len(graph.directory()) == 50


@pytest.fixture
def host(storage: StorageSandbox, graph: EntraEmulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[FunctionHost]:
    yield small_host(storage, graph, monkeypatch)


def test_every_message_delivered_twice_sends_nothing_twice(host: FunctionHost) -> None:
    host.drop("small/a.csv", workers(60, team=10))
    for _ in range(200):
        uploads = [m.content for m in host.messages("HR_UPLOAD_QUEUE")]
        coordination = [m.content for m in host.messages("HR_RESULTS_QUEUE")]
        if not uploads and not coordination:
            break
        for content in uploads:
            call("upload_batch", queue_message(content))
            call("upload_batch", queue_message(content, dequeue_count=2))
        for content in coordination:
            call("coordinate_run", queue_message(content))
            call("coordinate_run", queue_message(content, dequeue_count=2))
    _, listing, _ = host.http("list_runs", "GET", "http://x/api/runs")
    (run,) = listing["runs"]
    assert run["status"] == "completed", run["message"]
    assert host.graph.upload_count == 6 and len(host.graph.directory()) == 60
    assert max(Counter(r.body_digest for r in host.graph.uploads()).values()) == 1


@pytest.mark.parametrize("retry_after", [True, False], ids=["quota with Retry-After", "quota without"])
def test_an_exhausted_quota_ends_every_request_accepted_or_failed_with_a_reason(
    tmp_path: Path, retry_after: bool
) -> None:
    """Whether Graph sends Retry-After with the daily quota's 429 is unconfirmed: both end promptly."""
    with EntraEmulator(
        rate_limit=(1000, 1.0), log_rate_limit=None, daily_quota=3, quota_retry_after=retry_after
    ) as graph:
        record, _, _ = run_small(graph, tmp_path, 100)
        everyone_ends_accepted_or_failed_with_a_reason(record)
        assert record.status == "failed" and [b.status for b in record.batches].count("accepted") == 3
        if retry_after:  # a wait of hours: the send stops at once, and says until when
            assert "daily quota exhausted, retry after" in record.message
            refused = [b for b in record.batches if b.errorCode == "QuotaExhausted"]
            assert refused and all(b.attempts == 1 for b in refused), "asked once each, never retried for hours"
        else:  # indistinguishable from throttling: retried with backoff, then failed with Graph's reason
            assert "TooManyRequests" in record.message
            assert all(b.attempts == 6 for b in record.batches if b.status == "failed" and b.errorCode != "NotSent")


class LogsDown(httpx.HTTPTransport):
    """Uploads reach Graph; every provisioning-log read fails (an outage, a missing permission)."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if "/auditLogs/provisioning" in request.url.path:
            return httpx.Response(503, json={"error": {"code": "ServiceUnavailable", "message": "logs are down"}})
        return super().handle_request(request)


def test_logs_that_cannot_be_read_leave_the_run_sent_and_pending_never_completed(
    graph: EntraEmulator, tmp_path: Path
) -> None:
    from provisioning.core.mapping.profiles import BundledProfiles
    from provisioning.engine.sending import ThreadSender
    from provisioning.engine.workflow import Workflow
    from tests.entra_support import FakeSleep, client_for

    client = client_for(graph, transport=LogsDown(), sleep=FakeSleep(), max_attempts=2)
    workflow = Workflow(
        local_state(tmp_path), graph=lambda: client, profiles=BundledProfiles(PROFILES),
        sender=ThreadSender(client, sleep=FakeSleep()), config=FAST.but(batch_size=10),
    )  # fmt: skip
    record = start(workflow, CsvSource(workers(20, team=10)), "small")
    assert record.counts.accepted == 20
    assert record.status == "sent" and "20 records still pending" in record.message
