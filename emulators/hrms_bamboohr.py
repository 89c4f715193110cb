"""BambooHR: the directory, custom reports, one employee, and employees/changed for deltas."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import orjson

from emulators.entra_server import Request, Response
from emulators.hrms_data import Person, iso
from emulators.hrms_http import (
    HrmsError,
    basic_credentials,
    json_response,
    not_found,
    require_method,
    unauthorized,
)
from emulators.hrms_shapes import Record, manager_of

if TYPE_CHECKING:
    from emulators.hrms import HrmsEmulator


BAMBOO_FIELDS: dict[str, str] = {
    "id": "int",
    "employeeNumber": "text",
    "firstName": "text",
    "lastName": "text",
    "displayName": "text",
    "workEmail": "email",
    "homeEmail": "email",
    "workPhone": "text",
    "mobilePhone": "text",
    "department": "list",
    "jobTitle": "list",
    "supervisorEId": "text",
    "supervisor": "text",
    "hireDate": "date",
    "originalHireDate": "date",
    "terminationDate": "date",
    "status": "status",
    "employmentHistoryStatus": "list",
    "lastChanged": "timestamp",
}


def bamboohr(person: Person, people: Sequence[Person]) -> Record:
    """Every field BambooHR knows here; the custom report keeps the requested ones.

    ``supervisorEId`` carries the supervisor's employeeNumber (the worker id), so references resolve.
    """
    manager = manager_of(person, people)
    return {
        "id": person.internal_id,
        "employeeNumber": person.worker_id,
        "firstName": person.first,
        "lastName": person.last,
        "displayName": f"{person.first} {person.last}",
        "workEmail": person.work_email,
        "homeEmail": person.home_email,
        "workPhone": person.work_phone,
        "mobilePhone": person.mobile_phone,
        "department": person.current.department[1],
        "jobTitle": person.current.job[1],
        "supervisorEId": None if manager is None else manager.worker_id,
        "supervisor": None if manager is None else f"{manager.last}, {manager.first}",
        "hireDate": iso(person.current.start),
        "originalHireDate": iso(person.hire_date),
        "terminationDate": iso(person.termination_date),
        "status": "Inactive" if person.status == "terminated" else "Active",
        "employmentHistoryStatus": {"terminated": "Terminated", "leave": "Leave of Absence"}.get(
            person.status, "Full-Time"
        ),
        "lastChanged": person.last_changed.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
    }


def records(emu: HrmsEmulator) -> list[Record]:
    return [bamboohr(p, emu.people) for p in emu.people]


def route(emu: HrmsEmulator, request: Request) -> Response:
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
    require_method(request, "POST" if rest == "reports/custom" else "GET")
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
        fields = [f for f in wanted if f in BAMBOO_FIELDS and f != "id"]
        current = request.query.get("onlyCurrent", "true").lower() != "false"
        rows = [
            {"id": rec["id"], **{f: rec[f] for f in fields}}
            for person, rec in people
            if not current or person.status in ("active", "leave")
        ]
        described = [{"id": f, "type": BAMBOO_FIELDS[f], "name": f} for f in fields]
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
    fields = [f for f in wanted if f in BAMBOO_FIELDS and f != "id"]
    return json_response(200, {"id": record["id"], **{f: record[f] for f in fields}})


def config(emu: HrmsEmulator) -> dict[str, str]:
    """A working connector configuration for this emulator (besides ``baseUrl``)."""
    from emulators.hrms import API_KEY, COMPANY

    return {"apiKey": API_KEY, "companyId": COMPANY}
