"""ADP Workforce Now: hr/v2/workers over mutual TLS, $top/$skip paging ending in HTTP 204."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from emulators.entra_server import Request, Response
from emulators.hrms_data import Person, iso
from emulators.hrms_http import (
    HrmsError,
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

_ADP_STATUS = {"active": "Active", "leave": "Inactive", "terminated": "Terminated", "prehire": "Active"}


def adp_oid(person: Person) -> str:
    return "G3" + wid("adp", person.internal_id)[:14].upper()


def adp(person: Person, people: Sequence[Person]) -> Record:
    manager = manager_of(person, people)
    assignments = []
    for n, emp in enumerate(person.employments):
        assignment: Record = {
            "itemID": f"{person.worker_id}N{n + 1}",
            "primaryIndicator": emp.current,
            "hireDate": iso(emp.start),
            "terminationDate": iso(emp.end),
            "assignmentStatus": {"statusCode": {"codeValue": "A" if emp.end is None else "T"}},
            "jobCode": {"codeValue": emp.job[0], "shortName": emp.job[1]},
            "jobTitle": emp.job[1],
            "homeOrganizationalUnits": [
                {
                    "nameCode": {"codeValue": "BU1", "shortName": "Contoso US"},
                    "typeCode": {"codeValue": "Business Unit"},
                },
                {
                    "nameCode": {"codeValue": emp.department[0], "shortName": emp.department[1]},
                    "typeCode": {"codeValue": "Department"},
                },
            ],
            "reportsTo": []
            if manager is None
            else [
                {
                    "associateOID": adp_oid(manager),
                    "workerID": {"idValue": manager.worker_id},
                    "reportsToWorkerName": {"formattedName": f"{manager.first} {manager.last}"},
                }
            ],
        }
        assignments.append(assignment)
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
            "communication": {"emails": [{"emailUri": person.home_email, "nameCode": {"codeValue": "Personal"}}]},
        },
        "businessCommunication": {
            "emails": [{"emailUri": person.work_email, "nameCode": {"codeValue": "Work E-mail"}}],
            "landlines": [{"formattedNumber": person.work_phone}],
            "mobiles": [{"formattedNumber": person.mobile_phone}],
        },
        "workerDates": {
            "originalHireDate": iso(person.hire_date),
            "rehireDate": iso(person.current.start) if len(person.employments) > 1 else None,
            "terminationDate": iso(person.termination_date),
        },
        "workerStatus": {"statusCode": {"codeValue": _ADP_STATUS[person.status]}},
        "workAssignments": assignments,
    }


def records(emu: HrmsEmulator) -> list[Record]:
    return [adp(p, emu.people) for p in emu.people]


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
