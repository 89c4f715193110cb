"""Workday through Get_Workers (SOAP): the emulator's documented XML, the connector, the profile, deltas.

Every test talks to the Workday emulator (emulators/hrms_workday.py) over real HTTP on loopback. The
expectations for the 12-worker population are written out by hand from hrms_data's rules (index 0 manages
1-9 and 10, 10 manages 11; 3 and 11 rehired; 4 terminated; 5 a future-dated hire; 6 on leave; 2 and 9 list
their home email first), with the emulator's clock fixed at 2026-12-01 12:00 UTC.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from connectors import ConnectorError, load_registry
from connectors import fetch_records as _fetch_records
from connectors.changes import fetch_changes as _fetch_changes
from connectors.soap import SoapError, parse_xml
from emulators.hrms import PASSWORD, TENANT, USERNAME, HrmsEmulator
from provisioning.core.mapping.profiles import load_profile
from provisioning.core.plan.pipeline import Reject, plan_run
from provisioning.core.read.json_source import JsonSource
from tests.support import ROOT

fetch_records = functools.partial(_fetch_records, allow_loopback_http=True, sleep=lambda _: None)
fetch_changes = functools.partial(_fetch_changes, allow_loopback_http=True, sleep=lambda _: None)

REGISTRY = load_registry()
NOON = dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC).timestamp()
AS_OF = "2026-12-01"
WD = "{urn:com.workday/bsvc}"
ENV = "http://schemas.xmlsoap.org/soap/envelope/"
CORE_ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CONTOSO = "urn:ietf:params:scim:schemas:extension:contoso:1.0:User"

# externalId: (userName, givenName, familyName, active, manager, department, title, HireDate, TerminationDate)
EXPECTED = {
    "100001": ("kenji.tanaka1@contoso.com", "Kenji", "Tanaka", True, None, "Engineering", "Software Engineer",
               "2014-11-27", None),
    "100002": ("kenji.ylmaz2@contoso.com", "Kenji", "Yılmaz", True, "100001", "Engineering", "Account Executive",
               "2016-01-07", None),
    "100003": ("oskar.kowalski3@contoso.com", "Oskar", "Kowalski", True, "100001", "Engineering", "HR Partner",
               "2013-07-27", None),  # home email listed first
    "100004": ("grace.bronte4@contoso.com", "Grace", "Brontë", True, "100001", "Engineering", "Counsel",
               "2021-02-01", None),  # rehired: the latest hire date
    "100005": ("vaclav.nguyen5@contoso.com", "Václav", "Nguyen", False, "100001", "Engineering", "Counsel",
               "2015-09-15", "2017-07-29"),  # terminated
    "100006": ("jurgen.tanaka6@contoso.com", "Jürgen", "Tanaka", False, "100001", "Engineering", "HR Partner",
               "2027-01-17", None),  # future-dated hire: disabled, its first day's job and manager
    "100007": ("noemie.lindqvist7@contoso.com", "Noémie", "Lindqvist", True, "100001", "Engineering",
               "Operations Analyst", "2014-12-03", None),  # on leave: enabled
    "100008": ("priya.muller8@contoso.com", "Priya", "Müller", True, "100001", "Engineering", "Software Engineer",
               "2020-01-27", None),
    "100009": ("tomas.muller9@contoso.com", "Tomás", "Müller", True, "100001", "Engineering", "Operations Analyst",
               "2017-07-15", None),
    "100010": ("vaclav.novak10@contoso.com", "Václav", "Novák", True, "100001", "Engineering", "Counsel",
               "2021-10-06", None),  # home email listed first
    "100011": ("quentin.astrom11@contoso.com", "Quentin", "Åström", True, "100001", "Finance", "Accountant",
               "2021-01-04", None),  # manages 100012, reports to 100001
    "100012": ("priya.lindqvist12@contoso.com", "Priya", "Lindqvist", True, "100011", "Finance", "Software Engineer",
               "2012-11-26", None),  # rehired
}  # fmt: skip


@pytest.fixture
def workday(request: pytest.FixtureRequest) -> Iterator[HrmsEmulator]:
    quirks = getattr(request, "param", {})
    with HrmsEmulator("workday", workers=12, clock=lambda: NOON, quirks=quirks) as emulator:
        yield emulator


def _config(hr: HrmsEmulator, **extra: Any) -> dict[str, Any]:
    return {**hr.config, "asOfDate": AS_OF, "pageSize": "5", **extra}


def _users(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    rejects: list[Reject] = []
    plan = plan_run(JsonSource(records), load_profile("workday"), on_reject=rejects.append)
    try:
        users = {}
        for request in plan.requests():
            for operation in orjson.loads(request.body)["Operations"]:
                users[operation["data"]["externalId"]] = operation["data"]
    finally:
        plan.close()
    assert rejects == []
    return users


def _row(user: dict[str, Any]) -> tuple[Any, ...]:
    enterprise, custom = user.get(CORE_ENTERPRISE, {}), user.get(CONTOSO, {})

    def day(value: str | None) -> str | None:
        assert value is None or value.endswith("T00:00:00Z"), value  # a DateTime Entra takes
        return None if value is None else value[:10]

    return (user["userName"], user["name"]["givenName"], user["name"]["familyName"], user["active"],
            enterprise.get("manager", {}).get("value"), enterprise.get("department"), user.get("title"),
            day(custom.get("HireDate")), day(custom.get("TerminationDate")))  # fmt: skip


def _envelope(body: str, *, user: str = f"{USERNAME}@{TENANT}", password: str = PASSWORD) -> bytes:
    return (
        f'<env:Envelope xmlns:env="{ENV}"><env:Header>'
        '<wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">'
        f"<wsse:UsernameToken><wsse:Username>{user}</wsse:Username><wsse:Password>{password}</wsse:Password>"
        "</wsse:UsernameToken></wsse:Security></env:Header><env:Body>"
        f'<bsvc:Get_Workers_Request xmlns:bsvc="urn:com.workday/bsvc" bsvc:version="v43.0">{body}'
        "</bsvc:Get_Workers_Request></env:Body></env:Envelope>"
    ).encode()


def _one(node: ET.Element | None, path: str) -> ET.Element:
    found = None if node is None else node.find(path)
    assert found is not None, path
    return found


def _post(hr: HrmsEmulator, body: bytes) -> httpx.Response:
    url = f"{hr.base_url}/ccx/service/{TENANT}/Human_Resources/v43.0"
    return httpx.post(url, content=body, headers={"Content-Type": "text/xml; charset=utf-8"}, timeout=10)


# ---- the emulator -------------------------------------------------------------------------------------------


def test_get_workers_answers_the_documented_xml_with_terminated_and_future_hires(workday: HrmsEmulator) -> None:
    page = "<bsvc:Response_Filter><bsvc:As_Of_Effective_Date>2026-12-01</bsvc:As_Of_Effective_Date>" \
           "<bsvc:Page>{}</bsvc:Page><bsvc:Count>5</bsvc:Count></bsvc:Response_Filter>"  # fmt: skip
    criteria = (
        "<bsvc:Request_Criteria><bsvc:Exclude_Inactive_Workers>{}</bsvc:Exclude_Inactive_Workers>"
        "</bsvc:Request_Criteria>"
    )
    answer = _post(workday, _envelope(criteria.format("false") + page.format(1)))
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/xml")
    root = ET.fromstring(answer.content)
    response = _one(root, f"{{{ENV}}}Body/{WD}Get_Workers_Response")
    results = {child.tag.removeprefix(WD): child.text for child in _one(response, f"{WD}Response_Results")}
    assert results == {"Total_Results": "12", "Total_Pages": "3", "Page_Results": "5", "Page": "1"}
    workers = response.findall(f"{WD}Response_Data/{WD}Worker")
    ids = [w.findtext(f"{WD}Worker_Reference/{WD}ID[@{WD}type='Employee_ID']") for w in workers]
    assert ids == ["100001", "100002", "100003", "100004", "100005"]
    path = f"{WD}Worker_Data/{WD}Employment_Data/{WD}Worker_Status_Data"
    status = {i: _one(w, path) for i, w in zip(ids, workers, strict=True)}
    assert status["100005"].findtext(f"{WD}Terminated") == "1"
    assert status["100005"].findtext(f"{WD}Termination_Date") == "2017-07-29"
    assert status["100004"].findtext(f"{WD}Rehire") == "1"
    assert status["100004"].findtext(f"{WD}Original_Hire_Date", "") < status["100004"].findtext(f"{WD}Hire_Date", "")
    second = ET.fromstring(_post(workday, _envelope(criteria.format("false") + page.format(2))).content)
    by_id = {w.findtext(f"{WD}Worker_Data/{WD}Worker_ID"): w for w in second.iter(f"{WD}Worker")}
    future = by_id["100006"]  # the future-dated hire, with Active 0 until the hire date
    assert future.findtext(f".//{WD}Worker_Status_Data/{WD}Active") == "0"
    assert future.findtext(f".//{WD}Worker_Status_Data/{WD}Hire_Date") == "2027-01-17"
    leave = by_id["100007"]
    assert leave.findtext(f".//{WD}Leave_Status_Data/{WD}On_Leave") == "1"
    emails = leave.findall(f".//{WD}Email_Address_Data")
    assert len(emails) == 2
    excluded = ET.fromstring(_post(workday, _envelope(criteria.format("true") + page.format(1))).content)
    assert excluded.findtext(f".//{WD}Total_Results") == "11"  # Exclude_Inactive_Workers drops the terminated one
    zero = _post(workday, _envelope(page.format(0)))
    assert zero.status_code == 500 and b"Page number cannot be zero" in zero.content


def test_wrong_credentials_get_the_authentication_fault(workday: HrmsEmulator) -> None:
    for body in (_envelope("", password="wrong-but-secret"), _envelope("", user=USERNAME)):
        refused = _post(workday, body)
        assert refused.status_code == 500
        fault = _one(ET.fromstring(refused.content), f"{{{ENV}}}Body/{{{ENV}}}Fault")
        assert fault.findtext("faultcode") == "SOAP-ENV:Client.authenticationError"
        assert fault.findtext("faultstring") == "invalid username or password"
    config = _config(workday, authMode="password", password="wrong-but-secret")
    workday.requests.clear()
    with pytest.raises(ConnectorError, match=r"HTTP 401 \(credentials refused\): SOAP-ENV:Client.authenticationError"
                       ) as caught:  # fmt: skip
        list(fetch_records(REGISTRY["workday"], config))
    assert "wrong-but-secret" not in str(caught.value)
    assert [status for _, _, _, status in workday.requests] == [500], "a refusal is not retried"


def test_rest_workers_list_is_only_the_summary(workday: HrmsEmulator) -> None:
    c = workday.config
    grant = {"grant_type": "refresh_token", "refresh_token": c["refreshToken"]}
    token = httpx.post(c["tokenUrl"], data=grant, auth=(c["clientId"], c["clientSecret"])).json()["access_token"]
    page = httpx.get(f"{workday.base_url}/ccx/api/v1/{TENANT}/workers", params={"limit": 100},
                     headers={"Authorization": f"Bearer {token}"}).json()  # fmt: skip
    assert page["total"] == 11  # the terminated worker is left out
    for summary in page["data"]:
        assert not {"workerId", "legalName", "manager", "hireDate", "terminationDate", "status"} & summary.keys()


# ---- the connector through the profile ------------------------------------------------------------------------


@pytest.mark.parametrize("auth_mode", ["oauth2", "password"])
def test_a_pull_maps_to_the_expected_users(workday: HrmsEmulator, auth_mode: str) -> None:
    stream = fetch_records(REGISTRY["workday"], _config(workday, authMode=auth_mode))
    records = list(stream)
    assert [r["workerId"] for r in records] == workday.worker_ids and stream.report.pages == 3
    users = _users(records)
    assert {worker: _row(user) for worker, user in users.items()} == EXPECTED
    calls = workday.soap_requests  # type: ignore[attr-defined]
    assert {c["auth"] for c in calls} == {"bearer" if auth_mode == "oauth2" else "wss"}
    pages = [c for c in calls if not c["references"]]
    assert [c["page"] for c in pages] == [1, 2, 3] and {c["count"] for c in pages} == {5}
    assert {c["excludeInactive"] for c in pages} == {"false"} and {c["asOf"] for c in pages} == {AS_OF}
    assert len({c["entry"] for c in calls}) == 1, "one entry moment for every page"
    assert {"Include_Personal_Information", "Include_Employment_Information", "Include_Organizations",
            "Include_Management_Chain_Data"} <= set(pages[0]["responseGroup"])  # fmt: skip
    lookups = [c for c in calls if c["references"]]
    assert [c["asOf"] for c in lookups] == ["2027-01-17"], "the future-dated hire read as of its hire date"


def test_preview_from_workday_gives_the_expected_users(workday: HrmsEmulator, tmp_path: Any) -> None:
    """The CLI's ``preview hrms:workday``: the bulk request it writes holds the expected users, managers first."""
    config = tmp_path / "workday.json"
    config.write_text(json.dumps({**workday.config, "asOfDate": AS_OF}))
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "provisioning", "preview", "hrms:workday", "--connector-config", str(config),
         "--mapping", "workday", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "CONNECTORS_ALLOW_LOOPBACK_HTTP": "true", "STATE_DIR": str(tmp_path / "state"),
             "RUNS_DIR": str(tmp_path / "runs")},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "11 references within the run" in done.stdout
    operations = orjson.loads((out / "bulk-0001.json").read_bytes())["Operations"]
    users = {operation["data"]["externalId"]: operation["data"] for operation in operations}
    assert {worker: _row(user) for worker, user in users.items()} == EXPECTED
    order = [operation["data"]["externalId"] for operation in operations]
    assert order.index("100001") < order.index("100011") < order.index("100012"), "managers are sent first"


@pytest.mark.parametrize(
    "workday",
    [{"inactive_job_data": False}, {"on_leave_active": False}, {"bearer_refusal": "http401"}],
    indirect=True, ids=["no-job-data-when-inactive", "on-leave-inactive", "bearer-401"],
)  # fmt: skip
def test_unconfirmed_behaviours_either_way(workday: HrmsEmulator) -> None:
    def on_page(report: Any) -> None:
        if report.pages == 1:
            workday.expire_tokens()  # the next page's bearer is refused: renewed once, then on

    records = list(fetch_records(REGISTRY["workday"], _config(workday), on_page=on_page))
    expected: dict[str, tuple[Any, ...]] = dict(EXPECTED)
    if workday.quirks.get("inactive_job_data") is False:
        # the terminated worker comes without job, organisation and manager; the future-dated hire still has
        # them, read as of the hire date, when it is active
        expected["100005"] = (*EXPECTED["100005"][:4], None, None, None, *EXPECTED["100005"][7:])
    assert {worker: _row(user) for worker, user in _users(records).items()} == expected
    assert sum(path.endswith("/token") for _, path, _, _ in workday.requests) == 2


def test_page_size_is_capped_at_999_and_the_definition_is_declarative() -> None:
    with HrmsEmulator("workday", workers=3) as hr:
        records = list(fetch_records(REGISTRY["workday"], {**hr.config, "pageSize": "5000"}))
        assert len(records) == 3 and hr.soap_requests[0]["count"] == 999  # type: ignore[attr-defined]
    definition = REGISTRY["workday"]
    assert definition.request.soap is not None and definition.paging.maxPageSize == 999
    assert definition.request.path == "/ccx/service/{tenant}/Human_Resources/{version}"


def test_password_mode_names_the_missing_fields_and_rotation_is_kept(
    workday: HrmsEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    config = {k: v for k, v in _config(workday, authMode="password").items() if k != "password"}
    with pytest.raises(ConnectorError, match=r"config fields missing: password \(WS-Security"):
        fetch_records(REGISTRY["workday"], config)
    rotated: list[str] = []
    first = workday.config["refreshToken"]
    records = list(fetch_records(REGISTRY["workday"], _config(workday), on_rotate=rotated.append))
    assert len(records) == 12 and rotated == [workday.refresh_token] and rotated[0] != first
    for secret in (first, *rotated, PASSWORD, workday.config["clientSecret"]):
        assert secret not in caplog.text


# ---- deltas ---------------------------------------------------------------------------------------------------


def test_delta_reads_changes_entered_then_effective_once_each() -> None:
    with HrmsEmulator("workday", workers=30) as hr:
        now = dt.datetime.now(dt.UTC)
        since = (now - dt.timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
        rotated: list[str] = []
        stream = fetch_changes(REGISTRY["workday"], hr.config, since=since, on_rotate=rotated.append)
        assert list(stream) == [] and stream.report.complete
        hr.touch(["100017", "100003"])
        records = list(fetch_changes(REGISTRY["workday"], {**hr.config}, since=since, on_rotate=rotated.append))
        assert [r["workerId"] for r in records] == ["100003", "100017"]
        assert len(rotated) == 4, "each of the two queries renews the token and hands the new one over"
        logged = [c for c in hr.soap_requests if c["transactionLog"]]  # type: ignore[attr-defined]
        assert len(logged) == 4 and {c["excludeInactive"] for c in logged} == {"false"}
        # A termination entered long ago that takes effect in the window: only the effective-dated query sees it.
        leaver = next(p for p in hr.people if p.status == "terminated")
        assert leaver.termination_date is not None
        start = dt.datetime.combine(leaver.termination_date, dt.time(), dt.UTC)
        records = list(fetch_changes(REGISTRY["workday"], hr.config, since=start.isoformat()))
        ids = [r["workerId"] for r in records]
        assert leaver.worker_id in ids and len(ids) == len(set(ids))
        assert next(r for r in records if r["workerId"] == leaver.worker_id)["status"] == "Terminated"


def test_raas_takes_the_refresh_token_grant() -> None:
    with HrmsEmulator("workday-raas", workers=6) as hr:
        rotated: list[str] = []
        records = list(fetch_records(REGISTRY["workday-raas"], {**hr.config, "authMode": "oauth2"},
                                     on_rotate=rotated.append))  # fmt: skip
        assert [r["workerId"] for r in records] == hr.worker_ids and rotated == [hr.refresh_token]
        assert hr.requests[0][1] == f"/ccx/oauth2/{TENANT}/token"


def test_the_answer_parser_refuses_a_document_type() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><x>&b;</x>'
    with pytest.raises(SoapError, match="document type"):
        parse_xml(bomb)
    name, value = parse_xml(b'<a xmlns:w="urn:w"><w:ID w:type="X">1</w:ID><w:ID w:type="Y">2</w:ID><b/><b/></a>',
                            keyed={"ID": "type"})  # fmt: skip
    assert (name, value) == ("a", {"ID": {"X": "1", "Y": "2"}, "b": ["", ""]})
