"""Provisioning log queries and per-worker results: the real log page, hand-written entries, filters, polling."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from provisioning.core.results.log_query import MAX_TOP, poll_delays, provisioning_log_filter, provisioning_log_params
from provisioning.core.results.log_summary import LogCollector, RecordOutcome, RunResults, describe_results, summarise

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "fixtures/microsoft/graph/provisioning-logs-sample.json"
JOB = "API2AAD.ded4600b620e486eb6f18b4fc7166a5f.30242ce7-13d1-4d46-9cf1-a4fe5dcee2da"
UNRESOLVED = "UnableToResolveReferenceAttributeValue"


@pytest.fixture
def sample_entries() -> list[dict[str, Any]]:
    if not SAMPLE.is_file():
        pytest.skip(
            "Microsoft's provisioning log sample is not here: ../shared/fixtures is only in the dev workspace, "
            "absent in a user's clone"
        )
    entries: list[dict[str, Any]] = json.loads(SAMPLE.read_text(encoding="utf-8"))["value"]
    return entries


_ids = itertools.count(1)


def entry(
    external_id: str | None,
    when: str,
    action: str = "create",
    status: str = "success",
    *,
    code: str | None = None,
    reason: str | None = None,
    changes: tuple[str, ...] = (),
    target: str | None = None,
    upn: str | None = None,
    entry_id: str | None = None,
) -> dict[str, Any]:
    """A log entry shaped like the service's (v1.0 and beta status blocks both present)."""
    error = {"errorCode": code, "reason": reason, "additionalDetails": None} if code or reason else None
    return {
        "id": entry_id or f"entry-{next(_ids)}",
        "activityDateTime": when,
        "jobId": JOB,
        "provisioningAction": action,
        "sourceIdentity": {
            "id": external_id,
            "identityType": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        },
        "targetIdentity": {"id": target or "", "details": {"UserPrincipalName": upn} if upn else {}},
        "provisioningStatusInfo": {"status": status, "errorInformation": error},
        "statusInfo": {"status": status},
        "modifiedProperties": [{"displayName": name, "oldValue": None, "newValue": "x"} for name in changes],
    }


# The real page: 15 entries of an API-driven job (newest first), externalIds 10015-10020 and 1514131211.


@pytest.mark.fixtures
def test_sample_page_correlates_to_the_sent_external_ids(sample_entries: list[dict[str, Any]]) -> None:
    sent = ["10015", "10016", "10017", "10018", "10019", "10020", "1514131211"]
    results = summarise(sample_entries, sent)

    assert list(results.outcomes) == sent, "outcomes come in the order the ids were sent"
    assert results.pending == [] and results.complete and results.unrelated == 0
    assert {i: o.entries for i, o in results.outcomes.items()} == {
        "10015": 3,
        "10016": 3,
        "10017": 3,
        "10018": 2,
        "10019": 2,
        "10020": 1,
        "1514131211": 1,
    }
    assert results.counts == {"create": {"success": 2}, "update": {"success": 5}}
    assert results.failed() == []

    # 10018: a create, then an update two seconds later that sets the manager; the page lists the update first.
    leo = results.outcomes["10018"]
    assert leo == RecordOutcome(
        external_id="10018",
        action="update",
        status="success",
        error_code=None,
        reason=None,
        activity="2023-01-03T22:40:50Z",
        entries=2,
        target_id="f584794b-2c5e-4499-9a9b-e0c495a84ea0",
        user_principal_name="LeoCastest1281@saziatestaad.onmicrosoft.com",
        changes=[
            "department",
            "employeeId",
            "displayName",
            "givenName",
            "jobTitle",
            "mailNickname",
            "surname",
            "userPrincipalName",
            "IsSoftDeleted",
            "accountEnabled",
            "preferredLanguage",
            "passwordProfile.password",
            "manager",
        ],
    )
    # 10015: create at :47, updates at :51 (manager, userPrincipalName) and :53 (manager): the :53 one wins.
    assert results.outcomes["10015"].activity == "2023-01-03T21:40:53Z"
    assert results.outcomes["10015"].changes[-1:] == ["manager"], "each name once, in the order first seen"
    assert results.outcomes["10020"].action == "create"


@pytest.mark.fixtures
def test_sample_page_leaves_unsent_ids_pending_and_ignores_unrelated_entries(
    sample_entries: list[dict[str, Any]],
) -> None:
    results = summarise(sample_entries, ["20001", "10018", "20000"])

    assert list(results.outcomes) == ["10018"]
    assert results.pending == ["20001", "20000"], "pending keeps the order sent"
    assert not results.complete
    assert results.unrelated == 13
    assert results.counts == {"update": {"success": 1}}


@pytest.mark.fixtures
def test_sample_page_since_keeps_only_the_window(sample_entries: list[dict[str, Any]]) -> None:
    sent = ["10015", "10018", "10019", "10020"]
    results = summarise(sample_entries, sent, since="2023-01-03T22:40:49Z")

    assert results.before_since == 13
    assert results.pending == ["10015", "10020"], "10020's only entry is at 22:40:48, before since"
    assert results.outcomes["10018"].entries == 1, "the create at 22:40:48 is outside the window"
    assert results.outcomes["10019"].activity == "2023-01-03T22:40:49Z", "an entry at since itself is kept"


@pytest.mark.fixtures
def test_sample_page_fed_in_polls_with_overlap_counts_each_entry_once(sample_entries: list[dict[str, Any]]) -> None:
    sent = ["10015", "10016", "10017", "10018", "10019", "10020", "1514131211"]
    collector = LogCollector(sent)
    collector.add(sample_entries[10:])  # the oldest entries first, as an early poll would see them
    early = collector.results()
    assert early.pending == ["10018", "10019", "10020"]
    collector.next_listing()
    collector.add(sample_entries)  # a later poll over the whole window

    later = collector.results()
    assert later.duplicates == 5
    assert later.outcomes == summarise(sample_entries, sent).outcomes
    assert early.pending == ["10018", "10019", "10020"], "a results() snapshot does not change afterwards"


# Hand-written entries.


def test_latest_entry_wins_whatever_the_input_order() -> None:
    create = entry("w1", "2024-05-01T10:00:00Z", "create", changes=("displayName", "manager"), target="obj-1")
    update = entry("w1", "2024-05-01T10:00:02.5Z", "update", changes=("manager", "jobTitle"), upn="w1@contoso.com")
    later = entry("w1", "2024-05-01T10:00:03Z", "update", changes=("department",))

    for order in itertools.permutations([create, update, later]):
        outcome = summarise(order, ["w1"]).outcomes["w1"]
        assert (outcome.action, outcome.activity, outcome.entries) == ("update", "2024-05-01T10:00:03Z", 3)
        assert outcome.changes == ["displayName", "manager", "jobTitle", "department"], "oldest entry first"
        assert outcome.target_id == "obj-1", "the target id of the latest entry that has one"
        assert outcome.user_principal_name == "w1@contoso.com"


def test_fractional_seconds_and_offsets_order_by_instant() -> None:
    plain = entry("w1", "2024-05-01T10:00:00Z", "create")
    fraction = entry("w1", "2024-05-01T10:00:00.6195833Z", "update")
    offset = entry("w1", "2024-05-01T12:00:00.1+02:00", "disable")  # 10:00:00.1 UTC

    assert summarise([fraction, offset, plain], ["w1"]).outcomes["w1"].action == "update"
    assert summarise([plain, offset], ["w1"]).outcomes["w1"].action == "disable"


def test_within_a_second_the_listing_order_decides_newest_first() -> None:
    # Pages come newest first with whole seconds (List provisioningObjectSummary; the fixture page): of two
    # entries in one second, the one listed first is the latest, and a later poll's new entry is newer still.
    failed = entry(
        "w1", "2024-05-01T10:00:00Z", "create", "failure", code="AzureActiveDirectoryDuplicateUserPrincipalName"
    )
    created = entry("w1", "2024-05-01T10:00:00.000Z", "create", "success")

    assert summarise([created, failed], ["w1"]).outcomes["w1"].status == "success"
    assert summarise([failed, created], ["w1"]).outcomes["w1"].status == "failure"
    collector = LogCollector(["w1"])
    collector.add([created])
    collector.next_listing()  # a later poll
    collector.add([failed])
    assert collector.results().outcomes["w1"].status == "failure", "first seen later: written later"


def test_failure_carries_error_code_and_reason() -> None:
    reason = "An attribute value (userPrincipalName) is already in use by another object."
    results = summarise(
        [
            entry(
                "w1", "2024-05-01T10:00:00Z", "create", "failure", code="AzureActiveDirectoryConflict", reason=reason
            ),
            entry("w2", "2024-05-01T10:00:01Z", "create", "success"),
            entry("w3", "2024-05-01T10:00:02Z", "update", "skipped"),
        ],
        ["w1", "w2", "w3"],
    )

    failed = results.outcomes["w1"]
    assert (failed.status, failed.error_code, failed.reason) == ("failure", "AzureActiveDirectoryConflict", reason)
    assert results.failed() == ["w1"]
    assert results.counts == {"create": {"success": 1, "failure": 1}, "update": {"skipped": 1}}


def test_retry_that_succeeds_supersedes_an_earlier_failure() -> None:
    results = summarise(
        [
            entry("w1", "2024-05-01T10:05:00Z", "create", "success"),
            entry("w1", "2024-05-01T10:00:00Z", "create", "failure", code="SystemForCrossDomainIdentity", reason="x"),
        ],
        ["w1"],
    )
    outcome = results.outcomes["w1"]
    assert (outcome.status, outcome.error_code, outcome.reason, outcome.entries) == ("success", None, None, 2)
    assert results.failed() == []


@pytest.mark.fixtures
def test_sample_page_reports_the_manager_never_resolved(sample_entries: list[dict[str, Any]]) -> None:
    # Every create on the real page skips its manager (UnableToResolveReferenceAttributeValue in a step of a
    # successful create); later updates set the manager of all but 10020, whose manager 10010 was never sent.
    sent = ["10015", "10016", "10017", "10018", "10019", "10020", "1514131211"]
    results = summarise(sample_entries, sent)

    assert results.manager_unresolved() == ["10020"]
    assert results.outcomes["10020"].unresolved == {"manager": "10010"}
    assert (results.outcomes["10020"].action, results.outcomes["10020"].status) == ("create", "success")
    assert results.outcomes["10018"].unresolved == {}, "set by the update at 22:40:50"
    assert results.failed() == []
    lines = describe_results(results)
    assert any("1 provisioned, manager not resolved" in line for line in lines)
    assert any("10020" in line and "manager 10010 not resolved" in line for line in lines)
    assert RunResults.from_json(results.as_json()).manager_unresolved() == ["10020"]


@pytest.mark.fixtures
def test_polls_read_only_what_is_new_and_add_up_to_one_read(sample_entries: list[dict[str, Any]]) -> None:
    sent = ["10015", "10016", "10017", "10018", "10019", "10020", "1514131211"]
    first = LogCollector(sent)
    first.add(sample_entries[2:])  # all but the two newest entries, listed newest first
    early = RunResults.from_json(orjson.loads(orjson.dumps(first.results().as_json())))  # as a run record keeps it
    assert early.cursor is not None and early.cursor.newest == "2023-01-03T22:40:48+00:00"

    since = early.cursor.since(datetime(2023, 1, 3, tzinfo=UTC))
    assert since == datetime(2023, 1, 3, 22, 38, 48, tzinfo=UTC), "two minutes before the newest entry seen"
    relisted = [e for e in sample_entries if datetime.fromisoformat(e["activityDateTime"]) > since]
    second = LogCollector(sent, previous=early)
    second.add(relisted)  # the next poll: what is new, plus the re-read window it already knows
    later = second.results()

    whole = summarise(sample_entries, sent)
    assert len(relisted) == 5 and later.duplicates == 3, "the re-read entries are known by their ids"
    for external_id, outcome in whole.outcomes.items():
        assert later.outcomes[external_id] == outcome
    assert later.manager_unresolved() == ["10020"]


def test_unresolved_manager_warning_after_create_keeps_its_code() -> None:
    reason = "Failed to resolve the manager reference: no user with externalId 'M1' has been provisioned yet"
    results = summarise(
        [
            entry("w1", "2024-05-01T10:00:01Z", "update", "warning", code=UNRESOLVED, reason=reason),
            entry("w1", "2024-05-01T10:00:00Z", "create", "success", changes=("displayName",)),
        ],
        ["w1"],
    )
    outcome = results.outcomes["w1"]
    assert (outcome.action, outcome.status, outcome.error_code, outcome.reason) == (
        "update",
        "warning",
        UNRESOLVED,
        reason,
    )
    assert results.failed() == [], "a warning is not a failure"
    assert results.counts == {"update": {"warning": 1}}
    assert any(UNRESOLVED in line for line in describe_results(results))


@pytest.mark.parametrize(
    "since",
    ["2024-05-01T10:00:00Z", "2024-05-01T12:00:00+02:00", datetime(2024, 5, 1, 10, tzinfo=UTC)],
    ids=["z-string", "offset-string", "aware-datetime"],
)
def test_entries_before_since_are_ignored(since: str | datetime) -> None:
    results = summarise(
        [
            entry("w1", "2024-05-01T09:59:59.999Z", "create", "failure", code="Old"),
            entry("w1", "2024-05-01T10:00:00Z", "update"),
            entry("w2", "2024-05-01T09:00:00Z"),
            entry("w3", "not a date"),
        ],
        ["w1", "w2", "w3"],
        since=since,
    )
    assert results.outcomes["w1"].entries == 1 and results.outcomes["w1"].status == "success"
    assert results.pending == ["w2", "w3"], "an undated entry cannot be placed inside the window"
    assert results.before_since == 3


@pytest.mark.parametrize("since", [datetime(2024, 5, 1), "2024-05-01T10:00:00", "2024-05-01", "yesterday"])
def test_since_without_a_timezone_or_unreadable_is_refused(since: str | datetime) -> None:
    with pytest.raises(ValueError, match="since"):
        LogCollector(["w1"], since=since)


def test_duplicate_entry_ids_across_polls_are_counted_once() -> None:
    create = entry("w1", "2024-05-01T10:00:00Z", entry_id="e1")
    stray = entry("other", "2024-05-01T10:00:00Z", entry_id="e2")
    collector = LogCollector(["w1", "w2"])
    collector.add([create, stray])
    collector.add([dict(create), dict(stray), entry("w2", "2024-05-01T10:01:00Z", entry_id="e3")])
    collector.add([create])

    results = collector.results()
    assert results.outcomes["w1"].entries == 1
    assert results.unrelated == 1
    assert results.duplicates == 3
    assert results.complete


def test_entries_without_an_id_are_deduplicated_by_their_fields() -> None:
    bare = entry("w1", "2024-05-01T10:00:00Z")
    del bare["id"]
    results = summarise([bare, dict(bare), {**bare, "activityDateTime": "2024-05-01T10:00:01Z"}], ["w1"])
    assert results.outcomes["w1"].entries == 2 and results.duplicates == 1


def test_missing_keys_never_raise() -> None:
    malformed: list[Any] = [
        {},
        None,
        "not an entry",
        {"sourceIdentity": None},
        {"sourceIdentity": {"displayName": "no id"}},
        {"sourceIdentity": {"id": ""}},
        {"id": "only-source", "sourceIdentity": {"id": "w1"}},
        {
            "id": "beta-shape",
            "activityDateTime": "2024-05-01T10:00:00Z",
            "action": "Create",
            "sourceIdentity": {"id": "w2"},
            "targetIdentity": None,
            "statusInfo": {"status": "failure", "errorCode": "BetaCode", "reason": "beta reason"},
            "modifiedProperties": None,
        },
        {
            "id": "odd-values",
            "activityDateTime": 1714557600,
            "provisioningAction": "StagedDelete",
            "sourceIdentity": {"id": 42},
            "targetIdentity": {"id": "obj", "details": None},
            "provisioningStatusInfo": {"status": "unknownFutureValue", "errorInformation": "oops"},
            "modifiedProperties": [None, {"displayName": None}, {"displayName": "accountEnabled"}],
        },
    ]
    results = summarise(malformed, ["w1", "w2", "42", "w4"])

    assert results.unrelated == 6
    only = results.outcomes["w1"]
    assert (only.action, only.status, only.activity, only.error_code, only.target_id, only.changes) == (
        "other",
        "unknown",
        "",
        None,
        None,
        [],
    )
    beta = results.outcomes["w2"]
    assert (beta.action, beta.status, beta.error_code, beta.reason) == ("create", "failure", "BetaCode", "beta reason")
    odd = results.outcomes["42"]
    assert (odd.action, odd.status, odd.target_id, odd.changes) == (
        "stagedDelete",
        "unknown",
        "obj",
        ["accountEnabled"],
    )
    assert results.pending == ["w4"]
    assert "unknown" in results.counts["stagedDelete"]
    describe_results(results)
    orjson.dumps(results.as_json())


def test_sent_ids_are_taken_once_in_order() -> None:
    results = summarise([], ["b", "a", "b", "c", "a"])
    assert results.pending == ["b", "a", "c"] and results.sent == 3 and not results.complete


def test_as_json_is_camel_case_and_json_ready() -> None:
    results = summarise(
        [
            entry(
                "w1",
                "2024-05-01T10:00:00Z",
                "create",
                "failure",
                code="C",
                reason="R",
                target="o",
                upn="u@x",
                entry_id="e1",
            )
        ],
        ["w1", "w2"],
    )
    data = orjson.loads(orjson.dumps(results.as_json()))
    assert data == {
        "complete": False,
        "sent": 2,
        "withEntries": 1,
        "pending": ["w2"],
        "failed": ["w1"],
        "managerUnresolved": [],
        "counts": {"create": {"failure": 1}},
        "unrelated": 0,
        "beforeSince": 0,
        "duplicates": 0,
        "cursor": {"newest": "2024-05-01T10:00:00+00:00", "recent": [["e1", "2024-05-01T10:00:00+00:00"]]},
        "outcomes": {
            "w1": {
                "externalId": "w1",
                "action": "create",
                "status": "failure",
                "errorCode": "C",
                "reason": "R",
                "activity": "2024-05-01T10:00:00Z",
                "entries": 1,
                "targetId": "o",
                "userPrincipalName": "u@x",
                "changes": [],
                "unresolved": {},
            }
        },
    }


# What the CLI prints.


def test_describe_results_says_pending_and_never_done_while_pending() -> None:
    results = summarise(
        [
            entry("w1", "2024-05-01T10:00:00Z", "create", "success"),
            entry("w2", "2024-05-01T10:00:00Z", "create", "failure", code="Conflict", reason="UPN\n  in use"),
        ],
        ["w1", "w2", "w3", "w4"],
    )
    lines = describe_results(results)
    text = "\n".join(lines)

    assert "2 still pending: logs lag 5-10 minutes" in lines[0]
    assert "done" not in text.lower()
    assert "  create: 1 success, 1 failure" in lines
    assert any(line.split()[:4] == ["w2", "create", "failure", "Conflict:"] and "UPN in use" in line for line in lines)
    table = [line.split()[0] for line in lines if line.split()[0] in ("w1", "w2")]
    assert table == ["w2", "w1"], "problems first"
    assert any(line.startswith("  pending (2): w3, w4") for line in lines)


def test_describe_results_done_only_when_complete_and_honours_limit() -> None:
    sent = [f"w{i}" for i in range(5)]
    results = summarise([entry(i, "2024-05-01T10:00:00Z") for i in sent], sent)
    lines = describe_results(results, limit=2)
    assert "done" in lines[0] and "still pending" not in "\n".join(lines)
    assert sum(1 for line in lines if line.split()[0] in sent) == 2
    assert lines[-1] == "  ... and 3 more records with entries (see the JSON results)"
    assert describe_results(RunResults(outcomes={}, pending=[], counts={}, unrelated=0)) == [
        "Provisioning logs: no records were sent"
    ]


# Filters and query parameters.

SINCE = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, "jobid eq 'J'"),
        ({"since": SINCE}, "jobid eq 'J' and activityDateTime gt 2023-12-31T23:59:59Z"),
        ({"status": "failure"}, "jobid eq 'J' and provisioningStatusInfo/status eq 'failure'"),
        ({"source_id": "701984"}, "jobid eq 'J' and sourceIdentity/id eq '701984'"),
        ({"cycle_id": "c1"}, "jobid eq 'J' and cycleId eq 'c1'"),
        (
            {"since": SINCE, "status": "success"},
            "jobid eq 'J' and activityDateTime gt 2023-12-31T23:59:59Z and provisioningStatusInfo/status eq 'success'",
        ),
        (
            {"since": SINCE, "source_id": "701984"},
            "jobid eq 'J' and activityDateTime gt 2023-12-31T23:59:59Z and sourceIdentity/id eq '701984'",
        ),
        (
            {"since": SINCE, "cycle_id": "c1"},
            "jobid eq 'J' and activityDateTime gt 2023-12-31T23:59:59Z and cycleId eq 'c1'",
        ),
        (
            {"status": "skipped", "source_id": "701984"},
            "jobid eq 'J' and provisioningStatusInfo/status eq 'skipped' and sourceIdentity/id eq '701984'",
        ),
        (
            {"status": "warning", "cycle_id": "c1"},
            "jobid eq 'J' and provisioningStatusInfo/status eq 'warning' and cycleId eq 'c1'",
        ),
        (
            {"source_id": "701984", "cycle_id": "c1"},
            "jobid eq 'J' and sourceIdentity/id eq '701984' and cycleId eq 'c1'",
        ),
        (
            {"since": SINCE, "status": "failure", "source_id": "701984"},
            "jobid eq 'J' and activityDateTime gt 2023-12-31T23:59:59Z and provisioningStatusInfo/status eq 'failure'"
            " and sourceIdentity/id eq '701984'",
        ),
        (
            {"since": SINCE, "status": "failure", "cycle_id": "c1"},
            "jobid eq 'J' and activityDateTime gt 2023-12-31T23:59:59Z and provisioningStatusInfo/status eq 'failure'"
            " and cycleId eq 'c1'",
        ),
        (
            {"since": SINCE, "source_id": "701984", "cycle_id": "c1"},
            "jobid eq 'J' and activityDateTime gt 2023-12-31T23:59:59Z and sourceIdentity/id eq '701984'"
            " and cycleId eq 'c1'",
        ),
        (
            {"status": "failure", "source_id": "701984", "cycle_id": "c1"},
            "jobid eq 'J' and provisioningStatusInfo/status eq 'failure' and sourceIdentity/id eq '701984'"
            " and cycleId eq 'c1'",
        ),
        (
            {"since": SINCE, "status": "failure", "source_id": "701984", "cycle_id": "c1"},
            "jobid eq 'J' and activityDateTime gt 2023-12-31T23:59:59Z and provisioningStatusInfo/status eq 'failure'"
            " and sourceIdentity/id eq '701984' and cycleId eq 'c1'",
        ),
    ],
)
def test_filter_text_for_each_combination(options: dict[str, Any], expected: str) -> None:
    assert provisioning_log_filter("J", **options) == expected


def test_filter_with_a_real_job_id_matches_microsofts_location_header() -> None:
    assert provisioning_log_filter(JOB) == f"jobid eq '{JOB}'"


def test_filter_doubles_single_quotes() -> None:
    assert provisioning_log_filter("a'b", source_id="O'Brien", cycle_id="''") == (
        "jobid eq 'a''b' and sourceIdentity/id eq 'O''Brien' and cycleId eq ''''''"
    )


def test_filter_renders_since_in_utc_to_the_second() -> None:
    paris = timezone(timedelta(hours=2))
    since = datetime(2024, 6, 1, 2, 30, 15, 999_999, tzinfo=paris)
    assert provisioning_log_filter("J", since=since) == "jobid eq 'J' and activityDateTime gt 2024-06-01T00:30:14Z"


def test_filter_refuses_a_naive_since() -> None:
    with pytest.raises(ValueError, match="no timezone"):
        provisioning_log_filter("J", since=datetime(2024, 1, 1))


@pytest.mark.parametrize("status", ["Failure", "error", "", "unknownFutureValue"])
def test_filter_refuses_an_unknown_status(status: str) -> None:
    with pytest.raises(ValueError, match="success, failure, skipped, warning"):
        provisioning_log_filter("J", status=status)


@pytest.mark.parametrize("options", [{"job_id": ""}, {"job_id": "J", "source_id": ""}, {"job_id": "J", "cycle_id": ""}])
def test_filter_refuses_empty_values(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="non-empty"):
        provisioning_log_filter(**options)


def test_params_default_page_and_bounds() -> None:
    assert provisioning_log_params("J", status="failure") == {
        "$filter": "jobid eq 'J' and provisioningStatusInfo/status eq 'failure'",
        "$top": "500",
    }
    assert provisioning_log_params("J", top=1)["$top"] == "1"
    assert provisioning_log_params("J", top=MAX_TOP)["$top"] == "1000"
    for bad in (0, -1, 1001, True, "50", 2.0):
        with pytest.raises(ValueError, match="1 to 1000"):
            provisioning_log_params("J", top=bad)  # type: ignore[arg-type]


# Polling.


def test_poll_delays_back_off_cap_and_sum_to_the_limit() -> None:
    delays = poll_delays()
    assert delays == [30, 60, 120, 240, 300, 300, 300, 300, 150]
    assert sum(delays) == 1800
    assert max(poll_delays(first=10, factor=3, cap=100, limit=1000)) == 100
    assert sum(poll_delays(first=10, factor=3, cap=100, limit=1000)) == 1000
    assert poll_delays(limit=3450)[-1] == 300 and sum(poll_delays(limit=3450)) == 3450
    assert poll_delays(first=600, cap=300, limit=500) == [300, 200]
    assert poll_delays(first=5, factor=1, limit=12) == [5, 5, 2]
    assert poll_delays(limit=0) == []


@pytest.mark.parametrize(
    "options",
    [{"first": 0}, {"cap": -1}, {"factor": 0.5}, {"limit": -1}, {"limit": float("inf")}, {"first": float("nan")}],
)
def test_poll_delays_refuses_nonsense(options: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        poll_delays(**options)


@given(
    first=st.floats(0.5, 600),
    factor=st.floats(1, 4),
    cap=st.floats(0.5, 600),
    limit=st.floats(0, 10_000),
)
def test_poll_delays_property(first: float, factor: float, cap: float, limit: float) -> None:
    delays = poll_delays(first, factor, cap, limit)
    assert sum(delays) == pytest.approx(limit)
    assert all(0 < d <= cap for d in delays)
    assert all(a <= b for a, b in itertools.pairwise(delays[:-1])), "waits never shrink (but the last)"


# The property: whatever the order entries arrive in, a record's outcome is its latest entry (within a second,
# the one listed first: pages are newest first).

_FORMATS = ("{}Z", "{}.000Z", "{}+00:00", "{}.0000000Z")
_log_entries = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c", "stranger"]),
        st.integers(0, 5),  # seconds: few values, so ties happen
        st.sampled_from(_FORMATS),
        st.sampled_from(["create", "update", "disable", "delete"]),
        st.sampled_from(["success", "failure", "skipped", "warning"]),
    ),
    max_size=25,
)


@given(specs=_log_entries, order=st.randoms(use_true_random=False))
def test_outcome_is_the_entry_with_the_greatest_activity_time(specs: list[tuple[Any, ...]], order: Any) -> None:
    entries = [
        entry(who, fmt.format(f"2024-05-01T10:00:0{second}"), action, status, entry_id=f"e{i}")
        for i, (who, second, fmt, action, status) in enumerate(specs)
    ]
    order.shuffle(entries)
    results = summarise(entries, ["a", "b", "c"])

    for who in ("a", "b", "c"):
        own = [e for e in entries if e["sourceIdentity"]["id"] == who]
        if not own:
            assert who in results.pending
            continue
        seconds = [datetime.fromisoformat(e["activityDateTime"]) for e in own]
        latest = next(e for e, s in zip(own, seconds, strict=True) if s == max(seconds))
        outcome = results.outcomes[who]
        assert outcome.activity == latest["activityDateTime"]
        assert (outcome.action, outcome.status) == (
            latest["provisioningAction"],
            latest["provisioningStatusInfo"]["status"],
        )
        assert outcome.entries == len(own)
    assert results.unrelated == sum(1 for e in entries if e["sourceIdentity"]["id"] == "stranger")
    assert sum(sum(by_status.values()) for by_status in results.counts.values()) == len(results.outcomes)
