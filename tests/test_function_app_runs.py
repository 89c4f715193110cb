"""The Function App over real Azure Storage (Azurite) and the Graph emulator: drops, queues, delta, safety."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from emulators.entra import DEFAULT_JOB, DEFAULT_SP, EntraEmulator
from provisioning.state.blob_json import read_json
from tests.azurite import StorageSandbox
from tests.functions_support import SMALL_PROFILE, FunctionHost, call, queue_message, runs, small_host
from tests.functions_support import small_workers as workers
from tests.support import ROOT

SAMPLE = (ROOT / "samples" / "workers.csv").read_bytes()


@pytest.fixture
def host(storage: StorageSandbox, graph: EntraEmulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[FunctionHost]:
    yield small_host(storage, graph, monkeypatch)


def the_run(host: FunctionHost) -> dict:
    (summary,) = runs(host)
    status, body, _ = host.http("get_run", "GET", "http://localhost/api/runs/x", route={"runId": summary["runId"]})
    assert status == 200
    return body


def test_a_dropped_csv_ends_with_per_record_results_in_the_run_record(host: FunctionHost) -> None:
    host.drop("drops/workers.csv", SAMPLE)
    host.run_queues()
    run = the_run(host)
    assert run["status"] == "completed", run["message"]
    assert run["trigger"] == "blob" and run["profile"] == "microsoft-sample"
    assert run["counts"]["rows"] == 281 and run["counts"]["rejected"] == 3 and run["counts"]["accepted"] == 278
    assert run["results"]["counts"] == {"create": {"success": 277, "failure": 1}}
    assert run["schemaSync"]["written"] is True
    assert len(host.graph.directory()) == 277
    status, results, _ = host.http(
        "get_run_results", "GET", "http://x/api/runs/r/results", route={"runId": run["runId"]}
    )
    assert status == 200 and results["results"]["failed"] == run["results"]["failed"]


def test_the_same_blob_delivered_twice_starts_one_run(host: FunctionHost) -> None:
    blob = host.drop("small/a.csv", workers(25))
    call("provision_blob", blob)  # Event Grid and the host both redeliver
    assert len(runs(host)) == 1
    host.run_queues()
    call("provision_blob", blob)
    host.run_queues()
    assert len(runs(host)) == 1
    assert host.graph.accepted_upload_count == 3


def test_a_crashed_run_resumes_and_sends_only_what_was_not_accepted(host: FunctionHost) -> None:
    host.drop("small/a.csv", workers(45))
    uploads = host.storage.clients.queue(host.setting("HR_UPLOAD_QUEUE"))
    processed: list[str] = []
    while len(processed) < 2:  # the instance sends two requests, then dies
        message = next(iter(uploads.receive_messages(max_messages=1)), None)
        if message is None:
            host.deliver("HR_RESULTS_QUEUE", "coordinate_run")
            continue
        call("upload_batch", queue_message(message.content))
        uploads.delete_message(message)
        processed.append(message.content)
    assert host.graph.accepted_upload_count == 2
    uploads.send_message(processed[0])  # a message it had finished is delivered again
    host.run_queues()
    assert host.graph.accepted_upload_count == 5, "each of the 5 requests sent exactly once"
    assert the_run(host)["status"] == "completed"
    assert len(host.graph.directory()) == 45


def test_delta_a_second_identical_drop_sends_nothing_and_a_changed_row_one_operation(host: FunctionHost) -> None:
    host.drop("small/day1.csv", workers(30))
    host.run_queues()
    uploads = host.graph.accepted_upload_count
    host.drop("small/day2.csv", workers(30))
    host.run_queues()
    assert host.graph.accepted_upload_count == uploads
    newest = runs(host)[0]
    assert newest["counts"]["unchanged"] == 30 and newest["counts"]["operations"] == 0
    assert newest["status"] == "completed" and "nothing to send" in newest["message"]
    changed = workers(30).replace(b"F7 L7", b"Fiona L7")
    host.drop("small/day3.csv", changed)
    host.run_queues()
    assert host.graph.accepted_upload_count == uploads + 1
    newest = runs(host)[0]
    assert newest["counts"]["operations"] == 1 and newest["counts"]["unchanged"] == 29
    body = json.loads(host.graph.uploads()[-1].path and "{}")  # the emulator keeps the user:
    assert body == {} and host.graph.directory()["1007"]["displayName"] == "Fiona L7"


def test_full_sync_sends_everything_again(host: FunctionHost) -> None:
    host.drop("small/day1.csv", workers(20))
    host.run_queues()
    host.configure(DELTA_FULL_SYNC="true")
    host.drop("small/day2.csv", workers(20))
    host.run_queues()
    assert runs(host)[0]["counts"]["operations"] == 20


def test_failed_records_are_forgotten_so_the_next_run_resends_them(host: FunctionHost) -> None:
    data = workers(10).replace(b"u3@contoso.com", b"u2@contoso.com")  # a UPN clash: the logs report a failure
    host.drop("small/day1.csv", data)
    host.run_queues()
    first = runs(host)[0]
    _, results, _ = host.http("get_run_results", "GET", "http://x", route={"runId": first["runId"]})
    (failed,) = results["results"]["failed"]
    host.drop("small/day2.csv", data)
    host.run_queues()
    second = runs(host)[0]
    assert second["counts"]["operations"] == 1 and second["counts"]["unchanged"] == 9
    assert failed == "1003"


def test_safety_stop_holds_a_mass_disable_until_approved_over_http(host: FunctionHost) -> None:
    host.drop("small/day1.csv", workers(40))
    host.run_queues()
    uploads = host.graph.accepted_upload_count
    host.drop("small/day2.csv", workers(40, inactive=8))
    host.run_queues()
    held = runs(host)[0]
    assert held["status"] == "held" and "disable 8 of the source's 40 active workers" in held["message"]
    assert host.graph.accepted_upload_count == uploads, "nothing sent"
    status, body, _ = host.http("approve_run", "POST", "http://x", route={"runId": held["runId"]})
    assert status == 202 and body["status"] == "sending"
    host.run_queues()
    assert runs(host)[0]["status"] == "completed"
    assert sum(1 for u in host.graph.directory().values() if u.get("accountEnabled") is False) == 8
    status, body, _ = host.http("approve_run", "POST", "http://x", route={"runId": held["runId"]})
    assert status == 409 and "not held" in body["error"]["message"]


def test_safety_stop_on_a_shrunken_source_and_approval_by_marker_and_setting(host: FunctionHost) -> None:
    host.drop("small/day1.csv", workers(40))
    host.run_queues()
    host.drop("small/day2.csv", workers(30))
    held = runs(host)[0]
    assert held["status"] == "held" and "shrank from 40 to 30 rows" in held["message"]
    host.drop("small/day2.csv", workers(30), metadata={"approved": "true"})
    host.run_queues()
    assert runs(host)[0]["status"] == "completed"
    blob = host.drop("small/day3.csv", workers(20))
    again = runs(host)[0]
    assert again["status"] == "held"
    host.configure(SAFETY_APPROVED_RUNS=f"someother,{again['runId']}")
    call("provision_blob", blob)  # the same file delivered again (or the host's next scan)
    host.run_queues()
    approved = runs(host)[0]
    assert (approved["runId"], approved["status"]) == (again["runId"], "completed")


def test_a_bad_file_is_quarantined_with_its_error_report(host: FunctionHost) -> None:
    blob = host.drop("drops/broken.csv", b"WorkerID,UserID\n1,caf\xe9\n")
    assert not blob.exists()
    quarantine = host.storage.clients.container(host.setting("HR_QUARANTINE_CONTAINER"))
    assert quarantine.download_blob("drops/broken.csv").readall() == b"WorkerID,UserID\n1,caf\xe9\n"
    report, _ = read_json(quarantine, "drops/broken.csv.error.json")
    assert report["line"] == 2 and "not valid utf-8" in report["error"]
    (run,) = runs(host)
    assert run["status"] == "failed" and "line 2" in run["message"]
    assert host.graph.upload_count == 0


def test_a_paused_job_holds_the_run(host: FunctionHost) -> None:
    host.graph.set_job_status(DEFAULT_SP, DEFAULT_JOB, "Paused")
    host.drop("small/a.csv", workers(5))
    run = runs(host)[0]
    assert run["status"] == "held" and "Paused" in run["message"]


def test_a_poison_message_is_recorded_as_a_failed_request(host: FunctionHost) -> None:
    host.drop("small/a.csv", workers(15))
    (first,) = [m.content for m in host.messages("HR_UPLOAD_QUEUE")]  # the manager level goes first, alone
    call("upload_poison", queue_message(first, dequeue_count=5))
    host.run_queues()
    run = the_run(host)
    assert run["status"] == "failed", "a run is completed only when every request was accepted"
    assert "retry-failed sends their 10 records again" in run["message"]
    poisoned = next(b for b in run["batches"] if b["number"] == json.loads(first)["batch"])
    assert poisoned["status"] == "failed" and poisoned["errorCode"] == "PoisonMessage"
    assert "failed 5 deliveries" in poisoned["error"]
    assert run["counts"]["failed"] == 10 and run["counts"]["accepted"] == 5


def test_the_profile_in_the_config_container_wins_over_the_bundled_one(host: FunctionHost) -> None:
    config = host.storage.clients.container(host.setting("HR_CONFIG_CONTAINER"))
    custom = dict(SMALL_PROFILE, name="microsoft-sample")
    config.upload_blob("microsoft-sample.json", json.dumps(custom), overwrite=True)
    host.drop("drops/x.csv", workers(3))
    host.run_queues()
    assert runs(host)[0]["counts"]["operations"] == 3
