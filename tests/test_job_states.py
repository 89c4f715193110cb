"""The job's state and the API client's permissions, whole runs against the Graph emulator (issue 10, points 2, 8).

A job that would accept uploads and not process them (NotRun, NotConfigured, Paused, a disabled schedule), one
that would process them late or not at all (Quarantine), and a job resource without a status hold the run with
the reason and what to do. An API client with only the documented minimum (upload and provisioning logs) runs,
and its run says the job state went unchecked.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from azure.core.credentials import AccessToken

from emulators.entra import DEFAULT_JOB, DEFAULT_SP, EntraEmulator
from provisioning import CsvSource
from provisioning.core.mapping.profiles import BundledProfiles
from provisioning.core.runs import RunRecord
from provisioning.engine.config import RunConfig
from provisioning.engine.sending import ThreadSender
from provisioning.engine.workflow import StartRequest, Workflow
from tests.emulators_entra_helpers import SCIM_JSON, assert_graph_error, bulk, scim_user, upload
from tests.engine_support import FAST, local_state
from tests.entra_support import FakeSleep, client_for
from tests.support import ROOT, minimal_profile

UPLOAD = "SynchronizationData-User.Upload"
LOGS = "ProvisioningLog.Read.All"
READ_JOB = "Synchronization.Read.All"
MINIMUM = "minimum-token"
"""A token whose app holds only the documented minimum: upload and provisioning logs."""
WORKERS = b"id,user,status\n1,a@contoso.com,Active\n2,b@contoso.com,Active\n3,c@contoso.com,Active\n"
JOB_UNREADABLE = "job state unknown: grant Synchronization.Read.All to check it"


class FixedToken:
    """A TokenCredential that always hands out the same token (the emulator keys permissions by token)."""

    def __init__(self, token: str) -> None:
        self.token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(self.token, int(time.time()) + 3600)


class Runs:
    """Runs as the CLI makes them (threads, local folders), with what they echoed."""

    def __init__(self, graph: EntraEmulator, tmp_path: Path) -> None:
        self.graph = graph
        self.state = local_state(tmp_path)
        self.lines: list[str] = []

    def workflow(self, *, token: str | None = None, config: RunConfig = FAST) -> Workflow:
        credential = FixedToken(token) if token else None
        client = client_for(self.graph, credential=credential, sleep=FakeSleep())
        sender = ThreadSender(client, concurrency=2, sleep=FakeSleep())
        profiles = BundledProfiles({"minimal": minimal_profile()})
        return Workflow(
            self.state, graph=lambda: client, profiles=profiles, sender=sender, config=config, echo=self.lines.append
        )

    def run(
        self, profile: str = "minimal", *, token: str | None = None, source: bytes = WORKERS, **config: Any
    ) -> RunRecord:
        workflow = self.workflow(token=token, config=FAST.but(**config) if config else FAST)
        return workflow.start(
            StartRequest(source=CsvSource(source), profile=profile, trigger="cli", feed=f"profile:{profile}")
        )

    def calls(self, suffix: str) -> list[int]:
        """The statuses of the calls made to the job's URL + ``suffix`` ("" the job itself, "/schema", ...)."""
        path = f"/synchronization/jobs/{DEFAULT_JOB}{suffix}".lower()
        return [r.status for r in self.graph.requests if r.path.lower().rstrip("/").endswith(path)]


@pytest.fixture
def runs(graph: EntraEmulator, tmp_path: Path) -> Runs:
    return Runs(graph, tmp_path)


def job_url(graph: EntraEmulator, suffix: str = "") -> str:
    return f"{graph.base_url}/v1.0/servicePrincipals/{DEFAULT_SP}/synchronization/jobs/{DEFAULT_JOB}{suffix}"


STATES: dict[str, tuple[Callable[[EntraEmulator], None], str, list[str]]] = {
    # name: (how the emulator gets there, the run's jobStatus, what the held message must say)
    "NotRun": (
        lambda g: g.set_job_status(DEFAULT_SP, DEFAULT_JOB, "NotRun"),
        "NotRun",
        ["the provisioning job is NotRun: provisioning was never started", "accepted and not processed"],
    ),
    "NotConfigured": (
        lambda g: g.set_job_status(DEFAULT_SP, DEFAULT_JOB, "NotConfigured"),
        "NotConfigured",
        ["the provisioning job is NotConfigured", "Finish its setup", "accepted and not processed"],
    ),
    "Paused": (
        lambda g: g.set_job_status(DEFAULT_SP, DEFAULT_JOB, "Paused"),
        "Paused",
        ["the provisioning job is Paused", "accepted and not processed"],
    ),
    "Quarantine": (
        lambda g: g.set_job_status(DEFAULT_SP, DEFAULT_JOB, "Quarantine"),
        "Quarantine",
        ["retries a quarantined job at reduced frequency", "processed late or not at all", "status.quarantine"],
    ),
    "schedule Disabled": (
        lambda g: g.set_schedule_state(DEFAULT_SP, DEFAULT_JOB, "Disabled"),
        "Active",
        ["has its schedule Disabled (schedule.state), so it does not run", "accepted and not processed"],
    ),
    "no status": (
        lambda g: g.drop_job_status(DEFAULT_SP, DEFAULT_JOB),
        "Unknown",
        ["comes without a status (no status.code)"],
    ),
    "no status.code": (
        lambda g: g.drop_job_status(DEFAULT_SP, DEFAULT_JOB, code_only=True),
        "Unknown",
        ["comes without a status (no status.code)"],
    ),
}


# ---- the job's state holds the run ------------------------------------------------------------------


@pytest.mark.parametrize("state", list(STATES))
def test_a_job_that_would_not_process_uploads_holds_the_run_with_the_reason(
    state: str, runs: Runs, graph: EntraEmulator
) -> None:
    provoke, job_status, reasons = STATES[state]
    provoke(graph)
    record = runs.run()
    assert record.status == "held", record.message
    assert record.jobStatus == job_status
    for reason in reasons:
        assert reason in record.message
    assert "Nothing was sent" in record.message
    assert "Start provisioning in the Entra admin center" in record.message
    assert f"POST {job_url(graph, '/start')}" in record.message, "the real start URL of this job"
    assert "ENTRA_IGNORE_JOB_STATUS" in record.message
    assert "never processed" not in record.message
    assert graph.upload_count == 0
    assert record.warnings == []


@pytest.mark.parametrize("state", ["NotRun", "schedule Disabled"])
def test_ignore_job_status_sends_anyway_and_the_run_says_so(state: str, runs: Runs, graph: EntraEmulator) -> None:
    STATES[state][0](graph)
    record = runs.run(ignore_job_status=True)
    assert graph.accepted_upload_count == 1
    assert record.status == "sent", "accepted, and nothing in the provisioning logs"
    assert set((record.results or {}).get("pending") or []) == {"1", "2", "3"}
    assert graph.log_entries() == [] and graph.directory() == {}
    (warning,) = record.warnings
    assert STATES[state][2][0].removeprefix("the provisioning job ") in warning
    assert warning.endswith("sent anyway (ENTRA_IGNORE_JOB_STATUS)")
    assert f"warning: {warning}" in runs.lines


def test_a_quarantined_job_processes_what_it_was_sent_late(runs: Runs, graph: EntraEmulator) -> None:
    graph.set_job_status(DEFAULT_SP, DEFAULT_JOB, "Quarantine")
    record = runs.run(ignore_job_status=True)
    assert record.status == "sent" and graph.log_entries() == []
    assert "processed late or not at all" in record.warnings[0]
    graph.retry_quarantine()  # the service's reduced-frequency retry gets through
    later = runs.workflow().refresh_results(record.runId)
    assert later.status == "completed", later.message
    assert set(graph.directory()) == {"1", "2", "3"}


# ---- the documented minimum permissions -------------------------------------------------------------


def test_upload_and_log_permissions_alone_run_with_a_warning(tmp_path: Path) -> None:
    with EntraEmulator(rate_limit=(1000, 1.0), permissions={MINIMUM: {UPLOAD, LOGS}}) as graph:
        runs = Runs(graph, tmp_path)
        record = runs.run(token=MINIMUM)
        assert record.status == "completed", record.message
        assert set(graph.directory()) == {"1", "2", "3"}
        assert record.warnings == [JOB_UNREADABLE]
        assert f"warning: {JOB_UNREADABLE}" in runs.lines
        assert record.jobStatus is None
        assert runs.calls("") == [403], "the job was asked once, and refused"
        assert runs.calls("/schema") == [], "a profile without custom attributes never reads the schema"
        assert runs.state.load_record(record.runId).warnings == [JOB_UNREADABLE]

        # Any other failure to read the job still fails the run.
        graph.revoke_token(MINIMUM)
        failed = runs.run(token=MINIMUM, full_sync=True)
        assert failed.status == "failed" and "cannot read the provisioning job: " in failed.message
        assert "401" in failed.message and failed.warnings == []
        assert graph.accepted_upload_count == 1


def test_custom_attributes_need_a_synchronization_permission(tmp_path: Path) -> None:
    with EntraEmulator(rate_limit=(1000, 1.0), permissions={MINIMUM: {UPLOAD, LOGS}}) as graph:
        runs = Runs(graph, tmp_path)
        record = runs.run("microsoft-sample", token=MINIMUM, source=(ROOT / "samples" / "workers.csv").read_bytes())
        assert record.status == "failed"
        assert record.message.startswith("schema sync: ") and "403 Authorization_RequestDenied" in record.message
        assert runs.calls("/schema") == [403] and graph.upload_count == 0


def test_without_the_upload_permission_the_send_fails_with_403(tmp_path: Path) -> None:
    with EntraEmulator(rate_limit=(1000, 1.0), permissions={"reader": {READ_JOB, LOGS}}) as graph:
        runs = Runs(graph, tmp_path)
        record = runs.run(token="reader")
        assert record.status == "failed" and record.jobStatus == "Active" and record.warnings == []
        (batch,) = record.batches
        assert batch.status == "failed" and batch.httpStatus == 403 and batch.errorCode == "Authorization_RequestDenied"
        assert "Authorization_RequestDenied" in record.message
        assert runs.calls("/bulkUpload") == [403] and graph.accepted_upload_count == 0


# ---- the emulator: permissions per token ------------------------------------------------------------


def test_each_call_needs_its_documented_permission() -> None:
    grants = {
        "upload": {UPLOAD},
        "owned": {"SynchronizationData-User.Upload.OwnedBy"},
        "logs": {"AuditLog.Read.All"},
        "read": {READ_JOB},
        "write": {"Synchronization.ReadWrite.All"},
        "none": set(),
    }
    with EntraEmulator(permissions=grants) as graph, httpx.Client() as http:

        def call(token: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
            headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
            return http.request(method, url, headers=headers, **kwargs)

        scim: dict[str, Any] = {"content": orjson.dumps(bulk(scim_user("1"))), "headers": SCIM_JSON}
        calls: dict[str, tuple[str, str, dict[str, Any]]] = {
            "upload": ("POST", graph.bulk_upload_url(), scim),
            "job": ("GET", job_url(graph), {}),
            "jobs": ("GET", job_url(graph).rsplit("/", 1)[0], {}),
            "schema": ("GET", job_url(graph, "/schema"), {}),
            "put schema": ("PUT", job_url(graph, "/schema"), {"content": b"not json"}),
            "start": ("POST", job_url(graph, "/start"), {}),
            "logs": ("GET", f"{graph.base_url}/v1.0/auditLogs/provisioning", {}),
        }
        allowed = {
            "upload": {"upload"},
            "owned": {"upload"},
            "logs": {"logs"},
            "read": {"job", "jobs", "schema"},
            "write": {"job", "jobs", "schema", "put schema", "start"},
            "none": set(),
        }
        for token, may in allowed.items():
            for name, (method, url, kwargs) in calls.items():
                response = call(token, method, url, **kwargs)
                if name in may:
                    assert response.status_code != 403, (token, name, response.text)
                else:
                    error = assert_graph_error(response, 403, "Authorization_RequestDenied")
                    assert error["message"] == "Insufficient privileges to complete the operation."
        assert graph.accepted_upload_count == 2, "only the two uploads allowed were taken in"

        # A token the emulator was not told about keeps every permission; grant() changes a token's.
        assert call("anyone", "GET", job_url(graph)).status_code == 200
        graph.grant("anyone", {UPLOAD})
        assert_graph_error(call("anyone", "GET", job_url(graph)), 403, "Authorization_RequestDenied")
        graph.grant("none", None)
        assert call("none", "GET", job_url(graph)).status_code == 200


# ---- the emulator: job states --------------------------------------------------------------------------


def test_the_job_resource_shows_a_disabled_schedule_and_a_missing_status(graph: EntraEmulator) -> None:
    with httpx.Client(headers={"Authorization": "Bearer t"}) as http:

        def job() -> dict[str, Any]:
            return http.get(job_url(graph)).json()

        assert job()["schedule"]["state"] == "Active" and job()["status"]["code"] == "Active"
        graph.set_schedule_state(DEFAULT_SP, DEFAULT_JOB, "Disabled")
        assert job()["schedule"]["state"] == "Disabled" and job()["status"]["code"] == "Active"
        with pytest.raises(ValueError):
            graph.set_schedule_state(DEFAULT_SP, DEFAULT_JOB, "Off")
        graph.drop_job_status(DEFAULT_SP, DEFAULT_JOB, code_only=True)
        assert "code" not in job()["status"] and job()["schedule"]["state"] == "Disabled"
        graph.drop_job_status(DEFAULT_SP, DEFAULT_JOB)
        assert "status" not in job()
        assert http.post(job_url(graph, "/start")).status_code == 204
        assert job()["status"]["code"] == "Active" and job()["schedule"]["state"] == "Active", "start undoes both"
        for code, schedule in [("NotRun", "Disabled"), ("NotConfigured", "Disabled"), ("Quarantine", "Active")]:
            graph.set_job_status(DEFAULT_SP, DEFAULT_JOB, code)
            assert job()["schedule"]["state"] == schedule, code


def test_a_job_on_a_disabled_schedule_accepts_uploads_and_processes_nothing(graph: EntraEmulator) -> None:
    """NotRun, NotConfigured and Paused do the same (tests/test_entra_emulator.py)."""
    graph.set_schedule_state(DEFAULT_SP, DEFAULT_JOB, "Disabled")
    with httpx.Client(headers={"Authorization": "Bearer t"}) as http:
        upload(http, graph, scim_user("1"))
        graph.process_pending()
        assert graph.log_entries() == [] and graph.directory() == {}
        assert http.post(job_url(graph, "/start")).status_code == 204
        upload(http, graph, scim_user("2"))
    assert set(graph.directory()) == {"2"}, "started, it processes what comes next; nothing is replayed"


def test_quarantined_uploads_wait_for_the_retry_and_a_restart_purges_them(graph: EntraEmulator) -> None:
    graph.set_job_status(DEFAULT_SP, DEFAULT_JOB, "Quarantine")
    with httpx.Client(headers={"Authorization": "Bearer t"}) as http:
        upload(http, graph, scim_user("1"))
        graph.process_pending()
        assert graph.log_entries() == [], "not processed yet"
        graph.retry_quarantine()
        assert http.get(job_url(graph)).json()["status"]["code"] == "Active"
        assert set(graph.directory()) == {"1"}, "processed late"
        graph.set_job_status(DEFAULT_SP, DEFAULT_JOB, "Quarantine")
        upload(http, graph, scim_user("2"))
        restart = http.post(job_url(graph, "/restart"), json={"criteria": {"resetScope": "Full"}})
        assert restart.status_code == 204
        assert set(graph.directory()) == {"1"}, "a restart purges what was not processed yet"
