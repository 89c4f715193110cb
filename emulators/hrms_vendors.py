"""Each vendor's routes: token endpoints, the worker list with its paging and end-of-data rule.

Paths are relative to the emulator's base URL. Data calls take injected faults once their path has
matched; token calls never do. Unknown paths get 404, a known path with another method 405.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import orjson

from emulators import hrms_shapes as shapes
from emulators.entra_server import Request, Response
from emulators.hrms_custom import route_custom
from emulators.hrms_http import (
    HrmsError,
    basic_credentials,
    client_of,
    form,
    int_param,
    json_response,
    not_found,
    unauthorized,
)

if TYPE_CHECKING:
    from emulators.hrms import HrmsEmulator
    from emulators.hrms_data import Person

ORACLE_WORKERS = "/hcmRestApi/resources/11.13.18.05/workers"
ORACLE_DEFAULT_EXPAND = "names,emails,workRelationships.assignments"
SF_DEFAULT_PAGE = 50


def raw_records(emu: HrmsEmulator) -> list[dict[str, Any]]:
    """The records as served: SuccessFactors fully expanded, Oracle with the documented expand."""
    from emulators.hrms import TENANT

    people, vendor, base = emu.people, emu.vendor, emu.base_url
    if vendor == "workday":
        return [shapes.workday(p, people, base, TENANT) for p in people]
    if vendor == "workday-raas":
        return [shapes.workday_raas(p, people) for p in people]
    if vendor == "successfactors":
        return [shapes.successfactors(p, people, base) for p in people]
    if vendor == "bamboohr":
        return [shapes.bamboohr(p, people) for p in people]
    if vendor == "adp":
        return [shapes.adp(p, people) for p in people]
    if vendor == "oracle-hcm":
        return [shapes.oracle(p, people, set(ORACLE_DEFAULT_EXPAND.split(","))) for p in people]
    return [shapes.custom(p, people) for p in people]


def parse_since(since: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(since.strip().replace("Z", "+00:00"))
    except ValueError:
        raise HrmsError(
            400, {"error": "invalid_parameter", "message": f"since must be ISO 8601, got {since!r}"}
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def route(emu: HrmsEmulator, request: Request) -> Response:
    handler = {
        "workday": _workday,
        "workday-raas": _workday,
        "successfactors": _successfactors,
        "bamboohr": _bamboohr,
        "adp": _adp,
        "oracle-hcm": _oracle,
        "custom-rest": route_custom,
    }[emu.vendor]
    return handler(emu, request)


def _method(request: Request, expected: str) -> None:
    if request.method != expected:
        raise HrmsError(405, {"error": "method_not_allowed", "message": f"use {expected}"}, {"Allow": expected})


def _basic_ok(request: Request, user: str, password: str) -> bool:
    return basic_credentials(request) == (user, password)


# Workday (REST and RaaS share the token endpoint)


def _workday(emu: HrmsEmulator, request: Request) -> Response:
    from emulators.hrms import CLIENT_ID, CLIENT_SECRET, PASSWORD, REPORT_NAME, REPORT_OWNER, TENANT, USERNAME

    path = request.path.rstrip("/")
    if path == f"/ccx/oauth2/{TENANT}/token":
        _method(request, "POST")
        fields = form(request)
        if fields.get("grant_type") != "refresh_token":
            raise HrmsError(400, {"error": "unsupported_grant_type"})
        if client_of(request, fields) != (CLIENT_ID, CLIENT_SECRET) or fields.get("refresh_token") != emu.refresh_token:
            raise HrmsError(400, {"error": "invalid_grant", "error_description": "Invalid refresh token or client"})
        return json_response(200, {**emu.issue_token(), "refresh_token": emu.rotate_refresh_token()})
    if emu.vendor == "workday" and path in (f"/ccx/api/v1/{TENANT}/workers", f"/ccx/api/staffing/v6/{TENANT}/workers"):
        _method(request, "GET")
        emu.take_fault()
        if not emu.bearer_ok(request):
            raise unauthorized("Bearer")
        limit = int_param(request.query, "limit", 20, minimum=1, maximum=emu.max_page_size)
        offset = int_param(request.query, "offset", 0)
        return json_response(200, {"total": len(emu.raw_workers), "data": emu.raw_workers[offset : offset + limit]})
    if emu.vendor == "workday-raas" and path == f"/ccx/service/customreport2/{TENANT}/{REPORT_OWNER}/{REPORT_NAME}":
        _method(request, "GET")
        emu.take_fault()
        if not (_basic_ok(request, USERNAME, PASSWORD) or emu.bearer_ok(request)):
            raise unauthorized()
        if request.query.get("format", "").lower() != "json":
            raise HrmsError(400, {"error": "format", "message": "this emulator serves format=json only"})
        return json_response(200, {"Report_Entry": emu.raw_workers})
    raise not_found(request.path)


# SuccessFactors


def _encode_skiptoken(start: int) -> str:
    return base64.urlsafe_b64encode(orjson.dumps({"startRow": start})).decode().rstrip("=")


def _decode_skiptoken(token: str) -> int:
    try:
        start = orjson.loads(base64.urlsafe_b64decode(token.strip("'") + "=" * (-len(token.strip("'")) % 4)))
        return int(start["startRow"])
    except (binascii.Error, ValueError, KeyError, TypeError, orjson.JSONDecodeError):
        raise HrmsError(400, {"error": {"code": "COE_BAD_REQUEST", "message": {"value": "bad $skiptoken"}}}) from None


def _successfactors(emu: HrmsEmulator, request: Request) -> Response:
    from emulators.hrms import CLIENT_ID, CLIENT_SECRET, PASSWORD, SF_COMPANY, USERNAME

    path = request.path.rstrip("/")
    if path == "/oauth/token":
        _method(request, "POST")
        fields = form(request)
        if fields.get("grant_type") != "client_credentials":
            raise HrmsError(400, {"error": "unsupported_grant_type"})
        if client_of(request, fields) != (CLIENT_ID, CLIENT_SECRET):
            raise HrmsError(400, {"error": "invalid_client"})
        return json_response(200, emu.issue_token())
    if path != "/odata/v2/PerPerson":
        raise not_found(request.path)
    _method(request, "GET")
    emu.take_fault()
    if not (_basic_ok(request, f"{USERNAME}@{SF_COMPANY}", PASSWORD) or emu.bearer_ok(request)):
        raise unauthorized()
    query = request.query
    workers = _sf_filtered(emu, query.get("$filter", ""))
    expanded: set[str] = set()
    for item in query.get("$expand", "").split(","):
        parts = [p.strip() for p in item.split("/") if p.strip()]
        expanded.update("/".join(parts[: n + 1]) for n in range(len(parts)))
    total = len(workers)
    if "$top" in query or "$skip" in query:  # client-side paging: the slice asked for, no __next
        top = int_param(query, "$top", emu.max_page_size, minimum=0, maximum=emu.max_page_size)
        start = int_param(query, "$skip", 0)
        end, next_url = start + top, None
    else:
        size = int_param(query, "customPageSize", min(SF_DEFAULT_PAGE, emu.max_page_size), minimum=1)
        if size > emu.max_page_size:
            raise HrmsError(400, {"error": {"code": "COE_BAD_REQUEST", "message": {"value": "customPageSize too big"}}})
        start = _decode_skiptoken(query["$skiptoken"]) if "$skiptoken" in query else 0
        end = start + size
        kept = {k: v for k, v in query.items() if k != "$skiptoken"}
        next_query = urlencode({**kept, "$skiptoken": _encode_skiptoken(end)}, safe="$,/")
        next_url = f"{emu.base_url}{path}?{next_query}"
    page: dict[str, Any] = {"results": [shapes.sf_prune(r, expanded) for r in workers[start:end]]}
    if query.get("$inlinecount") == "allpages":
        page["__count"] = str(total)
    if next_url is not None and end < total:
        page["__next"] = next_url
    return json_response(200, {"d": page})


_SF_MODIFIED = re.compile(
    r"^\s*lastModifiedDateTime\s+(gt|ge)\s+(datetime|datetimeoffset)'([0-9T:.+\-Z]+)'\s*$", re.IGNORECASE
)


def _sf_filtered(emu: HrmsEmulator, expression: str) -> list[dict[str, Any]]:
    """The PerPerson records a ``$filter`` keeps: none, or ``lastModifiedDateTime gt|ge datetime'...'`` only.

    ``datetime'...'`` literals have no offset and are read as UTC; anything else answers 400.
    """
    if not expression.strip():
        return emu.raw_workers
    match = _SF_MODIFIED.match(expression)
    if match is None:
        message = f"this emulator filters on lastModifiedDateTime gt|ge datetime'...' only, got {expression!r}"
        raise HrmsError(400, {"error": {"code": "COE_BAD_REQUEST", "message": {"value": message}}})
    operator, literal = match.group(1).lower(), match.group(3)
    try:
        moment = dt.datetime.fromisoformat(literal.replace("Z", "+00:00"))
    except ValueError:
        raise HrmsError(
            400, {"error": {"code": "COE_BAD_REQUEST", "message": {"value": f"bad datetime literal {literal!r}"}}}
        ) from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return [
        record
        for person, record in zip(emu.people, emu.raw_workers, strict=True)
        if person.last_changed > moment or (operator == "ge" and person.last_changed == moment)
    ]


# BambooHR


def _bamboohr(emu: HrmsEmulator, request: Request) -> Response:
    from emulators.hrms import API_KEY, COMPANY

    path = request.path.rstrip("/")
    if path.startswith("/api/v1/"):
        rest = path[len("/api/v1/") :]
    elif path.startswith(f"/api/gateway.php/{COMPANY}/v1/"):
        rest = path[len(f"/api/gateway.php/{COMPANY}/v1/") :]
    else:
        raise not_found(request.path)
    one = rest.startswith("employees/") and rest[len("employees/") :].isdigit()
    if not one and rest not in ("reports/custom", "employees/directory", "employees/changed"):
        raise not_found(request.path)
    _method(request, "POST" if rest == "reports/custom" else "GET")
    emu.take_fault()
    credentials = basic_credentials(request)
    if credentials is None or credentials[0] != API_KEY:
        raise unauthorized()
    if "application/json" not in (request.header("accept") or ""):
        raise HrmsError(406, {"error": "not_acceptable", "message": "send Accept: application/json"})
    people = list(zip(emu.people, emu.raw_workers, strict=True))
    if rest == "reports/custom":
        try:
            body = orjson.loads(request.body or b"{}")
        except orjson.JSONDecodeError:
            raise HrmsError(400, {"error": "bad_request", "message": "the body must be JSON"}) from None
        wanted = [f for f in body.get("fields") or ["employeeNumber", "firstName", "lastName"] if isinstance(f, str)]
        fields = [f for f in wanted if f in shapes.BAMBOO_FIELDS and f != "id"]
        current = request.query.get("onlyCurrent", "true").lower() != "false"
        rows = [
            {"id": rec["id"], **{f: rec[f] for f in fields}}
            for person, rec in people
            if not current or person.status in ("active", "leave")
        ]
        described = [{"id": f, "type": shapes.BAMBOO_FIELDS[f], "name": f} for f in fields]
        return json_response(200, {"title": body.get("title", "Report"), "fields": described, "employees": rows})
    if one:
        return _bamboohr_employee(people, rest[len("employees/") :], request)
    if rest == "employees/directory":
        keep = ("id", "displayName", "firstName", "lastName", "jobTitle", "workPhone", "workEmail", "department")
        rows = [{k: rec[k] for k in keep} for person, rec in people if person.status in ("active", "leave")]
        return json_response(200, {"fields": [{"id": k, "name": k} for k in keep], "employees": rows})
    if "since" not in request.query:
        raise HrmsError(400, {"error": "bad_request", "message": "since is required"})
    ids = set(emu.changed_since(request.query["since"]))
    changed = {
        person.internal_id: {
            "id": person.internal_id,
            "action": "Inserted" if person.status == "prehire" else "Updated",
            "lastChanged": rec["lastChanged"],
        }
        for person, rec in people
        if person.internal_id in ids
    }
    latest = max((p.last_changed for p in emu.people), default=dt.datetime.now(dt.UTC))
    return json_response(200, {"latest": latest.strftime("%Y-%m-%dT%H:%M:%S+00:00"), "employees": changed})


def _bamboohr_employee(people: list[tuple[Person, dict[str, Any]]], internal_id: str, request: Request) -> Response:
    """GET employees/{id}?fields=a,b: ``id`` plus the known fields asked for, flat like a custom report row.

    Fields BambooHR does not know here are left out (BambooHR omits fields the key may not see); no
    ``fields`` gives just ``id``; an unknown id answers 404.
    """
    record = next((rec for person, rec in people if person.internal_id == internal_id), None)
    if record is None:
        raise not_found(request.path)
    wanted = [f.strip() for f in request.query.get("fields", "").split(",") if f.strip()]
    fields = [f for f in wanted if f in shapes.BAMBOO_FIELDS and f != "id"]
    return json_response(200, {"id": record["id"], **{f: record[f] for f in fields}})


# ADP Workforce Now


def _adp(emu: HrmsEmulator, request: Request) -> Response:
    from emulators.hrms import CLIENT_ID, CLIENT_SECRET

    path = request.path.rstrip("/")
    if path == "/auth/oauth/v2/token":
        _method(request, "POST")
        fields = form(request)
        if fields.get("grant_type") != "client_credentials":
            raise HrmsError(400, {"error": "unsupported_grant_type"})
        if client_of(request, fields) != (CLIENT_ID, CLIENT_SECRET):
            raise HrmsError(401, {"error": "invalid_client", "error_description": "client authentication failed"})
        return json_response(200, emu.issue_token())
    if path != "/hr/v2/workers":
        raise not_found(request.path)
    _method(request, "GET")
    emu.take_fault()
    if not emu.bearer_ok(request):
        raise unauthorized("Bearer")
    top = int_param(request.query, "$top", min(50, emu.max_page_size), minimum=1, maximum=emu.max_page_size)
    skip = int_param(request.query, "$skip", 0)
    page = emu.raw_workers[skip : skip + top]
    if not page:
        return Response(204, {})
    return json_response(200, {"workers": page, "meta": {"totalNumber": len(emu.raw_workers)}})


# Oracle HCM Cloud


def _oracle(emu: HrmsEmulator, request: Request) -> Response:
    from emulators.hrms import PASSWORD, USERNAME

    if request.path.rstrip("/") != ORACLE_WORKERS:
        raise not_found(request.path)
    _method(request, "GET")
    emu.take_fault()
    if not (_basic_ok(request, USERNAME, PASSWORD) or emu.bearer_ok(request)):
        raise unauthorized()
    limit = int_param(request.query, "limit", 25, minimum=1, maximum=emu.max_page_size)
    offset = int_param(request.query, "offset", 0)
    expand = {e.strip() for e in request.query.get("expand", "").split(",") if e.strip()}
    people = emu.people[offset : offset + limit]
    items = [shapes.oracle(p, emu.people, expand) for p in people]
    # The quirk: hasMore stays true on the last (non-empty) page; only an empty page says false.
    body: dict[str, Any] = {"items": items, "count": len(items), "hasMore": bool(items), "limit": limit}
    body["offset"] = offset
    if request.query.get("totalResults") == "true":
        body["totalResults"] = len(emu.people)
    return json_response(200, body)
