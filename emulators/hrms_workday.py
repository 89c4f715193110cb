"""Workday: the REST worker list and a RaaS report, sharing the OAuth token endpoint."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from emulators.entra_server import Request, Response
from emulators.hrms_data import Person, iso
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
from emulators.hrms_shapes import Record, manager_of, ordered_emails, wid

if TYPE_CHECKING:
    from emulators.hrms import HrmsEmulator

_WORKDAY_STATUS = {"active": "Active", "leave": "On Leave", "terminated": "Terminated", "prehire": "Pre-Hire"}


def workday(person: Person, people: Sequence[Person], base_url: str, tenant: str) -> Record:
    manager = manager_of(person, people)
    job = person.current
    return {
        "id": wid("worker", person.worker_id),
        "descriptor": f"{person.first} {person.last}",
        "href": f"{base_url}/ccx/api/v1/{tenant}/workers/{wid('worker', person.worker_id)}",
        "workerId": person.worker_id,
        "workerType": {"id": wid("type", "employee"), "descriptor": "Employee"},
        "legalName": {"firstName": person.first, "lastName": person.last},
        "primaryWorkEmail": person.work_email,
        "emails": ordered_emails(
            person,
            {"emailAddress": person.work_email, "usageType": "WORK", "primary": True},
            {"emailAddress": person.home_email, "usageType": "HOME", "primary": False},
        ),
        "primaryWorkPhone": person.work_phone,
        "phones": [
            {"phoneNumber": person.work_phone, "usageType": "WORK", "primary": True},
            {"phoneNumber": person.mobile_phone, "usageType": "HOME", "primary": False},
        ],
        "businessTitle": job.job[1],
        "primarySupervisoryOrganization": {"id": wid("org", job.department[0]), "descriptor": job.department[1]},
        "manager": None
        if manager is None
        else {"id": wid("worker", manager.worker_id), "workerId": manager.worker_id, "descriptor": manager.first},
        "isManager": person.is_manager,
        "status": _WORKDAY_STATUS[person.status],
        "active": person.status in ("active", "leave"),
        "hireDate": iso(person.hire_date),
        "terminationDate": iso(person.termination_date),
        "employments": [
            {"startDate": iso(e.start), "endDate": iso(e.end), "position": e.job[1], "current": e.current}
            for e in person.employments
        ],
    }


def workday_raas(person: Person, people: Sequence[Person]) -> Record:
    """A Report_Entry row: column aliases; empty values are left out, as RaaS does."""
    manager = manager_of(person, people)
    job = person.current
    row: Record = {
        "Employee_ID": person.worker_id,
        "Legal_Name_First_Name": person.first,
        "Legal_Name_Last_Name": person.last,
        "Email_Address": person.work_email,
        "Home_Email_Address": person.home_email,
        "Business_Title": job.job[1],
        "Supervisory_Organization": job.department[1],
        "Hire_Date": iso(person.hire_date),
        "Active": "1" if person.status in ("active", "leave") else "0",
        "Worker_Status": _WORKDAY_STATUS[person.status],
        "Email_Addresses_group": ordered_emails(
            person,
            {"Email_Address": person.work_email, "Usage_Type": "WORK", "Primary": "1"},
            {"Email_Address": person.home_email, "Usage_Type": "HOME", "Primary": "0"},
        ),
    }
    if manager is not None:
        row["Manager_ID"] = manager.worker_id
    if person.termination_date is not None:
        row["Termination_Date"] = iso(person.termination_date)
    return row


def records(emu: HrmsEmulator) -> list[Record]:
    from emulators.hrms import TENANT

    if emu.vendor == "workday":
        return [workday(p, emu.people, emu.base_url, TENANT) for p in emu.people]
    return [workday_raas(p, emu.people) for p in emu.people]


def route(emu: HrmsEmulator, request: Request) -> Response:
    from emulators.hrms import CLIENT_ID, CLIENT_SECRET, PASSWORD, REPORT_NAME, REPORT_OWNER, TENANT, USERNAME

    path = request.path.rstrip("/")
    if path == f"/ccx/oauth2/{TENANT}/token":
        require_method(request, "POST")
        fields = form(request)
        if fields.get("grant_type") != "refresh_token":
            raise HrmsError(400, {"error": "unsupported_grant_type"})
        if client_of(request, fields) != (CLIENT_ID, CLIENT_SECRET) or fields.get("refresh_token") != emu.refresh_token:
            raise HrmsError(400, {"error": "invalid_grant", "error_description": "Invalid refresh token or client"})
        return json_response(200, {**emu.issue_token(), "refresh_token": emu.rotate_refresh_token()})
    if emu.vendor == "workday" and path in (f"/ccx/api/v1/{TENANT}/workers", f"/ccx/api/staffing/v6/{TENANT}/workers"):
        require_method(request, "GET")
        emu.take_fault()
        if not emu.bearer_ok(request):
            raise unauthorized("Bearer")
        limit = int_param(request.query, "limit", 20, minimum=1, maximum=emu.max_page_size)
        offset = int_param(request.query, "offset", 0)
        return json_response(200, {"total": len(emu.raw_workers), "data": emu.raw_workers[offset : offset + limit]})
    if emu.vendor == "workday-raas" and path == f"/ccx/service/customreport2/{TENANT}/{REPORT_OWNER}/{REPORT_NAME}":
        require_method(request, "GET")
        emu.take_fault()
        if not (basic_ok(request, USERNAME, PASSWORD) or emu.bearer_ok(request)):
            raise unauthorized()
        if request.query.get("format", "").lower() != "json":
            raise HrmsError(400, {"error": "format", "message": "this emulator serves format=json only"})
        return json_response(200, {"Report_Entry": emu.raw_workers})
    raise not_found(request.path)


def config(emu: HrmsEmulator) -> dict[str, str]:
    """A working connector configuration for this emulator (besides ``baseUrl``)."""
    from emulators.hrms import CLIENT_ID, CLIENT_SECRET, PASSWORD, REPORT_NAME, REPORT_OWNER, TENANT, USERNAME

    if emu.vendor == "workday":
        return {
            "tenant": TENANT,
            "clientId": CLIENT_ID,
            "clientSecret": CLIENT_SECRET,
            "refreshToken": emu.refresh_token,
            "tokenUrl": f"{emu.base_url}/ccx/oauth2/{TENANT}/token",
        }
    return {
        "tenant": TENANT,
        "username": USERNAME,
        "password": PASSWORD,
        "reportOwner": REPORT_OWNER,
        "reportName": REPORT_NAME,
    }
