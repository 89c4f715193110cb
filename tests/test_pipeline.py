"""Building the bulk requests: envelope, the 50-operation limit, bulkIds, duplicates, managers first."""

from __future__ import annotations

import pytest

from provisioning import MAX_OPERATIONS, CsvSource, JsonSource, plan_run
from provisioning.core.plan.bulk import bulk_id, checked_batch_size, request_body
from tests.support import minimal_profile, operations, run_plan, sent_ids

HEADER = "id,user,status,boss"


def csv_of(rows: list[str]) -> str:
    return "\n".join([HEADER, *rows]) + "\n"


def workers(count: int, manager: str = "") -> list[str]:
    return [f"{i},u{i},Active,{manager}" for i in range(1, count + 1)]


PROFILE = minimal_profile(enterprise={"manager": "boss"})


def test_envelope_is_exactly_the_bulk_request_shape() -> None:
    _, _, bodies = run_plan(csv_of(workers(1)), PROFILE)
    assert bodies == [
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
            "Operations": [
                {
                    "method": "POST",
                    "bulkId": bodies[0]["Operations"][0]["bulkId"],
                    "path": "/Users",
                    "data": {
                        "schemas": [
                            "urn:ietf:params:scim:schemas:core:2.0:User",
                            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
                        ],
                        "externalId": "1",
                        "userName": "u1@contoso.com",
                        "active": True,
                    },
                }
            ],
            "failOnErrors": None,
        }
    ]


@pytest.mark.parametrize(("count", "sizes"), [(50, [50]), (51, [50, 1]), (120, [50, 50, 20]), (0, [])])
def test_requests_are_filled_to_50_except_the_last(count: int, sizes: list[int]) -> None:
    rows = [*workers(count), "x,,Active,"] if count == 0 else workers(count)
    plan, _, bodies = run_plan(csv_of(rows), PROFILE)
    assert [len(b["Operations"]) for b in bodies] == sizes
    assert plan.summary.requests == len(sizes)


def test_batch_size_setting_refuses_more_than_50() -> None:
    assert checked_batch_size(50) == 50
    for bad in (0, 51, 1000):
        with pytest.raises(ValueError, match="between 1 and 50"):
            checked_batch_size(bad)
    with pytest.raises(ValueError):
        plan_run(CsvSource(csv_of(workers(1)).encode()), PROFILE, on_reject=print, batch_size=51)
    with pytest.raises(ValueError, match="51 operations in one request"):
        request_body([b"{}"] * 51)
    _, _, bodies = run_plan(csv_of(workers(25)), PROFILE, batch_size=10)
    assert [len(b["Operations"]) for b in bodies] == [10, 10, 5]


def test_bulk_ids_are_unique_in_a_run_and_stable_for_the_same_content() -> None:
    _, _, first = run_plan(csv_of(workers(120)), PROFILE)
    _, _, again = run_plan(csv_of(list(reversed(workers(120)))), PROFILE)
    ids = {op["data"]["externalId"]: op["bulkId"] for op in operations(first)}
    assert len(set(ids.values())) == 120
    assert ids == {op["data"]["externalId"]: op["bulkId"] for op in operations(again)}
    _, _, changed = run_plan(csv_of(["1,u1,Inactive,"]), PROFILE)
    assert operations(changed)[0]["bulkId"] != ids["1"]
    assert bulk_id(b"x") == bulk_id(b"x") != bulk_id(b"y")


def test_duplicates_are_all_rejected_by_default_naming_every_line() -> None:
    rows = ["1,a,Active,", "2,b,Active,", "1,c,Active,", "3,d,Active,", "1,e,Active,"]
    plan, rejects, bodies = run_plan(csv_of(rows), PROFILE)
    assert sent_ids(bodies) == ["2", "3"]
    assert sorted(r.line for r in rejects) == [2, 4, 6]
    assert all("externalId '1' appears on lines 2, 4, 6: all of them are rejected" in r.reason for r in rejects)
    assert plan.summary.duplicates == {
        "policy": "reject",
        "externalIds": 1,
        "rows": 3,
        "notSent": 3,
        "lines": [2, 4, 6],
    }


@pytest.mark.parametrize(("policy", "kept_user"), [("first", "a"), ("last", "e")])
def test_duplicates_first_or_last_when_the_profile_says_so(policy: str, kept_user: str) -> None:
    rows = ["1,a,Active,", "2,b,Active,", "1,c,Active,", "1,e,Active,"]
    profile = PROFILE.model_copy(update={"duplicates": policy})
    plan, rejects, bodies = run_plan(csv_of(rows), profile)
    users = {op["data"]["externalId"]: op["data"]["userName"] for op in operations(bodies)}
    assert users == {"1": f"{kept_user}@contoso.com", "2": "b@contoso.com"}
    assert plan.summary.duplicates["notSent"] == 2
    assert plan.summary.rows == plan.summary.operations + plan.summary.rejected == 4
    assert all(f"the profile keeps the {policy}" in r.reason for r in rejects)


def test_managers_are_sent_before_their_reports_across_requests() -> None:
    # 60 reports come first in the file; their manager (id 999) is the last row; 999's manager is 998.
    rows = [*workers(60, manager="999"), "999,boss,Active,998", "998,ceo,Active,"]
    plan, _, bodies = run_plan(csv_of(rows), PROFILE)
    ids = sent_ids(bodies)
    assert ids[:2] == ["998", "999"]
    assert sorted(ids[2:], key=int) == [str(i) for i in range(1, 61)]
    assert ids[2:] == [str(i) for i in range(1, 61)], "order within a level follows the file"
    assert plan.summary.managers == {
        "inRun": 61,
        "outsideRun": 0,
        "selfManaged": 0,
        "levels": 3,
        "cycles": 0,
        "cyclesListed": [],
    }


def test_manager_cycles_are_broken_and_reported() -> None:
    rows = ["1,a,Active,2", "2,b,Active,3", "3,c,Active,1", "4,d,Active,3", "5,e,Active,5"]
    plan, rejects, bodies = run_plan(csv_of(rows), PROFILE)
    assert rejects == []
    assert sorted(sent_ids(bodies)) == ["1", "2", "3", "4", "5"]
    assert plan.summary.managers["cycles"] == 1
    (cycle,) = plan.summary.managers["cyclesListed"]
    assert sorted(cycle) == ["1", "2", "3"]
    assert plan.summary.managers["selfManaged"] == 1
    ids = sent_ids(bodies)
    assert ids.index("3") < ids.index("4")


def test_references_to_rejected_or_absent_managers_do_not_block() -> None:
    rows = ["1,a,Active,7", "1,b,Active,", "2,c,Active,1", "3,d,Active,42"]
    plan, _, bodies = run_plan(csv_of(rows), PROFILE)
    assert sent_ids(bodies) == ["2", "3"]
    assert plan.summary.managers["outsideRun"] == 2


def test_rows_equal_operations_plus_rejects_with_every_kind_of_reject() -> None:
    rows = ["1,a,Active,", "2,,Active,", "3,c,Active", ",d,Active,", "5,e,Active,", "5,f,Active,"]
    plan, rejects, bodies = run_plan(csv_of(rows), PROFILE)
    summary = plan.summary
    assert summary.rows == 6
    assert summary.rows == summary.operations + summary.rejected == len(operations(bodies)) + len(rejects)
    assert {(r.line, r.field) for r in rejects} == {
        (3, "userName"),
        (4, "(row)"),
        (5, "externalId"),
        (6, "externalId"),
        (7, "externalId"),
    }
    assert next(r for r in rejects if r.line == 3).external_id == "2"


def test_json_records_go_through_the_same_pipeline() -> None:
    source = JsonSource(
        [
            {"id": "1", "user": "a", "status": "Active", "boss": "2"},
            {"id": "2", "user": "b", "status": "Active", "boss": ""},
            ["not", "an", "object"],
        ]
    )
    rejects: list = []
    plan = plan_run(source, PROFILE, on_reject=rejects.append)
    assert [r.external_ids for r in plan.requests()] == [["2", "1"]]
    assert rejects[0].reason == "expected an object, found list"


def test_progress_is_reported_for_long_sources() -> None:
    seen: list[int] = []
    plan = plan_run(CsvSource(csv_of(workers(25_000)).encode()), PROFILE, on_reject=print, progress=seen.append)
    plan.close()
    assert seen == [10_000, 20_000, 25_000]


def test_max_operations_is_entras_limit() -> None:
    assert MAX_OPERATIONS == 50
