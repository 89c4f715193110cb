"""Connectors end to end against the HR system emulators (emulators/hrms.py) on loopback."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import re
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from connectors import AuthSpec, ConnectorError, FetchReport, load_registry
from connectors import fetch_records as _fetch_records
from emulators import hrms
from provisioning.core.mapping.profiles import load_profile
from provisioning.core.plan.pipeline import Reject, plan_run
from provisioning.core.read.json_source import JsonSource
from provisioning.core.retry import RetryPolicy
from tests.support import running

# The HR emulators listen on plain http on loopback: what CONNECTORS_ALLOW_LOOPBACK_HTTP allows.
fetch_records = functools.partial(_fetch_records, allow_loopback_http=True)

HrmsEmulator = hrms.HrmsEmulator


REGISTRY = load_registry()
VENDORS = ("workday", "workday-raas", "successfactors", "bamboohr", "adp", "oracle-hcm")
WORKERS = 23
SMALL_PAGE = {"workday": "5", "successfactors": "5", "adp": "5", "oracle-hcm": "5"}


@pytest.fixture(scope="module")
def emulators() -> Iterator[dict[str, Any]]:
    with running(
        {v: HrmsEmulator(v, workers=WORKERS, max_page_size=int(SMALL_PAGE.get(v, 100))) for v in VENDORS}
    ) as started:
        yield started


def _config(emulator: Any, **extra: Any) -> dict[str, Any]:
    page = SMALL_PAGE.get(emulator.vendor)
    return {**emulator.config, **({"pageSize": page} if page else {}), **extra}


def _fetch(vendor: str, config: dict[str, Any], **kwargs: Any) -> tuple[list[dict[str, Any]], FetchReport]:
    stream = fetch_records(REGISTRY[vendor], config, sleep=kwargs.pop("sleep", lambda _: None), **kwargs)
    return list(stream), stream.report


@pytest.mark.parametrize("vendor", VENDORS)
def test_every_worker_once_in_order_through_faults_and_expiry(vendor: str, emulators: dict[str, Any]) -> None:
    emulator = emulators[vendor]
    emulator.inject_faults([429, 503, 429], retry_after=2)
    slept: list[float] = []
    seen_pages: list[int] = []

    def on_page(report: FetchReport) -> None:
        seen_pages.append(report.pages)
        emulator.expire_tokens()  # every access token now gets 401: one refresh, then on

    records, report = _fetch(vendor, _config(emulator), sleep=slept.append, on_page=on_page)
    assert [r["workerId"] for r in records] == emulator.worker_ids
    assert slept == [2.0, 2.0, 2.0] and report.retries == 3
    assert report.complete and not report.truncated and report.records == WORKERS
    paged = vendor in SMALL_PAGE
    assert (report.pages > 1) is paged
    assert seen_pages == list(range(1, report.pages + 1))


def test_workday_rotated_refresh_token_is_handed_over_and_the_old_one_refused(
    emulators: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    emulator = emulators["workday"]
    config = _config(emulator)
    old = config["refreshToken"]
    rotated: list[str] = []
    records, _ = _fetch("workday", config, on_rotate=rotated.append, limit=3)
    assert len(records) == 3 and rotated and rotated[-1] == emulator.refresh_token != old
    with pytest.raises(ConnectorError, match=r"token request to /ccx/oauth2/contoso/token answered HTTP 400") as err:
        _fetch("workday", config)
    assert old not in str(err.value) and config["clientSecret"] not in str(err.value)
    records, _ = _fetch("workday", {**config, "refreshToken": rotated[-1]}, on_rotate=rotated.append)
    assert len(records) == WORKERS
    for secret in (old, *rotated, config["clientSecret"]):
        assert secret not in caplog.text
    assert "page 1" in caplog.text


def test_limit_truncates_and_says_so(emulators: dict[str, Any]) -> None:
    records, report = _fetch("oracle-hcm", _config(emulators["oracle-hcm"]), limit=7)
    assert len(records) == 7 and report.truncated and report.pages == 2


def test_oracle_stops_on_the_short_last_page_despite_has_more(emulators: dict[str, Any]) -> None:
    emulator = emulators["oracle-hcm"]
    emulator.requests.clear()
    records, report = _fetch("oracle-hcm", _config(emulator))
    assert len(records) == WORKERS and report.pages == 5  # 5+5+5+5+3, no sixth (empty) call
    offsets = [q for method, path, q, status in emulator.requests if status == 200]
    assert len(offsets) == 5 and "offset=20" in offsets[-1]


def test_successfactors_follows_next_with_a_saml_bearer_token(emulators: dict[str, Any]) -> None:
    emulator = emulators["successfactors"]
    emulator.requests.clear()
    records, report = _fetch("successfactors", _config(emulator))
    assert [r["workerId"] for r in records] == emulator.worker_ids and report.pages == 5
    assert sum("skiptoken" in q for _, _, q, s in emulator.requests if s == 200) == 4
    assert [(m, p, s) for m, p, _, s in emulator.requests[:1]] == [("POST", "/oauth/token", 200)]
    # basic is gone at SAP (2026-11-20): the legacy mode is refused, without the password in the message
    with pytest.raises(ConnectorError, match=r"/odata/v2/PerPerson: GET answered HTTP 401") as refused:
        _fetch("successfactors", _config(emulator, authMode="basic", password="legacy-secret-1"))
    assert "legacy-secret-1" not in str(refused.value)


def test_adp_needs_its_client_certificate(emulators: dict[str, Any]) -> None:
    emulator = emulators["adp"]
    assert emulator.config["baseUrl"].startswith("https://")
    config = {k: v for k, v in _config(emulator).items() if k not in ("certificatePath", "keyPath")}
    with pytest.raises(ConnectorError, match="certificatePath"):
        _fetch("adp", config)
    # the same TLS setup minus the client certificate: the server ends the handshake
    no_mtls = REGISTRY["adp"].model_copy(
        update={
            "auth": AuthSpec(type="oauth2-client-credentials"),
            "fields": [f for f in REGISTRY["adp"].fields if f.key not in ("certificatePath", "keyPath")],
        }
    )
    with pytest.raises(ConnectorError, match=r"'adp' /hr/v2/workers: GET failed after 2 tries") as refused:
        list(fetch_records(no_mtls, config, sleep=lambda _: None, policy=RetryPolicy(max_attempts=2)))
    assert config["clientSecret"] not in str(refused.value)


def test_bamboohr_report_lists_terminated_workers(emulators: dict[str, Any]) -> None:
    emulator = emulators["bamboohr"]
    records, _ = _fetch("bamboohr", _config(emulator))
    assert {r["status"] for r in records} == {"Active", "Inactive"}
    assert any("onlyCurrent=false" in q for _, p, q, _ in emulator.requests if p.endswith("/reports/custom"))


STYLES = {
    "offset": {"pagingStyle": "offset", "totalPath": "total"},
    "page": {"pagingStyle": "page", "pageSizeParam": "pageSize", "totalPath": "total"},
    "odata": {"pagingStyle": "odata"},
    "nextlink": {"pagingStyle": "next-link-body", "nextLinkPath": "links[?rel=='next'].href", "pageSizeParam": "limit"},
    "linkheader": {"pagingStyle": "next-link-header", "pageSizeParam": "limit"},
    "token": {"pagingStyle": "page-token", "nextTokenPath": "nextPageToken", "pageSizeParam": "limit"},
    "all": {"pagingStyle": "none"},
}
AUTH = {"none": "none", "basic": "basic", "bearer": "bearer", "apikey": "apikey-header",
        "oauth2": "oauth2-client-credentials"}  # fmt: skip


@pytest.fixture(scope="module")
def custom() -> Iterator[Any]:
    with HrmsEmulator("custom-rest", workers=WORKERS, max_page_size=6) as emulator:
        yield emulator


def _custom_config(emulator: Any, path: str, **extra: Any) -> dict[str, Any]:
    return {**emulator.config, "path": path, "authType": "apikey-header", "pageSize": "6", **extra}


@pytest.mark.parametrize("style", STYLES)
def test_custom_rest_every_paging_style(style: str, custom: Any) -> None:
    records, report = _fetch("custom-rest", _custom_config(custom, f"/{style}/people", **STYLES[style]))
    assert [r["workerId"] for r in records] == custom.worker_ids
    assert report.pages >= (1 if style == "all" else 4)


@pytest.mark.parametrize("auth", AUTH)
def test_custom_rest_every_auth(auth: str) -> None:
    with HrmsEmulator("custom-rest", workers=8, auth=auth) as emulator:
        config = _custom_config(emulator, "/offset/people", authType=AUTH[auth], pagingStyle="offset")
        records, _ = _fetch("custom-rest", config)
        assert len(records) == 8
        if auth != "none":
            with pytest.raises(ConnectorError, match="HTTP 40"):
                _fetch("custom-rest", {**config, "authType": "none"})


def test_custom_rest_loop_guard_and_evil_link(custom: Any) -> None:
    loop = _custom_config(
        custom, "/loop/people", pagingStyle="next-link-body", pageSizeParam="limit", nextLinkPath="['@odata.nextLink']"
    )
    with pytest.raises(ConnectorError, match="repeats"):
        _fetch("custom-rest", loop)
    with pytest.raises(ConnectorError, match="repeats"):
        _fetch("custom-rest", {**loop, "pagingStyle": "next-link-header"})
    evil = {**loop, "path": "/evil/people"}
    with pytest.raises(ConnectorError, match=r"another host \(127\.0\.0\.2\): refused"):
        _fetch("custom-rest", evil)


def test_plain_http_refused_without_the_switch(custom: Any) -> None:
    with pytest.raises(ConnectorError, match="must use https"):
        _fetch("custom-rest", _custom_config(custom, "/all/people"), allow_loopback_http=False)


def test_secrets_never_in_errors(custom: Any) -> None:
    config = _custom_config(custom, "/all/people")
    with pytest.raises(ConnectorError) as caught:
        _fetch("custom-rest", {**config, "apiKey": "wrong-key-but-still-secret"})
    assert "wrong-key-but-still-secret" not in str(caught.value) and "HTTP 401" in str(caught.value)


# ---- through the mapping profiles into the pipeline --------------------------------------------------------

STATUS_ACTIVE = {
    "workday": {"Active": True, "On Leave": True, "Terminated": False, "Pre-Hire": False},
    "workday-raas": {"1": True, "0": False},
    "successfactors": {"A": True, "U": True, "P": True, "S": False, "F": False, "D": False, "R": False, "T": False},
    "bamboohr": {"Active": True, "Inactive": False},
    "adp": {"Active": True, "Inactive": True, "Terminated": False},  # Inactive is leave: kept enabled
    "oracle-hcm": {"ACTIVE": True, "SUSPENDED": True, "INACTIVE": False},  # SUSPENDED is leave: kept enabled
    "custom-rest": {"active": True, "leave": True, "terminated": False, "prehire": False},
}


def _day(value: Any) -> dt.date | None:
    text = str(value or "")
    if text.startswith("/Date("):
        milliseconds = int(re.findall(r"-?\d+", text)[0])
        return dt.datetime.fromtimestamp(milliseconds / 1000, dt.UTC).date()
    return dt.date.fromisoformat(text[:10]) if text else None


def _by_dates(record: dict[str, Any], active: bool, *, until_leave: bool) -> bool:
    """What a profile's lifecycle makes of the status (its rules: tests/test_lifecycle.py)."""
    today = dt.datetime.now(dt.UTC).date()
    hire, leave = _day(record.get("hireDate")), _day(record.get("terminationDate"))
    if leave is not None and leave < today:
        return False
    if leave is not None and until_leave and leave < dt.date(9999, 12, 31):
        active = True
    if hire is not None and hire > today:
        return False
    return active


@pytest.mark.parametrize("vendor", [*VENDORS, "custom-rest"])
def test_profiles_map_every_worker(vendor: str, emulators: dict[str, Any], custom: Any) -> None:
    if vendor == "custom-rest":
        records, _ = _fetch(vendor, _custom_config(custom, "/all/people"))
    else:
        records, _ = _fetch(vendor, _config(emulators[vendor]))
    rejects: list[Reject] = []
    plan = plan_run(JsonSource(records), load_profile(REGISTRY[vendor].defaultProfile or vendor),
                    on_reject=rejects.append)  # fmt: skip
    try:
        assert rejects == [] and plan.summary.operations == WORKERS
        users = {}
        for request in plan.requests():
            for operation in orjson.loads(request.body)["Operations"]:
                data = operation["data"]
                users[data["externalId"]] = data
    finally:
        plan.close()
    by_id = {r["workerId"]: r for r in records}
    assert set(users) == set(by_id)
    enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    lifecycle = load_profile(REGISTRY[vendor].defaultProfile or vendor).lifecycle
    for worker_id, user in users.items():
        expected = STATUS_ACTIVE[vendor][by_id[worker_id]["status"]]
        if lifecycle is not None:
            expected = _by_dates(by_id[worker_id], expected, until_leave=lifecycle.activeUntilLeaveDate)
        assert user["active"] is expected, (worker_id, by_id[worker_id])
        manager = by_id[worker_id].get("managerId", "")
        if vendor == "oracle-hcm":  # Oracle names the manager's assignment, "E" + person number (test_hrms_oracle)
            manager = by_id[worker_id]["managerAssignmentNumber"].removeprefix("E")
        assert user.get(enterprise, {}).get("manager", {}).get("value", "") == manager
        custom = user["urn:ietf:params:scim:schemas:extension:contoso:1.0:User"]
        if by_id[worker_id]["hireDate"] == "":  # BambooHR's worker hired without a date (0000-00-00): left out
            assert "HireDate" not in custom
            continue
        hire = custom["HireDate"]
        assert hire.endswith("+00:00") or hire.endswith("Z")
    assert {u["active"] for u in users.values()} == {True, False}
