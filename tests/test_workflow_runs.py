"""Whole runs against the Graph emulator: results, schema sync, held jobs, dry runs, retry-failed, the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from emulators.entra import DEFAULT_SP, EntraEmulator
from provisioning import CsvSource
from provisioning.core.mapping.profile import Profile
from tests.engine_support import FAST, local_state, start, threaded_workflow
from tests.support import ROOT, minimal_profile

SAMPLE = ROOT / "samples" / "workers.csv"
AD_JOB = "API2AD.3fa85f6457174562b3fc2c963f66afa6.0c9d8e7f-6a5b-4c3d-2e1f-0a9b8c7d6e5f"
NS = "urn:ietf:params:scim:schemas:extension:contoso:1.0:User"


def run(
    emulator: EntraEmulator,
    tmp_path: Path,
    source: CsvSource | None = None,
    profile: Profile | None = None,
    *,
    job: str | None = None,
    max_attempts: int = 6,
    **options: object,
):  # type: ignore[no-untyped-def]
    """One run as the CLI makes it (threads, local folders; the feed is the profile's, kept in tmp_path)."""
    state = local_state(tmp_path)
    dry_run = bool(options.pop("dry_run", False))
    feed = str(options.pop("feed", "profile:test"))
    config = FAST.but(**options) if options else FAST
    profiles = {"custom": profile} if profile is not None else None
    workflow = threaded_workflow(emulator, state, job=job, max_attempts=max_attempts, config=config, profiles=profiles)
    record = start(
        workflow, source, "custom" if profile is not None else "microsoft-sample", feed=feed, dry_run=dry_run
    )
    return record, workflow, state


def test_the_sample_csv_ends_with_per_record_results(graph: EntraEmulator, tmp_path: Path) -> None:
    record, _, store = run(graph, tmp_path)
    assert record.status == "completed"
    assert record.counts.model_dump() == {
        "rows": 281,
        "operations": 278,
        "rejected": 3,
        "unchanged": 0,
        "sent": 278,
        "accepted": 278,
        "failed": 0,
        "resent": 0,
        "calls": 6,
        "callsToday": 6,
    }
    results = record.results or {}
    assert results["complete"] and results["pending"] == []
    assert results["counts"] == {"create": {"success": 277, "failure": 1}}
    (failed,) = results["failed"]
    assert results["outcomes"][failed]["errorCode"] == "AzureActiveDirectoryDuplicateUserPrincipalName"
    # The sample's worker whose manager is outside the export: created, manager skipped (a step, not a failure).
    (unresolved,) = results["managerUnresolved"]
    assert results["outcomes"][unresolved]["unresolved"] == {"manager": "19999"}
    assert results["outcomes"][unresolved]["status"] == "success"
    assert "1 provisioned, manager not resolved" in record.message
    assert store.load_record(record.runId) == record
    assert len(store.load_rejects(record.runId).splitlines()) == 4
    assert len(graph.directory()) == 277
    assert graph.schema_put_count() == 1
    hired = next(u for u in graph.directory().values() if u.get("employeeHireDate"))
    assert hired["employeeHireDate"].endswith("Z")


def test_a_second_identical_run_sends_nothing_and_a_full_sync_changes_nothing(
    graph: EntraEmulator, tmp_path: Path
) -> None:
    run(graph, tmp_path)
    uploads = graph.upload_count
    second, _, _ = run(graph, tmp_path)
    # Delta: only the record the logs reported as failed (the sample's UPN clash) and the one whose manager
    # Entra could not resolve (it resolves only when the user is sent again) go again, in one request.
    assert graph.upload_count == uploads + 1
    assert second.counts.unchanged == 276 and second.counts.operations == 2
    assert graph.schema_put_count() == 1
    full, _, _ = run(graph, tmp_path, full_sync=True)
    assert graph.schema_put_count() == 1, "a second schema sync makes no PUT"
    assert full.schemaSync == {"changes": [], "written": False}
    assert (full.results or {})["complete"]
    # The logs are read back by time; both runs fall in the same second here, so the emulator's own
    # entries tell what the second upload did: nothing changed, so every record was skipped.
    latest = Counter(
        (e["provisioningAction"], e["provisioningStatusInfo"]["status"]) for e in graph.log_entries()[-278:]
    )
    assert latest == {("other", "skipped"): 277, ("create", "failure"): 1}, "the UPN clash fails again, rightly"


def test_manager_references_resolve_across_requests(graph: EntraEmulator, tmp_path: Path) -> None:
    record, _, _ = run(graph, tmp_path, batch_size=5)
    assert len(record.batches) == 56
    directory = graph.directory()
    with_manager = [u for u in directory.values() if u.get("manager")]
    assert len(with_manager) >= 270
    assert all(u["manager"]["employeeId"] in directory for u in with_manager)
    # Managers go first, so the only manager Entra cannot resolve is the one outside the export.
    results = record.results or {}
    assert [results["outcomes"][i]["unresolved"] for i in results["managerUnresolved"]] == [{"manager": "19999"}]


def test_a_paused_job_is_reported_up_front_and_nothing_is_sent(graph: EntraEmulator, tmp_path: Path) -> None:
    job = graph.bulk_upload_url().split("/jobs/")[1].split("/")[0]
    graph.set_job_status(DEFAULT_SP, job, "Paused")
    record, _, _ = run(graph, tmp_path)
    assert record.status == "held" and "Paused" in record.message
    assert graph.upload_count == 0
    graph.set_job_status(DEFAULT_SP, job, "Quarantine")
    record, _, _ = run(graph, tmp_path)
    assert record.status == "held" and "Quarantine" in record.message


def test_dry_run_sends_nothing_and_writes_no_schema(graph: EntraEmulator, tmp_path: Path) -> None:
    record, _, store = run(graph, tmp_path, dry_run=True)
    assert record.status == "dry-run"
    assert graph.upload_count == 0 and graph.schema_put_count() == 0
    assert record.schemaSync is not None and record.schemaSync["written"] is False
    assert len(record.schemaSync["changes"]) == 4
    assert store.load_request(record.runId, 1).startswith(
        b'{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"]'
    )


@pytest.mark.parametrize("variant", ["api", "scim"])
def test_schema_sync_against_both_schema_variants(variant: str, tmp_path: Path) -> None:
    with EntraEmulator(schema_variant=variant, rate_limit=(1000, 1.0), log_rate_limit=None) as emulator:
        record, _, _ = run(emulator, tmp_path)
        assert record.status == "completed"
        assert emulator.schema_put_count() == 1
        names = json.dumps(emulator.schema())
        assert f"{NS}:HireDate" in names and f"{NS}:JobCode" in names
        user = next(iter(emulator.directory().values()))
        assert "extensionAttribute1" in user


def test_the_ad_target_job(graph: EntraEmulator, tmp_path: Path) -> None:
    profile = minimal_profile(
        extensions=[{"namespace": NS, "attributes": {"Code": {"source": "code", "target": "extensionAttribute2"}}}]
    )
    source = CsvSource(b"id,user,status,code\n1,a@contoso.com,Active,X\n2,b@contoso.com,Terminated,Y\n")
    record, _, _ = run(graph, tmp_path, source, profile, job=AD_JOB)
    assert record.status == "completed"
    directory = graph.directory(DEFAULT_SP, AD_JOB)
    assert directory["1"]["accountDisabled"] is False and directory["2"]["accountDisabled"] is True
    assert directory["1"]["extensionAttribute2"] == "X"


def test_retry_failed_resends_only_the_failed_records_from_the_run_record(graph: EntraEmulator, tmp_path: Path) -> None:
    graph.inject_faults([503, 503])
    first, runner, _ = run(graph, tmp_path, max_attempts=2)
    assert first.batches[0].status == "failed" and first.counts.failed == 50
    assert first.status == "failed" and "1 of 6 requests failed (HTTP 503" not in first.message
    assert "retry-failed sends their 50 records again" in first.message
    failed_ids = set(first.batches[0].externalIds)
    retry = runner.retry(first.runId)
    assert retry.retryOf == first.runId and retry.status == "completed"
    assert set(retry.sent_external_ids()) == failed_ids
    missing = failed_ids - set(graph.directory())
    # The sample's two workers sharing a UserID: whichever comes second is refused, now this one.
    outcomes = (retry.results or {})["outcomes"]
    assert all(outcomes[i]["errorCode"] == "AzureActiveDirectoryDuplicateUserPrincipalName" for i in missing)
    assert len(missing) <= 1


def _cli(*args: str, env: dict[str, str] | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "provisioning", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_cli_run_uses_the_embedded_emulator_and_shows_results(tmp_path: Path) -> None:
    result = _cli("run", str(SAMPLE), "--mapping", "microsoft-sample", env={"RUNS_DIR": str(tmp_path)})
    assert result.returncode == 1, result.stderr
    assert "using the embedded Graph emulator" in result.stdout
    assert "create: 277 success, 1 failure" in result.stdout
    assert "AzureActiveDirectoryDuplicateUserPrincipalName" in result.stdout
    assert "1 provisioned, manager not resolved" in result.stdout
    assert "Traceback" not in result.stderr
    (record_file,) = tmp_path.glob("*/run.json")
    assert json.loads(record_file.read_text())["status"] == "completed"


def test_cli_against_a_running_emulator_run_logs_schema_sync_retry(graph: EntraEmulator, tmp_path: Path) -> None:
    env = {
        "RUNS_DIR": str(tmp_path),
        "ENTRA_BULK_UPLOAD_URL": graph.bulk_upload_url(),
        "ENTRA_ALLOW_LOOPBACK": "true",
        "ENTRA_LOG_FIRST_POLL_SECONDS": "0.1",
        "ENTRA_LOG_WAIT_SECONDS": "2",
    }
    dry = _cli("schema-sync", "--mapping", "microsoft-sample", "--dry-run", env=env)
    assert dry.returncode == 0 and "+ mapping" in dry.stdout and graph.schema_put_count() == 0
    result = _cli("run", str(SAMPLE), "--mapping", "microsoft-sample", "--no-wait", env=env)
    assert result.returncode == 1, result.stderr
    (record_file,) = tmp_path.glob("*/run.json")
    run_id = record_file.parent.name
    logs = _cli("logs", "--run", run_id, env=env)
    assert logs.returncode == 1 and "create: 277 success, 1 failure" in logs.stdout
    since = _cli("logs", "--since", "2000-01-01T00:00:00Z", env=env)
    assert since.returncode == 0 and "278 records" in since.stdout
    again = _cli("schema-sync", "--mapping", "microsoft-sample", env=env)
    assert again.returncode == 0 and "no changes" in again.stdout
    standard = _cli("schema-sync", "--mapping", "microsoft-sample", "--include-standard", "--dry-run", env=env)
    assert standard.returncode == 0, standard.stderr
    retry = _cli("retry-failed", "--run", run_id, env=env)
    assert retry.returncode in (0, 1) and "retry" not in retry.stderr
    bad = _cli(
        "run",
        str(SAMPLE),
        "--mapping",
        "microsoft-sample",
        env={**env, "ENTRA_BULK_UPLOAD_URL": "https://example.com/x"},
    )
    assert bad.returncode == 2 and "is not a Microsoft Graph host" in bad.stderr
