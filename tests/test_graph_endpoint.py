"""The bulkUpload URL from the portal: accepted hosts and versions, derived URLs, and clear refusals."""

from __future__ import annotations

import pytest

from provisioning.entra.graph_endpoint import EndpointError, parse_bulk_upload_url

JOB = "API2AAD.ded4600b620e486eb6f18b4fc7166a5f.30242ce7-13d1-4d46-9cf1-a4fe5dcee2da"
SP = "995aed29-05e3-4f1a-883e-f17b023d5c81"


@pytest.mark.parametrize(
    "host", ["graph.microsoft.com", "graph.microsoft.us", "dod-graph.microsoft.us", "microsoftgraph.chinacloudapi.cn"]
)
@pytest.mark.parametrize("version", ["v1.0", "beta"])
def test_every_national_cloud_and_version(host: str, version: str) -> None:
    endpoint = parse_bulk_upload_url(
        f"https://{host}/{version}/servicePrincipals/{SP}/synchronization/jobs/{JOB}/bulkUpload"
    )
    assert endpoint.base == f"https://{host}/{version}"
    assert endpoint.service_principal_id == SP and endpoint.job_id == JOB
    assert endpoint.schema_url == f"https://{host}/{version}/servicePrincipals/{SP}/synchronization/jobs/{JOB}/schema"
    assert endpoint.logs_url == f"https://{host}/{version}/auditLogs/provisioning"
    assert endpoint.scope == f"https://{host}/.default"
    assert not endpoint.targets_active_directory


def test_ad_jobs_are_recognised() -> None:
    url = f"https://graph.microsoft.com/v1.0/servicePrincipals/{SP}/synchronization/jobs/API2AD.abc.def/bulkUpload"
    assert parse_bulk_upload_url(url).targets_active_directory


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            f"https://evil.example.com/v1.0/servicePrincipals/{SP}/synchronization/jobs/{JOB}/bulkUpload",
            "evil.example.com is not a Microsoft Graph host",
        ),
        (
            f"http://graph.microsoft.com/v1.0/servicePrincipals/{SP}/synchronization/jobs/{JOB}/bulkUpload",
            "must use https",
        ),
        (
            f"https://graph.microsoft.com/v2.0/servicePrincipals/{SP}/synchronization/jobs/{JOB}/bulkUpload",
            "not a bulkUpload endpoint",
        ),
        (
            f"https://graph.microsoft.com/v1.0/servicePrincipals/{SP}/synchronization/jobs/{JOB}/schema",
            "not a bulkUpload endpoint",
        ),
        (
            f"https://graph.microsoft.com/v1.0/servicePrincipals/{SP}/synchronization/jobs/{JOB}/bulkUpload?x=secret",
            "takes no query",
        ),
        (
            f"http://127.0.0.1:8765/v1.0/servicePrincipals/{SP}/synchronization/jobs/{JOB}/bulkUpload",
            "loopback endpoint is only allowed",
        ),
        ("not a url", "no host"),
    ],
)
def test_refusals_say_why(url: str, message: str) -> None:
    with pytest.raises(EndpointError, match=message) as caught:
        parse_bulk_upload_url(url)
    assert "secret" not in str(caught.value)


def test_loopback_only_when_allowed_and_then_over_http() -> None:
    url = f"http://127.0.0.1:8765/beta/servicePrincipals/{SP}/synchronization/jobs/{JOB}/bulkUpload"
    endpoint = parse_bulk_upload_url(url, allow_loopback=True)
    assert endpoint.base == "http://127.0.0.1:8765/beta"
    assert endpoint.scope == "https://graph.microsoft.com/.default"
