"""The HTTP API's endpoints: each turns an ``ApiRequest`` into a call on the engine and its answer.

``function_app.py`` turns an ``azure.functions.HttpRequest`` into an ``ApiRequest`` and the ``ApiResponse``
back; everything else is here. Every error is an answer with a JSON reason (4xx for what the caller can
fix), never a stack trace.
"""

from __future__ import annotations

import itertools
import json
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from provisioning.core.errors import SourceError
from provisioning.core.mapping.automap import suggest_profile
from provisioning.core.plan.pipeline import Reject, plan_run
from provisioning.core.read.csv_source import CsvSource
from provisioning.core.read.json_source import JsonSource
from provisioning.core.read.records import RecordSource
from provisioning.core.results.log_query import provisioning_log_params
from provisioning.core.results.log_summary import summarise_everyone
from provisioning.doors.composition import AppServices
from provisioning.doors.http.mapping_api import MappingApi
from provisioning.doors.http.protocol import ApiError, ApiRequest, ApiResponse, flag, int_param, required
from provisioning.doors.http.starting import start_run
from provisioning.engine.connector_registry import connector_registry
from provisioning.engine.sources import UnsupportedFormat, open_source, source_format
from provisioning.engine.workflow import profile_feed, usage_day
from provisioning.hr.jobs import JOB_NAME, JOBS_PREFIX, inline_connector_config, parse_job, resolve_settings

log = logging.getLogger("provisioning.http")

OPENAPI_FILE = Path(__file__).with_name("openapi.json")
UI_DIR = Path(__file__).with_name("ui")
UI_FILES = {"index.html": "text/html; charset=utf-8", "app.js": "text/javascript; charset=utf-8",
            "app.css": "text/css; charset=utf-8"}  # fmt: skip
UI_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
"""The page loads nothing from anywhere else, and nothing else may frame it."""
LISTED_REJECTS = 1000
PREVIEW_REQUESTS = 20
"""Requests a preview answers with; the summary counts them all (a dry run stores them all)."""
EARLIEST_SINCE = datetime(2000, 1, 1, tzinfo=UTC)
"""The logs keep 30 days; an older ``since`` only finds nothing, but a date near year 1 overflows."""
SOURCE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_RUN_SUMMARY_FIELDS = {
    "runId",
    "trigger",
    "source",
    "profile",
    "status",
    "message",
    "createdAt",
    "finishedAt",
    "counts",
}


class Api:
    """The endpoints, bound to the app's services (built on first use by the caller)."""

    def __init__(self, services: Callable[[], AppServices]) -> None:
        self._services = services
        self.pages = MappingApi(services, self._checked_body)
        """The mapping page's endpoints (uploads, inline profiles, saving)."""

    @property
    def services(self) -> AppServices:
        return self._services()

    # ---- building and sending ----------------------------------------------------------------------

    def preview(self, request: ApiRequest) -> ApiResponse:
        profile_name = required(request, "mapping")
        source = self._source(request)
        profile = self.services.profiles.load(profile_name)
        rejects: list[Reject] = []

        def keep_some(reject: Reject) -> None:
            if len(rejects) <= LISTED_REJECTS:
                rejects.append(reject)

        plan = plan_run(source, profile, on_reject=keep_some, batch_size=self.services.settings.entra_batch_size)
        # The answer is bounded whatever the body: the summary, the first rejects and the first requests.
        # Every request of a large source is stored by a dry run (POST /api/provision?dryRun=true) instead.
        requests = [orjson.loads(r.body) for r in itertools.islice(plan.requests(), PREVIEW_REQUESTS)]
        plan.close()
        return ApiResponse(
            200,
            {
                "summary": plan.summary.as_json(),
                "rejects": [_reject_json(r) for r in rejects[:LISTED_REJECTS]],
                "rejectsTruncated": plan.summary.rejected > LISTED_REJECTS,
                "requests": requests,
                "requestsTruncated": plan.summary.requests > len(requests),
            },
        )

    def provision(self, request: ApiRequest) -> ApiResponse:
        profile_name = required(request, "mapping")
        dry_run = flag(request, "dryRun")
        source = self._source(request)
        feed = http_feed(profile_name, request.params.get("source"))
        return start_run(self.services, source, profile_name, feed=feed, dry_run=dry_run)

    def approve(self, request: ApiRequest) -> ApiResponse:
        record = self.services.workflow.approve(request.route["runId"], by="http", principal=self._principal(request))
        return ApiResponse(202, {"runId": record.runId, "status": record.status, "message": record.message})

    def retry(self, request: ApiRequest) -> ApiResponse:
        """The failed records of a run, sent again as a new run."""
        record = self.services.workflow.retry(request.route["runId"], principal=self._principal(request))
        location = f"/api/runs/{record.runId}"
        body = {
            "runId": record.runId,
            "retryOf": record.retryOf,
            "status": record.status,
            "message": record.message,
            "location": location,
        }
        return ApiResponse(202, body, {"Location": location})

    # ---- reading -----------------------------------------------------------------------------------

    def runs(self, request: ApiRequest) -> ApiResponse:
        limit = int_param(request, "limit", 50, 1, 500)
        records = self.services.state.list_runs(limit)
        return ApiResponse(
            200,
            {"runs": [r.model_dump(include=_RUN_SUMMARY_FIELDS) for r in records]},
        )

    def run(self, request: ApiRequest) -> ApiResponse:
        return ApiResponse(200, self.services.workflow.view(request.route["runId"]).model_dump(mode="json"))

    def results(self, request: ApiRequest) -> ApiResponse:
        """The run's results; with ``status``, ``search``, ``offset`` or ``limit``, one page of its outcomes
        (pending records included as status ``pending``), so a page never downloads a 100,000-worker run."""
        record = self.services.workflow.view(request.route["runId"])
        if record.results is None:
            return ApiResponse(
                202, {"runId": record.runId, "status": record.status, "message": "no results from the logs yet"}
            )
        if not any(name in request.params for name in ("status", "search", "offset", "limit")):
            return ApiResponse(200, {"runId": record.runId, "status": record.status, "results": record.results})
        wanted = request.params.get("status", "").strip()
        search = request.params.get("search", "").strip().lower()
        offset = int_param(request, "offset", 0, 0, 10_000_000)
        limit = int_param(request, "limit", 50, 1, 500)
        rows = [{"externalId": key, **value} for key, value in (record.results.get("outcomes") or {}).items()]
        rows += [{"externalId": key, "status": "pending"} for key in record.results.get("pending") or []]
        rows = [r for r in rows if (not wanted or r.get("status") == wanted)
                and (not search or search in str(r["externalId"]).lower())]  # fmt: skip
        body = {"runId": record.runId, "status": record.status, "outcomes": rows[offset : offset + limit],
                "offset": offset, "limit": limit, "total": len(rows)}  # fmt: skip
        return ApiResponse(200, body)

    def usage(self, request: ApiRequest) -> ApiResponse:
        """bulkUpload calls this app made today (UTC), against the tenant's daily quota."""
        day = usage_day()
        return ApiResponse(200, {"day": day, "bulkUploadCalls": self.services.state.calls_on(day)})

    def logs(self, request: ApiRequest) -> ApiResponse:
        text = required(request, "since")
        try:
            since = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ApiError(400, "InvalidParameter", f"since={text!r} is not an ISO date-time") from None
        if since.tzinfo is None:
            raise ApiError(400, "InvalidParameter", "since needs a time zone, e.g. 2026-11-28T09:00:00Z")
        if not EARLIEST_SINCE <= since <= datetime.now(UTC) + timedelta(days=1):
            raise ApiError(400, "InvalidParameter", "since must lie between the year 2000 and now")
        client = self.services.graph()
        params = provisioning_log_params(client.endpoint.job_id, since=since)
        entries = [entry for page in client.provisioning_logs(params) for entry in page]
        return ApiResponse(200, summarise_everyone(entries, since=since).as_json())

    def suggest(self, request: ApiRequest) -> ApiResponse:
        fields = self._fields_of(request)
        suggestion = suggest_profile(fields, name=request.params.get("name") or "suggested")
        return ApiResponse(
            200,
            {
                "profile": suggestion.profile,
                "matched": suggestion.matched,
                "unmatched": suggestion.unmatched,
                "notes": suggestion.notes,
            },
        )

    def connectors(self, request: ApiRequest) -> ApiResponse:
        from connectors.registry import public_view

        registry = connector_registry(self.services.settings, config=self.services.config)
        return ApiResponse(
            200,
            {
                "connectors": [public_view(d) for _, d in sorted(registry.definitions.items())],
                "invalidDefinitions": registry.problems,
            },
        )

    def test_connector(self, request: ApiRequest) -> ApiResponse:
        """One small request to an HR system: a stored job (``{"job": NAME}``, with its own configuration and
        host), or a configuration in the body, which may hold neither setting references nor file paths."""
        from provisioning.hr.connector_source import probe_connector

        settings = self.services.settings
        registry = connector_registry(settings, config=self.services.config).definitions
        connector_id = request.route["id"]
        if connector_id not in registry:
            raise ApiError(404, "UnknownConnector", f"connector {connector_id!r} not found")
        try:
            body = orjson.loads(self._checked_body(request))
        except orjson.JSONDecodeError as exc:
            raise ApiError(400, "InvalidJson", f"the body is not valid JSON: {exc}") from None
        if not isinstance(body, dict):
            raise ApiError(400, "InvalidJson", "the body must be the connector's configuration, a JSON object")
        stored = "job" in body
        config = self._stored_job_config(body, connector_id) if stored else inline_connector_config(body)
        default_profile = registry[connector_id].defaultProfile
        report = probe_connector(
            connector_id,
            config,
            name=body["job"] if stored else None,
            registry=registry,
            # A stored job's rotated refresh token is kept where its scheduled pulls read it; an inline
            # configuration is a one-off and keeps nothing.
            tokens=self.services.tokens() if stored else None,
            profile=self.services.profiles.load(default_profile) if default_profile else None,
            allow_loopback_http=settings.connectors_allow_loopback_http,
            allow_private_networks=settings.connectors_allow_private_networks,
        )
        return ApiResponse(200, {"connector": connector_id, "ok": report.ok, "report": report.lines})

    def _stored_job_config(self, body: dict[str, Any], connector_id: str) -> dict[str, Any]:
        """The configuration of a stored job, its setting references resolved: the only way a test uses them."""
        name = body["job"]
        if set(body) != {"job"} or not isinstance(name, str) or not JOB_NAME.fullmatch(name):
            raise ApiError(400, "InvalidParameter", 'send {"job": NAME} alone to test a stored job')
        config = self.services.config
        origin = f"{config.description}/{JOBS_PREFIX}{name}.json"
        data = config.read(f"{JOBS_PREFIX}{name}.json")
        if data is None:
            raise ApiError(404, "UnknownJob", f"connector job {name!r} not found")
        job = parse_job(data, origin)
        if job.connector != connector_id:
            raise ApiError(
                400, "InvalidParameter", f"job {name!r} uses connector {job.connector!r}, not {connector_id!r}"
            )
        return resolve_settings(job.config)

    def _principal(self, request: ApiRequest) -> str | None:
        """Who is signed in, as App Service authentication tells it (it strips these headers from callers, so
        they are believed only when it is on)."""
        if not self.services.settings.website_auth_enabled:
            return None
        name = request.headers.get("x-ms-client-principal-name", "").strip()
        return name[:256] or None

    def ui(self, request: ApiRequest) -> ApiResponse:
        """The mapping page and its files (no secret in them; the page asks for a function key when needed)."""
        name = request.route.get("file") or "index.html"
        if name not in UI_FILES:
            raise ApiError(404, "NotFound", f"no page file {name!r}")
        headers = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff",
                   "Content-Security-Policy": UI_CSP}  # fmt: skip
        return ApiResponse(200, (UI_DIR / name).read_bytes(), headers, content_type=UI_FILES[name])

    @staticmethod
    def health(request: ApiRequest) -> ApiResponse:
        return ApiResponse(200, {"status": "ok"})

    @staticmethod
    def openapi(request: ApiRequest) -> ApiResponse:
        return ApiResponse(200, json.loads(OPENAPI_FILE.read_text(encoding="utf-8")))

    # ---- request bodies ----------------------------------------------------------------------------

    def _checked_body(self, request: ApiRequest) -> bytes:
        limit = self.services.settings.http_max_body_bytes
        declared = request.headers.get("content-length", "")
        if (declared.isdigit() and int(declared) > limit) or len(request.body) > limit:
            raise ApiError(413, "BodyTooLarge", f"the body is larger than {limit} bytes (HTTP_MAX_BODY_BYTES)")
        if not request.body.strip():
            raise ApiError(400, "EmptyBody", "the body is empty: send CSV (text/csv) or JSON records")
        return request.body

    def _source(self, request: ApiRequest) -> RecordSource:
        body = self._checked_body(request)
        content_type = request.headers.get("content-type", "")
        if content_type.split(";")[0].strip().lower() in ("", "application/octet-stream"):
            raise ApiError(415, "UnsupportedMediaType", "send text/csv, application/json or application/x-ndjson")
        return open_source(
            body, name="request body", content_type=content_type, encoding=request.params.get("encoding") or None
        )

    def _fields_of(self, request: ApiRequest) -> list[str]:
        body = self._checked_body(request)
        content_type = request.headers.get("content-type", "")
        try:
            kind = source_format("request body", content_type)
        except UnsupportedFormat:
            raise ApiError(
                415, "UnsupportedMediaType", "send a CSV header (text/csv) or JSON field names or records"
            ) from None
        if kind == "csv":
            return CsvSource(body, name="request body").fields
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            try:
                lines = JsonSource.from_json(body, name="request body")  # JSON lines, or not JSON at all
            except SourceError:
                lines = None
            if lines is None or lines.line_label != "line":
                raise ApiError(400, "InvalidJson", f"the body is not valid JSON: {exc}") from None
            return lines.fields
        if isinstance(data, dict) and isinstance(data.get("fields"), list):
            data = data["fields"]
        if isinstance(data, list) and all(isinstance(f, str) for f in data):
            return list(data)
        records = data if isinstance(data, list) else [data]
        return JsonSource(records, name="request body").fields


def http_feed(profile_name: str, source: str | None) -> str:
    """The profile's feed, or with ``?source=`` a feed of its own that is still weighed against the
    profile's history when it has none."""
    if not source:
        return profile_feed(profile_name)
    if not SOURCE_NAME.fullmatch(source):
        raise ApiError(400, "InvalidParameter", "source must be 1 to 64 letters, digits, '.', '_' or '-'")
    return f"{profile_feed(profile_name)}/source:{source}"


def _reject_json(reject: Reject) -> dict[str, Any]:
    return {
        "line": reject.line,
        "externalId": reject.external_id,
        "field": reject.field,
        "value": reject.value,
        "reason": reject.reason,
    }


__all__ = ["Api"]
