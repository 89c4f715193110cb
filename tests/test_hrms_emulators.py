"""The HRMS emulators through real HTTP: auth, paging and end of data, nesting, faults, tokens, mutual TLS."""

from __future__ import annotations

import datetime as dt
import json
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from emulators.hrms import CUSTOM_AUTH, VENDORS, HrmsEmulator
from emulators.hrms_data import build_population

ORACLE = "/hcmRestApi/resources/11.13.18.05/workers"
ORACLE_QUERY = {"onlyData": "true", "expand": "names,emails,workRelationships.assignments"}
JSON = {"Accept": "application/json"}


@pytest.fixture
def hr(request: pytest.FixtureRequest) -> Iterator[HrmsEmulator]:
    vendor, options = request.param if isinstance(request.param, tuple) else (request.param, {})
    with HrmsEmulator(vendor, workers=23, **options) as emulator:
        yield emulator


def vendor(name: str, **options: Any) -> Any:
    return pytest.mark.parametrize("hr", [(name, options)], indirect=True)


def workday_token(hr: HrmsEmulator, client: httpx.Client) -> str:
    c = hr.config
    answer = client.post(
        c["tokenUrl"],
        data={"grant_type": "refresh_token", "refresh_token": c["refreshToken"]},
        auth=(c["clientId"], c["clientSecret"]),
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def adp_client(hr: HrmsEmulator, *, with_certificate: bool = True) -> httpx.Client:
    context = ssl.create_default_context(cafile=hr.config["caCertificatePath"])
    if with_certificate:
        context.load_cert_chain(hr.config["certificatePath"], hr.config["keyPath"])
    return httpx.Client(verify=context, timeout=5)


def adp_token(hr: HrmsEmulator, client: httpx.Client) -> str:
    c = hr.config
    answer = client.post(
        c["tokenUrl"], data={"grant_type": "client_credentials"}, auth=(c["clientId"], c["clientSecret"])
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


# Population


def test_population_has_every_pattern() -> None:
    people = build_population(60, 0, dt.date(2026, 5, 1))
    assert len({p.worker_id for p in people}) == 60
    assert {p.status for p in people} == {"active", "leave", "terminated", "prehire"}
    assert any(len(p.employments) == 2 and not p.employments[0].current for p in people)
    assert all(p.hire_date > dt.date(2026, 5, 1) for p in people if p.status == "prehire")
    assert all(
        p.termination_date and p.termination_date < dt.date(2026, 5, 1) for p in people if p.status == "terminated"
    )
    assert len(people[10].reports) == 9 and people[0].manager_index is None
    assert sum(p.manager_index is not None for p in people) == 59
    assert any(p.first != p.first.encode("ascii", "ignore").decode() for p in people)
    assert build_population(60, 0, dt.date(2026, 5, 1)) == people


@pytest.mark.parametrize("name", VENDORS)
def test_every_vendor_serves_its_ids_and_unknown_paths_404(name: str) -> None:
    with HrmsEmulator(name, workers=5) as hr:
        assert hr.base_url.startswith("https://" if name == "adp" else "http://127.0.0.1:")
        assert hr.config["baseUrl"] == hr.base_url and len(hr.raw_workers) == 5
        assert len(set(hr.worker_ids)) == 5
        if name != "adp":
            assert httpx.get(hr.base_url + "/nope").status_code == 404
            assert hr.requests[-1][1:] == ("/nope", "", 404)


def test_unknown_vendor_is_refused() -> None:
    with pytest.raises(ValueError, match="vendor"):
        HrmsEmulator("peoplesoft")


# Workday REST


@vendor("workday")
def test_workday_walk_rotation_and_limits(hr: HrmsEmulator) -> None:
    url = f"{hr.base_url}/ccx/api/v1/{hr.config['tenant']}/workers"
    with httpx.Client(timeout=5) as client:
        assert client.get(url).status_code == 401
        first_refresh = hr.config["refreshToken"]
        token = workday_token(hr, client)
        assert hr.refresh_token != first_refresh and hr.config["refreshToken"] == hr.refresh_token
        old = client.post(
            hr.config["tokenUrl"],
            data={"grant_type": "refresh_token", "refresh_token": first_refresh, "client_id": hr.config["clientId"]}
            | {"client_secret": hr.config["clientSecret"]},
        )
        assert old.status_code == 400 and old.json()["error"] == "invalid_grant"
        wrong = client.post(
            hr.config["tokenUrl"],
            data={"grant_type": "refresh_token", "refresh_token": hr.refresh_token},
            auth=("someone", "else"),
        )
        assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
        headers = {"Authorization": f"Bearer {token}"}
        assert client.get(url, headers={"Authorization": "Bearer nope"}).status_code == 401
        ids, offset = [], 0
        while True:
            page = client.get(url, params={"limit": 7, "offset": offset}, headers=headers).json()
            ids += [w["id"] for w in page["data"]]
            offset += 7
            if offset >= page["total"]:
                break
        # The workerSummary view only, and no terminated worker (Workday's REST reference for GET /workers).
        listed = {r["WID"] for r in hr.raw_workers if r["status"] != "Terminated"}
        assert ids == [r["WID"] for r in hr.raw_workers if r["WID"] in listed] and len(listed) < len(hr.raw_workers)
        summary = "id descriptor href isManager primaryWorkEmail primaryWorkPhone businessTitle"
        assert {key for w in page["data"] for key in w} == {*summary.split(), "primarySupervisoryOrganization"}
        assert client.get(url, params={"limit": 101}, headers=headers).status_code == 400
        hr.expire_tokens()
        assert client.get(url, headers=headers).status_code == 401
        assert client.get(url, headers={"Authorization": f"Bearer {workday_token(hr, client)}"}).status_code == 200


@vendor("workday", max_page_size=5, token_lifetime=60.0)
def test_workday_max_page_size_and_token_lifetime(hr: HrmsEmulator) -> None:
    with httpx.Client(timeout=5) as client:
        token = workday_token(hr, client)
        url = f"{hr.base_url}/ccx/api/v1/contoso/workers"
        headers = {"Authorization": f"Bearer {token}"}
        assert client.get(url, params={"limit": 6}, headers=headers).status_code == 400
        assert len(client.get(url, params={"limit": 5}, headers=headers).json()["data"]) == 5


@vendor("workday-raas")
def test_workday_raas_report(hr: HrmsEmulator) -> None:
    c = hr.config
    url = f"{hr.base_url}/ccx/service/customreport2/{c['tenant']}/{c['reportOwner']}/{c['reportName']}"
    assert httpx.get(url, params={"format": "json"}).status_code == 401
    assert httpx.get(url, params={"format": "json"}, auth=(c["username"], "wrong")).status_code == 401
    rows = httpx.get(url, params={"format": "json"}, auth=(c["username"], c["password"])).json()["Report_Entry"]
    assert [r["Employee_ID"] for r in rows] == hr.worker_ids
    assert {r["Active"] for r in rows} == {"1", "0"} and any("Termination_Date" in r for r in rows)
    assert "Manager_ID" not in rows[0] and rows[1]["Manager_ID"] == hr.worker_ids[0]
    assert all(
        {"Legal_Name_First_Name", "Legal_Name_Last_Name", "Email_Address", "Hire_Date"} <= r.keys() for r in rows
    )


# SuccessFactors: tests/test_hrms_successfactors.py (SAML sign-in, effective dating, managers, deltas)


# BambooHR


@vendor("bamboohr")
def test_bamboohr_report_directory_and_changes(hr: HrmsEmulator) -> None:
    key = hr.config["apiKey"]
    report = f"{hr.base_url}/api/v1/reports/custom"
    fields = {"title": "roster", "fields": ["employeeNumber", "firstName", "lastName", "workEmail", "status"]}
    params = {"format": "JSON", "onlyCurrent": "false"}
    assert httpx.post(report, params=params, json=fields, headers=JSON).status_code == 401
    assert httpx.post(report, params=params, json=fields, auth=("wrong", "x"), headers=JSON).status_code == 401
    # format=JSON decides, whatever Accept says; without format, no Accept means XML (see test_hrms_bamboo_adp)
    assert httpx.post(report, params=params, json=fields, auth=(key, "x")).status_code == 200
    with httpx.Client(auth=(key, "x"), headers=JSON, timeout=5) as client:
        body = client.post(report, params=params, json=fields).json()
        rows = body["employees"]
        assert [r["employeeNumber"] for r in rows] == hr.worker_ids
        assert [f["id"] for f in body["fields"]] == fields["fields"] and {r["status"] for r in rows} == {
            "Active",
            "Inactive",
        }
        directory = client.get(f"{hr.base_url}/api/v1/employees/directory").json()["employees"]
        assert len(directory) < len(rows)
        inactive = {r["id"] for r in rows if r["status"] == "Inactive"}
        assert inactive and not inactive & {e["id"] for e in directory}
        legacy = client.get(f"{hr.base_url}/api/gateway.php/{hr.config['companyId']}/v1/employees/directory")
        assert legacy.json()["employees"] == directory
        since = "2026-01-01T00:00:00Z"
        changed = client.get(f"{hr.base_url}/api/v1/employees/changed", params={"since": since}).json()
        assert sorted(changed["employees"]) == sorted(hr.changed_since(since)) and changed["latest"]
        later = max(p.last_changed for p in hr.people) - dt.timedelta(days=10)
        subset = hr.changed_since(later.isoformat())
        assert 0 < len(subset) < len(hr.worker_ids)
        hr.inject_faults([503, 429], retry_after=1.5)
        answers = [client.post(report, params=params, json=fields) for _ in range(3)]
        assert [a.status_code for a in answers] == [503, 429, 200]
        assert [a.headers.get("Retry-After") for a in answers] == ["1.5", "1.5", None]
    manager_rows = [r for r in hr.raw_workers if r["supervisorEId"]]
    internal_ids = {r["id"] for r in hr.raw_workers}
    assert manager_rows and all(r["supervisorEId"] in internal_ids for r in manager_rows)  # the supervisor's id
    assert all(r["supervisorId"] in hr.worker_ids for r in manager_rows)  # the supervisor's employeeNumber


# ADP


@vendor("adp")
def test_adp_mutual_tls_paging_and_204(hr: HrmsEmulator) -> None:
    url = f"{hr.base_url}/hr/v2/workers"
    folder = Path(hr.config["certificatePath"]).parent
    with adp_client(hr, with_certificate=False) as bare:
        for call in (lambda: bare.post(hr.config["tokenUrl"]), lambda: bare.get(url)):
            with pytest.raises(httpx.ConnectError, match="(?i)handshake"):
                call()
    with adp_client(hr) as client:
        wrong = client.post(hr.config["tokenUrl"], data={"grant_type": "client_credentials"}, auth=("x", "y"))
        assert wrong.status_code in (400, 401)
        assert client.get(url).status_code == 401
        headers = {"Authorization": f"Bearer {adp_token(hr, client)}"}
        ids, skip = [], 0
        while True:
            answer = client.get(url, params={"$top": 7, "$skip": skip}, headers=headers)
            if answer.status_code == 204:
                assert answer.content == b""
                break
            ids += [w["workerID"]["idValue"] for w in answer.json()["workers"]]
            skip += 7
        assert ids == hr.worker_ids
        assert client.get(url, params={"$top": 101}, headers=headers).status_code == 400
        hr.inject_faults([429])
        throttled = client.get(url, headers=headers)
        assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "1"
        hr.expire_tokens()
        assert client.get(url, headers=headers).status_code == 401
    worker = hr.raw_workers[3]
    primary = [a for a in worker["workAssignments"] if a["primaryIndicator"]]
    assert (
        len(worker["workAssignments"]) == 2
        and len(primary) == 1
        and not worker["workAssignments"][0]["primaryIndicator"]
    )
    units = primary[0]["homeOrganizationalUnits"]
    assert [u["nameCode"]["shortName"] for u in units if u["typeCode"]["codeValue"] == "Department"]
    assert primary[0]["reportsTo"][0]["workerID"]["idValue"] == hr.worker_ids[0]
    assert {w["workerStatus"]["statusCode"]["codeValue"] for w in hr.raw_workers} == {
        "Active",
        "Inactive",
        "Terminated",
    }
    hr.stop()
    assert not folder.exists()


# Oracle HCM


@vendor("oracle-hcm")
def test_oracle_wrong_has_more_needs_count_below_limit(hr: HrmsEmulator) -> None:
    url = hr.base_url + ORACLE
    auth = (hr.config["username"], hr.config["password"])
    assert httpx.get(url, params=ORACLE_QUERY).status_code == 401
    assert httpx.get(url, params=ORACLE_QUERY, auth=("isu", "nope")).status_code == 401
    with httpx.Client(auth=auth, timeout=5) as client:
        ids, offset, last = [], 0, {}
        while True:
            last = client.get(url, params={**ORACLE_QUERY, "limit": 10, "offset": offset}).json()
            ids += [item["PersonNumber"] for item in last["items"]]
            offset += last["count"]
            if not last["hasMore"] or last["count"] < last["limit"]:
                break
        assert ids == hr.worker_ids and last["hasMore"] is True and last["count"] == 3
        beyond = client.get(url, params={**ORACLE_QUERY, "limit": 10, "offset": 23}).json()
        assert (beyond["count"], beyond["hasMore"], beyond["items"]) == (0, False, [])
        assert client.get(url, params={"limit": 501}).status_code == 400
        assert client.get(url, params={"limit": 500}).status_code == 200
        bare = client.get(url, params={"limit": 2}).json()["items"][0]
        assert "names" not in bare and "workRelationships" not in bare
    # raw_workers: as the connector asks (REST-Framework-Version 4: children are {"items": [...]}); see test_hrms_oracle
    item = hr.raw_workers[3]
    relationships = item["workRelationships"]["items"]
    assert {e["EmailType"] for e in item["emails"]["items"]} == {"W1", "H1"} and len(relationships) == 2
    assignment = relationships[-1]["assignments"]["items"][0]
    line = [m for m in assignment["managers"]["items"] if m["ManagerType"] == "LINE_MANAGER"]
    assert line[0]["ManagerAssignmentNumber"] == "E" + hr.worker_ids[0] and assignment["DepartmentName"]
    statuses = {w["workRelationships"]["items"][-1]["assignments"]["items"][0]["AssignmentStatusType"]
                for w in hr.raw_workers}  # fmt: skip
    assert statuses == {"ACTIVE", "INACTIVE", "SUSPENDED"}
    assert any(w["workRelationships"]["items"][-1]["TerminationDate"] for w in hr.raw_workers)


# Custom REST


def _walk_custom(hr: HrmsEmulator, client: httpx.Client, style: str) -> list[str]:
    base = f"{hr.base_url}/{style}/people"
    ids: list[str] = []
    if style == "all":
        return [r["id"] for r in client.get(base).json()["items"]]
    if style in ("offset", "odata", "page"):
        n = 0
        while True:
            params = {
                "offset": {"offset": n * 6, "limit": 6},
                "odata": {"$skip": n * 6, "$top": 6},
                "page": {"page": n + 1, "pageSize": 6},
            }[style]
            body = client.get(base, params=params).json()
            ids += [r["id"] for r in body["items"]]
            n += 1
            done = {"offset": not body.get("hasMore"), "odata": len(body["items"]) < 6}.get(style)
            if done or (style == "page" and n >= body["totalPages"]):
                return ids
    if style == "token":
        token = None
        while True:
            body = client.get(base, params={"limit": 6, **({"pageToken": token} if token else {})}).json()
            ids += [r["id"] for r in body["items"]]
            token = body.get("nextPageToken")
            if not token:
                return ids
    url: str | None = base + "?limit=6"
    while url:
        answer = client.get(url)
        ids += [r["id"] for r in answer.json()["items"]]
        url = answer.json().get("@odata.nextLink") if style == "nextlink" else answer.links.get("next", {}).get("url")
    return ids


@vendor("custom-rest")
def test_custom_rest_every_paging_style(hr: HrmsEmulator) -> None:
    with httpx.Client(headers={"X-API-Key": hr.config["apiKey"]}, timeout=5) as client:
        for style in ("offset", "page", "odata", "nextlink", "linkheader", "token", "all"):
            assert _walk_custom(hr, client, style) == hr.worker_ids, style
        loop = client.get(f"{hr.base_url}/loop/people")
        again = client.get(loop.json()["@odata.nextLink"])
        assert again.json() == loop.json() and again.links["next"]["url"] == loop.links["next"]["url"]
        evil = client.get(f"{hr.base_url}/evil/people").json()
        assert evil["links"][0]["href"].startswith("http://127.0.0.2:1/")
        assert client.get(f"{hr.base_url}/offset/people", params={"limit": 101}).status_code == 400
        assert client.get(f"{hr.base_url}/token/people", params={"pageToken": "garbage"}).status_code == 400
    assert httpx.get(f"{hr.base_url}/offset/people").status_code == 401
    assert httpx.get(f"{hr.base_url}/offset/people", headers={"X-API-Key": "nope"}).status_code == 401
    record = hr.raw_workers[2]
    assert len(record["emails"]) == 2 and record["emails"][0]["type"] == "home"  # the primary is not first here


@pytest.mark.parametrize("auth", CUSTOM_AUTH)
def test_custom_rest_auth_modes(auth: str) -> None:
    with HrmsEmulator("custom-rest", workers=3, auth=auth) as hr:
        url, c = f"{hr.base_url}/all/people", hr.config
        good: dict[str, Any] = {}
        if auth == "basic":
            good = {"auth": (c["username"], c["password"])}
        elif auth == "bearer":
            good = {"headers": {"Authorization": f"Bearer {c['token']}"}}
        elif auth == "apikey":
            good = {"headers": {"X-API-Key": c["apiKey"]}}
        elif auth == "oauth2":
            assert (
                httpx.post(c["tokenUrl"], data={"grant_type": "client_credentials"}, auth=("x", "y")).status_code == 400
            )
            grant = {"grant_type": "client_credentials", "client_id": c["clientId"], "client_secret": c["clientSecret"]}
            token = httpx.post(c["tokenUrl"], data=grant).json()["access_token"]
            good = {"headers": {"Authorization": f"Bearer {token}"}}
        assert httpx.get(url, **good).status_code == 200
        if auth != "none":
            assert httpx.get(url).status_code == 401
            if auth in ("bearer", "oauth2"):
                hr.expire_tokens()
                assert httpx.get(url, **good).status_code == 401


def test_cli_prints_base_url_and_config() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "emulators.hrms", "--vendor", "oracle-hcm", "--port", "0", "--workers", "4"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        config = json.loads(process.stdout.readline())
        assert config == {"baseUrl": base_url, "username": config["username"], "password": config["password"]}
        items = httpx.get(base_url + ORACLE, auth=(config["username"], config["password"])).json()["items"]
        assert len(items) == 4
    finally:
        process.terminate()
        process.wait(timeout=5)
