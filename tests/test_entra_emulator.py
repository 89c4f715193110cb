"""The Graph emulator, checked case by case against docs/entra-api.md, through real HTTP on loopback.

The emulator is the oracle for the rest of the test suite, so each documented behaviour it
reproduces is pinned here: authentication, what bulkUpload refuses, throttling, fault injection,
processing outcomes and their log entries, log queries and paging, the job schema, the job.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import orjson
import pytest

from emulators.entra import DEFAULT_JOB, DEFAULT_SP, EntraEmulator
from emulators.entra_cli import parse_rate_limit
from emulators.entra_expressions import evaluate, parse
from tests.emulators_entra_helpers import (
    AUTH,
    BULK,
    ENTERPRISE,
    LOG_SAMPLE,
    SCIM_JSON,
    ManualClock,
    assert_graph_error,
    bulk,
    post_bulk,
    scim_user,
    upload,
    with_extension,
)

TENANT = "ded4600b620e486eb6f18b4fc7166a5f"
OTHER_JOB = f"API2AAD.{TENANT}.11111111-2222-4333-8444-555555555555"
CSV_EXTENSION = "urn:ietf:params:scim:schemas:extension:csv:1.0:User"
AD_JOB = f"API2AD.{TENANT}.66666666-7777-4888-9999-000000000000"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def make_graph(clock: ManualClock) -> Iterator[Callable[..., EntraEmulator]]:
    """Starts emulators (on the manual clock unless told otherwise) and stops them all afterwards."""
    started: list[EntraEmulator] = []

    def make(**options: Any) -> EntraEmulator:
        options.setdefault("clock", clock)
        options.setdefault("log_rate_limit", None)  # log throttling has its own tests
        emulator = EntraEmulator(**options)
        emulator.start()
        started.append(emulator)
        return emulator

    yield make
    for emulator in started:
        emulator.stop()


@pytest.fixture
def graph(make_graph: Callable[..., EntraEmulator]) -> EntraEmulator:
    return make_graph()


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as http_client:
        yield http_client


def logs(
    client: httpx.Client, graph: EntraEmulator, filter_: str | None = None, *, version: str = "v1.0", **params: Any
) -> dict:
    query = {f"${k}": v for k, v in params.items()}
    if filter_ is not None:
        query["$filter"] = filter_
    response = client.get(f"{graph.base_url}/{version}/auditLogs/provisioning", params=query, headers=AUTH)
    assert response.status_code == 200, response.text
    return response.json()


def job_url(graph: EntraEmulator, suffix: str = "", *, job: str = DEFAULT_JOB, version: str = "v1.0") -> str:
    return f"{graph.base_url}/{version}/servicePrincipals/{DEFAULT_SP}/synchronization/jobs/{job}{suffix}"


def by_action(entries: list[dict]) -> list[tuple[str, str, str]]:
    return [
        (e["sourceIdentity"]["id"], e["provisioningAction"], e["provisioningStatusInfo"]["status"]) for e in entries
    ]


def modified(entry: dict) -> dict[str, tuple[Any, Any]]:
    return {p["displayName"]: (p["oldValue"], p["newValue"]) for p in entry["modifiedProperties"]}


# Authentication


def test_upload_without_a_token_is_401(client: httpx.Client, graph: EntraEmulator) -> None:
    response = client.post(graph.bulk_upload_url(), content=orjson.dumps(bulk(scim_user("1"))), headers=SCIM_JSON)
    error = assert_graph_error(response, 401, "InvalidAuthenticationToken")
    assert "empty" in error["message"]
    assert graph.log_entries() == []


def test_a_revoked_token_gets_401_and_other_tokens_still_work(client: httpx.Client, graph: EntraEmulator) -> None:
    graph.revoke_token("test-token")
    assert_graph_error(post_bulk(client, graph, bulk(scim_user("1"))), 401, "InvalidAuthenticationToken")
    other = {"Authorization": "Bearer another-token"}
    assert post_bulk(client, graph, bulk(scim_user("1")), headers=other).status_code == 202


def test_a_pinned_token_is_the_only_one_accepted(client: httpx.Client, make_graph: Callable) -> None:
    graph = make_graph(token="the-one")
    assert_graph_error(post_bulk(client, graph, bulk(scim_user("1"))), 401, "InvalidAuthenticationToken")
    assert (
        post_bulk(client, graph, bulk(scim_user("1")), headers={"Authorization": "Bearer the-one"}).status_code == 202
    )


@pytest.mark.parametrize("endpoint", ["job", "schema", "logs", "jobs"])
def test_every_endpoint_needs_a_token(client: httpx.Client, graph: EntraEmulator, endpoint: str) -> None:
    url = {
        "job": job_url(graph),
        "schema": job_url(graph, "/schema"),
        "logs": f"{graph.base_url}/v1.0/auditLogs/provisioning",
        "jobs": f"{graph.base_url}/beta/servicePrincipals/{DEFAULT_SP}/synchronization/jobs",
    }[endpoint]
    assert_graph_error(client.get(url), 401, "InvalidAuthenticationToken")
    assert_graph_error(client.get(url, headers={"Authorization": "Basic abc"}), 401)


# What bulkUpload refuses (400) and accepts (202)


def test_accepted_upload_is_202_with_an_empty_body_and_the_logs_location(
    client: httpx.Client, graph: EntraEmulator
) -> None:
    for version in ("v1.0", "beta"):
        response = post_bulk(client, graph, bulk(scim_user("1")), version=version)
        assert response.status_code == 202
        assert response.content == b""
        expected = f"{graph.base_url}/{version}/auditLogs/provisioning/?$filter=jobid eq '{DEFAULT_JOB}'"
        assert response.headers["Location"] == expected
    assert graph.upload_count == graph.accepted_upload_count == 2


def test_the_location_header_leads_to_the_jobs_log_entries(client: httpx.Client, graph: EntraEmulator) -> None:
    location = upload(client, graph, scim_user("1")).headers["Location"]
    upload(client, graph, scim_user("2"), job=OTHER_JOB)
    page = client.get(location, headers=AUTH).json()
    assert [e["sourceIdentity"]["id"] for e in page["value"]] == ["1"]


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", "application/scim+xml", "scim+json", None])
def test_wrong_content_type_is_400(client: httpx.Client, graph: EntraEmulator, content_type: str | None) -> None:
    headers = {**AUTH, "Content-Type": content_type} if content_type else AUTH
    response = client.post(graph.bulk_upload_url(), content=orjson.dumps(bulk(scim_user("1"))), headers=headers)
    assert_graph_error(response, 400, "BadRequest")


def test_content_type_parameters_are_allowed(client: httpx.Client, graph: EntraEmulator) -> None:
    headers = {"Content-Type": "Application/SCIM+JSON; charset=utf-8"}
    assert post_bulk(client, graph, bulk(scim_user("1")), headers=headers).status_code == 202


def _operation(**changes: Any) -> dict[str, Any]:
    payload = bulk(scim_user("1"))
    payload["Operations"][0].update(changes)
    return payload


def _user_without(*keys: str, **changes: Any) -> dict[str, Any]:
    user = scim_user("1", **changes)
    for key in keys:
        user.pop(key)
    return bulk(user)


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        (b"{not json", "not JSON"),
        ({"name": "John Doe"}, "the non-SCIM request of Microsoft's Postman collection"),
        ([bulk(scim_user("1"))], "a list, not an object"),
        ({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "Operations": []}, "wrong schema"),
        ({"schemas": [BULK], "Operations": {"method": "POST"}}, "Operations not a list"),
        ({"schemas": [BULK], "Operations": []}, "no operation"),
        (bulk(*(scim_user(str(i)) for i in range(51))), "51 operations"),
        (_operation(method="PUT"), "PUT"),
        (_operation(method="PATCH"), "PATCH"),
        (_operation(method="DELETE"), "DELETE"),
        (_operation(path="/Groups"), "path other than /Users"),
        (_operation(path="/Users/1"), "path with an id"),
        (_operation(data=None), "no data"),
        (_user_without("externalId"), "no externalId"),
        (bulk(scim_user("1", externalId="")), "empty externalId"),
        (bulk(scim_user("1", externalId=42)), "externalId not a string"),
        (bulk(scim_user("1", schemas=[ENTERPRISE])), "core schema missing"),
        (_user_without("schemas"), "no schemas"),
        (bulk(with_extension(scim_user("1"), ENTERPRISE, {"department": "S"}, listed=False)), "enterprise unlisted"),
        (bulk(with_extension(scim_user("1"), CSV_EXTENSION, {"HireDate": "x"}, listed=False)), "custom unlisted"),
    ],
)
def test_non_scim_requests_are_400(client: httpx.Client, graph: EntraEmulator, payload: Any, why: str) -> None:
    error = assert_graph_error(post_bulk(client, graph, payload), 400, "BadRequest")
    assert error["message"].startswith("Invalid Data Format"), why
    graph.process_pending()
    assert graph.log_entries() == [] and graph.accepted_upload_count == 0


def test_fifty_operations_lowercase_post_and_users_path_are_accepted(
    client: httpx.Client, graph: EntraEmulator
) -> None:
    payload = bulk(*(scim_user(str(i)) for i in range(50)), method="post", path="/users")
    assert post_bulk(client, graph, payload).status_code == 202
    assert len(graph.directory()) == 50


def test_the_400_message_names_the_bad_operation(client: httpx.Client, graph: EntraEmulator) -> None:
    payload = bulk(scim_user("1"), scim_user("2"), scim_user("3"))
    payload["Operations"][2]["method"] = "PATCH"
    error = assert_graph_error(post_bulk(client, graph, payload), 400)
    assert "Operations[2].method" in error["message"] and "PATCH" in error["message"]
    assert graph.directory() == {}, "one bad operation rejects the whole request"


def test_custom_extension_listed_in_schemas_is_accepted(client: httpx.Client, graph: EntraEmulator) -> None:
    upload(client, graph, with_extension(scim_user("1"), CSV_EXTENSION, {"HireDate": "2021-05-01T00:00:00-05:00"}))


# Throttling, quotas and injected faults


def test_rate_limit_window_answers_429_then_recovers(
    client: httpx.Client, make_graph: Callable, clock: ManualClock
) -> None:
    graph = make_graph(rate_limit=(3, 0.5))
    statuses = [post_bulk(client, graph, bulk(scim_user(str(i)))).status_code for i in range(3)]
    assert statuses == [202, 202, 202]
    throttled = post_bulk(client, graph, bulk(scim_user("4")))
    assert_graph_error(throttled, 429, "TooManyRequests")
    assert throttled.headers["Retry-After"] == "1", "at least one whole second"
    clock.advance(0.5)
    assert post_bulk(client, graph, bulk(scim_user("4"))).status_code == 202


def test_retry_after_is_computed_from_the_window(
    client: httpx.Client, make_graph: Callable, clock: ManualClock
) -> None:
    graph = make_graph(rate_limit=(2, 10.0))
    upload(client, graph, scim_user("1"))
    clock.advance(2.5)
    upload(client, graph, scim_user("2"))
    clock.advance(1.0)
    throttled = post_bulk(client, graph, bulk(scim_user("3")))
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "7"
    clock.advance(6.5)  # the first call leaves the window
    assert post_bulk(client, graph, bulk(scim_user("3"))).status_code == 202


def test_throttled_calls_do_not_extend_the_window(
    client: httpx.Client, make_graph: Callable, clock: ManualClock
) -> None:
    graph = make_graph(rate_limit=(1, 1.0))
    upload(client, graph, scim_user("1"))
    for _ in range(5):
        clock.advance(0.125)
        assert post_bulk(client, graph, bulk(scim_user("2"))).status_code == 429
    clock.advance(0.375)
    assert post_bulk(client, graph, bulk(scim_user("2"))).status_code == 202


def test_the_rate_limit_is_per_job(client: httpx.Client, make_graph: Callable) -> None:
    graph = make_graph(rate_limit=(1, 5.0))
    upload(client, graph, scim_user("1"))
    assert post_bulk(client, graph, bulk(scim_user("2"))).status_code == 429
    upload(client, graph, scim_user("2"), job=OTHER_JOB)


def test_daily_quota_answers_429_for_the_rest_of_the_24_hours(
    client: httpx.Client, make_graph: Callable, clock: ManualClock
) -> None:
    graph = make_graph(daily_quota=2)
    upload(client, graph, scim_user("1"))
    clock.advance(3600)
    upload(client, graph, scim_user("2"))
    clock.advance(3600)
    refused = post_bulk(client, graph, bulk(scim_user("3")))
    error = assert_graph_error(refused, 429, "TooManyRequests")
    assert "daily quota" in error["message"]
    assert int(refused.headers["Retry-After"]) == 22 * 3600
    clock.advance(22 * 3600)
    upload(client, graph, scim_user("3"))


def test_injected_faults_come_first_and_in_order(client: httpx.Client, graph: EntraEmulator) -> None:
    graph.inject_faults([429, 503, 401, 500], retry_after=2)
    answers = [post_bulk(client, graph, bulk(scim_user("1"))) for _ in range(5)]
    assert [a.status_code for a in answers] == [429, 503, 401, 500, 202]
    assert answers[0].headers["Retry-After"] == "2"
    assert [a.json()["error"]["code"] for a in answers[:4]] == [
        "TooManyRequests",
        "serviceNotAvailable",
        "InvalidAuthenticationToken",
        "generalException",
    ]
    assert graph.upload_count == 5 and graph.accepted_upload_count == 1
    assert [r.status for r in graph.uploads()] == [429, 503, 401, 500, 202]


def test_injected_faults_without_retry_after_and_auth_checked_before_them(
    client: httpx.Client, graph: EntraEmulator
) -> None:
    graph.inject_faults([429])
    unauthenticated = client.post(graph.bulk_upload_url(), content=b"{}", headers=SCIM_JSON)
    assert unauthenticated.status_code == 401, "a missing token is not a fault to consume"
    throttled = post_bulk(client, graph, bulk(scim_user("1")))
    assert throttled.status_code == 429 and "Retry-After" not in throttled.headers
    graph.inject_faults([503], retry_after=0.25)
    assert post_bulk(client, graph, bulk(scim_user("1"))).headers["Retry-After"] == "0.25", "as the test asked"


def _statuses(client: httpx.Client, graph: EntraEmulator, count: int) -> list[int]:
    return [post_bulk(client, graph, bulk(scim_user(str(i)))).status_code for i in range(count)]


def test_fail_rate_is_deterministic_given_the_seed(client: httpx.Client, make_graph: Callable) -> None:
    options = {"fail_rate": 0.5, "seed": 7, "rate_limit": (1000, 1.0)}
    first = _statuses(client, make_graph(**options), 30)
    second = _statuses(client, make_graph(**options), 30)
    other_seed = _statuses(client, make_graph(**{**options, "seed": 8}), 30)
    assert first == second
    assert set(first) == {202, 503}
    assert first != other_seed
    failing = make_graph(fail_rate=1.0, fail_status=500)
    assert_graph_error(post_bulk(client, failing, bulk(scim_user("1"))), 500, "generalException")


def test_requests_are_recorded_for_pacing_checks(
    client: httpx.Client, make_graph: Callable, clock: ManualClock
) -> None:
    graph = make_graph(rate_limit=(100, 1.0))
    stamps = []
    for _ in range(3):
        stamps.append(clock.now)
        upload(client, graph, scim_user("1"))
        clock.advance(0.375)
    client.get(job_url(graph), headers=AUTH)
    assert [(r.method, r.status) for r in graph.requests] == [("POST", 202)] * 3 + [("GET", 200)]
    assert graph.requests[0].path.endswith(f"/jobs/{DEFAULT_JOB}/bulkUpload")
    assert [r.time for r in graph.uploads()] == stamps
    assert graph.max_uploads_in_window(0.25) == 1
    assert graph.max_uploads_in_window(0.5) == 2
    assert graph.max_uploads_in_window(1.0) == 3


# Processing: outcomes in the directory and in the log


def test_create_writes_the_user_and_a_create_entry(client: httpx.Client, graph: EntraEmulator) -> None:
    user = scim_user(
        "1001",
        "ana@contoso.com",
        name={"givenName": "Ana", "familyName": "Silva"},
        title="Engineer",
        emails=[{"value": "ana@contoso.com", "type": "work", "primary": True}],
        addresses=[{"type": "work", "locality": "Lisbon", "country": "PT"}],
    )
    user["schemas"].append(ENTERPRISE)
    user[ENTERPRISE] = {"department": "R&D", "costCenter": "CC1"}
    upload(client, graph, user)
    entra_user = graph.directory(DEFAULT_SP, DEFAULT_JOB)["1001"]
    assert entra_user["employeeId"] == "1001"
    assert entra_user["userPrincipalName"] == "ana@contoso.com"
    assert entra_user["mailNickname"] == "ana"
    assert entra_user["accountEnabled"] is True
    assert (entra_user["givenName"], entra_user["surname"], entra_user["jobTitle"]) == ("Ana", "Silva", "Engineer")
    assert (entra_user["city"], entra_user["country"], entra_user["mail"]) == ("Lisbon", "PT", "ana@contoso.com")
    assert (entra_user["department"], entra_user["employeeOrgData.costCenter"]) == ("R&D", "CC1")
    [entry] = graph.log_entries()
    assert (entry["action"], entry["provisioningAction"]) == ("Create", "create")
    assert entry["provisioningStatusInfo"] == {"status": "success", "errorInformation": None}
    assert entry["statusInfo"] == {"status": "success"}
    assert entry["sourceIdentity"]["id"] == "1001"
    assert entry["sourceIdentity"]["identityType"] == ENTERPRISE
    assert entry["sourceSystem"]["displayName"] == "API"
    assert entry["targetSystem"]["displayName"] == "Azure Active Directory"
    assert entry["targetIdentity"]["id"] == entra_user["id"]
    assert entry["targetIdentity"]["details"]["UserPrincipalName"] == "ana@contoso.com"
    assert entry["jobId"] == DEFAULT_JOB and entry["servicePrincipal"]["id"] == DEFAULT_SP
    changes = modified(entry)
    assert changes["employeeId"] == (None, "1001")
    assert changes["accountEnabled"] == (None, "True")
    assert changes["passwordProfile.password"] == (None, "[Redacted]")
    steps = [s["name"] for s in entry["provisioningSteps"]]
    assert steps == ["EntryImportAdd", "EntrySynchronizationScoping", "EntrySynchronizationAdd", "EntryExportAdd"]
    imported = entry["provisioningSteps"][0]["details"]
    assert imported["namegivenName"] == "Ana"
    assert imported['emails[type eq "work"]value'] == "ana@contoso.com"
    assert imported["urnietfparamsscimschemasextensionenterprise20Userdepartment"] == "R&D"


def test_update_lists_only_what_changed(client: httpx.Client, graph: EntraEmulator) -> None:
    upload(client, graph, scim_user("1", title="Engineer", preferredLanguage="en-US"))
    upload(client, graph, scim_user("1", title="Lead", preferredLanguage="en-US"))
    entry = graph.log_entries()[-1]
    assert (entry["action"], entry["provisioningAction"]) == ("Update", "update")
    assert entry["modifiedProperties"] == [{"displayName": "jobTitle", "oldValue": "Engineer", "newValue": "Lead"}]
    steps = [s["name"] for s in entry["provisioningSteps"]]
    assert steps == ["EntryImportAdd", "EntryImport", "EntrySynchronizationScoping", "EntryExportUpdate"]
    assert graph.directory()["1"]["jobTitle"] == "Lead"


def test_an_update_needs_no_user_name(client: httpx.Client, graph: EntraEmulator) -> None:
    upload(client, graph, scim_user("1", title="Engineer"))
    upload(client, graph, scim_user("1", None, title="Lead"))
    assert by_action(graph.log_entries())[-1] == ("1", "update", "success")
    assert graph.directory()["1"]["userPrincipalName"] == "user1@contoso.com"


def test_nothing_changed_is_a_skip(client: httpx.Client, graph: EntraEmulator) -> None:
    upload(client, graph, scim_user("1", title="Engineer"))
    upload(client, graph, scim_user("1", title="Engineer"))
    entry = graph.log_entries()[-1]
    assert (entry["action"], entry["provisioningAction"]) == ("Other", "other")
    assert entry["provisioningStatusInfo"] == {"status": "skipped", "errorInformation": None}
    assert entry["modifiedProperties"] == []


def test_active_false_disables_and_active_true_enables(client: httpx.Client, graph: EntraEmulator) -> None:
    upload(client, graph, scim_user("1"))
    upload(client, graph, scim_user("1", active=False))
    disable = graph.log_entries()[-1]
    assert (disable["action"], disable["provisioningAction"]) == ("Disable", "disable")
    assert modified(disable) == {"accountEnabled": ("True", "False")}
    assert graph.directory()["1"]["accountEnabled"] is False
    upload(client, graph, scim_user("1", active=False))
    assert by_action(graph.log_entries())[-1] == ("1", "other", "skipped")
    upload(client, graph, scim_user("1", active=True))
    enable = graph.log_entries()[-1]
    assert enable["provisioningAction"] == "update"
    assert modified(enable) == {"accountEnabled": ("False", "True")}
    assert graph.directory()["1"]["accountEnabled"] is True


def test_a_record_without_active_is_disabled_unless_told_otherwise(client: httpx.Client, make_graph: Callable) -> None:
    strict = make_graph()
    upload(client, strict, scim_user("1"))
    upload(client, strict, scim_user("1", active=None))
    assert by_action(strict.log_entries())[-1] == ("1", "disable", "success")
    lenient = make_graph(missing_active_disables=False)
    upload(client, lenient, scim_user("1"))
    upload(client, lenient, scim_user("1", active=None))
    assert by_action(lenient.log_entries())[-1] == ("1", "other", "skipped")


def test_create_without_user_name_fails_and_names_it(client: httpx.Client, graph: EntraEmulator) -> None:
    upload(client, graph, scim_user("1", None))
    [entry] = graph.log_entries()
    assert (entry["provisioningAction"], entry["provisioningStatusInfo"]["status"]) == ("create", "failure")
    error = entry["provisioningStatusInfo"]["errorInformation"]
    assert error["errorCode"] == "MandatoryFieldsMissing", "the provisioning logs' documented code"
    assert "userName" in error["reason"]
    assert error["errorCategory"] == "nonServiceFailure"
    assert set(error) == {"errorCode", "reason", "additionalDetails", "errorCategory", "recommendedAction"}
    assert entry["statusInfo"]["status"] == "failure"
    assert entry["provisioningSteps"][-1]["status"] == "failure"
    assert graph.directory() == {}


def test_a_user_name_already_used_by_another_person_fails(client: httpx.Client, graph: EntraEmulator) -> None:
    upload(client, graph, scim_user("1", "same@contoso.com"))
    upload(client, graph, scim_user("2", "SAME@contoso.com"))
    entry = graph.log_entries()[-1]
    assert by_action([entry]) == [("2", "create", "failure")]
    error = entry["provisioningStatusInfo"]["errorInformation"]
    assert error["errorCode"] == "AzureActiveDirectoryDuplicateUserPrincipalName", "what real tenants report"
    assert "userPrincipalName" in error["reason"]
    assert entry["targetIdentity"]["details"]["UserPrincipalName"] == "SAME@contoso.com"
    assert set(graph.directory()) == {"1"}
    upload(client, graph, scim_user("3"))
    upload(client, graph, scim_user("3", "same@contoso.com"))
    assert by_action(graph.log_entries())[-1] == ("3", "update", "failure")
    assert graph.directory()["3"]["userPrincipalName"] == "user3@contoso.com", "a failed update changes nothing"


def test_manager_unknown_is_a_skipped_step_in_a_successful_create_then_resolves_on_a_later_upload(
    client: httpx.Client, graph: EntraEmulator
) -> None:
    # As on the real log page: the create succeeds, one step says the manager was skipped, and no other
    # entry (no warning) is written.
    upload(client, graph, scim_user("E1", manager="M1"))
    [create] = graph.log_entries()
    assert by_action([create]) == [("E1", "create", "success")]
    assert create["provisioningStatusInfo"] == {"status": "success", "errorInformation": None}
    skip = [s for s in create["provisioningSteps"] if s["name"] == "EntrySynchronizationSkip"]
    assert skip and skip[0]["details"] == {
        "M1": "manager Add",
        "PropertyName": "manager",
        "SkipReason": "UnableToResolveReferenceAttributeValue",
    }
    assert "M1" in skip[0]["description"]
    assert "manager" not in graph.directory()["E1"]

    upload(client, graph, scim_user("M1"))
    assert "manager" not in graph.directory()["E1"], "only a later upload of the user resolves it"
    upload(client, graph, scim_user("E1", manager="M1"))
    resolved = graph.log_entries()[-1]
    assert by_action([resolved]) == [("E1", "update", "success")]
    directory = graph.directory()
    assert modified(resolved) == {"manager": (None, directory["M1"]["id"])}
    assert directory["E1"]["manager"] == {"id": directory["M1"]["id"], "employeeId": "M1"}


def test_manager_earlier_in_the_same_request_resolves_at_once(client: httpx.Client, graph: EntraEmulator) -> None:
    upload(client, graph, scim_user("M1"), scim_user("E1", manager="M1"))
    entries = graph.log_entries()
    assert by_action(entries) == [("M1", "create", "success"), ("E1", "create", "success")]
    directory = graph.directory()
    assert modified(entries[1])["manager"] == (None, directory["M1"]["id"])
    assert directory["E1"]["manager"]["id"] == directory["M1"]["id"]


def test_manager_later_in_the_same_request_is_set_by_an_extra_update(
    client: httpx.Client, graph: EntraEmulator
) -> None:
    upload(client, graph, scim_user("E1", manager="M1"), scim_user("M1"))
    entries = graph.log_entries()
    assert by_action(entries) == [
        ("E1", "create", "success"),
        ("M1", "create", "success"),
        ("E1", "update", "success"),
    ]
    directory = graph.directory()
    assert entries[2]["modifiedProperties"] == [
        {"displayName": "manager", "oldValue": None, "newValue": directory["M1"]["id"]}
    ]
    assert [s["name"] for s in entries[2]["provisioningSteps"]] == ["EntryExportUpdate"]
    assert directory["E1"]["manager"]["employeeId"] == "M1"


def test_operations_of_one_request_run_in_order_in_one_cycle(client: httpx.Client, graph: EntraEmulator) -> None:
    upload(client, graph, scim_user("1", title="A"), scim_user("1", title="B"), scim_user("1", title="B"))
    upload(client, graph, scim_user("2"))
    entries = graph.log_entries()
    assert by_action(entries) == [
        ("1", "create", "success"),
        ("1", "update", "success"),
        ("1", "other", "skipped"),
        ("2", "create", "success"),
    ]
    assert len({e["cycleId"] for e in entries[:3]}) == 1
    assert entries[3]["cycleId"] != entries[0]["cycleId"]
    assert len({e["id"] for e in entries}) == len({e["changeId"] for e in entries}) == 4


def test_ids_are_deterministic_given_the_seed(client: httpx.Client, make_graph: Callable) -> None:
    def run(seed: int) -> tuple[list[str], str]:
        graph = make_graph(seed=seed)
        upload(client, graph, scim_user("1"), scim_user("2", manager="1"))
        entries = graph.log_entries()
        return [e["id"] for e in entries] + [e["cycleId"] for e in entries], graph.directory()["1"]["id"]

    assert run(3) == run(3)
    assert run(3) != run(4)


def test_an_api2ad_job_targets_active_directory_with_account_disabled(
    client: httpx.Client, graph: EntraEmulator
) -> None:
    upload(client, graph, scim_user("1", "ana@contoso.com", name={"familyName": "Silva"}), job=AD_JOB)
    ad_user = graph.directory(DEFAULT_SP, AD_JOB)["1"]
    assert ad_user["employeeID"] == "1" and ad_user["sn"] == "Silva"
    assert ad_user["accountDisabled"] is False and "accountEnabled" not in ad_user
    assert ad_user["sAMAccountName"] == "ana"
    assert ad_user["parentDistinguishedName"] == "OU=Users,DC=contoso,DC=com"
    upload(client, graph, scim_user("1", "ana@contoso.com", active=False, name={"familyName": "Silva"}), job=AD_JOB)
    create, disable = graph.log_entries(job=AD_JOB)
    assert create["targetSystem"]["displayName"] == "Active Directory"
    assert modified(create)["accountDisabled"] == (None, "False")
    assert disable["provisioningAction"] == "disable"
    assert modified(disable) == {"accountDisabled": ("False", "True")}


def test_entries_have_the_shape_of_the_real_log_page(client: httpx.Client, graph: EntraEmulator) -> None:
    if not LOG_SAMPLE.exists():
        pytest.skip(f"the shared fixtures are absent ({LOG_SAMPLE})")
    sample = json.loads(LOG_SAMPLE.read_text())
    real = sample["value"][0]
    upload(client, graph, scim_user("1", title="A"), scim_user("2", None), scim_user("3", manager="404"))
    upload(client, graph, scim_user("1", title="B"), scim_user("1", title="B"), scim_user("1", active=False))
    entries = graph.log_entries()
    assert {e["provisioningStatusInfo"]["status"] for e in entries} == {"success", "failure", "skipped"}
    for entry in entries:
        assert list(entry) == list(real), "same keys, same order as the real page"
        for key in ("servicePrincipal", "sourceSystem", "targetSystem", "initiatedBy", "sourceIdentity"):
            assert set(entry[key]) == set(real[key]), key
        assert set(entry["targetIdentity"]) == set(real["targetIdentity"])
        assert set(entry["targetIdentity"]["details"]) == set(real["targetIdentity"]["details"])
        assert set(entry["provisioningStatusInfo"]) == set(real["provisioningStatusInfo"])
        for step in entry["provisioningSteps"]:
            assert set(step) == set(real["provisioningSteps"][0])
        for change in entry["modifiedProperties"]:
            assert set(change) == set(real["modifiedProperties"][0])
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", entry["activityDateTime"])
    assert sample["@odata.context"].endswith("$metadata#auditLogs/provisioning")


# Provisioning log queries


def test_logs_filter_by_job_id_whatever_the_property_case(client: httpx.Client, graph: EntraEmulator) -> None:
    upload(client, graph, scim_user("1"))
    upload(client, graph, scim_user("2"), job=OTHER_JOB)
    for name in ("jobid", "jobId", "JOBID"):
        page = logs(client, graph, f"{name} eq '{OTHER_JOB}'")
        assert [e["sourceIdentity"]["id"] for e in page["value"]] == ["2"]
    assert len(logs(client, graph)["value"]) == 2, "without a filter: the whole tenant"
    assert logs(client, graph, "jobid eq 'nope'")["value"] == []


def test_logs_filter_by_status_identity_and_cycle(client: httpx.Client, graph: EntraEmulator) -> None:
    upload(client, graph, scim_user("1"), scim_user("2", None))
    upload(client, graph, scim_user("3"))
    for version, name in [
        ("beta", "statusInfo/status"),
        ("beta", "provisioningStatusInfo/status"),
        ("v1.0", "provisioningStatusInfo/status"),
    ]:
        page = logs(client, graph, f"{name} eq 'failure'", version=version)
        assert [e["sourceIdentity"]["id"] for e in page["value"]] == ["2"]
    v1_status_info = client.get(
        f"{graph.base_url}/v1.0/auditLogs/provisioning",
        params={"$filter": "statusInfo/status eq 'failure'"},
        headers=AUTH,
    )
    assert "beta only" in assert_graph_error(v1_status_info, 400, "BadRequest")["message"]
    assert [e["sourceIdentity"]["id"] for e in logs(client, graph, "sourceIdentity/id eq '3'")["value"]] == ["3"]
    cycle = graph.log_entries()[0]["cycleId"]
    ids = {e["sourceIdentity"]["id"] for e in logs(client, graph, f"cycleId eq '{cycle}'")["value"]}
    assert ids == {"1", "2"}


def test_logs_filter_by_activity_date_time(client: httpx.Client, graph: EntraEmulator, clock: ManualClock) -> None:
    upload(client, graph, scim_user("1"))
    clock.advance(100.25)
    # The client's watermark: the moment it uploaded, with a fraction of a second.
    uploaded_at = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(clock.now)) + ".250Z"
    upload(client, graph, scim_user("2"))

    def ids(filter_: str) -> list[str]:
        return [e["sourceIdentity"]["id"] for e in logs(client, graph, filter_)["value"]]

    assert ids(f"activityDateTime ge {uploaded_at}") == ["2"], "an entry is never dated before its upload"
    assert ids(f"activityDateTime gt {uploaded_at}") == ["2"]
    assert ids(f"activityDateTime lt {uploaded_at}") == ["1"]
    assert ids(f"activityDateTime le '{uploaded_at}'") == ["1"]
    assert ids("activityDateTime le 2000-01-01T00:00:00Z") == []
    assert ids("activityDateTime ge 2000-01-01T00:00:00+02:00") == ["2", "1"]


def test_logs_filter_clauses_combine_with_and_in_any_case(client: httpx.Client, graph: EntraEmulator) -> None:
    upload(client, graph, scim_user("1"), scim_user("2", None))
    upload(client, graph, scim_user("3", None), job=OTHER_JOB)
    # Microsoft's Postman query for failures after a point in time, verbatim in form.
    postman = (
        f"jobid eq '{DEFAULT_JOB}' and statusInfo/status eq 'failure' and activityDateTime ge 2022-10-10T09:47:34Z"
    )
    assert [e["sourceIdentity"]["id"] for e in logs(client, graph, postman, version="beta")["value"]] == ["2"]
    shouting = f"jobId eq '{DEFAULT_JOB}' AND sourceIdentity/id eq '1'"
    assert [e["sourceIdentity"]["id"] for e in logs(client, graph, shouting)["value"]] == ["1"]


@pytest.mark.parametrize(
    "bad_filter",
    [
        "jobid eq",
        "jobid eq 'a' or cycleId eq 'b'",
        "jobid = 'a'",
        "unknownProperty eq 'x'",
        "activityDateTime ge not-a-date",
        "jobid gt 'a'",
        "jobid eq a",
        "jobid eq 'a' and",
        "contains(jobid, a)",
        "contains(activityDateTime, '2024')",
    ],
)
def test_an_unparseable_filter_is_400(client: httpx.Client, graph: EntraEmulator, bad_filter: str) -> None:
    response = client.get(f"{graph.base_url}/beta/auditLogs/provisioning", params={"$filter": bad_filter}, headers=AUTH)
    assert_graph_error(response, 400, "BadRequest")


def test_v1_pages_lack_the_beta_only_properties(client: httpx.Client, graph: EntraEmulator) -> None:
    upload(client, graph, scim_user("1"))
    [beta] = logs(client, graph, version="beta")["value"]
    [v1] = logs(client, graph)["value"]
    assert {"action", "statusInfo"} <= set(beta)
    assert set(v1) == set(beta) - {"action", "statusInfo"}
    assert list(graph.log_entries()[0]) == list(beta), "the Python view has the beta (fixture) shape"


def test_logs_filter_with_contains(client: httpx.Client, graph: EntraEmulator) -> None:
    upload(client, graph, scim_user("abc-1"), scim_user("xyz-2"))
    page = logs(client, graph, f"contains(sourceIdentity/id, 'abc') and contains(jobId, '{DEFAULT_JOB[-8:]}')")
    assert [e["sourceIdentity"]["id"] for e in page["value"]] == ["abc-1"]
    assert logs(client, graph, "provisioningStatusInfo/status eq 'Success'")["value"], "status values in any case"


def test_logs_come_newest_first(client: httpx.Client, graph: EntraEmulator, clock: ManualClock) -> None:
    for i in range(3):
        upload(client, graph, scim_user(str(i)))
        clock.advance(5)
    page = logs(client, graph)
    assert [e["sourceIdentity"]["id"] for e in page["value"]] == ["2", "1", "0"]
    times = [e["activityDateTime"] for e in page["value"]]
    assert times == sorted(times, reverse=True)
    ascending = logs(client, graph, orderby="activityDateTime asc")
    assert [e["sourceIdentity"]["id"] for e in ascending["value"]] == ["0", "1", "2"]


def test_logs_page_through_next_links(client: httpx.Client, graph: EntraEmulator, clock: ManualClock) -> None:
    for batch in range(5):
        upload(client, graph, *(scim_user(f"{batch}-{i}") for i in range(50)))
        clock.advance(1)
    first = logs(client, graph, f"jobid eq '{DEFAULT_JOB}'", top=100)
    assert first["@odata.context"] == f"{graph.base_url}/v1.0/$metadata#auditLogs/provisioning"
    pages, link = [first["value"]], first.get("@odata.nextLink")
    while link:
        assert link.startswith(f"{graph.base_url}/v1.0/auditLogs/provisioning?")
        query = parse_qs(urlsplit(link).query)
        assert query["$filter"] == [f"jobid eq '{DEFAULT_JOB}'"] and query["$top"] == ["100"]
        assert "$skiptoken" in query
        upload(client, graph, scim_user("late"))  # new entries must not shift the pages
        page = client.get(link, headers=AUTH).json()
        pages.append(page["value"])
        link = page.get("@odata.nextLink")
    assert [len(p) for p in pages] == [100, 100, 50]
    ids = [e["id"] for page in pages for e in page]
    assert len(set(ids)) == 250
    assert "late" not in {e["sourceIdentity"]["id"] for page in pages for e in page}


def test_logs_default_page_size_is_100_and_top_is_capped(client: httpx.Client, make_graph: Callable) -> None:
    graph = make_graph(rate_limit=(100, 1.0))
    for batch in range(23):
        upload(client, graph, *(scim_user(f"{batch}-{i}") for i in range(50)))
    default = logs(client, graph)
    assert len(default["value"]) == 100 and "@odata.nextLink" in default
    capped = logs(client, graph, top=5000)
    assert len(capped["value"]) == 1000
    for bad in ("0", "-1", "ten"):
        response = client.get(f"{graph.base_url}/v1.0/auditLogs/provisioning", params={"$top": bad}, headers=AUTH)
        assert_graph_error(response, 400)
    bad_token = client.get(f"{graph.base_url}/v1.0/auditLogs/provisioning", params={"$skiptoken": "!!"}, headers=AUTH)
    assert_graph_error(bad_token, 400)


# The job schema


def _rule(schema: dict) -> dict:
    return schema["synchronizationRules"][0]


def _user_mapping(schema: dict) -> dict:
    return _rule(schema)["objectMappings"][0]


@pytest.mark.parametrize(
    ("variant", "directory", "source_object"), [("api", "API", ENTERPRISE), ("scim", "SCIM Inbound", "User")]
)
def test_schema_variants(
    client: httpx.Client, make_graph: Callable, variant: str, directory: str, source_object: str
) -> None:
    graph = make_graph(schema_variant=variant)
    response = client.get(job_url(graph, "/schema"), headers=AUTH)
    assert response.status_code == 200
    schema = response.json()
    assert [d["name"] for d in schema["directories"]] == [directory, "Azure Active Directory"]
    assert [o["name"] for o in schema["directories"][0]["objects"]] == [source_object]
    assert [o["name"] for o in schema["directories"][1]["objects"]] == ["User"]
    rule = _rule(schema)
    assert (rule["sourceDirectoryName"], rule["targetDirectoryName"]) == (directory, "Azure Active Directory")
    mapping = _user_mapping(schema)
    assert (mapping["sourceObjectName"], mapping["targetObjectName"]) == (source_object, "User")
    by_target = {m["targetAttributeName"]: m for m in mapping["attributeMappings"]}
    assert by_target["employeeId"]["source"]["name"] == "externalId"
    assert by_target["employeeId"]["matchingPriority"] == 1
    assert by_target["userPrincipalName"]["source"]["name"] == "userName"
    assert by_target["accountEnabled"]["source"]["name"] == "active"
    assert by_target["surname"]["source"]["name"] == "name.familyName"
    assert by_target["manager"]["source"]["name"] == f"{ENTERPRISE}:manager"
    assert all(m["matchingPriority"] == 0 for t, m in by_target.items() if t != "employeeId")
    attribute = schema["directories"][0]["objects"][0]["attributes"][0]
    assert set(attribute) >= {"name", "type", "anchor", "caseExact", "flowNullValues", "multivalued", "mutability"}
    # Uploads are processed the same way whatever the names.
    upload(client, graph, scim_user("1"))
    assert graph.directory()["1"]["employeeId"] == "1"


def test_the_api2ad_schema_maps_not_active_to_account_disabled(client: httpx.Client, graph: EntraEmulator) -> None:
    schema = client.get(job_url(graph, "/schema", job=AD_JOB), headers=AUTH).json()
    assert schema["directories"][1]["name"] == "Active Directory"
    by_target = {m["targetAttributeName"]: m for m in _user_mapping(schema)["attributeMappings"]}
    disabled = by_target["accountDisabled"]["source"]
    assert (disabled["type"], disabled["expression"]) == ("Function", "Not([active])")
    assert disabled["parameters"][0]["value"]["name"] == "active"
    assert by_target["employeeID"]["matchingPriority"] == 1


def _with_custom_attribute(schema: dict, target: str = "employeeHireDate") -> dict:
    name = "urn:ietf:params:scim:schemas:extension:contoso:1.0:User:HireDate"
    source_object = schema["directories"][0]["objects"][0]
    source_object["attributes"].append({**source_object["attributes"][0], "name": name, "anchor": False})
    _user_mapping(schema)["attributeMappings"].append(
        {
            "source": {"expression": f"[{name}]", "name": name, "type": "Attribute", "parameters": []},
            "targetAttributeName": target,
            "defaultValue": None,
            "exportMissingReferences": False,
            "flowBehavior": "FlowWhenChanged",
            "flowType": "Always",
            "matchingPriority": 0,
        }
    )
    return schema


def test_schema_put_replaces_the_schema_and_drives_processing(client: httpx.Client, graph: EntraEmulator) -> None:
    url = job_url(graph, "/schema")
    assert graph.schema_put_count() == 0
    schema = _with_custom_attribute(client.get(url, headers=AUTH).json())
    response = client.put(url, content=orjson.dumps(schema), headers={**AUTH, "Content-Type": "application/json"})
    assert response.status_code == 204 and response.content == b""
    assert graph.schema_put_count(DEFAULT_SP, DEFAULT_JOB) == 1
    stored = client.get(url, headers=AUTH).json()
    names = [a["name"] for a in stored["directories"][0]["objects"][0]["attributes"]]
    assert names[-1].endswith("contoso:1.0:User:HireDate")
    assert graph.schema_put_count() == 1, "reading does not count"

    namespace = "urn:ietf:params:scim:schemas:extension:contoso:1.0:User"
    upload(client, graph, with_extension(scim_user("1"), namespace, {"HireDate": "2021-05-01T00:00:00-05:00"}))
    assert graph.directory()["1"]["employeeHireDate"] == "2021-05-01T00:00:00-05:00"
    upload(client, graph, with_extension(scim_user("2"), namespace, {"HireDate": "2021-05-01"}))
    failure = graph.log_entries()[-1]
    assert by_action([failure]) == [("2", "create", "failure")]
    assert failure["provisioningStatusInfo"]["errorInformation"]["errorCode"] == "Request_BadRequest"


def _mutate(schema: dict, where: str, value: str) -> dict:
    mapping = _user_mapping(schema)["attributeMappings"][0]
    attribute = schema["directories"][0]["objects"][0]["attributes"][0]
    if where == "flowType":
        mapping["flowType"] = value
    elif where == "flowBehavior":
        mapping["flowBehavior"] = value
    elif where == "source.type":
        mapping["source"]["type"] = value
    elif where == "type":
        attribute["type"] = value
    elif where == "mutability":
        attribute["mutability"] = value
    return schema


@pytest.mark.parametrize(
    ("where", "value"),
    [
        ("flowType", "Add"),  # the invalid value Microsoft's own sample sends
        ("flowType", "always"),
        ("flowBehavior", "FlowSometimes"),
        ("source.type", "Expression"),
        ("type", "Text"),
        ("type", "string"),
        ("mutability", "ReadOnce"),
    ],
)
def test_schema_put_validates_enums(client: httpx.Client, graph: EntraEmulator, where: str, value: str) -> None:
    url = job_url(graph, "/schema")
    before = client.get(url, headers=AUTH).json()
    bad = _mutate(json.loads(json.dumps(before)), where, value)
    error = assert_graph_error(client.put(url, json=bad, headers=AUTH), 400, "BadRequest")
    assert repr(value) in error["message"]
    assert client.get(url, headers=AUTH).json() == before
    assert graph.schema_put_count() == 1


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"not json", id="not JSON"),
        pytest.param(b"[]", id="not an object"),
        pytest.param(b'{"synchronizationRules": []}', id="no directories"),
        pytest.param(b'{"directories": [], "synchronizationRules": {}}', id="rules not a list"),
    ],
)
def test_schema_put_rejects_a_body_that_is_not_a_schema(
    client: httpx.Client, graph: EntraEmulator, body: bytes
) -> None:
    assert_graph_error(client.put(job_url(graph, "/schema"), content=body, headers=AUTH), 400, "BadRequest")


def test_schema_put_rejects_inconsistent_schemas(client: httpx.Client, graph: EntraEmulator) -> None:
    url = job_url(graph, "/schema")
    schema = client.get(url, headers=AUTH).json()
    undefined = json.loads(json.dumps(schema))
    _user_mapping(undefined)["attributeMappings"][0]["source"]["name"] = "urn:x:1.0:User:Nope"
    undefined_source = _user_mapping(undefined)["attributeMappings"][0]["source"]
    undefined_source["expression"] = "[urn:x:1.0:User:Nope]"
    assert "Nope" in assert_graph_error(client.put(url, json=undefined, headers=AUTH), 400)["message"]
    twice = _with_custom_attribute(_with_custom_attribute(json.loads(json.dumps(schema)), "jobTitle"))
    assert "Duplicate" in assert_graph_error(client.put(url, json=twice, headers=AUTH), 400)["message"]
    unknown_target = _with_custom_attribute(json.loads(json.dumps(schema)), "noSuchEntraAttribute")
    assert_graph_error(client.put(url, json=unknown_target, headers=AUTH), 400)


# The job


def test_get_job(client: httpx.Client, graph: EntraEmulator) -> None:
    job = client.get(job_url(graph, version="beta"), headers=AUTH).json()
    assert job["id"] == DEFAULT_JOB and job["templateId"] == "API2AAD"
    assert job["status"]["code"] == "Active"
    assert job["schedule"]["state"] == "Active"
    assert isinstance(job["synchronizationJobSettings"], list)
    listed = client.get(f"{graph.base_url}/v1.0/servicePrincipals/{DEFAULT_SP}/synchronization/jobs", headers=AUTH)
    assert [j["id"] for j in listed.json()["value"]] == [DEFAULT_JOB]


def test_a_paused_job_accepts_uploads_but_processes_nothing(client: httpx.Client, graph: EntraEmulator) -> None:
    assert client.post(job_url(graph, "/pause"), headers=AUTH).status_code == 204
    assert client.get(job_url(graph), headers=AUTH).json()["status"]["code"] == "Paused"
    upload(client, graph, scim_user("1"))
    graph.process_pending()
    assert graph.log_entries() == [] and graph.directory() == {}
    assert client.post(job_url(graph, "/start"), headers=AUTH).status_code == 204
    assert client.get(job_url(graph), headers=AUTH).json()["status"]["code"] == "Active"
    upload(client, graph, scim_user("2"))
    assert set(graph.directory()) == {"2"}, "what arrived while paused is not replayed"


@pytest.mark.parametrize("code", ["Quarantine", "NotRun", "NotConfigured"])
def test_a_job_that_is_not_active_writes_no_logs(client: httpx.Client, graph: EntraEmulator, code: str) -> None:
    graph.set_job_status(DEFAULT_SP, DEFAULT_JOB, code)
    assert client.get(job_url(graph), headers=AUTH).json()["status"]["code"] == code
    upload(client, graph, scim_user("1"))
    assert graph.log_entries() == []
    with pytest.raises(ValueError):
        graph.set_job_status(DEFAULT_SP, DEFAULT_JOB, "Sleeping")


def test_processing_delay_defers_processing_until_due(client: httpx.Client, make_graph: Callable) -> None:
    graph = make_graph(processing_delay=60)
    upload(client, graph, scim_user("M1"), scim_user("E1", manager="M1"))
    upload(client, graph, scim_user("E1", manager="M1", title="Lead"))
    assert graph.log_entries() == [], "202 means queued, not provisioned"
    graph.process_pending()
    assert by_action(graph.log_entries()) == [
        ("M1", "create", "success"),
        ("E1", "create", "success"),
        ("E1", "update", "success"),
    ]


def test_held_uploads_are_processed_oldest_first_when_told(client: httpx.Client, make_graph: Callable) -> None:
    graph = make_graph(processing_delay=math.inf)
    upload(client, graph, scim_user("1"))
    upload(client, graph, scim_user("2"))
    upload(client, graph, scim_user("3"))
    assert graph.pending_count() == 3 and graph.log_entries() == []
    assert graph.process_oldest(2) == 2
    assert by_action(graph.log_entries()) == [("1", "create", "success"), ("2", "create", "success")]
    assert graph.pending_count() == 1
    assert graph.process_oldest(5) == 1 and graph.process_oldest() == 0
    assert [e["sourceIdentity"]["id"] for e in graph.log_entries()] == ["1", "2", "3"]


def test_a_short_processing_delay_processes_in_the_background(client: httpx.Client, make_graph: Callable) -> None:
    graph = make_graph(processing_delay=0.05, clock=time.time)
    upload(client, graph, scim_user("1"))
    deadline = time.monotonic() + 5
    while not graph.log_entries() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert by_action(graph.log_entries()) == [("1", "create", "success")]


def test_restart_purges_what_was_not_processed_yet(client: httpx.Client, make_graph: Callable) -> None:
    graph = make_graph(processing_delay=60)
    upload(client, graph, scim_user("1"))
    assert (
        client.post(job_url(graph, "/restart"), json={"criteria": {"resetScope": "Full"}}, headers=AUTH).status_code
        == 204
    )
    graph.process_pending()
    assert graph.log_entries() == []


def test_a_pinned_job_is_the_only_one_served(client: httpx.Client, make_graph: Callable) -> None:
    graph = make_graph(job=OTHER_JOB)
    assert graph.bulk_upload_url().endswith(f"/jobs/{OTHER_JOB}/bulkUpload")
    upload(client, graph, scim_user("1"))
    assert_graph_error(post_bulk(client, graph, bulk(scim_user("1")), job=DEFAULT_JOB), 404, "ResourceNotFound")
    assert_graph_error(client.get(job_url(graph, "/schema"), headers=AUTH), 404)
    assert_graph_error(client.get(job_url(graph), headers=AUTH), 404)
    assert client.get(job_url(graph, job=OTHER_JOB), headers=AUTH).status_code == 200
    assert set(graph.directory()) == {"1"}


def test_any_service_principal_and_job_get_their_own_state(client: httpx.Client, graph: EntraEmulator) -> None:
    other_sp = "0f0f0f0f-1111-4222-8333-444444444444"
    upload(client, graph, scim_user("1"))
    upload(client, graph, scim_user("2"), sp=other_sp, job=OTHER_JOB)
    assert set(graph.directory(DEFAULT_SP, DEFAULT_JOB)) == {"1"}
    assert set(graph.directory(other_sp, OTHER_JOB)) == {"2"}
    assert [e["sourceIdentity"]["id"] for e in graph.log_entries(sp=other_sp)] == ["2"]
    assert graph.log_entries(sp=other_sp)[0]["tenantId"] == "ded4600b-620e-486e-b6f1-8b4fc7166a5f"


# Everything else


@pytest.mark.parametrize("path", ["/v1.0/users", "/v2.0/auditLogs/provisioning", "/", "/beta/servicePrincipals/x"])
def test_unknown_paths_are_404(client: httpx.Client, graph: EntraEmulator, path: str) -> None:
    assert_graph_error(client.get(f"{graph.base_url}{path}", headers=AUTH), 404)


def test_a_wrong_method_on_a_known_path_is_405(client: httpx.Client, graph: EntraEmulator) -> None:
    response = client.get(graph.bulk_upload_url(), headers=AUTH)
    assert_graph_error(response, 405, "MethodNotAllowed")
    assert response.headers["Allow"] == "POST"


def test_a_crash_is_a_graph_500_not_a_traceback(graph: EntraEmulator) -> None:
    port = int(graph.base_url.rsplit(":", 1)[1])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.putrequest("POST", urlsplit(graph.bulk_upload_url()).path)
    connection.putheader("Content-Length", "not-a-number")
    connection.endheaders()
    response = connection.getresponse()
    body = json.loads(response.read())
    connection.close()
    assert response.status == 500
    assert body["error"]["code"] == "generalException"
    assert "Traceback" not in json.dumps(body)


def test_concurrent_uploads_are_all_processed(client: httpx.Client, make_graph: Callable) -> None:
    graph = make_graph(rate_limit=(1000, 1.0), log_rate_limit=None)

    def send(worker: int) -> None:
        with httpx.Client(timeout=10) as own:
            for batch in range(5):
                upload(own, graph, *(scim_user(f"{worker}-{batch}-{i}") for i in range(10)))

    threads = [threading.Thread(target=send, args=(w,)) for w in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(graph.directory()) == 300
    assert len(graph.log_entries()) == 300


# The command line


def test_rate_limit_argument() -> None:
    assert parse_rate_limit("40/5") == (40, 5.0)
    assert parse_rate_limit("40/0.5") == (40, 0.5)
    for bad in ("40", "x/5", "0/5", "40/0"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_rate_limit(bad)


def test_python_m_emulators_entra_serves_until_terminated(client: httpx.Client) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "emulators.entra", "--port", "0", "--token", "cli", "--rate-limit", "2/0.5"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", base_url), base_url
        url = f"{base_url}/v1.0/servicePrincipals/{DEFAULT_SP}/synchronization/jobs/{DEFAULT_JOB}"
        assert client.get(url, headers={"Authorization": "Bearer cli"}).json()["status"]["code"] == "Active"
        assert client.get(url, headers=AUTH).status_code == 401
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0


def test_expressions_used_by_the_default_mappings() -> None:
    source = {"userName": "ana.silva@contoso.com", "active": True, 'emails[type eq "work"].value': "a@x"}
    upn_prefix = 'Replace([userName], , "(?<Suffix>@(.)*)", "Suffix", "", , )'
    assert evaluate(parse(upn_prefix), source) == "ana.silva"
    assert evaluate(parse(f"Left({upn_prefix}, 3)"), source) == "ana"
    assert evaluate(parse("Not([active])"), source) is False
    assert evaluate(parse('[emails[type eq "work"].value]'), source) == "a@x"
    assert evaluate(parse('Join("", [userName], "-", [missing])'), source) == "ana.silva@contoso.com-"
    assert evaluate(parse('Switch([active], "x", "True", "yes")'), source) == "yes"
    assert evaluate(parse("Unknown([userName])"), source) is None
