"""Joiners and leavers by date (issue 11, points 9 to 11): pre-hires, leave dates that take effect later, and
workers who vanish from a full source, through the pipeline and through whole runs (delta and safety stop)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from emulators.entra import EntraEmulator
from provisioning.core.mapping.profile import Profile
from provisioning.core.plan.delta import SourceState, change_due, with_next_change
from provisioning.core.read.csv_source import CsvSource
from provisioning.engine.config import RunConfig
from tests.engine_support import FAST, local_state, start, threaded_workflow
from tests.support import minimal_profile, operations, run_plan

TODAY = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
HEADER = "id,user,status,start,end"


def profile(**lifecycle: Any) -> Profile:
    base = minimal_profile()
    settings = {"hireDate": "start", "leaveDate": "end", **lifecycle}
    return Profile.model_validate({**base.model_dump(by_alias=True, exclude_none=True), "lifecycle": settings})


def actives(rows: list[str], prof: Profile, now: datetime = TODAY, **options: Any) -> tuple[dict[str, bool], Any]:
    plan, rejects, bodies = run_plan("\n".join([HEADER, *rows]) + "\n", prof, now=now, **options)
    assert not rejects, rejects
    return {op["data"]["externalId"]: op["data"]["active"] for op in operations(bodies)}, plan.summary


# ---- the pipeline ----------------------------------------------------------------------------------------


def test_a_pre_hire_is_sent_disabled_until_its_first_day_by_default() -> None:
    rows = ["1,a,Active,2026-12-15,", "2,b,Active,2026-12-01,", "3,c,Active,2020-01-01,"]
    sent, summary = actives(rows, profile())
    assert sent == {"1": False, "2": True, "3": True}, "the HR status says Active for all three"
    assert summary.lifecycle["preHires"] == 1 and summary.lifecycle["nextChange"] == "2026-12-15"


def test_a_pre_hire_is_enabled_some_days_before_or_held_back_or_sent_as_is() -> None:
    rows = ["1,a,Active,2026-12-15,"]
    assert actives(rows, profile(activateDaysBefore=14))[0] == {"1": True}
    assert actives(rows, profile(activateDaysBefore=13))[0] == {"1": False}
    held, summary = actives(rows, profile(preHire="hold", activateDaysBefore=3))
    assert held == {} and summary.lifecycle["deferred"] == 1 and summary.rejected == 0
    assert summary.lifecycle["nextChange"] == "2026-12-12", "the day it is first sent"
    assert actives(rows, profile(preHire="send"))[0] == {"1": True}


def test_a_last_day_disables_from_the_day_after_whatever_the_status() -> None:
    rows = ["1,a,Active,2020-01-01,2026-11-30", "2,b,Active,2020-01-01,2026-12-01", "3,c,Active,2020-01-01,2027-01-31"]
    sent, summary = actives(rows, profile())
    assert sent == {"1": False, "2": True, "3": True}
    assert summary.lifecycle["leavers"] == 1
    assert summary.lifecycle["nextChange"] == "2026-12-02", "the day after worker 2's last day"


def test_a_source_showing_future_records_can_keep_workers_active_until_their_last_day() -> None:
    # SuccessFactors read with asOfDate=9999-12-31 shows a termination entered ahead as status T already.
    rows = ["1,a,Terminated,2020-01-01,2026-12-10", "2,b,Terminated,2020-01-01,2026-11-30"]
    assert actives(rows, profile())[0] == {"1": False, "2": False}, "by default the status decides"
    assert actives(rows, profile(activeUntilLeaveDate=True))[0] == {"1": True, "2": False}


def test_dates_in_the_vendors_spellings_and_bad_ones() -> None:
    rows = ["1,a,Active,/Date(1797724800000)/,", "2,b,Active,2026-12-20+01:00,", "3,c,Active,2026-12-20T00:00:00Z,"]
    assert actives(rows, profile())[0] == {"1": False, "2": False, "3": False}
    _, rejects, _ = run_plan(f"{HEADER}\n1,a,Active,someday,\n", profile(), now=TODAY)
    [reject] = rejects
    assert reject.field == "lifecycle.hireDate" and "'someday' is not a date" in reject.reason


def test_the_next_change_day_makes_a_pull_read_the_whole_source() -> None:
    state = with_next_change(SourceState(), "2026-12-15", whole_source=True)
    assert not change_due(state, "2026-12-14") and change_due(state, "2026-12-15")
    assert with_next_change(state, "2026-12-20", whole_source=False).next_change == "2026-12-15", "a delta keeps it"
    assert with_next_change(state, "2026-12-20", whole_source=True).next_change == "2026-12-20"
    assert with_next_change(state, None, whole_source=True).next_change == ""


# ---- whole runs: delta, effective dates, vanished workers, the safety stop ---------------------------------


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _run(graph: EntraEmulator, tmp_path: Path, clock: Clock, rows: list[str], prof: Profile, **config: Any) -> Any:
    workflow = threaded_workflow(
        graph, local_state(tmp_path), profiles={"p": prof}, clock=clock, config=FAST.but(**config) if config else FAST
    )
    source = CsvSource(("\n".join([HEADER, *rows]) + "\n").encode())
    return start(workflow, source, "p", feed="hr")


def test_a_pre_hire_goes_out_disabled_and_is_enabled_when_the_day_comes(graph: EntraEmulator, tmp_path: Path) -> None:
    clock = Clock(TODAY)
    rows = ["1,a,Active,2026-12-15,", "2,b,Active,2020-01-01,"]
    first = _run(graph, tmp_path, clock, rows, profile())
    assert first.status == "completed", first.message
    assert graph.directory()["1"]["accountEnabled"] is False and graph.directory()["2"]["accountEnabled"] is True
    clock.now = TODAY + timedelta(days=7)
    same = _run(graph, tmp_path, clock, rows, profile())
    assert same.counts.operations == 0, "nothing changed yet: nothing is sent"
    clock.now = datetime(2026, 12, 15, 6, 0, tzinfo=UTC)
    day_one = _run(graph, tmp_path, clock, rows, profile())
    assert day_one.counts.operations == 1 and day_one.sent_external_ids() == ["1"]
    assert graph.directory()["1"]["accountEnabled"] is True, "the same file, a later day: the account is on"


def test_a_future_dated_termination_takes_effect_on_its_day(graph: EntraEmulator, tmp_path: Path) -> None:
    clock = Clock(TODAY)
    rows = ["1,a,Active,2020-01-01,2026-12-10", *(f"{i},u{i},Active,2020-01-01," for i in range(2, 21))]
    assert _run(graph, tmp_path, clock, rows, profile()).status == "completed"
    assert graph.directory()["1"]["accountEnabled"] is True, "still employed until the 10th"
    clock.now = datetime(2026, 12, 11, 6, 0, tzinfo=UTC)
    after = _run(graph, tmp_path, clock, rows, profile())
    assert after.sent_external_ids() == ["1"], after.message
    assert graph.directory()["1"]["accountEnabled"] is False


def test_workers_missing_from_a_full_source_are_disabled_and_listed(graph: EntraEmulator, tmp_path: Path) -> None:
    clock = Clock(TODAY)
    everyone = [f"{i},u{i},Active,2020-01-01," for i in range(1, 31)]  # 2 of 30: under the safety stop's 10%
    assert _run(graph, tmp_path, clock, everyone, profile(missing="disable")).status == "completed"
    gone = _run(graph, tmp_path, clock, everyone[2:], profile(missing="disable"))
    assert gone.status == "completed", gone.message
    assert gone.summary["lifecycle"]["vanished"] == 2 and gone.summary["lifecycle"]["vanishedIds"] == ["1", "2"]
    assert sorted(gone.sent_external_ids()) == ["1", "2"]
    directory = graph.directory()
    assert directory["1"]["accountEnabled"] is False and directory["3"]["accountEnabled"] is True
    again = _run(graph, tmp_path, clock, everyone[2:], profile(missing="disable"))
    assert again.counts.operations == 0, "disabled once; not sent again while they stay away"


def test_missing_ignore_leaves_them_alone(graph: EntraEmulator, tmp_path: Path) -> None:
    clock = Clock(TODAY)
    everyone = [f"{i},u{i},Active,2020-01-01," for i in range(1, 11)]
    _run(graph, tmp_path, clock, everyone, profile())
    later = _run(graph, tmp_path, clock, everyone[2:], profile())
    assert later.counts.operations == 0 and later.summary["lifecycle"]["vanished"] == 0


@pytest.mark.parametrize("share", [0.5])
def test_the_safety_stop_holds_a_mass_vanishing(graph: EntraEmulator, tmp_path: Path, share: float) -> None:
    clock = Clock(TODAY)
    everyone = [f"{i},u{i},Active,2020-01-01," for i in range(1, 11)]
    _run(graph, tmp_path, clock, everyone, profile(missing="disable"))
    uploads = graph.upload_count
    # The source shrank too (10 -> 3 rows): let only the disables decide here.
    held = _run(graph, tmp_path, clock, everyone[7:], profile(missing="disable"), max_disable_share=share,
                max_shrink_share=1.0)  # fmt: skip
    assert held.status == "held" and "disable 7 of the source's 10 active workers" in held.message
    assert graph.upload_count == uploads


def test_a_delta_source_never_disables_the_absent(graph: EntraEmulator, tmp_path: Path) -> None:
    clock = Clock(TODAY)
    everyone = [f"{i},u{i},Active,2020-01-01," for i in range(1, 6)]
    _run(graph, tmp_path, clock, everyone, profile(missing="disable"))
    workflow = threaded_workflow(graph, local_state(tmp_path), profiles={"p": profile(missing="disable")}, clock=clock)
    delta = CsvSource(f"{HEADER}\n1,u1-renamed,Active,2020-01-01,\n".encode())
    record = start(workflow, delta, "p", feed="hr", partial=True)
    assert record.sent_external_ids() == ["1"], "a delta holds only what changed: the others did not vanish"


def test_run_config_accepts_the_test_overrides() -> None:
    assert RunConfig().but(max_disable_share=0.5).max_disable_share == 0.5
