"""Issue 10: the emulator behaves as the real tenant does (log order and throttling, unresolved managers, UPN
refusals, the tenant's daily quota), and the client copes with it. Each emulator behaviour is shown first,
then the client against it."""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote_plus

import httpx
import pytest

from emulators.entra import DEFAULT_JOB, DEFAULT_SP, EntraEmulator
from provisioning.core.errors import RowError
from provisioning.core.mapping.upn import user_principal_name
from provisioning.core.read.csv_source import CsvSource
from provisioning.core.results.log_query import REREAD_SECONDS, provisioning_log_params
from provisioning.core.results.log_summary import LogCollector
from tests.emulators_entra_helpers import AUTH, ManualClock, bulk, post_bulk, scim_user, upload
from tests.engine_support import FAST, local_state, start, threaded_workflow
from tests.entra_support import client_for
from tests.support import minimal_profile, run_plan

TENANT = "ded4600b620e486eb6f18b4fc7166a5f"
SAME_TENANT_JOB = f"API2AAD.{TENANT}.11111111-2222-4333-8444-555555555555"
SAME_TENANT_OTHER_JOB = f"API2AAD.{TENANT}.22222222-3333-4444-8555-666666666666"
OTHER_TENANT_JOB = "API2AAD.0123456789abcdef0123456789abcdef.33333333-4444-4555-8666-777777777777"
AD_JOB = f"API2AD.{TENANT}.66666666-7777-4888-9999-000000000000"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client


def logs_url(graph: EntraEmulator) -> str:
    return f"{graph.base_url}/v1.0/auditLogs/provisioning"


# ---- point 10: log reads are throttled, and the client paces under it ----------------------------------


def test_the_emulator_throttles_log_reads_at_five_per_ten_seconds(http: httpx.Client, clock: ManualClock) -> None:
    with EntraEmulator(clock=clock) as graph:
        answers = [http.get(logs_url(graph), headers=AUTH).status_code for _ in range(6)]
        assert answers == [200] * 5 + [429]
        throttled = http.get(logs_url(graph), headers=AUTH)
        assert throttled.json()["error"]["code"] == "TooManyRequests"
        assert int(throttled.headers["Retry-After"]) == 10
        clock.advance(10)
        assert http.get(logs_url(graph), headers=AUTH).status_code == 200


def test_the_client_reads_many_log_pages_without_a_single_429(clock: ManualClock) -> None:
    with EntraEmulator(clock=clock, rate_limit=(1000, 1.0)) as graph:
        with httpx.Client() as http:
            upload(http, graph, *(scim_user(str(i)) for i in range(12)))
        # The client's own pacing, on the emulator's clock: its sleeps move that clock.
        client = client_for(graph, log_rate=(5, 10.0), clock=clock, sleep=clock.advance)
        with client:
            pages = list(client.provisioning_logs(provisioning_log_params(DEFAULT_JOB, top=1)))
        assert len(pages) == 12
        reads = [r for r in graph.requests if r.path.endswith("/auditLogs/provisioning")]
        assert [r.status for r in reads] == [200] * 12, "paced under the limit: never throttled"
        assert reads[-1].time - reads[0].time >= 20, "12 reads at 5 per 10 s span more than 20 s"


# ---- point 5: the latest entry of a worker, within one second ------------------------------------------


def test_a_failed_create_then_a_successful_one_in_the_same_second_reads_as_success(
    http: httpx.Client, clock: ManualClock
) -> None:
    with EntraEmulator(clock=clock, log_rate_limit=None) as graph:
        upload(http, graph, scim_user("taken", "ana@contoso.com"))
        upload(http, graph, scim_user("w1", "ana@contoso.com"))  # refused: the UPN is taken
        upload(http, graph, scim_user("w1", "ana.silva@contoso.com"))  # the corrected record, same second
        entries = [e for e in graph.log_entries() if e["sourceIdentity"]["id"] == "w1"]
        assert [e["provisioningStatusInfo"]["status"] for e in entries] == ["failure", "success"]
        assert len({e["activityDateTime"] for e in entries}) == 1, "whole seconds: both in one"
        with client_for(graph) as client:
            collector = LogCollector(["w1"])
            for page in client.provisioning_logs(provisioning_log_params(DEFAULT_JOB)):
                assert [e["sourceIdentity"]["id"] for e in page][:2] == ["w1", "w1"], "newest first"
                collector.add(page)
        outcome = collector.results().outcomes["w1"]
        assert (outcome.action, outcome.status, outcome.entries) == ("create", "success", 2)


# ---- point 3: the emulator refuses what Entra refuses, and the mapping refuses it first -------------


@pytest.mark.parametrize(
    ("user_name", "why"),
    [
        ("dmitriy@fabrikam.com", "domain does not exist"),
        ("Дмитрий@contoso.com", "only A-Z a-z 0-9"),
        (".@contoso.com", "a period cannot precede @"),
        ("EMP1001", "no @domain"),
        ("a" * 65 + "@contoso.com", "up to 64 characters"),
    ],
)
def test_the_emulator_refuses_a_upn_entra_refuses_with_the_documented_code(
    http: httpx.Client, user_name: str, why: str
) -> None:
    with EntraEmulator(log_rate_limit=None) as graph:
        upload(http, graph, scim_user("w1", user_name))
        [entry] = graph.log_entries()
        error = entry["provisioningStatusInfo"]["errorInformation"]
        assert entry["provisioningStatusInfo"]["status"] == "failure"
        assert error["errorCode"] == "AzureActiveDirectoryInvalidUserPrincipalName"
        assert why in error["reason"]
        assert graph.directory() == {}


def test_an_ad_job_takes_any_upn_suffix_but_still_the_upn_rules(http: httpx.Client) -> None:
    with EntraEmulator(log_rate_limit=None) as graph:
        upload(http, graph, scim_user("w1", "dmitriy@corp.fabrikam.local"), job=AD_JOB)
        assert set(graph.directory(DEFAULT_SP, AD_JOB)) == {"w1"}


def test_names_in_any_script_become_upns_and_bad_ones_are_rejected_before_sending() -> None:
    profile = minimal_profile(
        userName={
            "template": "{first}.{last}",
            "transforms": [
                {"op": "foldDiacritics"},
                {"op": "lower"},
                {"op": "replace", "pattern": "[^a-z0-9.'_-]", "replacement": ""},
            ],
        },
    )
    rows = "id,first,last,status\n1,Дмитрий,Иванов,Active\n2,小龙,李,Active\n3,Zoë,O'Brien,Active\n4,?,!,Active\n"
    _plan, rejects, bodies = run_plan(rows, profile)
    users = {op["data"]["externalId"]: op["data"]["userName"] for body in bodies for op in body["Operations"]}
    assert users == {"1": "dmitriy.ivanov@contoso.com", "2": "xiaolong.li@contoso.com", "3": "zoe.o'brien@contoso.com"}
    [reject] = rejects
    assert reject.field == "userName" and "period right before the @" in reject.reason
    assert "'.@contoso.com'" in reject.reason


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("ana silva@contoso.com", "characters a UPN cannot have before the @ (' ')"),
        ("ana@silva@contoso.com", "exactly one @"),
        ("ana@contoso", "no valid domain"),
        ("x" * 65 + "@contoso.com", "65 characters before the @"),
    ],
)
def test_a_user_name_entra_would_refuse_is_a_reject_that_says_why(value: str, why: str) -> None:
    plan, rejects, _ = run_plan(f"id,user,status\n1,{value},Active\n", minimal_profile())
    [reject] = rejects
    assert reject.field == "userName" and why in reject.reason, reject.reason
    assert plan.summary.operations == 0


@pytest.mark.parametrize(
    "local",
    ["", "ana.", "ana silva", "ana@silva", "x" * 65, "ana,silva", "é", "." * 3, "x" * 64 + "."],
)
def test_a_known_domain_still_checks_every_rule_before_the_at(local: str) -> None:
    """A domain already found valid skips its own check on the next rows, never the name's."""
    assert user_principal_name("first.row", "contoso.com") == "first.row@contoso.com"
    with pytest.raises(RowError) as refused:
        user_principal_name(f"{local}@contoso.com", None)
    assert refused.value.field == "userName"
    longest_domain = "a" * 36 + ".contoso.com"  # 48 characters
    assert user_principal_name("x" * 64, longest_domain) == "x" * 64 + "@" + longest_domain  # 113 in all
    with pytest.raises(RowError, match="no valid domain"):
        user_principal_name("x", "a" + longest_domain)


def test_without_a_domain_anywhere_a_bare_user_name_is_rejected() -> None:
    profile = minimal_profile().model_copy(update={"upnDomain": None})
    _, rejects, _ = run_plan("id,user,status\n1,EMP1001,Active\n2,ana@contoso.com,Active\n", profile)
    [reject] = rejects
    assert "has no @domain: set HR_UPN_DOMAIN" in reject.reason


# ---- point 12: the daily quota is the tenant's ---------------------------------------------------------


def test_the_daily_quota_is_shared_by_the_jobs_of_one_tenant(http: httpx.Client, clock: ManualClock) -> None:
    with EntraEmulator(clock=clock, daily_quota=2, log_rate_limit=None) as graph:
        one = bulk(scim_user("1"))
        assert post_bulk(http, graph, one, job=SAME_TENANT_JOB).status_code == 202
        assert post_bulk(http, graph, one, job=SAME_TENANT_OTHER_JOB).status_code == 202
        refused = post_bulk(http, graph, one, job=SAME_TENANT_JOB)
        assert refused.status_code == 429 and "tenant's daily quota" in refused.json()["error"]["message"]
        assert post_bulk(http, graph, one, job=SAME_TENANT_OTHER_JOB).status_code == 429
        assert post_bulk(http, graph, one, job=OTHER_TENANT_JOB).status_code == 202, "another tenant's own quota"
        clock.advance(24 * 3600)
        assert post_bulk(http, graph, one, job=SAME_TENANT_JOB).status_code == 202


# ---- points 6 and 10 through the engine: unresolved managers, incremental polls --------------------------


def test_a_run_reports_the_unresolved_manager_and_polls_only_what_is_new(http: httpx.Client, tmp_path: Path) -> None:
    clock = ManualClock(time.time() + 3600)  # the service's clock an hour ahead: its entries stand apart from the start
    with EntraEmulator(clock=clock, rate_limit=(1000, 1.0), log_rate_limit=None) as graph:
        workflow = threaded_workflow(graph, local_state(tmp_path), profiles={"p": _profile_with_manager()})
        rows = b"id,user,status,boss\nM1,m1@contoso.com,Active,\nE1,e1@contoso.com,Active,OUT\n"
        record = start(workflow, CsvSource(rows), "p", feed="test")
        results = record.results or {}
        assert record.status == "completed", record.message
        assert results["managerUnresolved"] == ["E1"]
        assert results["outcomes"]["E1"]["status"] == "success"
        assert "1 provisioned, manager not resolved (E1)" in record.message
        created = datetime.fromisoformat(record.createdAt)
        assert _since_of(graph) < created, "the first poll starts at the run"

        clock.advance(30)
        upload(http, graph, scim_user("E1", "e1@contoso.com", manager="OUT"))  # one more entry for E1
        refreshed = workflow.refresh_results(record.runId)
        newest = datetime.fromtimestamp(clock.now - 30, UTC).replace(microsecond=0)
        since = _since_of(graph)
        assert since > created and since >= newest - timedelta(seconds=REREAD_SECONDS + 2), "from the last poll on"
        outcome = (refreshed.results or {})["outcomes"]["E1"]
        assert outcome["entries"] == 2, "the re-read entries are counted once"
        assert (refreshed.results or {})["managerUnresolved"] == ["E1"]

        again = start(workflow, CsvSource(rows), "p", feed="test")
        assert again.counts.operations == 1 and again.sent_external_ids() == ["E1"], "sent again to resolve it"


def test_an_entry_shown_after_a_newer_one_is_found_by_the_next_poll(tmp_path: Path) -> None:
    """Whether the logs show entries in date order is unconfirmed (EntraEmulator.process_held): an entry that
    appears after a newer one, dated within the two-minute re-read, is read by the next poll."""
    clock = ManualClock(time.time() + 3600)
    with EntraEmulator(clock=clock, rate_limit=(1000, 1.0), log_rate_limit=None, processing_delay=math.inf) as graph:
        workflow = threaded_workflow(graph, local_state(tmp_path), profiles={"p": minimal_profile()},
                                     config=FAST.but(batch_size=1), concurrency=1)  # fmt: skip
        rows = b"id,user,status\n1,a@contoso.com,Active\n2,b@contoso.com,Active\n"
        record = start(workflow, CsvSource(rows), "p", feed="test")
        assert graph.pending_count() == 2 and record.status == "sent", "accepted, nothing in the logs yet"
        clock.advance(60)
        graph.process_held(1)  # worker 2's entry, dated now
        seen = workflow.refresh_results(record.runId)
        assert (seen.results or {})["pending"] == ["1"]
        graph.process_held(0, dated=clock.now - 30)  # worker 1's, shown now but dated before worker 2's
        done = workflow.refresh_results(record.runId)
        assert done.status == "completed", done.message
        assert set((done.results or {})["outcomes"]) == {"1", "2"}


def _since_of(graph: EntraEmulator) -> datetime:
    """The activityDateTime bound of the last log read."""
    read = [r for r in graph.requests if r.path.endswith("/auditLogs/provisioning")][-1]
    found = re.search(r"activityDateTime gt (\S+?Z)", unquote_plus(read.query))
    assert found, read.query
    return datetime.fromisoformat(found[1])


def _profile_with_manager():  # type: ignore[no-untyped-def]
    return minimal_profile(enterprise={"manager": "boss"})
