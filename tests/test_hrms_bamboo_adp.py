"""BambooHR and ADP as their documentation describes them, through real HTTP, down to the SCIM users a preview writes.

The emulators' behaviours and their sources are in emulators/hrms_bamboohr.py and emulators/hrms_adp.py.
Facts the vendors leave open are quirks of the emulator (BambooHR's empty dates written 0000-00-00 or null,
ADP's workers on leave listed Inactive or Active): the pulls run both ways and must give the same users.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import ssl
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors import ConnectorError, load_registry, parse_definition
from connectors.changes import fetch_changes as _fetch_changes
from emulators.hrms import HrmsEmulator
from provisioning.doors.cli.main import main as cli_main

REGISTRY = load_registry()
# The emulators listen on plain http on loopback: what CONNECTORS_ALLOW_LOOPBACK_HTTP allows.
fetch_changes = functools.partial(_fetch_changes, allow_loopback_http=True)

# A fixed "today", so that pre-hires and terminations fall on known days.
TODAY = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
CLOCK = TODAY.timestamp
JSON = {"Accept": "application/json"}
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CUSTOM = "urn:ietf:params:scim:schemas:extension:contoso:1.0:User"
REPORT_FIELDS = ["employeeNumber", "supervisorId", "supervisorEId", "hireDate", "terminationDate", "status"]


def _bamboo(**options: Any) -> HrmsEmulator:
    return HrmsEmulator("bamboohr", workers=12, clock=CLOCK, **options)


def _report_url(hr: HrmsEmulator) -> str:
    return f"{hr.base_url}/api/gateway.php/{hr.config['companyId']}/v1/reports/custom"


@pytest.fixture(scope="module")
def bamboo() -> Iterator[HrmsEmulator]:
    with _bamboo() as hr:
        yield hr


# ---- BambooHR ------------------------------------------------------------------------------------------------


def test_bamboohr_supervisor_ids_internal_ids_and_empty_dates(bamboo: HrmsEmulator) -> None:
    with httpx.Client(auth=(bamboo.config["apiKey"], "x"), headers=JSON, timeout=5) as client:
        body = {"title": "ids", "fields": [*REPORT_FIELDS, "employmentHistoryStatus"]}
        rows = client.post(_report_url(bamboo), params={"format": "JSON", "onlyCurrent": "false"}, json=body).json()
    by_number = {row["employeeNumber"]: row for row in rows["employees"]}
    # BambooHR's own id is not the employee number; ids are strings
    assert by_number["100001"]["id"] == "1" and by_number["100012"]["id"] == "12"
    assert not {row["id"] for row in rows["employees"]} & set(by_number)
    # supervisorId is the supervisor's employeeNumber, supervisorEId the supervisor's id
    assert (by_number["100012"]["supervisorId"], by_number["100012"]["supervisorEId"]) == ("100011", "11")
    assert (by_number["100002"]["supervisorId"], by_number["100002"]["supervisorEId"]) == ("100001", "1")
    assert by_number["100001"]["supervisorId"] is None and by_number["100001"]["supervisorEId"] is None
    # an empty date is 0000-00-00: no termination for whoever still works, no hire date for 100005
    assert by_number["100001"]["terminationDate"] == "0000-00-00"
    assert by_number["100005"]["hireDate"] == "0000-00-00" and by_number["100005"]["terminationDate"] == "2017-07-29"
    assert (by_number["100005"]["status"], by_number["100005"]["employmentHistoryStatus"]) == ("Inactive", "Terminated")
    assert (by_number["100007"]["status"], by_number["100007"]["employmentHistoryStatus"]) == (
        "Active",
        "Leave of Absence",
    )
    assert (by_number["100006"]["status"], by_number["100006"]["hireDate"]) == ("Active", "2026-06-17")  # pre-hire


def test_bamboohr_answers_xml_without_accept_json(bamboo: HrmsEmulator) -> None:
    root = f"{bamboo.base_url}/api/gateway.php/{bamboo.config['companyId']}/v1"
    with httpx.Client(auth=(bamboo.config["apiKey"], "x"), timeout=5) as client:
        for accept in (None, "*/*", "application/xml"):
            headers = {"Accept": accept} if accept else {}
            client.headers.pop("Accept", None)  # httpx sends Accept: */* unless told otherwise
            directory = client.get(f"{root}/employees/directory", headers=headers)
            assert directory.headers["Content-Type"].startswith("text/xml"), accept
            tree = ET.fromstring(directory.content)
            assert tree.tag == "directory" and tree.find("fieldset/field[@id='displayName']") is not None
            first = tree.find("employees/employee")
            assert first is not None and first.get("id") == "1"
            assert first.findtext("field[@id='displayName']") == "Kenji Tanaka"
        one = ET.fromstring(client.get(f"{root}/employees/5", params={"fields": "employeeNumber,hireDate"}).content)
        assert (one.tag, one.get("id"), one.findtext("field[@id='employeeNumber']")) == ("employee", "5", "100005")
        assert one.findtext("field[@id='hireDate']") == "0000-00-00"
        changed = ET.fromstring(
            client.get(f"{root}/employees/changed", params={"since": "2000-01-01T00:00:00Z"}).content
        )
        assert changed.tag == "employees" and changed.get("latest")
        assert {e.get("id") for e in changed.iter("employee")} == {str(n) for n in range(1, 13)}
        assert {e.get("action") for e in changed.iter("employee")} == {"Updated", "Inserted"}  # 100006 is to come
        # the same calls with Accept: application/json answer JSON
        assert client.get(f"{root}/employees/5", params={"fields": "hireDate"}, headers=JSON).json() == {
            "id": "5",
            "hireDate": "0000-00-00",
        }
        assert client.get(f"{root}/employees/directory", headers=JSON).json()["employees"][0]["id"] == "1"


def test_bamboohr_custom_report_format_accept_and_content_type(bamboo: HrmsEmulator) -> None:
    url, fields = _report_url(bamboo), {"title": "t", "fields": ["employeeNumber", "hireDate"]}
    with httpx.Client(auth=(bamboo.config["apiKey"], "x"), timeout=5) as client:
        # format decides, whatever Accept says (case-insensitive)
        assert client.post(url, params={"format": "json"}, json=fields, headers={"Accept": "text/xml"}).json()["title"]
        xml = client.post(url, params={"format": "XML"}, json=fields, headers=JSON)
        report = ET.fromstring(xml.content)
        assert report.tag == "report" and report.findtext("title") == "t"
        assert [f.get("id") for f in report.iterfind("fields/field")] == ["employeeNumber", "hireDate"]
        assert report.findtext("employees/employee[@id='5']/field[@id='hireDate']") == "0000-00-00"
        # without format: Accept's exact values only; none at all gives XML; */* and application/xml give 404
        assert client.post(url, json=fields, headers=JSON).json()["employees"][0]["employeeNumber"] == "100001"
        assert ET.fromstring(client.post(url, json=fields, headers={"Accept": "text/xml"}).content).tag == "report"
        client.headers.pop("Accept", None)
        assert ET.fromstring(client.post(url, json=fields).content).tag == "report"
        for other in ("*/*", "application/xml", "application/json; charset=utf-8"):
            assert client.post(url, json=fields, headers={"Accept": other}).status_code == 404, other
        # a JSON body is read only with Content-Type: application/json exactly; otherwise it is taken for XML
        loose = {"Content-Type": "application/json; charset=UTF-8", **JSON}
        refused = client.post(url, params={"format": "JSON"}, content=json.dumps(fields), headers=loose)
        assert refused.status_code == 400 and "Malformed XML" in refused.text
        body = '<report><title>x</title><fields><field id="employeeNumber"/><field id="nope"/></fields></report>'
        rows = client.post(url, params={"format": "JSON"}, content=body, headers={"Content-Type": "text/xml"}).json()
        assert rows["employees"][0] == {"id": "1", "employeeNumber": "100001"}  # an unknown field: left out, 200


def test_bamboohr_empty_dates_can_be_null() -> None:
    with _bamboo(quirks={"empty_date": None}) as hr:
        rows = {row["employeeNumber"]: row for row in hr.raw_workers}
        assert rows["100001"]["terminationDate"] is None and rows["100005"]["hireDate"] is None
    with pytest.raises(ValueError, match="not one of"):
        _bamboo(quirks={"empty_date": ""})
    with pytest.raises(ValueError, match="no quirk"):
        _bamboo(quirks={"emptyDate": None})


def test_bamboohr_delta_sends_accept_json_whatever_the_definition_says() -> None:
    """employees/changed and employees/{id} answer XML without Accept: application/json (no format parameter
    there), so the delta sets it even over a definition asking for something else."""
    definition = REGISTRY["bamboohr"]
    assert definition.request.headers["Accept"] == "application/json" and definition.request.query["format"] == "JSON"
    loose = definition.model_copy(
        update={"request": definition.request.model_copy(update={"headers": {"Accept": "*/*"}})}
    )
    with _bamboo() as hr:
        hr.touch(["100005", "100012"], when="2031-03-04T05:06:07Z")
        stream = fetch_changes(loose, hr.config, since="2031-03-04T05:00:00Z", sleep=lambda _: None)
        records = list(stream)
    assert [r["workerId"] for r in records] == ["100005", "100012"]
    assert records[0]["hireDate"] == "" and records[0]["terminationDate"] == "2017-07-29"  # 0000-00-00 is empty
    assert records[1]["managerId"] == "100011" and records[1]["managerInternalId"] == "11"


# ---- ADP ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def adp() -> Iterator[HrmsEmulator]:
    with HrmsEmulator("adp", workers=12, clock=CLOCK) as hr:
        yield hr


def _adp_workers(hr: HrmsEmulator) -> list[dict[str, Any]]:
    """Every worker through the API: $top at most 100, $skip, the end an HTTP 204 with no body."""
    c = hr.config
    context = ssl.create_default_context(cafile=c["caCertificatePath"])
    context.load_cert_chain(c["certificatePath"], c["keyPath"])  # the client certificate, on every call
    workers: list[dict[str, Any]] = []
    with httpx.Client(verify=context, timeout=5) as client:
        grant = client.post(c["tokenUrl"], data={"grant_type": "client_credentials"},
                            auth=(c["clientId"], c["clientSecret"]))  # fmt: skip
        headers = {"Authorization": f"Bearer {grant.json()['access_token']}"}
        assert client.get(f"{hr.base_url}/hr/v2/workers", params={"$top": 101}, headers=headers).status_code == 400
        while True:
            page = client.get(
                f"{hr.base_url}/hr/v2/workers", params={"$top": 5, "$skip": len(workers)}, headers=headers
            )
            if page.status_code == 204:
                assert page.content == b""
                return workers
            workers += page.json()["workers"]


def test_adp_serves_the_published_worker_shape_with_long_name_only_codes(adp: HrmsEmulator) -> None:
    workers = {w["workerID"]["idValue"]: w for w in _adp_workers(adp)}
    assert list(workers) == adp.worker_ids
    for number, worker in workers.items():
        oid = worker["associateOID"]
        assert len(oid) == 16 and oid.startswith("G3") and oid != number
        assert worker["person"]["legalName"]["formattedName"] == (
            f"{worker['person']['legalName']['familyName1']}, {worker['person']['legalName']['givenName']}"
        )
        assert worker["businessCommunication"]["emails"][0]["nameCode"]["codeValue"] == "Work E-mail"
        assert None not in worker["workerDates"].values()  # ADP leaves unset dates out
        primary = [a for a in worker["workAssignments"] if a["primaryIndicator"]]
        assert len(primary) == 1
    # 100002 (position 1) has its codes by longName only, and no jobTitle
    assignment = workers["100002"]["workAssignments"][0]
    department = next(u for u in assignment["homeOrganizationalUnits"] if u["typeCode"]["codeValue"] == "Department")
    assert department["nameCode"] == {"codeValue": "D100", "longName": "Engineering"}
    assert (
        assignment["jobCode"] == {"codeValue": "J40", "longName": "Account Executive"} and "jobTitle" not in assignment
    )
    # 100001 (position 0) has shortName only, as the published sample's department
    first = workers["100001"]["workAssignments"][0]
    assert first["jobCode"] == {"codeValue": "J10", "shortName": "Software Engineer"} and "reportsTo" not in first
    # the reporting line names the manager's position, associateOID and workerID
    manager = workers["100012"]["workAssignments"][-1]["reportsTo"][0]
    assert manager["workerID"]["idValue"] == "100011" and manager["associateOID"] == workers["100011"]["associateOID"]
    # statuses: terminated, pre-hire (Active, hired in the future), on leave (Inactive, assignment L), rehire
    assert workers["100005"]["workerStatus"]["statusCode"]["codeValue"] == "Terminated"
    assert workers["100005"]["workerDates"]["terminationDate"] == "2017-07-29"
    assert workers["100006"]["workerStatus"]["statusCode"]["codeValue"] == "Active"
    assert workers["100006"]["workerDates"]["originalHireDate"] == "2026-06-17"
    leave = workers["100007"]
    assert leave["workerStatus"]["statusCode"]["codeValue"] == "Inactive"
    assert leave["workAssignments"][0]["assignmentStatus"]["statusCode"] == {"codeValue": "L", "shortName": "Leave"}
    assert workers["100004"]["workerDates"] == {"originalHireDate": "2015-04-18", "rehireDate": "2021-02-01"}


def test_adp_leave_can_be_shown_active() -> None:
    with HrmsEmulator("adp", workers=12, clock=CLOCK, quirks={"leave_status": "Active"}) as hr:
        leave = hr.raw_workers[6]
        assert leave["workerStatus"]["statusCode"]["codeValue"] == "Active"
        assert leave["workAssignments"][0]["assignmentStatus"]["statusCode"]["codeValue"] == "L"


def test_definitions_compile_their_alternatives_and_refuse_a_broken_one() -> None:
    """A definition is refused when loaded if an expression is malformed, ``||`` included, naming the field."""
    assert " || " in REGISTRY["adp"].extract["department"] and " || " in REGISTRY["adp"].extract["jobTitle"]
    assert REGISTRY["bamboohr"].extract["terminationDate"] == "terminationDate[?@!='0000-00-00']"
    document = {"id": "acme-hr", "name": "Acme HR", "fields": [{"key": "baseUrl"}], "request": {"path": "/w"},
                "extract": {"workerId": "id", "department": "dept.short |"}}  # fmt: skip
    with pytest.raises(ConnectorError, match=r"extract\.department: 'dept\.short \|': a single '\|'"):
        parse_definition(json.dumps(document), "acme.json")


# ---- through preview: the SCIM users, checked against what each worker should give ---------------------------

# externalId, givenName, familyName, email, active, manager, department, title, hire date, leave date: the
# population of emulators/hrms_data.py (seed 0) seen on 2026-05-01.
EXPECTED: list[tuple[Any, ...]] = [
    ("100001", "Kenji", "Tanaka", "kenji.tanaka1@contoso.com", True, None, "Engineering", "Software Engineer",
     "2014-11-27", None),
    ("100002", "Kenji", "Yılmaz", "kenji.ylmaz2@contoso.com", True, "100001", "Engineering", "Account Executive",
     "2016-01-07", None),
    ("100003", "Oskar", "Kowalski", "oskar.kowalski3@contoso.com", True, "100001", "Engineering", "HR Partner",
     "2013-07-27", None),
    # rehired: the latest hire date
    ("100004", "Grace", "Brontë", "grace.bronte4@contoso.com", True, "100001", "Engineering", "Counsel",
     "2021-02-01", None),
    # terminated: disabled, with its leave date (BambooHR has no hire date for it)
    ("100005", "Václav", "Nguyen", "vaclav.nguyen5@contoso.com", False, "100001", "Engineering", "Counsel",
     "2015-09-15", "2017-07-29"),
    # pre-hire: both vendors list it Active
    ("100006", "Jürgen", "Tanaka", "jurgen.tanaka6@contoso.com", True, "100001", "Engineering", "HR Partner",
     "2026-06-17", None),
    # on leave: kept enabled
    ("100007", "Noémie", "Lindqvist", "noemie.lindqvist7@contoso.com", True, "100001", "Engineering",
     "Operations Analyst", "2014-12-03", None),
    ("100008", "Priya", "Müller", "priya.muller8@contoso.com", True, "100001", "Engineering", "Software Engineer",
     "2020-01-27", None),
    ("100009", "Tomás", "Müller", "tomas.muller9@contoso.com", True, "100001", "Engineering", "Operations Analyst",
     "2017-07-15", None),
    ("100010", "Václav", "Novák", "vaclav.novak10@contoso.com", True, "100001", "Engineering", "Counsel",
     "2021-10-06", None),
    ("100011", "Quentin", "Åström", "quentin.astrom11@contoso.com", True, "100001", "Finance", "Accountant",
     "2021-01-04", None),
    # rehired, and managed by 100011, who manages within the run too
    ("100012", "Priya", "Lindqvist", "priya.lindqvist12@contoso.com", True, "100011", "Finance", "Software Engineer",
     "2012-11-26", None),
]  # fmt: skip
NO_HIRE_DATE = {"bamboohr": {"100005"}, "adp": set()}


def _preview(hr: HrmsEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, Any], Any]:
    """``python -m provisioning preview hrms:<vendor>`` in this process: the users it writes, and its summary."""
    monkeypatch.setenv("CONNECTORS_ALLOW_LOOPBACK_HTTP", "true")
    monkeypatch.setenv("STATE_DIR", str(tmp_path / "state"))
    config = tmp_path / "connector.json"
    config.write_text(json.dumps(hr.config))
    out = tmp_path / "preview"
    code = cli_main(["preview", f"hrms:{hr.vendor}", "--connector-config", str(config), "--mapping", hr.vendor,
                     "--out", str(out)])  # fmt: skip
    assert code == 0, (out / "rejects.csv").read_text()
    users = {}
    for request in sorted(out.glob("bulk-*.json")):
        for operation in json.loads(request.read_text())["Operations"]:
            users[operation["data"]["externalId"]] = operation["data"]
    return users, json.loads((out / "summary.json").read_text())


@pytest.mark.parametrize(
    ("vendor", "quirks"),
    [
        ("bamboohr", {"empty_date": "0000-00-00"}),
        ("bamboohr", {"empty_date": None}),
        ("adp", {"leave_status": "Inactive"}),
        ("adp", {"leave_status": "Active"}),
    ],
    ids=["bamboohr-0000-00-00", "bamboohr-null-dates", "adp-leave-inactive", "adp-leave-active"],
)
def test_a_preview_gives_the_expected_users(
    vendor: str, quirks: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with HrmsEmulator(vendor, workers=12, clock=CLOCK, quirks=quirks) as hr:
        users, summary = _preview(hr, tmp_path, monkeypatch)
    assert summary["rows"] == summary["operations"] == 12 and summary["rejected"] == 0
    assert summary["managers"]["inRun"] == 11 and summary["managers"]["outsideRun"] == 0
    assert list(users) == [row[0] for row in EXPECTED]  # managers first, here the worker order
    for worker_id, given, family, email, active, manager, department, title, hired, left in EXPECTED:
        user = users[worker_id]
        assert user["name"] == {"givenName": given, "familyName": family}, worker_id
        assert user["userName"] == email and user["emails"][0]["value"] == email, worker_id
        assert user["active"] is active, worker_id
        assert user[ENTERPRISE].get("manager") == (None if manager is None else {"value": manager}), worker_id
        assert (user[ENTERPRISE]["department"], user["title"]) == (department, title), worker_id
        dates = user.get(CUSTOM, {})
        hired = None if worker_id in NO_HIRE_DATE[vendor] else hired
        assert dates.get("HireDate") == (None if hired is None else f"{hired}T00:00:00Z"), worker_id
        assert dates.get("TerminationDate") == (None if left is None else f"{left}T00:00:00Z"), worker_id
