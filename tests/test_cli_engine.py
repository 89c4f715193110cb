"""The CLI door over the run engine, as a person uses it: delta, safety stops, approve, resume after a kill
or Ctrl-C, a credential that stops working mid-run, and logs that never make a record worse.

Every count is taken at the Graph emulator, which runs in the test process; the CLI runs as a real
subprocess against it, with its own local folders.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from benchmarks.generate import write_workers_csv
from emulators.entra import EntraEmulator
from provisioning.core.runs import RunRecord
from provisioning.state.local import LocalState
from tests.support import ROOT


def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "provisioning", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def emulator() -> EntraEmulator:
    with EntraEmulator(rate_limit=(1000, 1.0), log_rate_limit=None) as running:
        yield running  # type: ignore[misc]


@pytest.fixture
def env(emulator: EntraEmulator) -> dict[str, str]:
    return {
        "ENTRA_BULK_UPLOAD_URL": emulator.bulk_upload_url(),
        "ENTRA_ALLOW_LOOPBACK": "true",
        "ENTRA_RATE_LIMIT": "1000/1",
        "ENTRA_LOG_RATE_LIMIT": "1000/1",
        "ENTRA_LOG_FIRST_POLL_SECONDS": "0.05",
        "ENTRA_LOG_WAIT_SECONDS": "3",
    }


def state() -> LocalState:
    return LocalState(os.environ["RUNS_DIR"], os.environ["STATE_DIR"])


def the_runs() -> list[RunRecord]:
    return state().list_runs()


def rewrite(path: Path, out: Path, change: dict[str, dict[str, str]]) -> Path:
    """A copy of a workers CSV with some workers' columns changed (by WorkerID)."""
    with open(path, newline="", encoding="utf-8") as source:
        header, *rows = list(csv.reader(source))
    for cells in rows:
        for column, value in change.get(cells[0], {}).items():
            cells[header.index(column)] = value
    with open(out, "w", newline="", encoding="utf-8") as target:
        csv.writer(target).writerows([header, *rows])
    return out


def worker_ids(path: Path) -> list[str]:
    with open(path, newline="", encoding="utf-8") as source:
        return [row[0] for row in list(csv.reader(source))[1:]]


def test_delta_an_unchanged_second_run_makes_no_upload_and_k_changes_make_ceil_k_over_50(
    emulator: EntraEmulator, env: dict[str, str], tmp_path: Path
) -> None:
    workers = write_workers_csv(tmp_path / "w.csv", 300)
    first = cli("run", str(workers), "--mapping", "microsoft-sample", "--no-wait", env=env)
    assert first.returncode in (0, 1), first.stderr
    sent = emulator.upload_count
    assert sent == 6
    second = cli("run", str(workers), "--mapping", "microsoft-sample", "--no-wait", env=env)
    assert second.returncode == 0, second.stdout + second.stderr
    assert emulator.upload_count == sent, "an unchanged second run makes 0 bulkUpload calls"
    assert "300 unchanged" in second.stdout
    ids = worker_ids(workers)
    changed = rewrite(workers, tmp_path / "w2.csv", {i: {"JobTitle": "Engineer II"} for i in ids[:73]})
    third = cli("run", str(changed), "--mapping", "microsoft-sample", "--no-wait", env=env)
    assert third.returncode == 0, third.stdout + third.stderr
    assert emulator.upload_count == sent + 2, "73 changed workers: ceil(73/50) = 2 calls"
    full = cli("run", str(changed), "--mapping", "microsoft-sample", "--no-wait", "--full-sync", env=env)
    assert full.returncode == 0 and emulator.upload_count == sent + 2 + 6


def test_a_run_that_would_disable_too_many_is_held_exit_3_until_approved(
    emulator: EntraEmulator, env: dict[str, str], tmp_path: Path
) -> None:
    workers = write_workers_csv(tmp_path / "w.csv", 100)
    assert cli("run", str(workers), "--mapping", "microsoft-sample", "--no-wait", env=env).returncode in (0, 1)
    uploads = emulator.upload_count
    ids = worker_ids(workers)
    leavers = rewrite(workers, tmp_path / "leavers.csv", {i: {"WorkerStatus": "Inactive"} for i in ids[:30]})
    held = cli("run", str(leavers), "--mapping", "microsoft-sample", "--no-wait", env=env)
    assert held.returncode == 3, held.stdout + held.stderr
    assert "held by the safety stop" in held.stdout and "python -m provisioning approve" in held.stdout
    assert emulator.upload_count == uploads, "a held run sends nothing"
    run_id = the_runs()[0].runId
    approved = cli("approve", run_id, "--no-wait", env=env)
    assert approved.returncode in (0, 1), approved.stdout + approved.stderr
    assert emulator.upload_count > uploads
    record = state().load_record(run_id)
    assert record.status in ("sent", "completed") and record.approvedBy == "cli"
    disabled = [u for u in emulator.directory().values() if u.get("accountEnabled") is False]
    assert len(disabled) >= 25
    again = cli("approve", run_id, env=env)
    assert again.returncode == 2 and "not held" in again.stderr


def _wait_for_uploads(emulator: EntraEmulator, process: subprocess.Popen[str], count: int) -> None:
    deadline = time.monotonic() + 120
    while emulator.upload_count < count:
        assert process.poll() is None, "the run ended before it could be stopped"
        assert time.monotonic() < deadline, "the run never got going"
        time.sleep(0.005)


def _bodies_sent_twice(emulator: EntraEmulator) -> set[str]:
    counts = Counter(r.body_digest for r in emulator.uploads())
    return {digest for digest, n in counts.items() if n > 1}


@pytest.mark.parametrize("stop", ["SIGKILL", "SIGINT"])
def test_resume_after_a_kill_or_ctrl_c_sends_every_worker_and_repeats_only_what_was_in_flight(
    emulator: EntraEmulator, env: dict[str, str], tmp_path: Path, stop: str
) -> None:
    workers = write_workers_csv(tmp_path / "w.csv", 20_000)
    process = subprocess.Popen(
        [sys.executable, "-m", "provisioning", "run", str(workers), "--mapping", "microsoft-sample", "--no-wait"],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for_uploads(emulator, process, 120)
    process.send_signal(getattr(signal, stop))
    _, err = process.communicate(timeout=120)
    (record,) = the_runs()
    manifests = state().manifests(record.runId)
    open_requests = {
        hashlib.sha256(state().load_request(record.runId, m.number)).hexdigest()
        for m in manifests
        if m.status == "sending"
    }
    in_flight = len(open_requests)
    assert record.status == "sending"
    if stop == "SIGINT":
        assert process.returncode == 130
        assert "Traceback" not in err and f"python -m provisioning resume {record.runId}" in err
        assert len(err.strip().splitlines()) == 1, err
        assert in_flight == 0, "after Ctrl-C, what was in flight was answered and recorded"
    else:
        assert process.returncode == -signal.SIGKILL
        assert in_flight <= 4, "at most the requests in flight (ENTRA_UPLOAD_CONCURRENCY) were left open"
    resumed = cli("resume", record.runId, "--no-wait", env=env)
    assert resumed.returncode in (0, 1), resumed.stdout + resumed.stderr
    record = state().load_record(record.runId)
    assert record.status == "sent" and record.counts.accepted == record.counts.operations
    assert record.counts.resent == in_flight
    # A request recorded as sending may or may not have reached Graph before the kill: the run counts it
    # as resent either way, and nothing else goes twice.
    assert _bodies_sent_twice(emulator) <= open_requests, "only requests in flight at the stop went twice"
    assert len({r.body_digest for r in emulator.uploads()}) == len(manifests), "every request went"
    assert emulator.upload_count - len(manifests) <= in_flight, "and at most the open ones went twice"
    emulator.process_pending()
    assert len(emulator.directory()) == record.counts.operations


def test_a_credential_revoked_mid_run_fails_the_unsent_requests_and_retry_sends_exactly_those(
    emulator: EntraEmulator, env: dict[str, str], tmp_path: Path
) -> None:
    workers = write_workers_csv(tmp_path / "w.csv", 3000)
    process = subprocess.Popen(
        [sys.executable, "-m", "provisioning", "run", str(workers), "--mapping", "microsoft-sample", "--no-wait"],
        cwd=ROOT,
        env={**os.environ, **env, "ENTRA_UPLOAD_CONCURRENCY": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for_uploads(emulator, process, 5)
    emulator.revoke_token("emulator-token")  # the CLI's credential for a loopback emulator hands out this one
    out, err = process.communicate(timeout=120)
    assert process.returncode == 2, out + err
    assert "Traceback" not in err
    (record,) = the_runs()
    assert record.status == "failed" and "InvalidAuthenticationToken" in record.message
    accepted = [b for b in record.batches if b.status == "accepted"]
    failed = [b for b in record.batches if b.status == "failed"]
    assert accepted and failed and len(accepted) + len(failed) == len(record.batches), "none left pending"
    assert all(b.error for b in failed), "every failed request says why"
    assert sum(1 for b in failed if b.errorCode == "NotSent") >= len(failed) - 1, "the rest were not even tried"
    calls = emulator.upload_count
    emulator.restore_token("emulator-token")
    retry = cli("retry-failed", "--run", record.runId, "--no-wait", env=env)
    assert retry.returncode in (0, 1), retry.stdout + retry.stderr
    retried = next(r for r in the_runs() if r.retryOf == record.runId)
    assert sorted(retried.sent_external_ids()) == sorted(i for b in failed for i in b.externalIds)
    assert emulator.upload_count - calls == len(retried.batches)
    emulator.process_pending()
    assert len(emulator.directory()) == record.counts.operations


def test_logs_of_a_completed_run_leave_its_record_as_it_was(
    emulator: EntraEmulator, env: dict[str, str], tmp_path: Path
) -> None:
    done = cli("run", str(ROOT / "samples" / "workers.csv"), "--mapping", "microsoft-sample", env=env)
    assert done.returncode == 1, done.stderr  # the sample's two workers sharing a UserID
    (record,) = the_runs()
    assert record.status == "completed"
    emulator.reset()  # the logs are gone (aged out, or another directory): the record must not get worse
    logs = cli("logs", "--run", record.runId, env=env)
    assert "create: 277 success, 1 failure" in logs.stdout
    after = state().load_record(record.runId)
    assert after.status == "completed" and after.results == record.results


def test_a_run_on_the_embedded_emulator_says_its_directory_is_gone() -> None:
    done = cli("run", str(ROOT / "samples" / "workers.csv"), "--mapping", "microsoft-sample")
    assert done.returncode == 1 and "using the embedded Graph emulator" in done.stdout
    (record,) = the_runs()
    logs = cli("logs", "--run", record.runId)
    assert "gone with its process" in logs.stdout and "create: 277 success, 1 failure" in logs.stdout
    assert state().load_record(record.runId) == record
    retry = cli("retry-failed", "--run", record.runId)
    assert retry.returncode == 2 and "embedded Graph emulator" in retry.stderr and "Traceback" not in retry.stderr
    assert len(the_runs()) == 1, "no fake retry run"
    again = cli("run", str(ROOT / "samples" / "workers.csv"), "--mapping", "microsoft-sample")
    assert "278 operations" in again.stdout, "a fresh embedded directory gets every worker again"


def test_json_lines_through_the_cli(emulator: EntraEmulator, env: dict[str, str], tmp_path: Path) -> None:
    lines = tmp_path / "workers.jsonl"
    records = [
        {"WorkerID": str(100 + i), "WorkerStatus": "Active", "UserID": f"u{i}@contoso.com", "FirstName": "A"}
        for i in range(3)
    ]
    lines.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    done = cli("run", str(lines), "--mapping", "microsoft-sample", "--no-wait", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert emulator.upload_count == 1
