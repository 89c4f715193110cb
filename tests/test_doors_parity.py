"""Every door drives one engine: the same inputs through the CLI and through the Function App (Azurite, the
queues, the Graph emulator) give the same requests, the same delta decisions, the same holds and the same
counts. Plus what the Function App got from the CLI (retry, the job-status override) and a JSON-lines drop."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.storage.blob import ContentSettings

import function_app
from emulators.entra import DEFAULT_JOB, DEFAULT_SP, EntraEmulator
from provisioning.doors.cli.main import main as cli_main
from provisioning.state.local import LocalState
from tests.azurite import StorageSandbox
from tests.functions_support import SMALL_PROFILE, FunctionHost, call, host_for, queue_message, small_host
from tests.functions_support import small_workers as workers

STEPS = [
    ("initial", workers(120, team=10)),
    ("unchanged", workers(120, team=10)),
    ("seven renamed", workers(120, renamed=7, team=10)),
    ("thirty leave", workers(120, inactive=30, renamed=7, team=10)),
]
"""An initial load, an identical export, a few changes, then a mass disable the safety stop holds."""


def _fingerprints(emulator: EntraEmulator) -> Counter[str]:
    return Counter(r.body_digest for r in emulator.uploads())


def _through_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, emulator: EntraEmulator) -> list[dict]:
    for name, value in {
        "ENTRA_BULK_UPLOAD_URL": emulator.bulk_upload_url(),
        "ENTRA_ALLOW_LOOPBACK": "true",
        "ENTRA_RATE_LIMIT": "1000/1",
        "ENTRA_LOG_RATE_LIMIT": "1000/1",
        "ENTRA_LOG_FIRST_POLL_SECONDS": "0.01",
        "ENTRA_LOG_WAIT_SECONDS": "5",
        "ENTRA_BATCH_SIZE": "10",
    }.items():
        monkeypatch.setenv(name, value)
    state = LocalState(tmp_path / "cli-runs", tmp_path / "cli-state")
    monkeypatch.setenv("RUNS_DIR", str(state.root))
    monkeypatch.setenv("STATE_DIR", str(state.state_root))
    profile = tmp_path / "small.json"
    profile.write_text(json.dumps(SMALL_PROFILE))
    outcomes = []
    for step, data in STEPS:
        path = tmp_path / f"{step}.csv"
        path.write_bytes(data)
        code = cli_main(["run", str(path), "--mapping", str(profile), "--feed", "small"])
        record = state.list_runs(limit=1)[0]
        outcomes.append(_outcome(record.model_dump(mode="json"), exit_code=code))
    return outcomes


def _through_the_function_app(host: FunctionHost) -> list[dict]:
    outcomes = []
    for step, data in STEPS:
        host.drop(f"feed/{step}.csv", data)
        host.run_queues()
        status, listing, _ = host.http("list_runs", "GET", "http://localhost/api/runs", params={"limit": "1"})
        assert status == 200
        run_id = listing["runs"][0]["runId"]
        status, record, _ = host.http("get_run", "GET", "http://x/api/runs/r", route={"runId": run_id})
        outcomes.append(_outcome(record))
    return outcomes


def _outcome(record: dict, exit_code: int | None = None) -> dict:
    counts = record["counts"]
    return {
        "status": record["status"],
        "held": record["status"] == "held",
        "counts": {k: counts[k] for k in ("rows", "operations", "rejected", "unchanged", "sent", "accepted")},
        "batches": [sorted(b["externalIds"]) for b in record["batches"]],
        "exit": exit_code,
    }


def test_the_cli_and_the_function_app_decide_and_send_the_same(
    tmp_path: Path, storage: StorageSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (
        EntraEmulator(rate_limit=(1000, 1.0), log_rate_limit=None) as cli_graph,
        EntraEmulator(rate_limit=(1000, 1.0), log_rate_limit=None) as app_graph,
    ):
        by_cli = _through_the_cli(tmp_path, monkeypatch, cli_graph)
        host = host_for(storage, app_graph, monkeypatch, ENTRA_BATCH_SIZE="10", HR_PROFILE_ROUTES="feed/=small")
        config = storage.clients.container(host.setting("HR_CONFIG_CONTAINER"))
        config.upload_blob("small.json", json.dumps(SMALL_PROFILE), overwrite=True)
        by_app = _through_the_function_app(host)
        assert _fingerprints(cli_graph) == _fingerprints(app_graph), "byte for byte the same requests"
    assert [o["exit"] for o in by_cli] == [0, 0, 0, 3]
    for outcome in by_cli:
        outcome.pop("exit")
    for outcome in by_app:
        outcome.pop("exit")
    assert by_cli == by_app
    initial, unchanged, renamed, leavers = by_cli
    assert initial["counts"]["accepted"] == 120 and unchanged["counts"]["unchanged"] == 120
    assert renamed["counts"]["operations"] == 7 and leavers["held"]


# ---- what the Function App has now -----------------------------------------------------------------


@pytest.fixture
def host(storage: StorageSandbox, graph: EntraEmulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[FunctionHost]:
    yield small_host(storage, graph, monkeypatch, HR_PROFILE_ROUTES="feed/=small")


def _runs(host: FunctionHost) -> list[dict]:
    status, body, _ = host.http("list_runs", "GET", "http://localhost/api/runs")
    assert status == 200
    return body["runs"]


def test_a_json_lines_file_dropped_into_the_inbound_container_is_provisioned(host: FunctionHost) -> None:
    lines = b"".join(
        json.dumps({"WorkerID": str(500 + i), "WorkerStatus": "Active", "UserID": f"j{i}@contoso.com"}).encode() + b"\n"
        for i in range(12)
    )
    blob = host.inbound("exports/workers.jsonl")
    blob.upload_blob(lines, overwrite=True)
    call("provision_blob", blob)
    host.run_queues()
    (run,) = _runs(host)
    assert run["status"] == "completed", run["message"]
    assert run["counts"]["accepted"] == 12 and len(host.graph.directory()) == 12


def test_a_json_array_by_content_type_whatever_its_name(host: FunctionHost) -> None:
    body = json.dumps([{"WorkerID": "700", "WorkerStatus": "Active", "UserID": "a@contoso.com"}]).encode()
    blob = host.inbound("exports/workers.export")
    blob.upload_blob(body, overwrite=True, content_settings=ContentSettings(content_type="application/json"))
    call("provision_blob", blob)
    host.run_queues()
    (run,) = _runs(host)
    assert run["status"] == "completed" and run["counts"]["accepted"] == 1


def test_retry_over_http_sends_the_failed_records_as_a_new_run(host: FunctionHost) -> None:
    host.graph.inject_faults([400])
    host.drop("feed/a.csv", workers(30))
    host.run_queues()
    (first,) = _runs(host)
    assert first["status"] == "failed" and "retry-failed" in first["message"]
    status, body, headers = host.http("retry_run", "POST", "http://x/api/runs/r/retry", route={"runId": first["runId"]})
    assert status == 202 and body["retryOf"] == first["runId"] and headers["Location"].endswith(body["runId"])
    host.run_queues()
    status, retry, _ = host.http("get_run", "GET", "http://x/api/runs/r", route={"runId": body["runId"]})
    assert retry["status"] == "completed", retry["message"]
    assert retry["counts"]["accepted"] == 10 and len(host.graph.directory()) == 30
    status, again, _ = host.http("retry_run", "POST", "http://x/api/runs/r/retry", route={"runId": retry["runId"]})
    assert status == 202 and again["status"] == "completed" and "no failed records" in again["message"]
    status, missing, _ = host.http("retry_run", "POST", "http://x/api/runs/r/retry", route={"runId": "nope"})
    assert status == 404 and missing["error"]["code"] == "RunNotFound"


def test_the_job_status_override_is_a_setting(host: FunctionHost) -> None:
    host.graph.set_job_status(DEFAULT_SP, DEFAULT_JOB, "Paused")
    host.drop("feed/a.csv", workers(5))
    host.run_queues()
    (held,) = _runs(host)
    assert held["status"] == "held" and "ENTRA_IGNORE_JOB_STATUS" in held["message"]
    assert host.graph.upload_count == 0
    host.configure(ENTRA_IGNORE_JOB_STATUS="true")
    host.drop("feed/b.csv", workers(6))
    host.run_queues()
    assert host.graph.upload_count == 1


def test_a_message_no_sender_of_ours_wrote_is_dropped_not_retried(host: FunctionHost) -> None:
    for text in ("not json", '{"runId": "../etc", "batch": 1}', '{"batch": 1}', '{"runId": "x", "batch": 0}'):
        call("upload_batch", queue_message(text))  # returns: no exception for the host to redeliver
        call("coordinate_run", queue_message(text))
        call("upload_poison", queue_message(text))
    assert _runs(host) == []


@pytest.mark.parametrize("signed_in", [True, False])
def test_a_retry_records_who_asked_only_behind_app_service_sign_in(
    host: FunctionHost, monkeypatch: pytest.MonkeyPatch, signed_in: bool
) -> None:
    # App Service authentication strips X-MS-CLIENT-PRINCIPAL-* from callers and sets them itself, and sets
    # WEBSITE_AUTH_ENABLED: only then is the header believed.
    monkeypatch.setenv("WEBSITE_AUTH_ENABLED", "true" if signed_in else "false")
    function_app.services.cache_clear()
    host.graph.inject_faults([400])
    host.drop("feed/a.csv", workers(5))
    host.run_queues()
    (first,) = _runs(host)
    who = {"x-ms-client-principal-name": "ana@contoso.com"}
    status, body, _ = host.http("retry_run", "POST", "http://x/api/runs/r/retry", headers=who,
                                route={"runId": first["runId"]})  # fmt: skip
    assert status == 202
    status, retry, _ = host.http("get_run", "GET", "http://x/api/runs/r", route={"runId": body["runId"]})
    assert retry["requestedBy"] == ("ana@contoso.com" if signed_in else None)
