"""The mapping page's endpoints: an uploaded file (or an HR connector's sample) kept under an id, and the steps
that follow on it with a profile the page edits: suggest, validate, preview, schema-sync dry run, save, send.

The server does the work: a 100,000-row file is uploaded once and parsed here; the page only ever asks for a
page of rows or of requests.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import ValidationError

from provisioning.core.errors import ProfileError, SourceError
from provisioning.core.mapping.automap import suggest_profile
from provisioning.core.mapping.profile import Profile
from provisioning.core.mapping.profiles import PROFILE_NAME, parse_profile, with_upn_domain
from provisioning.core.plan.pipeline import Reject, plan_run
from provisioning.core.read.csv_source import CsvSource
from provisioning.core.read.records import RecordSource
from provisioning.core.schema.entra_targets import ENTRA_TARGET_GROUPS
from provisioning.doors.composition import AppServices
from provisioning.doors.http.protocol import ApiError, ApiRequest, ApiResponse, flag, int_param, required
from provisioning.doors.http.starting import start_run
from provisioning.engine.sources import UnsupportedFormat, open_source, source_format
from provisioning.engine.workflow import profile_feed, sync_job_schema
from provisioning.hr.jobs import JOB_NAME, JOBS_PREFIX, parse_job, resolve_settings

UPLOAD_ID = "[0-9a-f]{32}"
LISTED_REJECTS = 1000
MAX_ROWS_PAGE = 200
MAX_REQUESTS_PAGE = 20
UNSUPPORTED = "send text/csv, application/json or application/x-ndjson"
SAMPLE_LIMIT = 1000
"""An HR connector's sample: enough to map, bounded whatever the system holds."""


class MappingApi:
    def __init__(self, services: Callable[[], AppServices], checked_body: Callable[[ApiRequest], bytes]) -> None:
        self._services = services
        self._checked_body = checked_body

    @property
    def services(self) -> AppServices:
        return self._services()

    # ---- uploads ------------------------------------------------------------------------------------

    def upload(self, request: ApiRequest) -> ApiResponse:
        body = self._checked_body(request)
        name = _file_name(request.params.get("name") or "upload")
        content_type = request.headers.get("content-type", "")
        try:
            kind = source_format(name, content_type)
        except UnsupportedFormat:
            raise ApiError(
                415, "UnsupportedMediaType", "send text/csv, application/json or application/x-ndjson"
            ) from None
        meta = self._store(body, name, kind, encoding=request.params.get("encoding") or None)
        return ApiResponse(201, meta, {"Location": f"/api/uploads/{meta['uploadId']}"})

    def _store(self, body: bytes, name: str, kind: str, *, encoding: str | None = None) -> dict[str, Any]:
        source = _open(body, name, kind, encoding)
        rows = sum(1 for _ in source.records())  # the whole file once: its count, and every file-level error now
        upload_id = uuid.uuid4().hex
        meta = {
            "uploadId": upload_id,
            "name": name,
            "format": "csv" if isinstance(source, CsvSource) else "jsonl" if source.line_label == "line" else "json",
            "encoding": getattr(source, "encoding", "utf-8"),
            "delimiter": getattr(source, "delimiter", None),
            "rows": rows,
            "fields": source.fields,
            "blankLines": getattr(source, "blank_lines", 0),
            "createdAt": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        }
        uploads = self.services.uploads
        uploads.write(f"{upload_id}/source", body)
        uploads.write(f"{upload_id}/meta.json", orjson.dumps(meta))
        return meta

    def rows(self, request: ApiRequest) -> ApiResponse:
        meta, source = self._upload(request)
        offset = int_param(request, "offset", 0, 0, 10_000_000)
        limit = int_param(request, "limit", 50, 1, MAX_ROWS_PAGE)
        page = []
        for _, record in itertools.islice(source.records(), offset, offset + limit):
            page.append(_row(record, source))
        return ApiResponse(200, {"rows": page, "offset": offset, "limit": limit, "total": meta["rows"]})

    def suggest(self, request: ApiRequest) -> ApiResponse:
        meta, _ = self._upload(request)
        suggestion = suggest_profile(meta["fields"], name=_profile_name_of(meta["name"]))
        return ApiResponse(200, {"profile": suggestion.profile, "matched": suggestion.matched,
                                 "unmatched": suggestion.unmatched, "notes": suggestion.notes})  # fmt: skip

    def validate(self, request: ApiRequest) -> ApiResponse:
        _, source = self._upload(request)
        profile = self._inline_profile(request)
        rejects: list[Reject] = []
        plan = plan_run(source, profile, on_reject=_keep_some(rejects), batch_size=self._batch_size())
        plan.close()
        summary = plan.summary
        return ApiResponse(200, {
            "summary": summary.as_json(),
            "rejects": [_reject_json(r) for r in rejects[:LISTED_REJECTS]],
            "rejectsTruncated": summary.rejected > LISTED_REJECTS,
        })  # fmt: skip

    def preview(self, request: ApiRequest) -> ApiResponse:
        _, source = self._upload(request)
        profile = self._inline_profile(request)
        offset = int_param(request, "offset", 0, 0, 1_000_000)
        limit = int_param(request, "limit", 5, 1, MAX_REQUESTS_PAGE)
        plan = plan_run(source, profile, on_reject=lambda reject: None, batch_size=self._batch_size())
        try:
            requests = [orjson.loads(r.body) for r in itertools.islice(plan.requests(), offset, offset + limit)]
        finally:
            plan.close()
        summary = plan.summary
        return ApiResponse(200, {"summary": summary.as_json(), "requests": requests, "offset": offset,
                                 "limit": limit, "total": summary.requests})  # fmt: skip

    def provision(self, request: ApiRequest) -> ApiResponse:
        """Starts a run of the upload with a saved profile (a run is approved and retried by profile name)."""
        _, source = self._upload(request)
        profile_name = required(request, "mapping")
        return start_run(self.services, source, profile_name, feed=profile_feed(profile_name),
                         dry_run=flag(request, "dryRun"))  # fmt: skip

    # ---- profiles -----------------------------------------------------------------------------------

    def list_mappings(self, request: ApiRequest) -> ApiResponse:
        names = self.services.profiles.names()
        return ApiResponse(200, {"mappings": [{"name": n, "origin": origin} for n, origin in names]})

    def get_mapping(self, request: ApiRequest) -> ApiResponse:
        name = _checked_profile_name(request.route["name"])
        saved = self.services.profiles.saved(name)
        if saved is not None:
            return ApiResponse(200, orjson.loads(saved))
        profile = self.services.profiles.load(name)  # bundled, or 404
        return ApiResponse(200, profile.model_dump(mode="json", by_alias=True, exclude_none=True))

    def save_mapping(self, request: ApiRequest) -> ApiResponse:
        name = _checked_profile_name(request.route["name"])
        body = self._checked_body(request)
        _parse_profile(body, name)  # refused unless valid; kept as written (shorthand rules stay short)
        exists = self.services.profiles.saved(name) is not None or name in {
            n for n, _ in self.services.profiles.names()
        }
        if exists and not flag(request, "overwrite"):
            raise ApiError(409, "Exists", f"a profile named {name!r} exists: save with overwrite=true to replace it")
        data = orjson.loads(body)
        if not isinstance(data, dict):
            raise ApiError(400, "InvalidProfile", "a mapping profile is a JSON object")
        data["name"] = name
        self.services.profiles.save(name, orjson.dumps(data, option=orjson.OPT_INDENT_2))
        return ApiResponse(200 if exists else 201, {"name": name, "saved": True}, {"Location": f"/api/mappings/{name}"})

    def schema_sync(self, request: ApiRequest) -> ApiResponse:
        """The changes the profile's custom attributes would make to the job's schema; never written."""
        profile = self._inline_profile(request)
        entry, diff = sync_job_schema(self.services.graph(), profile, dry_run=True)
        return ApiResponse(200, {"changes": (entry or {}).get("changes", []), "written": False, "diff": diff})

    @staticmethod
    def entra_targets(request: ApiRequest) -> ApiResponse:
        groups = [{"name": group, "attributes": list(names)} for group, names in ENTRA_TARGET_GROUPS]
        return ApiResponse(200, {"groups": groups})

    # ---- HR connector jobs --------------------------------------------------------------------------

    def connector_jobs(self, request: ApiRequest) -> ApiResponse:
        """The configured jobs: names and connectors only, never their configuration."""
        config = self.services.config
        jobs = []
        for blob in config.names(JOBS_PREFIX):
            rest = blob[len(JOBS_PREFIX) :]
            if "/" in rest or not rest.endswith(".json"):
                continue  # definitions/ and other folders
            data = config.read(blob)
            if data is None:
                continue
            try:
                job = parse_job(data, f"{config.description}/{blob}")
            except ProfileError as exc:
                jobs.append({"name": rest.removesuffix(".json"), "connector": None, "enabled": False,
                             "profile": None, "problem": str(exc)})  # fmt: skip
                continue
            jobs.append({"name": job.name, "connector": job.connector, "enabled": job.enabled, "profile": job.profile})
        return ApiResponse(200, {"jobs": jobs})

    def connector_sample(self, request: ApiRequest) -> ApiResponse:
        """The first records of a configured job's HR system, kept as an upload for the mapping steps."""
        from provisioning.engine.connector_registry import connector_registry
        from provisioning.hr.connector_source import connector_source

        name = request.route["name"]
        if not JOB_NAME.fullmatch(name):
            raise ApiError(400, "InvalidParameter", "a job name is letters, digits, '-' and '_'")
        services = self.services
        data = services.config.read(f"{JOBS_PREFIX}{name}.json")
        if data is None:
            raise ApiError(404, "UnknownJob", f"connector job {name!r} not found")
        job = parse_job(data, f"{services.config.description}/{JOBS_PREFIX}{name}.json")
        limit = int_param(request, "limit", 200, 1, SAMPLE_LIMIT)
        settings = services.settings
        source = connector_source(
            job.connector,
            resolve_settings(job.config),
            name=job.name,
            registry=connector_registry(settings, config=services.config).definitions,
            tokens=services.tokens(),
            limit=limit,
            allow_loopback_http=settings.connectors_allow_loopback_http,
            allow_private_networks=settings.connectors_allow_private_networks,
        )
        body = b"\n".join(orjson.dumps(record) for _, record in source.records())
        if not body:
            raise ApiError(400, "EmptySample", f"connector job {name!r} returned no records")
        meta = self._store(body + b"\n", f"{name}.jsonl", "json")
        meta["job"] = {"name": job.name, "connector": job.connector, "profile": job.profile}
        return ApiResponse(201, meta, {"Location": f"/api/uploads/{meta['uploadId']}"})

    # ---- helpers ------------------------------------------------------------------------------------

    def _upload(self, request: ApiRequest) -> tuple[dict[str, Any], RecordSource]:
        upload_id = request.route.get("uploadId", "")
        if len(upload_id) != 32 or any(c not in "0123456789abcdef" for c in upload_id):
            raise ApiError(404, "UnknownUpload", "no such upload")
        uploads = self.services.uploads
        meta_bytes, body = uploads.read(f"{upload_id}/meta.json"), uploads.read(f"{upload_id}/source")
        if meta_bytes is None or body is None:
            raise ApiError(
                404, "UnknownUpload", f"upload {upload_id} not found (uploads are kept for the page's steps)"
            )
        meta = orjson.loads(meta_bytes)
        return meta, _open(body, meta["name"], "csv" if meta["format"] == "csv" else "json", meta.get("encoding"))

    def _inline_profile(self, request: ApiRequest) -> Profile:
        try:
            document = orjson.loads(self._checked_body(request))
        except orjson.JSONDecodeError as exc:
            raise ApiError(400, "InvalidJson", f"the body is not valid JSON: {exc}") from None
        if not isinstance(document, dict) or not isinstance(document.get("profile"), dict):
            raise ApiError(400, "InvalidProfile", 'send {"profile": {...a mapping profile...}}')
        profile = _parse_profile(orjson.dumps(document["profile"]), document["profile"].get("name") or "page")
        return with_upn_domain(profile, self.services.settings.hr_upn_domain)

    def _batch_size(self) -> int:
        return int(self.services.settings.entra_batch_size)


def _open(body: bytes, name: str, kind: str, encoding: str | None) -> RecordSource:
    try:
        return open_source(body, name=name, content_type="text/csv" if kind == "csv" else "application/json",
                           encoding=encoding)  # fmt: skip
    except (SourceError, UnicodeError, LookupError) as exc:
        raise ApiError(400, "InvalidSource", str(exc)) from None


def _row(record: Any, source: RecordSource) -> dict[str, Any]:
    """One row as the page's table shows it: the CSV's columns, or a JSON record's top-level fields."""
    if isinstance(record, list) and isinstance(source, CsvSource):
        return dict(zip(source.fields, record, strict=False))
    if isinstance(record, dict):
        return {k: v if isinstance(v, str | int | float | bool) or v is None else orjson.dumps(v).decode()
                for k, v in record.items()}  # fmt: skip
    return {"(row)": str(record)}


def _parse_profile(data: bytes, name: str) -> Profile:
    try:
        return parse_profile(data, origin="the profile", default_name=name)
    except (ProfileError, ValidationError) as exc:
        raise ApiError(400, "InvalidProfile", str(exc)) from None


def _checked_profile_name(name: str) -> str:
    if not PROFILE_NAME.fullmatch(name or "") or len(name) > 64:
        raise ApiError(400, "InvalidName", "a profile name is 1 to 64 letters, digits, '-' and '_'")
    return name


def _profile_name_of(file_name: str) -> str:
    stem = file_name.rsplit(".", 1)[0]
    cleaned = "".join(c if c.isalnum() or c in "-_" else "-" for c in stem).strip("-_")
    return cleaned[:64] or "suggested"


def _file_name(name: str) -> str:
    return "".join(c for c in name if c.isprintable() and c not in "/\\")[:128] or "upload"


def _keep_some(rejects: list[Reject]) -> Callable[[Reject], None]:
    def keep(reject: Reject) -> None:
        if len(rejects) <= LISTED_REJECTS:
            rejects.append(reject)

    return keep


def _reject_json(reject: Reject) -> dict[str, Any]:
    return {"line": reject.line, "externalId": reject.external_id, "field": reject.field, "value": reject.value,
            "reason": reject.reason}  # fmt: skip


__all__ = ["MappingApi"]
