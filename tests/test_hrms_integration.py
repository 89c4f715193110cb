"""HR systems through every door: the CLI (list, test, fetch, preview/run from hrms:ID), the timer trigger
and the HTTP routes, against the HR emulators, the Graph emulator and Azurite."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from azure.functions.timer import TimerRequest

from emulators.entra import EntraEmulator
from emulators.hrms import HrmsEmulator
from provisioning import ProfileError
from provisioning.hr.jobs import resolve_settings
from provisioning.settings import SettingsError
from provisioning.state.blob import BlobState
from provisioning.state.tokens import LocalTokenStore
from tests.azurite import StorageSandbox
from tests.functions_support import FunctionHost, call, host_for
from tests.support import ROOT

LOOPBACK = {"CONNECTORS_ALLOW_LOOPBACK_HTTP": "true"}


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "provisioning", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **LOOPBACK, **(env or {})},
    )


def config_file(tmp_path: Path, config: dict[str, str]) -> Path:
    path = tmp_path / "connector.json"
    path.write_text(json.dumps(config))
    return path


def test_settings_references_in_a_configuration() -> None:
    resolved = resolve_settings({"baseUrl": "https://x", "clientSecret": "%WD_SECRET%"}, {"WD_SECRET": "s3cret"})
    assert resolved == {"baseUrl": "https://x", "clientSecret": "s3cret"}
    with pytest.raises(SettingsError, match="clientSecret refers to the setting WD_SECRET, which is not set"):
        resolve_settings({"clientSecret": "%WD_SECRET%"}, {})


def test_cli_connectors_list_test_and_fetch(tmp_path: Path) -> None:
    listing = cli("connectors", "list")
    assert listing.returncode == 0
    for connector in ("workday", "workday-raas", "successfactors", "bamboohr", "adp", "oracle-hcm", "custom-rest"):
        assert connector in listing.stdout
    with HrmsEmulator("oracle-hcm", workers=23) as hr:
        path = config_file(tmp_path, hr.config)
        tested = cli("connectors", "test", "oracle-hcm", "--connector-config", str(path))
        assert tested.returncode == 0, tested.stdout + tested.stderr
        out = tmp_path / "workers.jsonl"
        fetched = cli("connectors", "fetch", "oracle-hcm", "--connector-config", str(path), "--out", str(out))
        assert fetched.returncode == 0, fetched.stderr
        records = [json.loads(line) for line in out.read_text().splitlines()]
        assert [r["workerId"] for r in records] == hr.worker_ids
        assert json.loads(fetched.stdout.splitlines()[-1])["truncated"] is False
        limited = cli(
            "connectors", "fetch", "oracle-hcm", "--connector-config", str(path), "--out", str(out), "--limit", "5"
        )
        assert json.loads(limited.stdout.splitlines()[-1]) == {
            "connector": "oracle-hcm",
            "records": 5,
            "out": str(out),
            "truncated": True,
        }
        bad = config_file(tmp_path, {**hr.config, "password": "wrong"})
        refused = cli("connectors", "fetch", "oracle-hcm", "--connector-config", str(bad), "--out", str(out))
        assert refused.returncode == 2 and "401" in refused.stderr and "wrong" not in refused.stderr


def test_cli_preview_and_run_from_an_hr_system(tmp_path: Path) -> None:
    with HrmsEmulator("workday", workers=30) as hr:
        path = config_file(tmp_path, hr.config)
        env = {"RUNS_DIR": str(tmp_path / "runs"), "STATE_DIR": str(tmp_path / "state")}
        preview = cli(
            "preview",
            "hrms:workday",
            "--connector-config",
            str(path),
            "--mapping",
            "workday",
            "--out",
            str(tmp_path / "p"),
            env=env,
        )
        assert preview.returncode in (0, 1), preview.stderr
        summary = json.loads((tmp_path / "p" / "summary.json").read_text())
        assert summary["rows"] == 30 and summary["operations"] + summary["rejected"] == 30
        rotated = LocalTokenStore(tmp_path / "state").load("workday")
        assert rotated == hr.refresh_token, "the rotated refresh token is kept for the next run"
        run = cli("run", "hrms:workday", "--connector-config", str(path), "--mapping", "workday", env=env)
        assert run.returncode in (0, 1), run.stderr
        assert "using the embedded Graph emulator" in run.stdout and "Provisioning logs:" in run.stdout
        missing = cli("preview", "hrms:workday", "--mapping", "workday", "--out", str(tmp_path / "q"), env=env)
        assert missing.returncode == 2 and "needs --connector-config" in missing.stderr


def test_an_unknown_connector_is_named() -> None:
    from connectors.registry import load_registry
    from provisioning.hr.connector_source import connector_source

    with pytest.raises(ProfileError, match="connector 'peoplesoft' not found"):
        connector_source("peoplesoft", {}, registry=load_registry())


@pytest.fixture
def host(storage: StorageSandbox, graph: EntraEmulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[FunctionHost]:
    monkeypatch.setenv("CONNECTORS_ALLOW_LOOPBACK_HTTP", "true")
    yield host_for(storage, graph, monkeypatch, HRMS_FULL_SYNC_EVERY="3")


def add_job(host: FunctionHost, name: str, body: dict) -> None:
    config = host.storage.clients.container(host.setting("HR_CONFIG_CONTAINER"))
    config.upload_blob(f"connectors/{name}.json", json.dumps(body), overwrite=True)


def tick(host: FunctionHost) -> list[dict]:
    call("hrms_sync", TimerRequest(past_due=False))
    host.run_queues()
    status, body, _ = host.http("list_runs", "GET", "http://x/api/runs")
    assert status == 200
    return body["runs"]


def test_the_timer_pulls_each_enabled_job_through_the_pipeline(
    host: FunctionHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    with HrmsEmulator("workday", workers=30) as workday, HrmsEmulator("bamboohr", workers=20) as bamboo:
        monkeypatch.setenv("WD_CLIENT_SECRET", workday.config["clientSecret"])
        add_job(
            host, "wd", {"connector": "workday", "config": {**workday.config, "clientSecret": "%WD_CLIENT_SECRET%"}}
        )
        add_job(host, "bamboo", {"connector": "bamboohr", "profile": "bamboohr", "config": bamboo.config})
        add_job(host, "off", {"connector": "bamboohr", "enabled": False, "config": bamboo.config})
        runs = tick(host)
        assert sorted(r["source"] for r in runs) == ["hrms:bamboohr", "hrms:workday"]
        assert all(r["trigger"] == "timer" and r["status"] == "completed" for r in runs), runs
        sent = {r["source"]: r["counts"]["operations"] for r in runs}
        assert sent["hrms:bamboohr"] + sent["hrms:workday"] > 0
        state = host.storage.clients.container(host.setting("HR_STATE_CONTAINER"))
        kept = state.download_blob("connectors/wd/refresh-token").readall().decode()
        assert kept == workday.refresh_token, "Workday's rotated refresh token is kept for the next pull"

        def latest(runs: list[dict]) -> dict[str, dict]:
            return {r["source"].split(" ")[0]: r for r in runs[:2]}

        second = latest(tick(host))  # pull 2: BambooHR and Workday (its transaction log) only for what changed
        assert second["hrms:bamboohr"]["counts"]["rows"] == 0 and second["hrms:bamboohr"]["status"] == "completed"
        assert second["hrms:workday"]["counts"]["rows"] == 0 and second["hrms:workday"]["status"] == "completed"
        bamboo.touch(bamboo.worker_ids[:2])
        third = latest(tick(host))
        assert third["hrms:bamboohr"]["counts"]["rows"] == 2 and third["hrms:bamboohr"]["counts"]["operations"] == 2
        assert third["hrms:bamboohr"]["status"] == "completed", "a partial source is not a shrunken one"
        fourth = latest(tick(host))  # HRMS_FULL_SYNC_EVERY=3: pulls 1, 4, 7... send everything
        assert all(r["counts"]["unchanged"] == 0 and r["counts"]["operations"] > 0 for r in fourth.values())


def test_a_failing_hr_system_makes_a_failed_run_and_the_others_go_on(host: FunctionHost) -> None:
    with HrmsEmulator("bamboohr", workers=10) as bamboo:
        add_job(host, "broken", {"connector": "bamboohr", "config": {**bamboo.config, "apiKey": "wrong"}})
        add_job(host, "fine", {"connector": "bamboohr", "config": bamboo.config})
        add_job(host, "typo", {"connector": "bamboohr", "confg": {}})
        runs = tick(host)
        by_status = sorted((r["status"], r["message"][:60]) for r in runs)
        assert [s for s, _ in by_status] == ["completed", "failed"]
        failed = next(r for r in runs if r["status"] == "failed")
        assert "401" in failed["message"] and "wrong" not in failed["message"]


def test_http_connectors_list_and_test(host: FunctionHost) -> None:
    status, body, _ = host.http("list_connectors", "GET", "http://x/api/connectors")
    assert status == 200
    assert {c["id"] for c in body["connectors"]} >= {"workday", "adp", "custom-rest"}
    with HrmsEmulator("custom-rest", workers=7) as hr:
        status, body, _ = host.http(
            "test_connector",
            "POST",
            "http://x",
            json.dumps(hr.config).encode(),
            {"Content-Type": "application/json"},
            route={"id": "custom-rest"},
        )
        assert status == 200 and body["report"], body
        assert hr.config["apiKey"] not in json.dumps(body)
    status, body, _ = host.http(
        "test_connector", "POST", "http://x", b"[1]", {"Content-Type": "application/json"}, route={"id": "custom-rest"}
    )
    assert status == 400
    status, body, _ = host.http(
        "test_connector", "POST", "http://x", b"{}", {"Content-Type": "application/json"}, route={"id": "peoplesoft"}
    )
    assert status == 404 and body["error"]["code"] == "UnknownConnector"


def test_a_date_driven_change_due_makes_the_pull_read_the_whole_source(host: FunctionHost) -> None:
    # BambooHR's own delta reports a change when it is entered, not when it takes effect: on the day a
    # pre-hire starts (the feed's nextChange), the scheduled pull reads everyone instead.
    with HrmsEmulator("bamboohr", workers=20) as bamboo:
        add_job(host, "bamboo", {"connector": "bamboohr", "profile": "bamboohr", "config": bamboo.config})
        first = _record(host, tick(host)[0])
        assert first["status"] == "completed" and first["summary"]["lifecycle"]["preHires"] >= 1
        state = BlobState(host.storage.clients, host.setting("HR_RUNS_CONTAINER"), host.setting("HR_STATE_CONTAINER"))
        assert state.load_feed("hrms:bamboo").next_change == first["summary"]["lifecycle"]["nextChange"]
        quiet = tick(host)[0]
        assert quiet["counts"]["rows"] == 0, "nothing changed and nothing is due: only BambooHR's delta is read"
        # The pre-hire's first day arrives (moved, rather than waited for).
        state.update_feed("hrms:bamboo", lambda feed: replace(feed, next_change="2000-01-01"))
        due = _record(host, tick(host)[0])
    assert due["counts"]["rows"] == 20 and not due["partialSource"], "the whole source, not BambooHR's delta"
    assert due["status"] == "completed"


def _record(host: FunctionHost, listed: dict) -> dict:
    status, record, _ = host.http("get_run", "GET", "http://x/api/runs/r", route={"runId": listed["runId"]})
    assert status == 200
    return record
