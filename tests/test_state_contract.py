"""The engine's state interface: one contract suite, run on local folders and on blob storage (Azurite)."""

from __future__ import annotations

import csv
import io
import json
import multiprocessing
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from emulators.entra import EntraEmulator
from provisioning.core.plan.delta import SourceState, remember_accepted
from provisioning.core.runs import BatchOutcome, BatchRecord, Manifest, RunPlan, RunRecord, new_run_id
from provisioning.state.blob import BlobState
from provisioning.state.interface import RunNotFound, StateStore
from provisioning.state.local import LocalState
from tests.azurite import StorageSandbox
from tests.engine_support import local_state, start, threaded_workflow


def run_record(minutes_ago: int, **fields: object) -> RunRecord:
    moment = datetime(2026, 11, 28, 12, 0, tzinfo=UTC) - timedelta(minutes=minutes_ago)
    created = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return RunRecord(
        runId=new_run_id(moment), source="workers.csv", profile="microsoft-sample", createdAt=created, **fields
    )  # type: ignore[arg-type]


def manifest(number: int, group: int = 0, ids: tuple[str, ...] = ("21001", "21002")) -> Manifest:
    return Manifest(
        number=number,
        group=group,
        externalIds=list(ids),
        fingerprints=[f"fp-{i}" for i in ids],
        actives=[True] * len(ids),
    )


@pytest.fixture(params=["local", "blob"])
def state(request: pytest.FixtureRequest, tmp_path: Path) -> StateStore:
    if request.param == "local":
        return local_state(tmp_path)
    sandbox: StorageSandbox = request.getfixturevalue("storage")
    return BlobState(sandbox.clients, sandbox.name("hr-runs"), sandbox.name("hr-state"))


# ---- run records, bodies and rejects ------------------------------------------------------------------


def test_a_record_comes_back_as_saved(state: StateStore) -> None:
    record = run_record(0, batches=[BatchRecord(number=1, externalIds=["21001", "21002"], status="accepted")])
    state.save_record(record)
    assert state.load_record(record.runId) == record
    record.status = "completed"
    state.save_record(record)
    assert state.load_record(record.runId).status == "completed"


def test_runs_are_listed_newest_first_and_limited(state: StateStore) -> None:
    records = [run_record(minutes) for minutes in (30, 0, 90, 10)]
    for record in records:
        state.save_record(record)
    state.save_request("20990101T000000Z-ffffff", 1, b"{}")  # a folder without run.json is not a run
    newest_first = sorted(records, key=lambda r: r.runId, reverse=True)
    assert [r.runId for r in state.list_runs()] == [r.runId for r in newest_first]
    assert [r.runId for r in state.list_runs(limit=2)] == [r.runId for r in newest_first[:2]]


def test_an_empty_store_lists_nothing(state: StateStore) -> None:
    assert state.list_runs() == []


def test_request_bodies_are_kept_by_number(state: StateStore) -> None:
    record = run_record(0)
    state.save_record(record)
    bodies = {number: json.dumps({"number": number, "name": "Zoë"}).encode() for number in (1, 2, 12)}
    for number, body in bodies.items():
        state.save_request(record.runId, number, body)
    assert {number: state.load_request(record.runId, number) for number in bodies} == bodies
    with pytest.raises(RunNotFound, match="request 3 of run"):
        state.load_request(record.runId, 3)


def test_rejects_are_written_as_a_stream_and_read_back(state: StateStore) -> None:
    record = run_record(0)
    assert state.load_rejects(record.runId) == ""
    rows = [["line", "externalId", "reason"], ["7", "21007", 'userName: missing, "quoted"'], ["9", "", "Zoë\n2"]]
    with state.rejects_writer(record.runId) as stream:
        csv.writer(stream).writerows(rows)
    text = state.load_rejects(record.runId)
    assert list(csv.reader(io.StringIO(text))) == rows
    assert text.startswith("line,externalId,reason\n")  # both stores read CRLF line ends as \n


def test_rejects_written_before_a_failure_are_kept(state: StateStore) -> None:
    record = run_record(0)
    with pytest.raises(RuntimeError), state.rejects_writer(record.runId) as stream:
        stream.write("line,reason\r\n3,bad\r\n")
        raise RuntimeError("the source broke")
    assert state.load_rejects(record.runId) == "line,reason\n3,bad\n"


@pytest.mark.parametrize("run_id", ["20261128T120000Z-000000", "", "../etc", "a/b", ".hidden", "x..y"])
def test_an_unknown_or_invalid_run_is_not_found(state: StateStore, run_id: str) -> None:
    with pytest.raises(RunNotFound):
        state.load_record(run_id)
    with pytest.raises(RunNotFound):
        state.load_request(run_id, 1)


# ---- plans, manifests, claims and markers ---------------------------------------------------------------


def test_a_plan_comes_back_as_saved(state: StateStore) -> None:
    run_id = new_run_id()
    assert state.load_plan(run_id) is None
    plan = RunPlan(groups=[[1, 2], [3]], sourceKey="route:employees/", rows=120)
    state.save_plan(run_id, plan)
    assert state.load_plan(run_id) == plan


def test_manifests_are_created_listed_and_their_statuses_read(state: StateStore) -> None:
    run_id = new_run_id()
    assert state.manifests(run_id) == [] and state.statuses(run_id) == {}
    for number in (2, 1, 3):
        assert state.create_manifest(run_id, manifest(number, group=number // 2)) == manifest(number, number // 2)
    assert [m.number for m in state.manifests(run_id)] == [1, 2, 3]
    assert state.statuses(run_id) == {1: "pending", 2: "pending", 3: "pending"}
    done = manifest(2, group=1)
    done.record(BatchOutcome(2, done.externalIds, "accepted", 202, 1, 0.1))
    state.save_manifest(run_id, done)
    assert state.statuses(run_id)[2] == "accepted"
    assert state.load_manifest(run_id, 2) == done
    assert state.load_manifest(run_id, 9) is None


def test_planning_again_keeps_what_was_sent(state: StateStore) -> None:
    """A run planned again after a crash: a request that was sent (or is being sent) stays as it is."""
    run_id = new_run_id()
    sent = manifest(1)
    sent.status, sent.sends = "sending", 1
    state.create_manifest(run_id, sent)
    again = state.create_manifest(run_id, manifest(1))
    assert again.status == "sending" and again.sends == 1
    state.create_manifest(run_id, manifest(2))
    fresh = manifest(2, ids=("21009",))
    assert state.create_manifest(run_id, fresh).externalIds == ["21009"], "a pending one is planned anew"


def test_a_claim_is_held_by_one_sender_at_a_time(state: StateStore) -> None:
    run_id = new_run_id()
    state.create_manifest(run_id, manifest(1))
    with state.claim(run_id, 1) as first:
        assert first is not None
        with state.claim(run_id, 1) as second:
            assert second is None
        other = threading.Thread(target=lambda: results.append(_try_claim(state, run_id)))
        results: list[bool] = []
        other.start()
        other.join()
        assert results == [False]
        sending = manifest(1)
        sending.status = "sending"
        first.save(sending)
        first.renew()
    assert state.load_manifest(run_id, 1) == sending
    with state.claim(run_id, 1) as later:
        assert later is not None, "released when the block ends"


def _try_claim(state: StateStore, run_id: str) -> bool:
    with state.claim(run_id, 1) as claim:
        return claim is not None


def test_a_marker_is_created_by_one_caller_only(state: StateStore) -> None:
    run_id = new_run_id()
    assert not state.has_marker(run_id, "finalised")
    wins: list[bool] = []
    threads = [threading.Thread(target=lambda: wins.append(state.mark_once(run_id, "finalised"))) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(wins) == [False] * 5 + [True]
    assert state.has_marker(run_id, "finalised")


# ---- feeds --------------------------------------------------------------------------------------------


def test_a_new_feed_is_empty_and_updates_come_back(state: StateStore) -> None:
    assert state.load_feed("route:employees/") == SourceState()
    new = state.update_feed("route:employees/", lambda feed: remember_accepted(feed, [("21001", "fp1", True)], rows=10))
    assert new.records == {"21001": ("fp1", True)} and new.rows == 10
    assert state.load_feed("route:employees/") == new
    assert state.load_feed("route:contractors/") == SourceState(), "feeds are kept apart"


def test_concurrent_feed_updates_are_never_lost(state: StateStore) -> None:
    def add(worker: int) -> None:
        for i in range(5):
            ident = f"{worker}-{i}"
            state.update_feed(
                "hrms:workday", lambda feed, ident=ident: remember_accepted(feed, [(ident, "f", True)], rows=None)
            )

    threads = [threading.Thread(target=add, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(state.load_feed("hrms:workday").records) == 20


def test_feed_updates_from_other_processes_are_never_lost(tmp_path: Path) -> None:
    """The local backend's lock holds across processes (two CLI runs of one feed at once)."""
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=_add_records, args=(str(tmp_path), w)) for w in range(3)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(30)
    assert len(local_state(tmp_path).load_feed("profile:x").records) == 30


def _add_records(folder: str, worker: int) -> None:
    state = local_state(Path(folder))
    for i in range(10):
        state.update_feed(
            "profile:x", lambda feed, i=i: remember_accepted(feed, [(f"{worker}-{i}", "f", True)], rows=None)
        )


# ---- the whole engine on either backend -----------------------------------------------------------------


def test_a_threaded_run_works_the_same_on_either_backend(graph: EntraEmulator, state: StateStore) -> None:
    record = start(threaded_workflow(graph, state))
    assert record.status == "completed", record.message
    assert state.load_record(record.runId) == record
    assert [r.runId for r in state.list_runs()] == [record.runId]
    assert json.loads(state.load_request(record.runId, 1))["Operations"]
    assert len(state.load_rejects(record.runId).splitlines()) == record.counts.rejected + 1
    assert all(m.status == "accepted" and m.sends == 1 for m in state.manifests(record.runId))
    # Forgotten, to go again next run: the UPN clash, and the worker whose manager Entra could not resolve.
    assert len(state.load_feed("profile:microsoft-sample").records) == 276


def test_local_state_is_where_the_settings_say(tmp_path: Path) -> None:
    state = LocalState(tmp_path / "r", tmp_path / "s")
    record = run_record(0)
    state.save_record(record)
    state.update_feed("profile:x", lambda feed: feed)
    assert (tmp_path / "r" / record.runId / "run.json").is_file()
    assert (tmp_path / "s" / "feeds" / "profile_x.json").is_file()
