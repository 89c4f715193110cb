"""BambooHR: the directory, custom reports, one employee, and employees/changed for deltas.

Sources (BambooHR's API documentation, documentation.bamboohr.com, unless said otherwise):

* Field names and meanings: "List of Field Names" (docs/list-of-field-names). ``id`` is BambooHR's own
  immutable employee id, ``employeeNumber`` the number the company assigns; ``supervisorEId`` is the
  supervisor's ``id`` and ``supervisorId`` the supervisor's ``employeeNumber`` (also in
  /work/shared/docs/hrms-apis.md, Corrections; SGNL's public BambooHR template relates ``supervisorEId``
  to ``id``, github.com/SGNL-ai/catalog-sgnl-templates bamboo-hr.sgnl.yaml). Workato's connector pages
  describe the two the other way round; the vendor's field list is followed here.
* Ids are strings in JSON and XML alike ("Get Employees Directory", reference/get-employees-directory).
* Empty dates are ``0000-00-00`` (hrms-apis.md, Corrections; a public offboarding script compares
  ``hireDate`` and ``terminationDate`` from this API with "0000-00-00"). Whether every endpoint writes
  them so is not documented: the quirk ``empty_date`` serves ``null`` instead, and tests run both.
* ``status`` is Active or Inactive; ``employmentHistoryStatus`` is the current employment status, a
  list customised by each account ("Full-Time", "Terminated"...). A termination dated in the future
  leaves the status Active until that day (secondary: onwardb's BambooHR connector guide).
* Format: the directory, one employee and employees/changed answer JSON only for ``Accept:
  application/json``; XML is "the default when Accept is missing or any non-JSON value" (Get Employees
  Directory). The custom report takes ``format`` (case-insensitive) first; without it, the format is
  inferred from ``Accept``, whose only accepted values are application/json, text/xml, text/csv,
  application/pdf and application/vnd.ms-excel, anything else (``*/*`` and application/xml included)
  answering 404 ("Request Custom Report", reference/request-custom-report). A custom report without
  ``format`` and without ``Accept`` answers XML here (hrms-apis.md: without an Accept header the API
  answers XML). CSV, PDF and XLS are not emulated (400).
* The custom report's JSON body is read only with ``Content-Type: application/json`` exactly; any
  other value, ``application/json; charset=UTF-8`` included, makes it parsed as an XML ``<report>``,
  which "typically results in 400 Malformed XML" (Request Custom Report). Unknown fields are omitted,
  the answer is still 200 (same page). The report lists every employee, Active and Inactive (same page);
  ``onlyCurrent`` (default true) leaves out those whose hire date or employment status is in the future,
  as it does for the directory, which lists Active employees only (Get Employees Directory). Here that is
  the pre-hires; their future-dated field values are not emulated apart.
* XML shapes: ``<directory><fieldset><field id=...>`` and ``<employees><employee id=...><field id=...>``
  (Get Employees Directory's sample); the report, one employee and the change list use the same
  ``<employee id>``/``<field id>`` elements, under ``<report>`` (with ``<title>`` and ``<fields>``),
  alone, and as ``<employees latest>`` of ``<employee id action lastChanged/>`` (the legacy
  documentation's samples, www.bamboohr.com/api/documentation/).
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import orjson

from emulators.entra_server import Request, Response
from emulators.hrms_data import Person
from emulators.hrms_http import (
    HrmsError,
    basic_credentials,
    chosen_quirk,
    json_response,
    not_found,
    require_method,
    unauthorized,
)
from emulators.hrms_shapes import Record, manager_of

if TYPE_CHECKING:
    from emulators.hrms import HrmsEmulator

EMPTY_DATE = "0000-00-00"
QUIRKS: dict[str, tuple[Any, ...]] = {
    # name: (default, other values): how an empty date is written
    "empty_date": (EMPTY_DATE, None),
}

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
    "supervisorId": "text",
    "supervisorEId": "text",
    "supervisorEmail": "email",
    "supervisor": "text",
    "hireDate": "date",
    "originalHireDate": "date",
    "terminationDate": "date",
    "status": "status",
    "employmentHistoryStatus": "list",
    "lastChanged": "timestamp",
}
EMPLOYMENT_STATUS = {"active": "Full-Time", "prehire": "Full-Time", "leave": "Leave of Absence",
                     "terminated": "Terminated"}  # fmt: skip
REPORT_ACCEPT = {"application/json": "json", "text/xml": "xml"}
NOT_EMULATED = ("csv", "pdf", "xls", "application/pdf", "text/csv", "application/vnd.ms-excel")


def quirk(emu: HrmsEmulator, name: str) -> Any:
    return chosen_quirk("bamboohr", QUIRKS, emu.quirks, name)


def no_hire_date(person: Person) -> bool:
    """A terminated worker at an even position has no hire date on file (entered without one)."""
    return person.status == "terminated" and person.index % 2 == 0


def bamboohr(person: Person, people: Sequence[Person], empty_date: str | None = EMPTY_DATE) -> Record:
    """Every field BambooHR knows here; the custom report keeps the requested ones."""
    manager = manager_of(person, people)

    def date(day: dt.date | None) -> str | None:
        return empty_date if day is None else day.isoformat()

    undated = no_hire_date(person)
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
        "supervisorId": None if manager is None else manager.worker_id,
        "supervisorEId": None if manager is None else manager.internal_id,
        "supervisorEmail": None if manager is None else manager.work_email,
        "supervisor": None if manager is None else f"{manager.last}, {manager.first}",
        "hireDate": date(None if undated else person.current.start),
        "originalHireDate": date(None if undated else person.hire_date),
        "terminationDate": date(person.termination_date),
        "status": "Inactive" if person.status == "terminated" else "Active",
        "employmentHistoryStatus": EMPLOYMENT_STATUS[person.status],
        "lastChanged": person.last_changed.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
    }


def records(emu: HrmsEmulator) -> list[Record]:
    empty_date = quirk(emu, "empty_date")
    return [bamboohr(p, emu.people, empty_date) for p in emu.people]


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
    people = list(zip(emu.people, emu.raw_workers, strict=True))
    if rest == "reports/custom":
        return _custom_report(people, request)
    as_json = "application/json" in (request.header("accept") or "").lower()
    if one:
        return _bamboohr_employee(people, rest[len("employees/") :], request, as_json)
    if rest == "employees/directory":
        keep = ("id", "displayName", "firstName", "lastName", "jobTitle", "workPhone", "workEmail", "department")
        rows = [{k: rec[k] for k in keep} for person, rec in people
                if rec["status"] == "Active" and _listed(person, request)]  # fmt: skip
        fieldset = [{"id": k, "name": k} for k in keep if k != "id"]
        if as_json:
            return json_response(200, {"fields": fieldset, "employees": rows})
        directory = ET.Element("directory")
        fields = ET.SubElement(directory, "fieldset")
        for field in fieldset:
            ET.SubElement(fields, "field", id=field["id"]).text = field["name"]
        _xml_employees(ET.SubElement(directory, "employees"), rows)
        return _xml_response(directory)
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
    latest_text = latest.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    if as_json:
        return json_response(200, {"latest": latest_text, "employees": changed})
    root = ET.Element("employees", latest=latest_text)
    for entry in changed.values():
        ET.SubElement(root, "employee", id=entry["id"], action=entry["action"], lastChanged=entry["lastChanged"])
    return _xml_response(root)


def _custom_report(people: list[tuple[Person, dict[str, Any]]], request: Request) -> Response:
    output = _report_format(request)
    title, wanted = _report_request(request)
    fields = [f for f in wanted if f in BAMBOO_FIELDS and f != "id"]  # unknown fields: left out, still 200
    rows = [{"id": rec["id"], **{f: rec[f] for f in fields}} for person, rec in people if _listed(person, request)]
    described = [{"id": f, "type": BAMBOO_FIELDS[f], "name": f} for f in fields]
    if output == "json":
        return json_response(200, {"title": title, "fields": described, "employees": rows})
    report = ET.Element("report")
    ET.SubElement(report, "title").text = title
    listed = ET.SubElement(report, "fields")
    for field in described:
        ET.SubElement(listed, "field", id=field["id"], type=field["type"]).text = field["name"]
    _xml_employees(ET.SubElement(report, "employees"), rows)
    return _xml_response(report)


def _listed(person: Person, request: Request) -> bool:
    """``onlyCurrent`` (default true) leaves out the employees whose hire date is still to come."""
    return person.status != "prehire" or request.query.get("onlyCurrent", "true").lower() == "false"


def _report_format(request: Request) -> str:
    """The answer's format, json or xml: ``format`` first, else the exact ``Accept`` value, else (no Accept) XML."""
    asked = request.query.get("format")
    if asked is not None:
        chosen = asked.strip().lower()
        if chosen in ("json", "xml"):
            return chosen
        if chosen in NOT_EMULATED:
            raise HrmsError(400, {"error": "not_emulated", "message": f"format {asked} is not emulated"})
        raise HrmsError(400, {"error": "bad_request", "message": f"unknown format {asked!r}"})
    accept = request.header("accept")
    if accept is None or not accept.strip():
        return "xml"
    if accept.strip() in REPORT_ACCEPT:
        return REPORT_ACCEPT[accept.strip()]
    if accept.strip() in NOT_EMULATED:
        raise HrmsError(400, {"error": "not_emulated", "message": f"{accept} is not emulated"})
    raise not_found(request.path)


def _report_request(request: Request) -> tuple[str, list[str]]:
    """The report's title and field ids, from a JSON body (exact Content-Type) or else an XML ``<report>``."""
    default = ["employeeNumber", "firstName", "lastName"]
    if (request.header("content-type") or "").strip() == "application/json":
        try:
            body = orjson.loads(request.body or b"{}")
        except orjson.JSONDecodeError:
            raise HrmsError(400, {"error": "bad_request", "message": "the body must be JSON"}) from None
        if not isinstance(body, dict):
            raise HrmsError(400, {"error": "bad_request", "message": "the body must be a JSON object"})
        fields = [f for f in body.get("fields") or default if isinstance(f, str)]
        return str(body.get("title", "Report")), fields
    try:
        report = ET.fromstring(request.body or b"")
    except ET.ParseError:
        raise HrmsError(400, {"error": "bad_request", "message": "Malformed XML"}) from None
    if report.tag != "report":
        raise HrmsError(400, {"error": "bad_request", "message": "Malformed XML: the root must be <report>"})
    fields = [f.get("id", "") for f in report.iterfind("fields/field") if f.get("id")]
    return report.findtext("title") or "Report", fields or default


def _bamboohr_employee(
    people: list[tuple[Person, dict[str, Any]]], internal_id: str, request: Request, as_json: bool
) -> Response:
    """GET employees/{id}?fields=a,b: ``id`` plus the known fields asked for, flat like a custom report row.

    Fields BambooHR does not know here are left out (BambooHR omits fields the key may not see); no
    ``fields`` gives just ``id``; an unknown id answers 404.
    """
    record = next((rec for person, rec in people if person.internal_id == internal_id), None)
    if record is None:
        raise not_found(request.path)
    wanted = [f.strip() for f in request.query.get("fields", "").split(",") if f.strip()]
    fields = [f for f in wanted if f in BAMBOO_FIELDS and f != "id"]
    row = {"id": record["id"], **{f: record[f] for f in fields}}
    if as_json:
        return json_response(200, row)
    employee = ET.Element("employee", id=row["id"])
    _xml_fields(employee, row)
    return _xml_response(employee)


def _xml_employees(parent: ET.Element, rows: list[dict[str, Any]]) -> None:
    for row in rows:
        _xml_fields(ET.SubElement(parent, "employee", id=str(row["id"])), row)


def _xml_fields(employee: ET.Element, row: Mapping[str, Any]) -> None:
    for key, value in row.items():
        if key != "id":
            ET.SubElement(employee, "field", id=key).text = None if value is None else str(value)


def _xml_response(root: ET.Element) -> Response:
    body = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return Response(200, {"Content-Type": "text/xml; charset=utf-8"}, body)


def config(emu: HrmsEmulator) -> dict[str, str]:
    """A working connector configuration for this emulator (besides ``baseUrl``)."""
    from emulators.hrms import API_KEY, COMPANY

    return {"apiKey": API_KEY, "companyId": COMPANY}
