"""ADP Workforce Now: hr/v2/workers over mutual TLS, $top/$skip paging ending in HTTP 204.

Sources:

* Paging (``$top`` at most 100, ``$skip``; HTTP 204 with no body past the end), OAuth2 client credentials
  at ``/auth/oauth/v2/token`` and the client certificate on every call: ADP's Worker v2 API guide and
  developer portal (developers.adp.com), as summarised in /work/shared/docs/hrms-apis.md.
* The worker's shape follows ADP Workforce Now worker samples published on GitHub (the Worker v2
  "workers" response kept as a test fixture in github.com/craibuc/node-adp-workforce-now,
  tests/fixtures/workers/aoid/200.json, and the list examples on prismatic.io's ADP Workforce Now
  component page): ``associateOID`` (ADP's own id, 16 characters starting G3), ``workerID.idValue``
  (the company's worker id), ``person.legalName`` (``givenName``, ``familyName1``, ``formattedName``
  "Last, First"), personal emails under ``person.communication``, work ones under
  ``businessCommunication.emails`` (``nameCode`` "Work E-mail"), ``workerDates``
  (``originalHireDate``, ``rehireDate``, ``terminationDate``, absent when not set, never null),
  ``workerStatus.statusCode.codeValue`` (Active, Inactive, Terminated) and ``workAssignments``, each with
  ``primaryIndicator``, ``hireDate``/``actualStartDate``/``terminationDate``, ``assignmentStatus``
  (code A, L or T with a ``shortName``), ``jobCode``, ``jobTitle``, ``positionID``,
  ``homeOrganizationalUnits`` typed by ``typeCode.codeValue`` (Department, Business Unit) and
  ``reportsTo`` (the manager's ``positionID``, ``associateOID``, ``workerID`` and name). Values are the
  emulator's own (an equivalent, not a copy).
* Codes carry ``codeValue`` and a ``shortName``, a ``longName`` or both (the published samples have all
  three forms). Organisational units and job codes often carry only ``longName`` (hrms-apis.md,
  Corrections; public integrations fall back from one to the other), so by position ``i % 3``:
  0 ``shortName`` only (as the published sample's department), 1 ``longName`` only and no ``jobTitle``,
  2 both.
* Future hires may already have status Active (hrms-apis.md, Corrections): pre-hires here are Active with
  a hire date to come.
* Workers on leave: whether WFN shows them as ``workerStatus`` Inactive or keeps them Active with only
  the assignment's status at L (Leave) is not documented here. The quirk ``leave_status`` picks
  "Inactive" (the default) or "Active"; tests run both.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from emulators.entra_server import Request, Response
from emulators.hrms_data import Employment, Person, iso
from emulators.hrms_http import (
    HrmsError,
    chosen_quirk,
    client_of,
    form,
    int_param,
    json_response,
    not_found,
    require_method,
    unauthorized,
)
from emulators.hrms_shapes import Record, manager_of, wid

if TYPE_CHECKING:
    from emulators.hrms import HrmsEmulator

QUIRKS: dict[str, tuple[Any, ...]] = {
    # name: (default, other values): workerStatus of a worker on leave
    "leave_status": ("Inactive", "Active"),
}
_ADP_STATUS = {"active": "Active", "terminated": "Terminated", "prehire": "Active"}
_ASSIGNMENT_STATUS = {"A": "Active", "L": "Leave", "T": "Terminated"}
SHORT_ONLY, LONG_ONLY, BOTH = 0, 1, 2


def quirk(emu: HrmsEmulator, name: str) -> Any:
    return chosen_quirk("adp", QUIRKS, emu.quirks, name)


def adp_oid(person: Person) -> str:
    return "G3" + wid("adp", person.internal_id)[:14].upper()


def naming(person: Person) -> int:
    """How this worker's codes are named: SHORT_ONLY, LONG_ONLY or BOTH (by position)."""
    return person.index % 3


def code(value: str, name: str, form: int) -> Record:
    """An ADP code with ``shortName``, ``longName`` or both, as ``form`` says."""
    named: Record = {"codeValue": value}
    if form in (SHORT_ONLY, BOTH):
        named["shortName"] = name
    if form in (LONG_ONLY, BOTH):
        named["longName"] = name
    return named


def _present(record: Record) -> Record:
    """ADP leaves out what is not set rather than sending null."""
    return {key: value for key, value in record.items() if value is not None}


def _assignment(person: Person, manager: Person | None, n: int, emp: Employment) -> Record:
    form = naming(person)
    status = "T" if emp.end is not None else ("L" if emp.current and person.status == "leave" else "A")
    assignment: Record = {
        "itemID": f"{person.worker_id}N{n + 1}",
        "primaryIndicator": emp.current,
        "hireDate": iso(emp.start),
        "actualStartDate": iso(emp.start),
        "terminationDate": iso(emp.end),
        "assignmentStatus": {"statusCode": {"codeValue": status, "shortName": _ASSIGNMENT_STATUS[status]}},
        "workerTypeCode": {"codeValue": "FTR", "shortName": "Full-time Regular"},
        "jobCode": code(emp.job[0], emp.job[1], form),
        "jobTitle": None if form == LONG_ONLY else emp.job[1],
        "positionID": f"CTS{person.worker_id}",
        "homeOrganizationalUnits": [
            {"nameCode": code("BU1", "Contoso US", form), "typeCode": {"codeValue": "Business Unit"}},
            {
                "nameCode": code(emp.department[0], emp.department[1], form),
                "typeCode": {"codeValue": "Department", "shortName": "Department"},
            },
        ],
        "reportsTo": None
        if manager is None
        else [
            {
                "positionID": f"CTS{manager.worker_id}",
                "associateOID": adp_oid(manager),
                "workerID": {"idValue": manager.worker_id},
                "reportsToWorkerName": {"formattedName": f"{manager.last}, {manager.first}"},
            }
        ],
        "managementPositionIndicator": person.is_manager,
    }
    return _present(assignment)


def adp(person: Person, people: Sequence[Person], leave_status: str = "Inactive") -> Record:
    manager = manager_of(person, people)
    assignments = [_assignment(person, manager, n, emp) for n, emp in enumerate(person.employments)]
    status = leave_status if person.status == "leave" else _ADP_STATUS[person.status]
    return {
        "associateOID": adp_oid(person),
        "workerID": {"idValue": person.worker_id},
        "person": {
            "legalName": {
                "givenName": person.first,
                "familyName1": person.last,
                "formattedName": f"{person.last}, {person.first}",
            },
            "birthDate": iso(person.birth_date),
            "communication": {
                "emails": [
                    {
                        "nameCode": {"codeValue": "Personal E-mail", "shortName": "Personal E-mail"},
                        "emailUri": person.home_email,
                        "notificationIndicator": True,
                    }
                ]
            },
        },
        "businessCommunication": {
            "emails": [
                {"nameCode": {"codeValue": "Work E-mail", "shortName": "Work E-mail"}, "emailUri": person.work_email}
            ],
            "landlines": [{"nameCode": {"codeValue": "Work Phone"}, "formattedNumber": person.work_phone}],
            "mobiles": [{"nameCode": {"codeValue": "Work Cell"}, "formattedNumber": person.mobile_phone}],
        },
        "workerDates": _present(
            {
                "originalHireDate": iso(person.hire_date),
                "rehireDate": iso(person.current.start) if len(person.employments) > 1 else None,
                "terminationDate": iso(person.termination_date),
            }
        ),
        "workerStatus": {"statusCode": {"codeValue": status}},
        "workAssignments": assignments,
    }


def records(emu: HrmsEmulator) -> list[Record]:
    leave_status = quirk(emu, "leave_status")
    return [adp(p, emu.people, leave_status) for p in emu.people]


def route(emu: HrmsEmulator, request: Request) -> Response:
    from emulators.hrms import CLIENT_ID, CLIENT_SECRET

    path = request.path.rstrip("/")
    if path == "/auth/oauth/v2/token":
        require_method(request, "POST")
        fields = form(request)
        if fields.get("grant_type") != "client_credentials":
            raise HrmsError(400, {"error": "unsupported_grant_type"})
        if client_of(request, fields) != (CLIENT_ID, CLIENT_SECRET):
            raise HrmsError(401, {"error": "invalid_client", "error_description": "client authentication failed"})
        return json_response(200, emu.issue_token())
    if path != "/hr/v2/workers":
        raise not_found(request.path)
    require_method(request, "GET")
    emu.take_fault()
    if not emu.bearer_ok(request):
        raise unauthorized("Bearer")
    top = int_param(request.query, "$top", min(50, emu.max_page_size), minimum=1, maximum=emu.max_page_size)
    skip = int_param(request.query, "$skip", 0)
    page = emu.raw_workers[skip : skip + top]
    if not page:
        return Response(204, {})
    return json_response(200, {"workers": page, "meta": {"totalNumber": len(emu.raw_workers)}})


def config(emu: HrmsEmulator) -> dict[str, str]:
    """A working connector configuration for this emulator (besides ``baseUrl``)."""
    from emulators.hrms import CLIENT_ID, CLIENT_SECRET

    config = {"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET, "tokenUrl": f"{emu.base_url}/auth/oauth/v2/token"}
    tls = emu.tls_files
    if tls is not None:
        config |= {
            "certificatePath": str(tls.client_cert),
            "keyPath": str(tls.client_key),
            "caCertificatePath": str(tls.ca_cert),
        }
    return config
