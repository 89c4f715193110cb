"""Oracle HCM Cloud: the emulator's documented shapes (framework versions, expand, managers, statuses, hasMore), and
the built-in connector and profile pulled through ``preview`` into SCIM users.

The population is the emulator's (emulators/hrms_data.py) on a fixed day, 2026-05-01, so its dates are fixed;
the expected users below are written out by hand from its patterns: 100001 manages 100002-100011, 100011
manages 100012; 100004 and 100012 are rehires; 100005 is terminated, 100006 a pre-hire, 100007 on leave.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from connectors import ConnectorDefinition, fetch_records, load_registry
from emulators.hrms import PASSWORD, USERNAME, HrmsEmulator
from emulators.hrms_oracle import ORACLE_WORKERS
from provisioning.core.mapping.profiles import load_profile
from provisioning.core.plan.pipeline import Reject, plan_run
from provisioning.core.read.json_source import JsonSource
from provisioning.doors.cli.main import main as cli_main

NOW = dt.datetime(2026, 5, 1, 12, tzinfo=dt.UTC).timestamp()
EXPAND = "names,emails,workRelationships.assignments.managers"
COLLECTION_KEYS = {"items", "count", "hasMore", "limit", "offset", "links"}
# "Update a Worker Manager" (Oracle's example response): every field of a managers item; no person number.
MANAGER_KEYS = {"AssignmentSupervisorId", "EffectiveStartDate", "EffectiveEndDate", "ManagerAssignmentId",
                "ManagerAssignmentNumber", "ManagerType", "ActionCode", "ReasonCode"}  # fmt: skip
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CUSTOM = "urn:ietf:params:scim:schemas:extension:contoso:1.0:User"
REGISTRY = load_registry()


@pytest.fixture
def hr() -> Iterator[HrmsEmulator]:
    with HrmsEmulator("oracle-hcm", workers=12, clock=lambda: NOW) as emulator:
        yield emulator


def _get(hr: HrmsEmulator, version: str | None = None, **params: Any) -> httpx.Response:
    headers = {} if version is None else {"REST-Framework-Version": version}
    return httpx.get(hr.base_url + ORACLE_WORKERS, params=params, headers=headers, auth=(USERNAME, PASSWORD))


def _items(child: Any) -> list[dict[str, Any]]:
    """A child's rows whichever way it came: an array (versions 1, 2) or a collection (3 and up)."""
    return list(child["items"] if isinstance(child, dict) else child)


def _by_number(hr: HrmsEmulator, **params: Any) -> dict[str, dict[str, Any]]:
    body = _get(hr, "4", expand=EXPAND, limit=50, **params).json()
    return {item["PersonNumber"]: item for item in body["items"]}


def _fetch(hr: HrmsEmulator, definition: ConnectorDefinition | None = None, **config: Any) -> list[dict[str, Any]]:
    stream = fetch_records(definition or REGISTRY["oracle-hcm"], {**hr.config, **config}, allow_loopback_http=True)
    return list(stream)


# ---- the emulator ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("version", "collections"), [(None, False), ("1", False), ("2", False), ("3", True),
                                                       ("4", True), ("8", True)])  # fmt: skip
def test_the_framework_version_decides_arrays_or_collections(
    hr: HrmsEmulator, version: str | None, collections: bool
) -> None:
    answer = _get(hr, version, expand=EXPAND, limit=7, onlyData="true")
    assert answer.status_code == 200
    body = answer.json()
    assert {"items", "count", "hasMore", "limit", "offset", "links"} <= set(body)
    rehire = body["items"][3]  # 100004: two work relationships, each with an assignment and its managers
    children = [rehire["names"], rehire["emails"], rehire["workRelationships"]]
    for relationship in _items(rehire["workRelationships"]):
        children.append(relationship["assignments"])
        children.extend(a["managers"] for a in _items(relationship["assignments"]))
    for child in children:
        if collections:  # version 3 on: a collection resource, with its own count, hasMore and self link
            assert isinstance(child, dict) and set(child) == COLLECTION_KEYS
            assert child["count"] == len(child["items"]) and child["hasMore"] is False and child["limit"] == 7
            assert child["links"][0]["rel"] == "self" and child["links"][0]["kind"] == "collection"
        else:  # no header is version 1, as Oracle documents: arrays
            assert isinstance(child, list)
    assert len(_items(rehire["workRelationships"])) == 2


@pytest.mark.parametrize("version", ["0", "9", "four"])
def test_a_version_oracle_does_not_offer_is_refused(hr: HrmsEmulator, version: str) -> None:
    assert _get(hr, version).status_code == 400


def test_managers_come_only_when_expanded_and_nested_expand_implies_the_parents(hr: HrmsEmulator) -> None:
    old = _get(hr, "4", expand="names,emails,workRelationships.assignments").json()["items"][1]
    assignment = _items(_items(old["workRelationships"])[0]["assignments"])[0]
    assert "managers" not in assignment and assignment["AssignmentNumber"] == "E100002"

    nested = _get(hr, "4", expand="workRelationships.assignments.managers").json()["items"][1]
    assert "names" not in nested and "emails" not in nested
    managers = _items(_items(_items(nested["workRelationships"])[0]["assignments"])[0]["managers"])
    # 100002 has a project manager listed first: the line manager is found by type, not by place
    assert [(m["ManagerType"], m["ManagerAssignmentNumber"]) for m in managers] == [
        ("PROJECT_MANAGER", "E100003"),
        ("LINE_MANAGER", "E100001"),
    ]
    assert all(set(m) == MANAGER_KEYS for m in managers)

    bare = _get(hr, "4").json()["items"][1]
    assert set(bare) == {"PersonId", "PersonNumber", "DateOfBirth", "LastUpdateDate"}
    every = _get(hr, "4", expand="all").json()["items"][1]  # the direct children, not their own
    assert {"names", "emails", "workRelationships"} <= set(every)
    assert "assignments" not in _items(every["workRelationships"])[0]


def test_statuses_dates_and_primary_flags(hr: HrmsEmulator) -> None:
    workers = _by_number(hr)

    def relationships(number: str) -> list[tuple[Any, ...]]:
        rows = []
        for rel in _items(workers[number]["workRelationships"]):
            (assignment,) = _items(rel["assignments"])
            rows.append((rel["StartDate"], rel["TerminationDate"], rel["PrimaryFlag"],
                         assignment["AssignmentNumber"], assignment["AssignmentStatusType"],
                         assignment["PrimaryFlag"], assignment["PrimaryAssignmentFlag"]))  # fmt: skip
        return rows

    # a rehire: the ended relationship is INACTIVE and no longer primary; the current one is primary
    assert relationships("100004") == [
        ("2015-04-18", "2020-08-20", False, "E100004", "INACTIVE", False, True),
        ("2021-02-01", None, True, "E100004-2", "ACTIVE", True, True),
    ]
    assert relationships("100005") == [("2015-09-15", "2017-07-29", True, "E100005", "INACTIVE", True, True)]
    assert relationships("100006") == [("2026-06-17", None, True, "E100006", "ACTIVE", True, True)]  # pre-hire
    assert relationships("100007") == [("2014-12-03", None, True, "E100007", "SUSPENDED", True, True)]  # leave
    statuses = {a["AssignmentStatusType"] for w in workers.values() for r in _items(w["workRelationships"])
                for a in _items(r["assignments"])}  # fmt: skip
    assert statuses == {"ACTIVE", "INACTIVE", "SUSPENDED"}

    hr.oracle_newest_first = True  # Oracle documents no order: the same relationships, newest first
    workers = _by_number(hr)
    assert [r["StartDate"] for r in _items(workers["100004"]["workRelationships"])] == ["2021-02-01", "2015-04-18"]


@pytest.mark.parametrize("wrong_has_more", [True, False])
def test_has_more_as_documented_or_with_the_quirk_and_the_connector_stops_either_way(wrong_has_more: bool) -> None:
    with HrmsEmulator("oracle-hcm", workers=10, clock=lambda: NOW) as hr:
        hr.oracle_wrong_has_more = wrong_has_more
        last = _get(hr, "4", limit=5, offset=5).json()  # a full last page
        assert (last["count"], last["hasMore"]) == (5, wrong_has_more)
        assert _get(hr, "4", limit=5, offset=10).json()["hasMore"] is False
        hr.requests.clear()
        records = _fetch(hr, pageSize="5")
        assert [r["workerId"] for r in records] == hr.worker_ids
        # with the quirk a full last page says "more", so the empty third page ends it; without it, hasMore does
        assert len([r for r in hr.requests if r[3] == 200]) == (3 if wrong_has_more else 2)


def test_the_connector_pins_version_4_and_without_it_gets_the_pods_default_arrays(hr: HrmsEmulator) -> None:
    records = _fetch(hr)
    assert {r["status"] for r in records} == {"ACTIVE", "INACTIVE", "SUSPENDED"}
    assert all("expand=" + EXPAND in query for _, _, query, _ in hr.requests)
    definition = REGISTRY["oracle-hcm"]
    unpinned = definition.model_copy(
        update={"request": definition.request.model_copy(update={"headers": {"Accept": "application/json"}})}
    )
    # version 1 arrays: none of the collection paths match, so every record would be rejected downstream
    assert {r["status"] for r in _fetch(hr, unpinned)} == {""}


# ---- through the profile into SCIM users -------------------------------------------------------------------

# externalId: userName, given name, family name, active, manager, HireDate, TerminationDate
EXPECTED: dict[str, tuple[str, str, str, bool, str | None, str, str | None]] = {
    "100001": ("kenji.tanaka1@contoso.com", "Kenji", "Tanaka", True, None, "2014-11-27", None),
    "100002": ("kenji.ylmaz2@contoso.com", "Kenji", "Yılmaz", True, "100001", "2016-01-07", None),
    "100003": ("oskar.kowalski3@contoso.com", "Oskar", "Kowalski", True, "100001", "2013-07-27", None),
    # rehired: the current (primary) work relationship gives the hire date and the status
    "100004": ("grace.bronte4@contoso.com", "Grace", "Brontë", True, "100001", "2021-02-01", None),
    # terminated: disabled, with its leave date
    "100005": ("vaclav.nguyen5@contoso.com", "Václav", "Nguyen", False, "100001", "2015-09-15", "2017-07-29"),
    # pre-hire: active already, hire date in the future
    "100006": ("jurgen.tanaka6@contoso.com", "Jürgen", "Tanaka", True, "100001", "2026-06-17", None),
    # on leave (SUSPENDED): the account stays enabled
    "100007": ("noemie.lindqvist7@contoso.com", "Noémie", "Lindqvist", True, "100001", "2014-12-03", None),
    "100008": ("priya.muller8@contoso.com", "Priya", "Müller", True, "100001", "2020-01-27", None),
    "100009": ("tomas.muller9@contoso.com", "Tomás", "Müller", True, "100001", "2017-07-15", None),
    "100010": ("vaclav.novak10@contoso.com", "Václav", "Novák", True, "100001", "2021-10-06", None),
    "100011": ("quentin.astrom11@contoso.com", "Quentin", "Åström", True, "100001", "2021-01-04", None),
    "100012": ("priya.lindqvist12@contoso.com", "Priya", "Lindqvist", True, "100011", "2012-11-26", None),
}


def _user_row(user: dict[str, Any]) -> tuple[str, str, str, bool, str | None, str, str | None]:
    custom = user[CUSTOM]
    leave = custom.get("TerminationDate")
    return (
        user["userName"],
        user["name"]["givenName"],
        user["name"]["familyName"],
        user["active"],
        user[ENTERPRISE].get("manager", {}).get("value"),
        custom["HireDate"].removesuffix("T00:00:00Z"),
        None if leave is None else leave.removesuffix("T00:00:00Z"),
    )


@pytest.mark.parametrize("newest_first", [False, True], ids=["oldest-first", "newest-first"])
def test_a_pull_into_preview_gives_the_expected_users(
    hr: HrmsEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, newest_first: bool
) -> None:
    monkeypatch.setenv("CONNECTORS_ALLOW_LOOPBACK_HTTP", "true")
    monkeypatch.setenv("STATE_DIR", str(tmp_path / "state"))
    hr.oracle_newest_first = newest_first
    config = tmp_path / "oracle.json"
    config.write_text(json.dumps(hr.config))
    out = tmp_path / "preview"
    code = cli_main(["preview", "hrms:oracle-hcm", "--connector-config", str(config), "--mapping", "oracle-hcm",
                     "--out", str(out)])  # fmt: skip
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["rows"], summary["operations"], summary["rejected"]) == (12, 12, 0)
    assert (summary["managers"]["inRun"], summary["managers"]["outsideRun"]) == (11, 0)
    users = {}
    for request in sorted(out.glob("bulk-*.json")):
        for operation in orjson.loads(request.read_bytes())["Operations"]:
            users[operation["data"]["externalId"]] = operation["data"]
    assert {number: _user_row(user) for number, user in users.items()} == EXPECTED
    assert users["100004"][CUSTOM]["HireDate"] == "2021-02-01T00:00:00Z"  # DateTime values as Entra takes them


def test_the_profile_takes_the_person_number_out_of_a_line_managers_assignment_number() -> None:
    def worker(number: str, manager: str, status: str = "ACTIVE") -> dict[str, str]:
        return {"workerId": number, "firstName": "A", "lastName": number, "email": f"w{number}@contoso.com",
                "status": status, "managerAssignmentNumber": manager}  # fmt: skip

    records = [
        worker("100010", ""),
        worker("100011", "E100010-2"),  # the manager's second assignment
        worker("200", "C100011"),  # a contingent worker's assignment
        worker("300", "ASG-7"),  # another numbering scheme: left as it is, and it does not resolve
        worker("400", "E100010", status="ACTIVE_PROCESS"),  # not an HR status: rejected, not guessed
    ]
    rejects: list[Reject] = []
    plan = plan_run(JsonSource(records), load_profile("oracle-hcm"), on_reject=rejects.append)
    try:
        managers = {}
        for request in plan.requests():
            for operation in orjson.loads(request.body)["Operations"]:
                data = operation["data"]
                managers[data["externalId"]] = data.get(ENTERPRISE, {}).get("manager", {}).get("value")
    finally:
        plan.close()
    assert managers == {"100010": None, "100011": "100010", "200": "100011", "300": "ASG-7"}
    assert [r.external_id for r in rejects] == ["400"]
    assert (plan.summary.managers["inRun"], plan.summary.managers["outsideRun"]) == (2, 1)
