"""Delta pulls (connectors/changes.py) against the BambooHR and SuccessFactors emulators on loopback."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from connectors import ConnectorError, FetchReport, load_registry
from connectors import fetch_records as _fetch_records
from connectors.changes import (
    ChangeReport,
    odata_datetime_literal,
    parse_since,
    successfactors_delta,
    supports_changes,
)
from connectors.changes import (
    fetch_changes as _fetch_changes,
)
from emulators import hrms
from emulators.hrms_successfactors import make_signing_pair
from provisioning.core.mapping.profiles import load_profile
from provisioning.core.plan.pipeline import Reject, plan_run
from provisioning.core.read.json_source import JsonSource

# The HR emulators listen on plain http on loopback: what CONNECTORS_ALLOW_LOOPBACK_HTTP allows.
fetch_records = functools.partial(_fetch_records, allow_loopback_http=True)
fetch_changes = functools.partial(_fetch_changes, allow_loopback_http=True)

HrmsEmulator = hrms.HrmsEmulator

REGISTRY = load_registry()
DELTA_VENDORS = ("bamboohr", "successfactors")
WORKERS = 23
WHEN = "2031-03-04T05:06:07Z"
BEFORE = "2031-03-04T06:00:00+01:00"  # 05:00:00 UTC: one minute and seven seconds before WHEN
AFTER = "2031-03-04T05:06:08Z"


@pytest.fixture(params=DELTA_VENDORS)
def hr(request: pytest.FixtureRequest) -> Iterator[Any]:
    page = 5 if request.param == "successfactors" else None
    with HrmsEmulator(request.param, workers=WORKERS, max_page_size=page) as emulator:
        yield emulator


def _config(emulator: Any, **extra: Any) -> dict[str, Any]:
    page = {"pageSize": "5"} if emulator.vendor == "successfactors" else {}
    return {**emulator.config, **page, **extra}


def _changes(emulator: Any, since: str, **kwargs: Any) -> tuple[list[dict[str, Any]], FetchReport]:
    stream = fetch_changes(REGISTRY[emulator.vendor], _config(emulator), since=since, sleep=lambda _: None, **kwargs)
    return list(stream), stream.report


def _full(emulator: Any) -> list[dict[str, Any]]:
    return list(fetch_records(REGISTRY[emulator.vendor], _config(emulator), sleep=lambda _: None))


def test_supports_changes_only_for_bamboohr_and_successfactors() -> None:
    # Workday's transaction-log delta needs a clock-consistent emulator: tests/test_hrms_workday.py covers it.
    assert {key for key, definition in REGISTRY.items() if supports_changes(definition)} == {*DELTA_VENDORS, "workday"}


def test_touched_workers_come_back_flat_changed_and_in_order(hr: Any) -> None:
    before = {r["workerId"]: r for r in _full(hr)}
    touched = ["100017", "100004", "100009", "100001", "100012", "100020", "100007"]  # not in worker order
    hr.touch(touched, when=WHEN)
    records, report = _changes(hr, BEFORE)
    assert [r["workerId"] for r in records] == [w for w in hr.worker_ids if w in touched]
    after = {r["workerId"]: r for r in _full(hr)}
    for record in records:
        assert record == after[record["workerId"]]  # the same keys and values as a full pull's record
        assert record.keys() == before[record["workerId"]].keys()
        assert record["jobTitle"] != before[record["workerId"]]["jobTitle"]
    assert report.complete and not report.truncated and report.records == len(touched)
    assert isinstance(report, ChangeReport if hr.vendor == "bamboohr" else FetchReport)
    again, _ = _changes(hr, BEFORE)
    assert again == records  # stable


def test_terminated_workers_are_included_and_status_tells(hr: Any) -> None:
    terminated = [p.worker_id for p in hr.people if p.status == "terminated"]
    assert terminated
    hr.touch(terminated, when=WHEN)
    records, _ = _changes(hr, BEFORE)
    inactive = {"bamboohr": {"Inactive"}, "successfactors": {"T", "R"}}[hr.vendor]  # R: retired
    assert [r["workerId"] for r in records] == terminated and {r["status"] for r in records} == inactive


def test_nothing_touched_nothing_returned(hr: Any) -> None:
    hr.touch(["100003"], when=WHEN)
    records, report = _changes(hr, AFTER)
    assert records == [] and report.records == 0 and report.complete


def test_touch_defaults_to_now(hr: Any) -> None:
    since = dt.datetime.now(dt.UTC).isoformat()
    hr.touch(["100002", "100011"])
    records, _ = _changes(hr, since)
    assert [r["workerId"] for r in records] == ["100002", "100011"]


def test_delta_records_map_through_the_profile(hr: Any) -> None:
    hr.touch(hr.worker_ids[:12], when=WHEN)
    records, _ = _changes(hr, BEFORE)
    rejects: list[Reject] = []
    plan = plan_run(JsonSource(records), load_profile(REGISTRY[hr.vendor].defaultProfile or hr.vendor),
                    on_reject=rejects.append)  # fmt: skip
    try:
        external = [
            operation["data"]["externalId"]
            for request in plan.requests()
            for operation in orjson.loads(request.body)["Operations"]
        ]
    finally:
        plan.close()
    assert rejects == [] and sorted(external) == hr.worker_ids[:12]


def test_wrong_credentials_name_the_path_never_the_secret_or_query(hr: Any) -> None:
    hr.touch(["100003"], when=WHEN)
    if hr.vendor == "bamboohr":
        wrong = "wrong-but-still-secret-123"
        config = _config(hr, apiKey=wrong)
    else:  # SuccessFactors signs a SAML assertion: a key that is not the registered certificate's
        wrong = make_signing_pair("someone else").private_key_pem
        config = {k: v for k, v in _config(hr, privateKey=wrong).items() if k != "certificate"}
    stream = fetch_changes(REGISTRY[hr.vendor], config, since=BEFORE, sleep=lambda _: None)
    with pytest.raises(ConnectorError, match="HTTP 401") as caught:
        list(stream)
    message = str(caught.value)
    path = "/api/gateway.php/contoso/v1/employees/changed" if hr.vendor == "bamboohr" else "/odata/v2/PerPerson"
    assert f"{hr.vendor!r} {path}:" in message and caught.value.path == path
    assert wrong not in message and "?" not in message and "since" not in message and "filter" not in message


@pytest.mark.parametrize("since", ["2031-03-04T05:00:00", "2031-03-04", "yesterday", ""])
def test_naive_or_unreadable_since_is_refused(hr: Any, since: str) -> None:
    with pytest.raises(ValueError, match="since"):
        fetch_changes(REGISTRY[hr.vendor], _config(hr), since=since)


def test_connectors_without_a_delta_query_are_refused() -> None:
    with pytest.raises(ConnectorError, match="'oracle-hcm' has no delta query"):
        fetch_changes(REGISTRY["oracle-hcm"], {}, since=WHEN)


def test_successfactors_filter_literal_is_utc_seconds_and_kept_on_next_pages() -> None:
    moment = parse_since("2031-03-04T06:00:00.987+01:00")
    assert moment == dt.datetime(2031, 3, 4, 5, 0, 0, tzinfo=dt.UTC)
    assert odata_datetime_literal(moment) == "datetime'2031-03-04T05:00:00'"
    query = successfactors_delta(REGISTRY["successfactors"], moment).request.query
    # each entity keeps its own lastModifiedDateTime: PerPerson's does not move when a job or an email changes
    literal = "gt datetimeoffset'2031-03-04T05:00:00Z'"
    assert query["$filter"] == (
        f"lastModifiedDateTime {literal} or personalInfoNav/lastModifiedDateTime {literal} or "
        f"emailNav/lastModifiedDateTime {literal} or phoneNav/lastModifiedDateTime {literal} or "
        f"employmentNav/lastModifiedDateTime {literal} or employmentNav/jobInfoNav/lastModifiedDateTime {literal}"
    )
    assert "$filter" not in REGISTRY["successfactors"].request.query  # the registry's definition is untouched
    with HrmsEmulator("successfactors", workers=WORKERS, max_page_size=5) as emulator:
        touched = emulator.worker_ids[3:15]
        emulator.touch(touched, when=WHEN)
        records, report = _changes(emulator, BEFORE)
        assert [r["workerId"] for r in records] == touched and report.pages == 3
        queries = [q for _, path, q, status in emulator.requests if path == "/odata/v2/PerPerson" and status == 200]
        assert len(queries) == 3
        assert all(f"$filter={query['$filter']}" in q for q in queries)


def test_bamboohr_retries_limits_and_reads_each_employee_with_the_report_fields() -> None:
    with HrmsEmulator("bamboohr", workers=WORKERS) as emulator:
        emulator.touch(["100002", "100006", "100010"], when=WHEN)
        emulator.inject_faults([503, 429], retry_after=2)
        slept: list[float] = []
        stream = fetch_changes(REGISTRY["bamboohr"], _config(emulator), since=BEFORE, sleep=slept.append, limit=2)
        records = list(stream)
        assert [r["workerId"] for r in records] == ["100002", "100006"]
        assert slept == [2.0, 2.0] and stream.report.retries == 2
        assert stream.report.truncated and stream.report.complete and stream.report.pages == 3
        calls = [(path, q) for _, path, q, status in emulator.requests if status == 200]
        assert calls[0] == ("/api/gateway.php/contoso/v1/employees/changed", "since=2031-03-04T05:00:00Z")
        fields = REGISTRY["bamboohr"].request.body["fields"]
        assert calls[1] == ("/api/gateway.php/contoso/v1/employees/2", "fields=" + ",".join(fields))


def test_bamboohr_deleted_employees_are_reported_not_fetched() -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        assert request.headers["Accept"] == "application/json"
        if request.url.path.endswith("/employees/changed"):
            changed = {
                "9": {"id": "9", "action": "Updated", "lastChanged": WHEN},
                "10": {"id": "10", "action": "Deleted", "lastChanged": WHEN},
                "7": {"id": "7", "action": "Inserted", "lastChanged": WHEN},
                "8": {"id": "8", "action": "Updated", "lastChanged": WHEN},
            }
            return httpx.Response(200, json={"latest": WHEN, "employees": changed})
        internal = request.url.path.rsplit("/", 1)[-1]
        if internal == "8":
            return httpx.Response(404, json={"error": "not found"})
        return httpx.Response(200, json={"id": internal, "employeeNumber": f"E{internal}", "status": "Active"})

    config = {"baseUrl": "https://api.bamboohr.example", "companyId": "acme", "apiKey": "k-123456"}
    stream = fetch_changes(REGISTRY["bamboohr"], config, since=BEFORE, transport=httpx.MockTransport(answer))
    records = list(stream)
    assert [r["workerId"] for r in records] == ["E7", "E9"] and records[0]["internalId"] == "7"
    assert records[0]["firstName"] == "" and records[0]["status"] == "Active"
    assert isinstance(stream.report, ChangeReport) and stream.report.deleted == ["8", "10"]
    assert "/api/gateway.php/acme/v1/employees/10" not in seen
