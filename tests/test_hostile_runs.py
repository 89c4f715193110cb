"""Hostile and unlucky runs through the Function App (Azurite, the queues, the Graph emulator): malformed
messages, runs that stop making progress, stale approvals, feeds renamed to dodge the safety stop, the
tenant's daily quota, and one bad connector among good ones. Each ends with every worker accepted or
failed with a reason, counted at the emulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from azure.functions.timer import TimerRequest

from emulators.entra import EntraEmulator
from tests.azurite import StorageSandbox
from tests.functions_support import FunctionHost, call, queue_message, runs, small_host
from tests.functions_support import small_workers as workers


@pytest.fixture
def host(storage: StorageSandbox, graph: EntraEmulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[FunctionHost]:
    yield small_host(storage, graph, monkeypatch)


def run(host: FunctionHost, run_id: str) -> dict:
    status, body, _ = host.http("get_run", "GET", "http://x/api/runs/r", route={"runId": run_id})
    assert status == 200, body
    return body


def blob_names(host: FunctionHost, setting: str) -> list[str]:
    container = host.storage.clients.container(host.setting(setting))
    return [b.name for b in container.list_blobs()]


# ---- malformed messages -------------------------------------------------------------------------------


MALFORMED = [
    "not json at all",
    "{}",
    '{"runId": "20261128T120000Z-abcdef"}',
    '{"batch": 1}',
    '{"runId": "../hr-config/x", "batch": 1}',
    '{"runId": "20261128T120000Z-abcdef/../../x", "batch": 1}',
    '{"runId": "20261128T120000Z-abcdef", "batch": -3}',
    '{"runId": "20261128T120000Z-abcdef", "batch": "1; drop"}',
    '{"runId": "20261128T120000Z-abcdef", "batch": 1, "extra": true}',
    '{"runId": 7, "batch": 1}',
    "[1, 2]",
    '{"runId": "20261128T120000Z-abcdef", "attempt": 1, "phase": "../../results"}',
]


@pytest.mark.parametrize("text", MALFORMED)
def test_a_malformed_message_is_dropped_and_leaves_nothing_behind(host: FunctionHost, text: str) -> None:
    for function in ("upload_batch", "upload_poison", "coordinate_run", "coordinate_poison"):
        call(function, queue_message(text))  # returns: nothing for the host to retry into the poison queue
    assert blob_names(host, "HR_RUNS_CONTAINER") == [] and blob_names(host, "HR_CONFIG_CONTAINER") == ["small.json"]


def test_a_message_for_an_unknown_run_or_a_request_outside_the_plan_is_dropped(host: FunctionHost) -> None:
    host.drop("small/a.csv", workers(12))
    host.run_queues()
    (done,) = runs(host)
    before = sorted(blob_names(host, "HR_RUNS_CONTAINER"))
    for message in (
        {"runId": "20261128T120000Z-abcdef", "batch": 1},  # no such run
        {"runId": done["runId"], "batch": 99},  # no such request in the plan
    ):
        call("upload_batch", queue_message(json.dumps(message)))
        call("upload_poison", queue_message(json.dumps(message), dequeue_count=5))
    call("coordinate_run", queue_message(json.dumps({"runId": "20261128T120000Z-abcdef"})))
    assert sorted(blob_names(host, "HR_RUNS_CONTAINER")) == before, "no empty blob, no new folder"
    assert run(host, done["runId"])["status"] == "completed"
    assert host.graph.upload_count == 2


# ---- nothing stays stuck ----------------------------------------------------------------------------------


def _sweep(host: FunctionHost) -> None:
    host.configure(HR_STUCK_MINUTES="1")
    call("sweep_runs", TimerRequest())


def test_a_run_whose_messages_were_lost_is_resumed_by_the_periodic_check(host: FunctionHost) -> None:
    host.drop("small/a.csv", workers(30))
    lost = list(host.messages("HR_UPLOAD_QUEUE")) + list(host.messages("HR_RESULTS_QUEUE"))  # gone
    assert lost and host.graph.upload_count == 0
    (stuck,) = runs(host)
    assert stuck["status"] == "sending"
    from provisioning.engine.workflow import Workflow

    workflow: Workflow = __import__("function_app").services().workflow
    assert workflow.sweep(stuck_after=timedelta(0)) == [f"{stuck['runId']}: resumed (1 of 2)"]
    host.run_queues()
    record = run(host, stuck["runId"])
    assert record["status"] == "completed", record["message"]
    assert record["sweeps"] == 1 and len(host.graph.directory()) == 30


def test_a_run_that_never_gets_going_is_ended_with_the_reason(host: FunctionHost) -> None:
    host.drop("small/a.csv", workers(30))
    from provisioning.engine.workflow import Workflow

    workflow: Workflow = __import__("function_app").services().workflow
    for _ in range(3):  # every resume's messages are lost again
        list(host.messages("HR_UPLOAD_QUEUE"))
        list(host.messages("HR_RESULTS_QUEUE"))
        workflow.sweep(stuck_after=timedelta(0))
    (ended,) = runs(host)
    record = run(host, ended["runId"])
    assert record["status"] == "failed" and "no progress" in record["message"]
    assert all(b["status"] == "failed" and b["errorCode"] == "NotSent" for b in record["batches"])
    retry_status, retry, _ = host.http("retry_run", "POST", "http://x", route={"runId": ended["runId"]})
    assert retry_status == 202
    host.run_queues()
    assert run(host, retry["runId"])["status"] == "completed" and len(host.graph.directory()) == 30


def test_a_run_stuck_in_planning_is_failed_by_the_periodic_check(host: FunctionHost) -> None:
    from provisioning.core.runs import RunRecord, new_run_id

    services = __import__("function_app").services()
    record = RunRecord(runId=new_run_id(), source="x.csv", profile="small", status="planning")
    services.state.save_record(record)
    assert services.workflow.sweep(stuck_after=timedelta(0)) == [f"{record.runId}: planning never finished: failed"]
    after = run(host, record.runId)
    assert after["status"] == "failed" and "nothing was sent" in after["message"]


def test_a_poisoned_coordinator_ends_the_run_instead_of_leaving_it_sending(host: FunctionHost) -> None:
    host.drop("small/a.csv", workers(30))
    host.deliver("HR_UPLOAD_QUEUE", "upload_batch")  # the first group is answered
    (coordinator,) = [m.content for m in host.messages("HR_RESULTS_QUEUE")]
    call("coordinate_poison", queue_message(coordinator, dequeue_count=5))
    (ended,) = runs(host)
    record = run(host, ended["runId"])
    assert record["status"] == "failed" and "coordinator failed 5 deliveries" in record["message"]
    accepted = [b for b in record["batches"] if b["status"] == "accepted"]
    assert accepted and all(b["status"] in ("accepted", "failed") and (b["status"] == "accepted" or b["error"])
                            for b in record["batches"])  # fmt: skip


def test_a_poisoned_upload_is_recorded_even_while_a_dead_instance_holds_its_lease(host: FunctionHost) -> None:
    host.drop("small/a.csv", workers(5))
    (message,) = [m.content for m in host.messages("HR_UPLOAD_QUEUE")]
    services = __import__("function_app").services()
    payload = json.loads(message)
    runs_container = host.storage.clients.container(host.setting("HR_RUNS_CONTAINER"))
    blob = runs_container.get_blob_client(f"{payload['runId']}/batches/{payload['batch']:04d}.json")
    blob.acquire_lease(lease_duration=15)  # an instance took the request and died: its lease lapses in 15 s
    call("upload_poison", queue_message(message, dequeue_count=5))
    manifest = services.state.load_manifest(payload["runId"], payload["batch"])
    assert manifest.status == "failed" and manifest.errorCode == "PoisonMessage"


# ---- approvals and feeds ------------------------------------------------------------------------------


def test_approving_a_held_run_after_a_newer_run_of_its_feed_is_refused(host: FunctionHost) -> None:
    host.drop("small/day1.csv", workers(40))
    host.run_queues()
    host.drop("small/day2.csv", workers(40, inactive=8))  # held: 8 of 40 disabled
    host.run_queues()
    held = next(r for r in runs(host) if r["status"] == "held")
    host.drop("small/day3.csv", workers(40))  # the latest file: everyone active
    host.run_queues()
    status, body, _ = host.http("approve_run", "POST", "http://x", route={"runId": held["runId"]})
    assert status == 409 and "older data" in body["error"]["message"]
    assert not [u for u in host.graph.directory().values() if u.get("accountEnabled") is False]


@pytest.mark.parametrize("second", ["small/2026-11-28/day2.csv", "small/other-folder/day2.csv"])
def test_a_new_folder_of_a_profile_is_weighed_against_the_profiles_history(host: FunctionHost, second: str) -> None:
    host.drop("small/day1.csv", workers(40))
    host.run_queues()
    uploads = host.graph.upload_count
    host.drop(second, workers(40, inactive=30))
    host.run_queues()
    assert runs(host)[0]["status"] == "held" and host.graph.upload_count == uploads


def test_a_new_http_source_is_weighed_against_the_profiles_history(host: FunctionHost) -> None:
    for data, source in ((workers(40), None), (workers(40, inactive=30), "brand-new")):
        params = {"mapping": "small", **({"source": source} if source else {})}
        status, body, _ = host.http(
            "provision", "POST", "http://x/api/provision", data, {"Content-Type": "text/csv"}, params
        )
        assert status == 202, body
        host.run_queues()
    assert runs(host)[0]["status"] == "held"


def test_the_first_load_of_a_new_profile_is_not_held_for_the_leavers_in_it(host: FunctionHost) -> None:
    host.drop("small/first.csv", workers(40, inactive=30))
    host.run_queues()
    assert runs(host)[0]["status"] == "completed"


# ---- the tenant's daily quota --------------------------------------------------------------------------


def test_an_exhausted_daily_quota_stops_the_run_promptly_and_says_when(
    storage: StorageSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    with EntraEmulator(rate_limit=(1000, 1.0), log_rate_limit=None, daily_quota=2) as graph:
        host = small_host(storage, graph, monkeypatch)
        host.drop("small/a.csv", workers(40))
        host.run_queues()
        (record,) = runs(host)
        full = run(host, record["runId"])
        assert full["status"] == "failed" and "daily quota exhausted, retry after" in full["message"]
        assert [b["status"] for b in full["batches"]].count("accepted") == 2
        assert all(b["errorCode"] == "QuotaExhausted" for b in full["batches"] if b["status"] == "failed")
        assert graph.upload_count == 4, "each of the two other requests asked once, none retried for hours"
        status, usage, _ = host.http("get_usage", "GET", "http://x/api/usage")
        assert status == 200 and usage["bulkUploadCalls"] == 4 and full["counts"]["callsToday"] == 4


# ---- scheduled pulls: one bad job or definition among good ones -------------------------------------------


def test_a_bad_connector_definition_is_named_and_the_good_ones_still_work(host: FunctionHost) -> None:
    config = host.storage.clients.container(host.setting("HR_CONFIG_CONTAINER"))
    config.upload_blob("connectors/definitions/broken.json", b'{"id": "broken", "name": 7}', overwrite=True)
    config.upload_blob("connectors/definitions/notjson.json", b"{", overwrite=True)
    status, body, _ = host.http("list_connectors", "GET", "http://x/api/connectors")
    assert status == 200
    assert {c["id"] for c in body["connectors"]} >= {"workday", "bamboohr", "custom-rest"}
    assert len(body["invalidDefinitions"]) == 2
    assert any("broken.json" in p for p in body["invalidDefinitions"])
    assert any("notjson.json" in p and "not valid JSON" in p for p in body["invalidDefinitions"])


def test_one_failing_job_is_its_own_failed_run_and_the_others_still_run(host: FunctionHost) -> None:
    config = host.storage.clients.container(host.setting("HR_CONFIG_CONTAINER"))
    jobs = {
        "a-unknown": {"connector": "peoplesoft", "config": {}},
        "b-bad-url": {"connector": "custom-rest", "profile": "small", "config": {"baseUrl": "ftp://x"}},
        "c-missing-setting": {"connector": "bamboohr", "config": {"apiKey": "%NOT_SET_ANYWHERE%"}},
    }
    for name, job in jobs.items():
        config.upload_blob(f"connectors/{name}.json", json.dumps(job), overwrite=True)
    call("hrms_sync", TimerRequest())
    records = runs(host)
    assert len(records) == 3 and all(r["status"] == "failed" and r["message"] for r in records)
    messages = " | ".join(r["message"] for r in records)
    assert "NOT_SET_ANYWHERE" in messages and "'custom-rest'" in messages and "'peoplesoft' not found" in messages
