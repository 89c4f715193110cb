"""The Graph endpoints the project uses, answered from an EntraEmulator's state.

Paths are matched under /v1.0/ and /beta/, literal segments in any case (Graph's are not
case-sensitive), with or without a trailing slash. Every request needs a bearer token, and one of
the application permissions its Graph page documents when the emulator was told the token's (403 else).
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import orjson

from emulators.entra_bulk import check_content_type, parse_bulk_request
from emulators.entra_errors import GraphError
from emulators.entra_jobs import JobState, job_resource
from emulators.entra_log_query import BETA_ONLY_KEYS, decode_token, encode_token, parse_filter, parse_order, parse_top
from emulators.entra_schema_check import check_schema
from emulators.entra_server import Request, Response
from emulators.entra_throttle import given_retry_after, retry_after_header

if TYPE_CHECKING:
    from emulators.entra import EntraEmulator

VERSIONS = ("v1.0", "beta")
JSON_TYPE = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
_JOB_ACTIONS = {"start": "Active", "pause": "Paused", "restart": "Active"}
# The application permissions each call accepts (any one), from its Graph page. The .OwnedBy ones work
# only on apps the caller owns; the emulator does not model ownership and accepts them.
# https://learn.microsoft.com/graph/api/synchronization-synchronizationjob-post-bulkupload
UPLOAD = ("SynchronizationData-User.Upload", "SynchronizationData-User.Upload.OwnedBy")
# https://learn.microsoft.com/graph/api/synchronization-synchronizationjob-get (listing the jobs: taken as the same)
READ_JOB = ("Synchronization.Read.All", "Synchronization.ReadWrite.All", "Application.ReadWrite.OwnedBy")
# https://learn.microsoft.com/graph/api/synchronization-synchronizationschema-get
READ_SCHEMA = (*READ_JOB, "CustomSecAttributeProvisioning.Read.All", "CustomSecAttributeProvisioning.ReadWrite.All")
# https://learn.microsoft.com/graph/api/synchronization-synchronizationschema-update, and -start, -pause, -restart
WRITE_JOB = ("Synchronization.ReadWrite.All", "Application.ReadWrite.OwnedBy")
# https://learn.microsoft.com/graph/api/provisioningobjectsummary-list lists AuditLog.Read.All and Directory.Read.All;
# the Entra inbound provisioning pages grant ProvisioningLog.Read.All (docs/entra-api.md section 3). Any one will do.
READ_LOGS = ("ProvisioningLog.Read.All", "AuditLog.Read.All", "Directory.Read.All")


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(status, {"Content-Type": JSON_TYPE, **(headers or {})}, orjson.dumps(payload))


def route(emulator: EntraEmulator, request: Request) -> Response:
    segments = [s for s in request.path.split("/") if s]
    if not segments or segments[0].lower() not in VERSIONS:
        raise GraphError(404, f"Resource not found for the segment '{segments[0] if segments else ''}'.")
    version, rest = segments[0].lower(), segments[1:]
    lowered = [s.lower() for s in rest]
    token = emulator._authenticate(request.header("authorization"))

    if lowered == ["auditlogs", "provisioning"]:
        _allow(request, "GET")
        emulator._authorize(token, READ_LOGS)
        return _provisioning_logs(emulator, request, version)
    if len(rest) >= 4 and lowered[0] == "serviceprincipals" and lowered[2:4] == ["synchronization", "jobs"]:
        sp = rest[1]
        if len(rest) == 4:
            _allow(request, "GET")
            emulator._authorize(token, READ_JOB)
            return _list_jobs(emulator, version, sp)
        job = emulator._job(sp, rest[4])
        tail = lowered[5:]
        if not tail:
            _allow(request, "GET")
            emulator._authorize(token, READ_JOB)
            jobs = f"{emulator.base_url}/{version}/$metadata#servicePrincipals('{sp}')/synchronization/jobs"
            context = f"{jobs}/$entity"
            with job.lock:
                return json_response(200, job_resource(job, context))
        if tail == ["bulkupload"]:
            _allow(request, "POST")
            emulator._authorize(token, UPLOAD)
            return _bulk_upload(emulator, request, version, job)
        if tail == ["schema"]:
            _allow(request, "GET", "PUT")
            emulator._authorize(token, READ_SCHEMA if request.method == "GET" else WRITE_JOB)
            return _schema(emulator, request, version, sp, job)
        if len(tail) == 1 and tail[0] in _JOB_ACTIONS:
            _allow(request, "POST")
            emulator._authorize(token, WRITE_JOB)
            emulator._set_status(job, _JOB_ACTIONS[tail[0]], purge=tail[0] == "restart")
            return Response(204)
    raise GraphError(404, f"Resource not found for the segment '{'/'.join(rest)}'.")


def _allow(request: Request, *methods: str) -> None:
    """A known path with the wrong method: 405 (more useful to a client author than a 404)."""
    if request.method not in methods:
        raise GraphError(
            405,
            f"The HTTP method '{request.method}' is not allowed here; use {' or '.join(methods)}.",
            headers={"Allow": ", ".join(methods)},
        )


def _bulk_upload(emulator: EntraEmulator, request: Request, version: str, job: JobState) -> Response:
    emulator._count_upload()
    fault = emulator._take_fault()
    if fault is not None:
        status, retry_after = fault
        headers = {"Retry-After": given_retry_after(retry_after)} if retry_after is not None else {}
        raise GraphError(status, headers=headers)
    now = emulator._clock()
    with job.lock, emulator._lock:  # the daily window is the tenant's, shared with its other jobs
        windows = [(job.daily, "tenant's daily quota"), (job.window, "job's rate limit")]
        for window, what in [(w, what) for w, what in windows if w is not None]:
            wait = window.retry_after(now)
            if wait is not None:
                # Throttling answers 429 with Retry-After; whether the daily quota does is unconfirmed, so it
                # is a switch (EntraEmulator.quota_retry_after) and the tests run both.
                silent = window is job.daily and not emulator.quota_retry_after
                raise GraphError(
                    429,
                    f"The {what} for bulkUpload ({window.limit} calls per {window.seconds:g} s) "
                    "is used up. Please retry after the time given in Retry-After.",
                    headers={} if silent else {"Retry-After": retry_after_header(wait)},
                )
        job.window.admit(now)
        if job.daily is not None:
            job.daily.admit(now)
    if emulator._draw_failure():
        raise GraphError(emulator.fail_status)
    check_content_type(request.header("content-type"))
    users = parse_bulk_request(request.body)
    emulator._accept(job, users)
    job_id = job.identity.job_id
    location = f"{emulator.base_url}/{version}/auditLogs/provisioning/?$filter=jobid eq '{job_id}'"
    return Response(202, {"Location": location})


def _provisioning_logs(emulator: EntraEmulator, request: Request, version: str) -> Response:
    _throttle_log_read(emulator)
    params = {key.lstrip("$").lower(): value for key, value in request.query.items()}
    clauses = parse_filter(params.get("filter"), beta=version == "beta")
    top = parse_top(params.get("top"))
    ascending = parse_order(params.get("orderby"))
    after = decode_token(params["skiptoken"]) if params.get("skiptoken") else None
    entries, last = emulator._logs.page(clauses, top, after, ascending)
    base = f"{emulator.base_url}/{version}"
    payload: dict[str, Any] = {"@odata.context": f"{base}/$metadata#auditLogs/provisioning"}
    if last is not None:
        kept = [(f"${name}", params[name]) for name in ("filter", "top", "orderby") if name in params]
        kept.append(("$skiptoken", encode_token(last)))
        query = "&".join(f"{name}={quote(value, safe=chr(39))}" for name, value in kept)
        payload["@odata.nextLink"] = f"{base}/auditLogs/provisioning?{query}"
    if version != "beta":
        entries = [{k: v for k, v in entry.items() if k not in BETA_ONLY_KEYS} for entry in entries]
    payload["value"] = entries
    return json_response(200, payload)


def _throttle_log_read(emulator: EntraEmulator) -> None:
    """Every page is a request: a long listing is paced like any other reads (429 with Retry-After, which
    Graph sends on throttling; Microsoft Graph throttling guidance)."""
    window = emulator.log_window
    if window is None:
        return
    now = emulator._clock()
    with emulator._lock:
        wait = window.retry_after(now)
        if wait is None:
            window.admit(now)
            return
    raise GraphError(
        429,
        f"Too many requests to the provisioning logs ({window.limit} per {window.seconds:g} s per app and tenant). "
        "Please retry after the time given in Retry-After.",
        headers={"Retry-After": retry_after_header(wait)},
    )


def _list_jobs(emulator: EntraEmulator, version: str, sp: str) -> Response:
    jobs = emulator._jobs_of(sp)
    context = f"{emulator.base_url}/{version}/$metadata#servicePrincipals('{sp}')/synchronization/jobs"
    values = []
    for job in jobs:
        with job.lock:
            resource = job_resource(job, context)
        resource.pop("@odata.context")
        values.append(resource)
    return json_response(200, {"@odata.context": context, "value": values})


def _schema(emulator: EntraEmulator, request: Request, version: str, sp: str, job: JobState) -> Response:
    if request.method == "GET":
        with job.lock:
            schema = copy.deepcopy(job.schema)
        context = (
            f"{emulator.base_url}/{version}/$metadata#servicePrincipals('{sp}')/synchronization/jobs"
            f"('{job.identity.job_id}')/schema/$entity"
        )
        return json_response(200, {"@odata.context": context, **schema})
    with job.lock:
        job.schema_puts += 1
    try:
        body = orjson.loads(request.body)
    except orjson.JSONDecodeError as exc:
        raise GraphError(400, f"The schema is not JSON ({exc})") from exc
    schema = check_schema(body)
    schema.pop("@odata.context", None)
    with job.lock:
        job.replace_schema(schema)
    return Response(204)
