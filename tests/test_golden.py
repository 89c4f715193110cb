"""Golden tests: Microsoft's own sample CSVs through mappings/microsoft-sample.json.

The expected requests under tests/samples/ were written by hand from the mapping, never generated.
Every other fixture CSV is checked by the invariants that must hold for any input.
"""

from __future__ import annotations

import re

import orjson
import pytest

from provisioning.core.plan.bulk import BULK_REQUEST_SCHEMA, MAX_OPERATIONS
from tests.support import SAMPLES, microsoft_fixture, operations, run_plan

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("csv2scim/csv-with-2-records.csv", "microsoft-csv-with-2-records.expected.json"),
        ("logicapps/csv-with-5-records.csv", "microsoft-csv-with-5-records.expected.json"),
    ],
)
def test_microsoft_samples_give_the_hand_written_requests(fixture: str, expected: str) -> None:
    path = microsoft_fixture(fixture)
    plan, rejects, bodies = run_plan(path, "microsoft-sample")
    wanted = orjson.loads((SAMPLES / expected).read_bytes())["requests"]

    assert rejects == []
    assert len(bodies) == len(wanted)
    for body, wanted_data in zip(bodies, wanted, strict=True):
        assert set(body) == {"schemas", "Operations", "failOnErrors"}
        assert body["schemas"] == [BULK_REQUEST_SCHEMA]
        assert body["failOnErrors"] is None
        assert [op["data"] for op in body["Operations"]] == wanted_data
        for op in body["Operations"]:
            assert set(op) == {"method", "bulkId", "path", "data"}
            assert (op["method"], op["path"]) == ("POST", "/Users")
            assert UUID.match(op["bulkId"])
    assert plan.summary.rows == plan.summary.operations == sum(len(w) for w in wanted)


ALL_FIXTURES = [
    "csv2scim/csv-with-2-records.csv",
    "csv2scim/csv-with-1000-records.csv",
    "csv2scim/Sample1/contractorData.csv",
    "csv2scim/Sample1/employeeData.csv",
    "csv2scim/Sample1/internData.csv",
    "logicapps/csv-with-5-records.csv",
]


@pytest.mark.parametrize("fixture", ALL_FIXTURES)
def test_every_microsoft_csv_keeps_the_invariants(fixture: str) -> None:
    path = microsoft_fixture(fixture)
    plan, rejects, bodies = run_plan(path, "microsoft-sample")
    ops = operations(bodies)
    summary = plan.summary

    assert summary.rows == summary.operations + summary.rejected == len(ops) + len(rejects)
    assert all(len(body["Operations"]) <= MAX_OPERATIONS for body in bodies)
    assert all(len(body["Operations"]) == MAX_OPERATIONS for body in bodies[:-1])
    ids = [op["data"]["externalId"] for op in ops]
    assert len(ids) == len(set(ids)), "an externalId is sent twice"
    assert len({op["bulkId"] for op in ops}) == len(ops)
    position = {external_id: i for i, external_id in enumerate(ids)}
    for i, op in enumerate(ops):
        data = op["data"]
        manager = data.get("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", {}).get("manager")
        if manager and manager["value"] in position:
            assert position[manager["value"]] < i, f"{data['externalId']} sent before its manager"
        expected_schemas = [s for s in data if s.startswith("urn:")]
        assert data["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:User", *expected_schemas]
        assert isinstance(data["active"], bool)


def test_the_1000_record_sample_has_its_shared_ids_caught() -> None:
    """641 rows of Microsoft's sample share 265 WorkerIDs between different people: none is sent."""
    path = microsoft_fixture("csv2scim/csv-with-1000-records.csv")
    plan, rejects, _ = run_plan(path, "microsoft-sample")
    assert plan.summary.duplicates["externalIds"] == 265
    assert plan.summary.duplicates["rows"] == 641
    assert len(rejects) == 641
    assert plan.summary.operations == 1000 - 641
    assert all("appears on lines" in r.reason for r in rejects)
