"""SAP SuccessFactors: OData v2 PerPerson, server-side paging through d.__next, its token endpoint."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import orjson

from emulators.entra_server import Request, Response
from emulators.hrms_data import Person, odata_date
from emulators.hrms_http import (
    HrmsError,
    basic_ok,
    client_of,
    form,
    int_param,
    json_response,
    not_found,
    require_method,
    unauthorized,
)
from emulators.hrms_shapes import Record, manager_of, odata_datetime, ordered_emails

if TYPE_CHECKING:
    from emulators.hrms import HrmsEmulator

SF_DEFAULT_PAGE = 50
_SF_STATUS = {"active": "A", "leave": "U", "terminated": "T", "prehire": "A"}


def successfactors(person: Person, people: Sequence[Person], base_url: str) -> Record:
    """A fully expanded PerPerson; sf_prune() defers the navigations a request did not $expand."""
    manager = manager_of(person, people)
    root = f"{base_url}/odata/v2"
    pid = person.worker_id

    def meta(entity: str, key: str) -> Record:
        return {"uri": f"{root}/{entity}({key})", "type": f"SFOData.{entity}"}

    work = {"personIdExternal": pid, "emailType": "8448", "emailAddress": person.work_email, "isPrimary": True}
    home = {"personIdExternal": pid, "emailType": "8449", "emailAddress": person.home_email, "isPrimary": False}
    employments = []
    for n, emp in enumerate(person.employments):
        user_id = pid if emp.current else f"{pid}-{n}"
        status = _SF_STATUS[person.status] if emp.current else "T"
        job_info = {
            "__metadata": meta("EmpJob", f"seqNumber=1L,startDate=datetime'{emp.start}T00:00:00',userId='{user_id}'"),
            "userId": user_id,
            "startDate": odata_date(emp.start),
            "endDate": odata_date(emp.end) or "/Date(253402214400000)/",
            "managerId": None if manager is None else manager.worker_id,
            "jobTitle": emp.job[1],
            "jobCode": emp.job[0],
            "department": emp.department[0],
            "departmentNav": {
                "__metadata": meta("FODepartment", f"externalCode='{emp.department[0]}'"),
                "externalCode": emp.department[0],
                "name": emp.department[1],
            },
            "emplStatus": status,
            "emplStatusNav": {"__metadata": meta("PicklistOption", status), "externalCode": status},
        }
        employments.append(
            {
                "__metadata": meta("EmpEmployment", f"personIdExternal='{pid}',userId='{user_id}'"),
                "personIdExternal": pid,
                "userId": user_id,
                "startDate": odata_date(emp.start),
                "endDate": odata_date(emp.end),
                "isPrimary": emp.current,
                "jobInfoNav": {"results": [job_info]},
            }
        )
    return {
        "__metadata": meta("PerPerson", f"'{pid}'"),
        "personIdExternal": pid,
        "personId": person.internal_id,
        "dateOfBirth": odata_date(person.birth_date),
        "lastModifiedDateTime": odata_datetime(person.last_changed),
        "personalInfoNav": {
            "results": [
                {
                    "__metadata": meta("PerPersonal", f"personIdExternal='{pid}'"),
                    "personIdExternal": pid,
                    "startDate": odata_date(person.hire_date),
                    "firstName": person.first,
                    "lastName": person.last,
                }
            ]
        },
        "emailNav": {"results": ordered_emails(person, work, home)},
        "phoneNav": {
            "results": [
                {"personIdExternal": pid, "phoneType": "10605", "phoneNumber": person.work_phone, "isPrimary": True},
                {"personIdExternal": pid, "phoneType": "10606", "phoneNumber": person.mobile_phone, "isPrimary": False},
            ]
        },
        "employmentNav": {"results": employments},
    }


def sf_prune(record: Record, expanded: set[str], prefix: str = "") -> Record:
    """Replace every ``...Nav`` not named in ``$expand`` (paths like employmentNav/jobInfoNav) by __deferred."""
    out: Record = {}
    uri = record.get("__metadata", {}).get("uri", "")
    for key, value in record.items():
        if not key.endswith("Nav"):
            out[key] = value
            continue
        path = f"{prefix}{key}"
        if path not in expanded:
            out[key] = {"__deferred": {"uri": f"{uri}/{key}"}}
        elif isinstance(value, dict) and "results" in value:
            out[key] = {"results": [sf_prune(item, expanded, f"{path}/") for item in value["results"]]}
        else:
            out[key] = sf_prune(value, expanded, f"{path}/")
    return out


def records(emu: HrmsEmulator) -> list[Record]:
    return [successfactors(p, emu.people, emu.base_url) for p in emu.people]


def _encode_skiptoken(start: int) -> str:
    return base64.urlsafe_b64encode(orjson.dumps({"startRow": start})).decode().rstrip("=")


def _decode_skiptoken(token: str) -> int:
    try:
        start = orjson.loads(base64.urlsafe_b64decode(token.strip("'") + "=" * (-len(token.strip("'")) % 4)))
        return int(start["startRow"])
    except (binascii.Error, ValueError, KeyError, TypeError, orjson.JSONDecodeError):
        raise HrmsError(400, {"error": {"code": "COE_BAD_REQUEST", "message": {"value": "bad $skiptoken"}}}) from None


def route(emu: HrmsEmulator, request: Request) -> Response:
    from emulators.hrms import CLIENT_ID, CLIENT_SECRET, PASSWORD, SF_COMPANY, USERNAME

    path = request.path.rstrip("/")
    if path == "/oauth/token":
        require_method(request, "POST")
        fields = form(request)
        if fields.get("grant_type") != "client_credentials":
            raise HrmsError(400, {"error": "unsupported_grant_type"})
        if client_of(request, fields) != (CLIENT_ID, CLIENT_SECRET):
            raise HrmsError(400, {"error": "invalid_client"})
        return json_response(200, emu.issue_token())
    if path != "/odata/v2/PerPerson":
        raise not_found(request.path)
    require_method(request, "GET")
    emu.take_fault()
    if not (basic_ok(request, f"{USERNAME}@{SF_COMPANY}", PASSWORD) or emu.bearer_ok(request)):
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
    page: dict[str, Any] = {"results": [sf_prune(r, expanded) for r in workers[start:end]]}
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


def config(emu: HrmsEmulator) -> dict[str, str]:
    """A working connector configuration for this emulator (besides ``baseUrl``)."""
    from emulators.hrms import CLIENT_ID, CLIENT_SECRET, PASSWORD, SF_COMPANY, USERNAME

    return {
        "username": USERNAME,
        "password": PASSWORD,
        "companyId": SF_COMPANY,
        "clientId": CLIENT_ID,
        "clientSecret": CLIENT_SECRET,
        "tokenUrl": f"{emu.base_url}/oauth/token",
    }
