"""The bulkUpload URL an admin copies from the portal, and the Graph base every other call derives from it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from provisioning.core.errors import ProvisioningError
from provisioning.core.redact import redact_url

GRAPH_HOSTS = frozenset(
    {
        "graph.microsoft.com",  # global
        "graph.microsoft.us",  # US Government L4
        "dod-graph.microsoft.us",  # US Government L5 (DoD)
        "microsoftgraph.chinacloudapi.cn",  # operated by 21Vianet
    }
)
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})
GLOBAL_LOGIN_HOST = "login.microsoftonline.com"
_LOGIN_HOSTS = {
    # A secret or certificate signs in at its cloud's login host: azure.identity.AzureAuthorityHosts' values,
    # written out because only the composition root loads azure-identity.
    "graph.microsoft.com": GLOBAL_LOGIN_HOST,
    "graph.microsoft.us": "login.microsoftonline.us",  # L4 and L5 share the US Government login host
    "dod-graph.microsoft.us": "login.microsoftonline.us",
    "microsoftgraph.chinacloudapi.cn": "login.chinacloudapi.cn",
}
_PATH = re.compile(
    r"^/(?P<version>v1\.0|beta)/servicePrincipals/(?P<sp>[^/]+)/synchronization/jobs/(?P<job>[^/]+)/bulkUpload/?$",
    re.IGNORECASE,
)


class EndpointError(ProvisioningError):
    """The configured URL is not a bulkUpload endpoint of an allowed Graph host."""


@dataclass(frozen=True)
class GraphEndpoint:
    """Where one provisioning job lives: Graph base (scheme, host, version), service principal and job."""

    base: str
    """``https://graph.microsoft.com/v1.0``: schema, job and log calls go to the same host and version."""
    service_principal_id: str
    job_id: str

    @property
    def job_url(self) -> str:
        service_principal, job = quote(self.service_principal_id), quote(self.job_id)
        return f"{self.base}/servicePrincipals/{service_principal}/synchronization/jobs/{job}"

    @property
    def bulk_upload_url(self) -> str:
        return f"{self.job_url}/bulkUpload"

    @property
    def schema_url(self) -> str:
        return f"{self.job_url}/schema"

    @property
    def logs_url(self) -> str:
        return f"{self.base}/auditLogs/provisioning"

    @property
    def scope(self) -> str:
        """The token scope: the Graph host's own ``/.default`` (national clouds have their own)."""
        scheme_host = self.base.rsplit("/", 1)[0]
        if urlsplit(scheme_host).hostname in LOOPBACK_HOSTS:
            return "https://graph.microsoft.com/.default"
        return f"{scheme_host}/.default"

    @property
    def targets_active_directory(self) -> bool:
        """Jobs named ``API2AD...`` provision on-premises AD through the agent."""
        return self.job_id.upper().startswith("API2AD.")


def authority_for(graph_host: str) -> str:
    """The login host whose tokens ``graph_host`` accepts; the global one for any other host (the emulator)."""
    return _LOGIN_HOSTS.get(graph_host.strip().lower(), GLOBAL_LOGIN_HOST)


def parse_bulk_upload_url(url: str, *, allow_loopback: bool = False) -> GraphEndpoint:
    """A GraphEndpoint from the portal's "Provisioning API Endpoint", or an ``EndpointError`` that says why.

    Only https Graph hosts are accepted; ``allow_loopback`` admits http://127.0.0.1 (tests, the emulator).
    """
    parts = urlsplit(url.strip())
    shown = redact_url(url.split("?", 1)[0])
    if parts.username is not None or parts.password is not None:
        raise EndpointError(f"{shown}: the endpoint carries a user name or password; Graph takes neither")
    host = (parts.hostname or "").lower()
    loopback = host in LOOPBACK_HOSTS
    if loopback and not allow_loopback:
        raise EndpointError(f"{shown}: a loopback endpoint is only allowed for tests and the emulator")
    if not loopback and host not in GRAPH_HOSTS:
        allowed = ", ".join(sorted(GRAPH_HOSTS))
        raise EndpointError(f"{shown}: {host or 'no host'} is not a Microsoft Graph host ({allowed})")
    if parts.scheme != "https" and not loopback:
        raise EndpointError(f"{shown}: the endpoint must use https")
    if parts.query or parts.fragment:
        raise EndpointError(f"{shown}: the endpoint takes no query or fragment")
    match = _PATH.match(parts.path)
    if match is None:
        raise EndpointError(
            f"{shown}: not a bulkUpload endpoint; expected "
            "https://graph.microsoft.com/v1.0/servicePrincipals/{id}/synchronization/jobs/{jobId}/bulkUpload"
        )
    version = "beta" if match["version"].lower() == "beta" else "v1.0"
    return GraphEndpoint(
        base=f"{parts.scheme}://{parts.netloc}/{version}",
        service_principal_id=match["sp"],
        job_id=match["job"],
    )
