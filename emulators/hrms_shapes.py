"""Each vendor's worker record, built from a vendor-neutral Person (see hrms_data).

Employments, work relationships and assignments are listed oldest first, so for a rehire the
current one is the last element; the primary email is not always the first element.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from typing import Any

from emulators.hrms_data import TITLES, Person, iso, odata_date

Record = dict[str, Any]
_SF_STATUS = {"active": "A", "leave": "U", "terminated": "T", "prehire": "A"}
_ADP_STATUS = {"active": "Active", "leave": "Inactive", "terminated": "Terminated", "prehire": "Active"}
_WORKDAY_STATUS = {"active": "Active", "leave": "On Leave", "terminated": "Terminated", "prehire": "Pre-Hire"}


def _wid(*parts: str) -> str:
    """A Workday-style 32-hex id, stable for its parts."""
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:32]


def _manager(person: Person, people: Sequence[Person]) -> Person | None:
    return None if person.manager_index is None else people[person.manager_index]


def _ordered_emails(person: Person, work: Record, home: Record) -> list[Record]:
    return [home, work] if person.home_email_first else [work, home]


def workday(person: Person, people: Sequence[Person], base_url: str, tenant: str) -> Record:
    manager = _manager(person, people)
    job = person.current
    return {
        "id": _wid("worker", person.worker_id),
        "descriptor": f"{person.first} {person.last}",
        "href": f"{base_url}/ccx/api/v1/{tenant}/workers/{_wid('worker', person.worker_id)}",
        "workerId": person.worker_id,
        "workerType": {"id": _wid("type", "employee"), "descriptor": "Employee"},
        "legalName": {"firstName": person.first, "lastName": person.last},
        "primaryWorkEmail": person.work_email,
        "emails": _ordered_emails(
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
        "primarySupervisoryOrganization": {"id": _wid("org", job.department[0]), "descriptor": job.department[1]},
        "manager": None
        if manager is None
        else {"id": _wid("worker", manager.worker_id), "workerId": manager.worker_id, "descriptor": manager.first},
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
    manager = _manager(person, people)
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
        "Email_Addresses_group": _ordered_emails(
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


def successfactors(person: Person, people: Sequence[Person], base_url: str) -> Record:
    """A fully expanded PerPerson; sf_prune() defers the navigations a request did not $expand."""
    manager = _manager(person, people)
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
        "emailNav": {"results": _ordered_emails(person, work, home)},
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
    manager = _manager(person, people)
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


def adp_oid(person: Person) -> str:
    return "G3" + _wid("adp", person.internal_id)[:14].upper()


def adp(person: Person, people: Sequence[Person]) -> Record:
    manager = _manager(person, people)
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


def oracle(person: Person, people: Sequence[Person], expand: set[str]) -> Record:
    """An Oracle HCM workers item; child collections only when named in ``expand`` (or ``all``)."""
    manager = _manager(person, people)
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
        item["emails"] = _ordered_emails(person, work, home)
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


def custom(person: Person, people: Sequence[Person]) -> Record:
    manager = _manager(person, people)
    return {
        "id": person.worker_id,
        "firstName": person.first,
        "lastName": person.last,
        "emails": _ordered_emails(
            person,
            {"type": "work", "value": person.work_email, "primary": True},
            {"type": "home", "value": person.home_email, "primary": False},
        ),
        "phones": [{"type": "work", "value": person.work_phone}, {"type": "mobile", "value": person.mobile_phone}],
        "department": person.current.department[1],
        "jobTitle": person.current.job[1],
        "managerId": None if manager is None else manager.worker_id,
        "hireDate": iso(person.hire_date),
        "terminationDate": iso(person.termination_date),
        "status": person.status,
        "employments": [
            {"start": iso(e.start), "end": iso(e.end), "department": e.department[1], "current": e.current}
            for e in person.employments
        ],
    }


def odata_datetime(moment: dt.datetime) -> str:
    """An instant as SuccessFactors sends Edm.DateTimeOffset values: ``/Date(ms+0000)/`` (UTC, milliseconds)."""
    return f"/Date({int(moment.astimezone(dt.UTC).timestamp() * 1000)}+0000)/"


def retitled(job: tuple[str, str]) -> tuple[str, str]:
    """The job after ``job`` in TITLES (what ``HrmsEmulator.touch`` gives a worker: a visible change)."""
    codes = [code for code, _ in TITLES]
    position = codes.index(job[0]) if job[0] in codes else -1
    return TITLES[(position + 1) % len(TITLES)]


def today_of(timestamp: float) -> dt.date:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).date()
