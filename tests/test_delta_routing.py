"""Delta sends, safety stops and profile routing: the pure decisions behind the Function App."""

from __future__ import annotations

import pytest

from provisioning import ProfileError
from provisioning.core.plan.delta import DeltaFilter, SourceState, forget, remember_accepted, safety_check
from provisioning.core.plan.routing import parse_routes, profile_for, source_key
from tests.support import minimal_profile, operations, run_plan

CSV = "id,user,status,boss\n1,a,Active,\n2,b,Active,1\n3,c,Active,1\n"
PROFILE = minimal_profile(enterprise={"manager": "boss"})


def accepted_state(text: str) -> SourceState:
    _, _, bodies = run_plan(text, PROFILE)
    return remember_accepted(
        SourceState(),
        ((op["data"]["externalId"], op["bulkId"], op["data"]["active"]) for op in operations(bodies)),
        rows=text.count("\n") - 1,
    )


def test_an_identical_second_source_sends_nothing() -> None:
    state = accepted_state(CSV)
    plan, rejects, bodies = run_plan(CSV, PROFILE, changed=DeltaFilter(state))
    assert bodies == [] and rejects == []
    assert plan.summary.unchanged == 3
    assert plan.summary.rows == plan.summary.operations + plan.summary.rejected + plan.summary.unchanged


def test_a_changed_row_sends_one_operation_with_active() -> None:
    state = accepted_state(CSV)
    plan, _, bodies = run_plan(CSV.replace("3,c,Active,1", "3,c2,Active,1"), PROFILE, changed=DeltaFilter(state))
    (op,) = operations(bodies)
    assert op["data"]["externalId"] == "3" and op["data"]["active"] is True
    assert plan.summary.unchanged == 2


def test_full_sync_sends_everything() -> None:
    state = accepted_state(CSV)
    _, _, bodies = run_plan(CSV, PROFILE, changed=DeltaFilter(state, full_sync=True))
    assert len(operations(bodies)) == 3


def test_duplicates_are_caught_even_when_one_copy_is_unchanged() -> None:
    state = accepted_state(CSV)
    text = CSV + "3,impostor,Active,1\n"
    _, rejects, bodies = run_plan(text, PROFILE, changed=DeltaFilter(state))
    assert operations(bodies) == []
    assert sorted(r.line for r in rejects) == [4, 5]


def test_disables_are_counted_and_the_safety_stop_holds() -> None:
    state = accepted_state("id,user,status,boss\n" + "".join(f"{i},u{i},Active,\n" for i in range(20)))
    text = "id,user,status,boss\n" + "".join(f"{i},u{i},{'Gone' if i < 3 else 'Active'},\n" for i in range(20))
    delta = DeltaFilter(state)
    run_plan(text, PROFILE, changed=delta)
    assert delta.disables == 3
    verdict = safety_check(state, rows_now=20, disables=3, max_disable_share=0.10, max_shrink_share=0.10)
    assert verdict.held and "disable 3 of the source's 20 active workers (15%" in verdict.message
    assert not safety_check(state, rows_now=20, disables=2, max_disable_share=0.10, max_shrink_share=0.10).held


def test_a_shrunken_source_is_held() -> None:
    state = SourceState(rows=1000)
    verdict = safety_check(state, rows_now=850, disables=0, max_disable_share=0.1, max_shrink_share=0.1)
    assert verdict.held and "shrank from 1000 to 850 rows (15%" in verdict.message
    assert not safety_check(SourceState(), rows_now=1, disables=0, max_disable_share=0.1, max_shrink_share=0.1).held


def test_state_round_trip_and_forgetting_failures() -> None:
    state = accepted_state(CSV)
    again = SourceState.from_json(state.as_json())
    assert again == state and again.active == 3 and again.rows == 3
    assert "2" not in forget(state, ["2"]).records
    assert SourceState.from_json(None) == SourceState()


def test_routes_pick_profiles_by_folder_or_pattern() -> None:
    routes = parse_routes("employees/=employees; contractors/=contractors;*.interns.csv=interns")
    assert profile_for("employees/2026-11-28.csv", routes, "default") == "employees"
    assert profile_for("/contractors/x.csv", routes, "default") == "contractors"
    assert profile_for("drop/summer.interns.csv", routes, "default") == "interns"
    assert profile_for("other.csv", routes, "default") == "default"
    # The feed is the profile's, whatever the folder: a dated folder is no new feed.
    assert source_key("employees/2026-11-28/a.csv", routes, "d") == source_key("employees/b.csv", routes, "d")
    assert source_key("employees/b.csv", routes, "d") == "profile:employees"
    assert source_key("misc/a.csv", routes, "d") == source_key("a.csv", routes, "d") == "profile:d"
    assert parse_routes("") == []
    with pytest.raises(ProfileError, match="'employees' is not PATTERN=PROFILE"):
        parse_routes("employees")
