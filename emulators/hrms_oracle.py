"""Oracle HCM Cloud: the workers resource with expand, limit/offset paging and its hasMore quirk."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from emulators.entra_server import Request, Response
from emulators.hrms_data import Person, iso
from emulators.hrms_http import (
    basic_ok,
    int_param,
    json_response,
    not_found,
    require_method,
    unauthorized,
)
from emulators.hrms_shapes import Record, manager_of, ordered_emails

if TYPE_CHECKING:
    from emulators.hrms import HrmsEmulator

ORACLE_WORKERS = "/hcmRestApi/resources/11.13.18.05/workers"
ORACLE_DEFAULT_EXPAND = "names,emails,workRelationships.assignments"


def oracle_record(person: Person, people: Sequence[Person], expand: set[str]) -> Record:
    """An Oracle HCM workers item; child collections only when named in ``expand`` (or ``all``)."""
    manager = manager_of(person, people)
    full = "all" in expand
    item: Record = {
        "PersonId": 300000000000000 + int(person.internal_id),
        "PersonNumber": person.worker_id,
        "DateOfBirth": iso(person.birth_date),
        "LastUpdateDate": person.last_changed.isoformat(),
    }
    if full or "names" in expand:
        item["names"] = [
            {
                "LegislationCode": "US",
                "FirstName": person.first,
                "LastName": person.last,
                "DisplayName": f"{person.first} {person.last}",
                "NameType": "GLOBAL",
            }
        ]
    if full or "emails" in expand:
        work = {"EmailType": "W1", "EmailAddress": person.work_email, "PrimaryFlag": True}
        home = {"EmailType": "H1", "EmailAddress": person.home_email, "PrimaryFlag": False}
        item["emails"] = ordered_emails(person, work, home)
    if full or any(e.split(".")[0] == "workRelationships" for e in expand):
        relationships = []
        for n, emp in enumerate(person.employments):
            relationship: Record = {
                "PeriodOfServiceId": 300000100000000 + int(person.internal_id) * 10 + n,
                "LegalEmployerName": "Contoso US",
                "WorkerType": "E",
                "PrimaryFlag": emp.current,
                "StartDate": iso(emp.start),
                "TerminationDate": iso(emp.end),
            }
            if full or "workRelationships.assignments" in expand:
                active = emp.end is None and person.status not in ("leave",)
                relationship["assignments"] = [
                    {
                        "AssignmentNumber": f"E{person.worker_id}-{n + 1}",
                        "AssignmentName": emp.job[1],
                        "AssignmentStatusType": "ACTIVE" if active else "INACTIVE",
                        "PrimaryAssignmentFlag": True,
                        "DepartmentName": emp.department[1],
                        "JobCode": emp.job[0],
                        "managers": []
                        if manager is None
                        else [
                            {
                                "ManagerPersonNumber": manager.worker_id,
                                "ManagerAssignmentNumber": f"E{manager.worker_id}-1",
                                "ManagerType": "LINE_MANAGER",
                            }
                        ],
                    }
                ]
            relationships.append(relationship)
        item["workRelationships"] = relationships
    return item


def records(emu: HrmsEmulator) -> list[Record]:
    expand = set(ORACLE_DEFAULT_EXPAND.split(","))
    return [oracle_record(p, emu.people, expand) for p in emu.people]


def route(emu: HrmsEmulator, request: Request) -> Response:
    from emulators.hrms import PASSWORD, USERNAME

    if request.path.rstrip("/") != ORACLE_WORKERS:
        raise not_found(request.path)
    require_method(request, "GET")
    emu.take_fault()
    if not (basic_ok(request, USERNAME, PASSWORD) or emu.bearer_ok(request)):
        raise unauthorized()
    limit = int_param(request.query, "limit", 25, minimum=1, maximum=emu.max_page_size)
    offset = int_param(request.query, "offset", 0)
    expand = {e.strip() for e in request.query.get("expand", "").split(",") if e.strip()}
    people = emu.people[offset : offset + limit]
    items = [oracle_record(p, emu.people, expand) for p in people]
    # The quirk: hasMore stays true on the last (non-empty) page; only an empty page says false.
    body: dict[str, Any] = {"items": items, "count": len(items), "hasMore": bool(items), "limit": limit}
    body["offset"] = offset
    if request.query.get("totalResults") == "true":
        body["totalResults"] = len(emu.people)
    return json_response(200, body)


def config(emu: HrmsEmulator) -> dict[str, str]:
    """A working connector configuration for this emulator (besides ``baseUrl``)."""
    from emulators.hrms import PASSWORD, USERNAME

    return {"username": USERNAME, "password": PASSWORD}
