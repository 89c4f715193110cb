"""Attackers at the edges: the connection test as a way to read settings or reach the app's network, URLs
that carry credentials, Graph next links that lead away or go round, and a sweep for secrets: marker
values in every secret setting and connector credential, every failure path, and no marker anywhere."""

from __future__ import annotations

import ipaddress
import json
import logging
from collections.abc import Iterator

import httpx
import pytest
from azure.functions.timer import TimerRequest

from connectors.network import GuardedTransport, NetworkPolicy
from emulators.entra import EntraEmulator
from emulators.hrms import HrmsEmulator
from provisioning.doors.log_redaction import install_log_redaction
from provisioning.entra.credentials import EmulatorCredential
from provisioning.entra.graph_client import GraphClient, GraphError
from provisioning.entra.graph_endpoint import EndpointError, parse_bulk_upload_url
from tests.azurite import StorageSandbox
from tests.functions_support import FunctionHost, call, small_host

SECRET_MARKER = "MARKER-5ecr3t-do-not-leak"


def custom_rest(hr: HrmsEmulator, **extra: str) -> dict[str, str]:
    """The custom REST connector's configuration for the emulator's plain list."""
    return {**hr.config, "path": "/all/people", "authType": "apikey-header", **extra}


@pytest.fixture
def host(storage: StorageSandbox, graph: EntraEmulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[FunctionHost]:
    yield small_host(storage, graph, monkeypatch, AZURE_CLIENT_SECRET=SECRET_MARKER + "-client")


def test_connector(host: FunctionHost, connector: str, body: dict) -> tuple[int, dict]:
    status, answer, _ = host.http(
        "test_connector", "POST", "http://x", json.dumps(body).encode(), {"Content-Type": "application/json"},
        route={"id": connector},
    )  # fmt: skip
    return status, answer


test_connector.__test__ = False  # type: ignore[attr-defined]


# ---- the connection test hands out nothing and reaches nothing it should not --------------------------------


@pytest.mark.parametrize("field", ["baseUrl", "apiKey", "path", "tenant"])
def test_setting_references_in_a_body_are_refused_and_never_resolved(host: FunctionHost, field: str) -> None:
    status, answer = test_connector(
        host, "custom-rest", {"baseUrl": "https://hr.example", field: "%AZURE_CLIENT_SECRET%"}
    )
    assert status == 400 and field in answer["error"]["message"]
    assert SECRET_MARKER not in json.dumps(answer)


@pytest.mark.parametrize("field", ["certificatePath", "keyPath", "caCertificatePath"])
def test_file_paths_in_a_body_are_refused_without_saying_whether_they_exist(host: FunctionHost, field: str) -> None:
    answers = [
        test_connector(host, "adp", {"baseUrl": "https://hr.example", field: path})
        for path in ("/etc/passwd", "/nonexistent/file.pem")
    ]
    assert {status for status, _ in answers} == {400}
    assert answers[0][1]["error"]["message"] == answers[1][1]["error"]["message"].replace("/nonexistent/file.pem", "")


def test_loopback_is_refused_unless_the_test_setting_allows_it(host: FunctionHost) -> None:
    with HrmsEmulator("custom-rest", workers=3) as hr:
        plain = custom_rest(hr)
        https_loopback = {**plain, "baseUrl": plain["baseUrl"].replace("http://", "https://")}
        for config in (plain, https_loopback):
            status, answer = test_connector(host, "custom-rest", config)
            assert status == 200 and "FAILED" in " ".join(answer["report"]), answer
        assert hr.requests == [], "nothing reached the loopback service"
        host.configure(CONNECTORS_ALLOW_LOOPBACK_HTTP="true")
        status, answer = test_connector(host, "custom-rest", plain)
        assert status == 200 and "first page: ok" in " ".join(answer["report"]) and hr.requests


def test_a_stored_job_is_tested_with_its_own_configuration_and_host(host: FunctionHost) -> None:
    with HrmsEmulator("custom-rest", workers=3) as hr:
        host.configure(CONNECTORS_ALLOW_LOOPBACK_HTTP="true", HR_TEST_API_KEY=hr.config["apiKey"])
        job = {"connector": "custom-rest", "config": custom_rest(hr, apiKey="%HR_TEST_API_KEY%")}
        config = host.storage.clients.container(host.setting("HR_CONFIG_CONTAINER"))
        config.upload_blob("connectors/nightly.json", json.dumps(job), overwrite=True)
        status, answer = test_connector(host, "custom-rest", {"job": "nightly"})
        assert status == 200 and "first page: ok" in " ".join(answer["report"]), answer
        assert hr.config["apiKey"] not in json.dumps(answer)
        for body in ({"job": "nightly", "baseUrl": "https://elsewhere.example"}, {"job": "../x"}):
            status, answer = test_connector(host, "custom-rest", body)
            assert status == 400
        status, answer = test_connector(host, "custom-rest", {"job": "nope"})
        assert status == 404 and answer["error"]["code"] == "UnknownJob"
        status, answer = test_connector(host, "bamboohr", {"job": "nightly"})
        assert status == 400 and "custom-rest" in answer["error"]["message"]


BLOCKED = [
    "127.0.0.1", "::1", "10.0.0.5", "172.16.3.4", "192.168.1.1", "169.254.169.254", "169.254.10.10",
    "100.64.0.1", "fd00:ec2::254", "fe80::1", "fc00::1", "::ffff:127.0.0.1", "::ffff:10.1.2.3", "0.0.0.0",
    "224.0.0.1", "240.0.0.1",
]  # fmt: skip


@pytest.mark.parametrize("address", BLOCKED)
@pytest.mark.parametrize("how", ["literal", "resolved"])
def test_private_loopback_link_local_cgnat_and_metadata_addresses_are_refused(address: str, how: str) -> None:
    sent: list[httpx.Request] = []
    inner = httpx.MockTransport(lambda request: sent.append(request) or httpx.Response(200))  # type: ignore[func-returns-value]
    transport = GuardedTransport(inner, NetworkPolicy(), resolve=lambda host, port: [address])
    host = f"[{address}]" if ":" in address and how == "literal" else address if how == "literal" else "hr.example"
    with httpx.Client(transport=transport) as client, pytest.raises(httpx.TransportError, match="refused"):
        client.get(f"https://{host}:8443/workers")
    assert sent == [], "nothing was sent"


def test_public_addresses_pass_and_the_switches_open_only_their_own_ranges() -> None:
    policy = NetworkPolicy()
    assert policy.refusal(ipaddress.ip_address("20.190.160.1")) is None
    assert policy.refusal(ipaddress.ip_address("2603:1030::1")) is None
    loopback = NetworkPolicy(allow_loopback=True)
    assert loopback.refusal(ipaddress.ip_address("127.0.0.1")) is None
    assert loopback.refusal(ipaddress.ip_address("10.0.0.1")) is not None
    private = NetworkPolicy(allow_private=True)
    assert private.refusal(ipaddress.ip_address("10.0.0.1")) is None
    assert private.refusal(ipaddress.ip_address("169.254.169.254")) == "a cloud metadata address"
    assert private.refusal(ipaddress.ip_address("127.0.0.1")) == "a loopback address"


# ---- credentials in URLs ---------------------------------------------------------------------------------


def test_a_graph_endpoint_with_credentials_is_refused_without_showing_them() -> None:
    url = (
        f"https://admin:{SECRET_MARKER}@graph.microsoft.com/v1.0/servicePrincipals/x/synchronization/jobs/y/bulkUpload"
    )
    with pytest.raises(EndpointError) as caught:
        parse_bulk_upload_url(url)
    assert SECRET_MARKER not in str(caught.value) and "***@graph.microsoft.com" in str(caught.value)


def test_no_credential_in_a_url_reaches_a_log_line(caplog: pytest.LogCaptureFixture) -> None:
    install_log_redaction()
    caplog.set_level(logging.DEBUG)
    transport = httpx.MockTransport(lambda request: httpx.Response(200))
    with httpx.Client(transport=transport) as client:
        client.get(f"https://hr-user:{SECRET_MARKER}@hr.example/workers")  # httpx logs every request at INFO
    logging.getLogger("provisioning.test").warning("retrying https://u:%s@h.example/x", SECRET_MARKER)
    assert caplog.records and SECRET_MARKER not in caplog.text
    assert "https://***@hr.example/workers" in caplog.text


# ---- Graph next links ---------------------------------------------------------------------------------------


GRAPH = "https://graph.microsoft.com/v1.0/servicePrincipals/sp/synchronization/jobs/job/bulkUpload"


@pytest.mark.parametrize(
    ("next_link", "code"),
    [
        ("http://graph.microsoft.com/v1.0/auditLogs/provisioning?$skiptoken=1", "UnexpectedNextLink"),
        ("https://evil.example/v1.0/auditLogs/provisioning", "UnexpectedNextLink"),
        ("https://graph.microsoft.com/v1.0/auditLogs/provisioning?$skiptoken=same", "NextLinkLoop"),
    ],
)
def test_log_paging_follows_only_new_https_links_on_the_same_host(next_link: str, code: str) -> None:
    """Graph's answers come from a mock transport here: nothing leaves the process."""
    asked: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        return httpx.Response(200, json={"value": [{"id": "1"}], "@odata.nextLink": next_link})

    endpoint = parse_bulk_upload_url(GRAPH)
    with GraphClient(endpoint, EmulatorCredential(), transport=httpx.MockTransport(answer)) as client:
        pages = client.provisioning_logs({"$top": "1"})
        with pytest.raises(GraphError, match=code):
            for _ in range(5):
                next(pages)
    assert all(url.startswith("https://graph.microsoft.com/") for url in asked)


# ---- a sweep for secrets ------------------------------------------------------------------------------------


def test_no_secret_appears_in_any_answer_log_record_or_blob(
    host: FunctionHost, caplog: pytest.LogCaptureFixture
) -> None:
    install_log_redaction()
    caplog.set_level(logging.DEBUG)
    markers = {f"{SECRET_MARKER}-{n}" for n in ("client", "job-key", "inline-key", "url", "refresh")}
    answers: list[str] = []
    with HrmsEmulator("custom-rest", workers=4) as hr, HrmsEmulator("workday", workers=4) as wd:
        host.configure(
            CONNECTORS_ALLOW_LOOPBACK_HTTP="true",
            JOB_KEY=f"{SECRET_MARKER}-job-key",
            WD_REFRESH=f"{SECRET_MARKER}-refresh",
        )
        config = host.storage.clients.container(host.setting("HR_CONFIG_CONTAINER"))
        jobs = {
            "wrong-key": {"connector": "custom-rest", "profile": "small",
                          "config": custom_rest(hr, apiKey="%JOB_KEY%")},
            "wrong-token": {"connector": "workday", "config": {**wd.config, "refreshToken": "%WD_REFRESH%"}},
            "creds-in-url": {
                "connector": "custom-rest",
                "profile": "small",
                "config": custom_rest(hr, baseUrl=f"http://u:{SECRET_MARKER}-url@127.0.0.1:1/"),
            },
        }  # fmt: skip
        for name, job in jobs.items():
            config.upload_blob(f"connectors/{name}.json", json.dumps(job), overwrite=True)
        call("hrms_sync", TimerRequest())
        for body in (
            custom_rest(hr, apiKey=f"{SECRET_MARKER}-inline-key"),
            custom_rest(hr, baseUrl=f"https://u:{SECRET_MARKER}-url@hr.example"),
            {"job": "wrong-key"},
            {"job": "wrong-token"},
        ):
            for connector in ("custom-rest", "workday"):
                answers.append(json.dumps(test_connector(host, connector, body)[1]))
        for function, method in (("list_runs", "GET"), ("list_connectors", "GET"), ("get_usage", "GET")):
            answers.append(json.dumps(host.http(function, method, "http://x")[1]))
    stored = []
    for setting in ("HR_RUNS_CONTAINER", "HR_STATE_CONTAINER", "HR_QUARANTINE_CONTAINER"):
        container = host.storage.clients.container(host.setting(setting))
        stored += [container.download_blob(b.name).readall().decode("utf-8", "replace") for b in container.list_blobs()]
    everything = "\n".join([*answers, caplog.text, *stored])
    assert len(stored) > 0 and "runId" in everything
    leaked = sorted(m for m in markers if m in everything)
    assert leaked == [], f"secrets leaked: {leaked}"
