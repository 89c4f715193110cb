"""Workday: Get_Workers (Human_Resources web service, SOAP), the REST worker summaries, a RaaS report, and the
OAuth token endpoint they share.

Where each behaviour comes from:

* **Get_Workers** at ``/ccx/service/{tenant}/Human_Resources/{version}``, answers in ``urn:com.workday/bsvc``
  (Workday Web Services; the request and answer elements as in Microsoft's "How Microsoft Entra provisioning
  integrates with Workday", which shows Entra's own Get_Workers requests and the ``Response_Results`` block).
  Worker elements follow the XPATHs of Microsoft's "Workday attribute reference" (v30+ table): Worker_Reference
  IDs (WID, Employee_ID), Worker_Data/Worker_ID, Legal_Name_Data/Name_Detail_Data First_Name/Last_Name,
  Email_Address_Data with Usage_Data/@Public and Type_Reference ID Communication_Usage_Type_ID, Worker_Job_Data
  [@Primary_Job=1]/Position_Data (Business_Title, Worker_Type_Reference Employee_Type_ID), Worker_Status_Data
  (Active, Hire_Date, Terminated, Termination_Date, Leave_Status_Data[On_Leave=1]), Organization_Data/
  Worker_Organization_Data with Organization_Type_ID SUPERVISORY and Organization_Name, and
  Management_Chain_Data/Worker_Supervisory_Management_Chain_Data/Management_Chain_Data[last()]/Manager_Reference.
  The order of Worker_Status_Data's children is that of Worker_Status_Detail_DataType in the Human_Resources WSDL.
* **Paging**: Response_Filter Page (default 1; 0 is refused: "Page number cannot be zero") and Count (1 to 999,
  default 100), both from the WSDL's Response_FilterType documentation; Response_Results Total_Results,
  Total_Pages, Page_Results, Page.
* **As of a date**: the data is the one in effect on Response_Filter/As_Of_Effective_Date (default today), as
  the WSDL documents it. A future-dated hire comes with Active 0 until the hire date and Active 1 when read as of
  it (Microsoft's integration reference, "Query for future-dated hires", and its note on the Active field).
* **Request_Criteria**: Exclude_Inactive_Workers drops terminated workers (WSDL: "terminated employees or
  contingent workers whose contracts have ended"); Transaction_Log_Criteria_Data/Transaction_Date_Range_Data
  keeps the workers with a change entered between Updated_From and Updated_Through, or effective between
  Effective_From and Effective_Through (both pairs as in Microsoft's incremental sync queries); its validations
  (both ends of a pair, from before through, Updated_Through not after now) are the WSDL's for
  Effective_And_Updated_DateTime_Data. Request_References/Worker_Reference reads the workers named by ID.
* **Auth**: a WS-Security UsernameToken (``user@tenant``, PasswordText: OASIS UsernameToken Profile, as Workday
  expects it), or an OAuth bearer from the refresh-token grant. Refused credentials: HTTP 500 with the fault
  ``SOAP-ENV:Client.authenticationError`` / "invalid username or password" (NetIQ's Workday driver documentation,
  ServiceNow KB2597914).
* **REST** ``/ccx/api/v1/{tenant}/workers``: only the documented workerSummary view (id, descriptor, href,
  isManager, primaryWorkEmail, primaryWorkPhone, businessTitle, primarySupervisoryOrganization), terminated
  workers left out, ``limit`` default 20 and at most 100 (Workday REST reference for GET /workers).

Unconfirmed, so the emulator can do either (``QUIRKS``, picked with ``HrmsEmulator(..., quirks=...)``) and the
tests run both: whether a worker on leave
has Active 1 (secondary sources say so); whether workers not active on the as-of date (terminated, future-dated
hires) still come with their job, organisations and management chain; and whether an expired or wrong bearer
token gets an HTTP 401 or the authentication fault.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape, quoteattr

from emulators.entra_server import Request, Response
from emulators.hrms_data import Person, iso
from emulators.hrms_http import (
    HrmsError,
    basic_ok,
    chosen_quirk,
    client_of,
    form,
    int_param,
    json_response,
    not_found,
    require_method,
    unauthorized,
)
from emulators.hrms_shapes import Record, manager_of, ordered_emails, today_of, wid

if TYPE_CHECKING:
    from emulators.hrms import HrmsEmulator

BSVC = "urn:com.workday/bsvc"
ENV = "http://schemas.xmlsoap.org/soap/envelope/"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
PASSWORD_TEXT = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText"
MAX_COUNT = 999  # Response_FilterType: Count 1-999
DEFAULT_COUNT = 100
REST_MAX_LIMIT = 100
COMPANY = ("CONTOSO_LTD", "Contoso Ltd")
_STATUS = {"active": "Active", "leave": "On Leave", "terminated": "Terminated", "prehire": "Pre-Hire"}


QUIRKS: dict[str, tuple[Any, ...]] = {
    # name: (default, other values)
    "on_leave_active": (True, False),  # a worker on leave has Active 1 (else 0)
    "inactive_job_data": (True, False),  # workers not active on the as-of date keep job, organisations, chain
    "bearer_refusal": ("fault", "http401"),  # a refused bearer: the authentication fault (HTTP 500), or a 401
}


@dataclass(frozen=True)
class WorkdayOptions:
    """The quirks in effect for one request."""

    on_leave_active: bool = True
    inactive_job_data: bool = True
    bearer_refusal: str = "fault"


def quirk(emu: HrmsEmulator, name: str) -> Any:
    return chosen_quirk("workday", QUIRKS, emu.quirks, name)


def options(emu: HrmsEmulator) -> WorkdayOptions:
    return WorkdayOptions(**{name: quirk(emu, name) for name in QUIRKS})


# ---- the worker as of a date ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AsOf:
    """A person's state on one date."""

    person: Person
    day: dt.date

    @property
    def hired(self) -> bool:
        return self.person.current.start <= self.day

    @property
    def terminated(self) -> bool:
        end = self.person.termination_date
        return self.person.status == "terminated" and end is not None and end <= self.day

    @property
    def on_leave(self) -> bool:
        return self.person.status == "leave" and self.hired and not self.terminated

    @property
    def active(self) -> bool:
        return self.hired and not self.terminated


def _x(name: str, content: str | None = "", **attributes: str) -> str:
    """``<wd:name a="...">content</wd:name>``; content is markup already (escape text with ``_t``)."""
    attrs = "".join(f" wd:{key}={quoteattr(value)}" for key, value in attributes.items())
    return f"<wd:{name}{attrs}>{content or ''}</wd:{name}>"


def _t(name: str, text: str | None, **attributes: str) -> str:
    return "" if text is None else _x(name, escape(text), **attributes)


def _ref(name: str, descriptor: str, **ids: str) -> str:
    """A reference element: one ID per id type, as Workday references carry them."""
    return _x(name, "".join(_t("ID", value, type=kind) for kind, value in ids.items()), Descriptor=descriptor)


def _flag(value: bool) -> str:
    return "1" if value else "0"


def _org_holder(person: Person, people: Sequence[Person]) -> Person:
    """Whose supervisory organisation the person's position is in: a manager's own, else their manager's."""
    if person.is_manager or person.manager_index is None:
        return person
    return people[person.manager_index]


def _org(holder: Person) -> tuple[str, str, str]:
    """(WID, reference id, name) of the supervisory organisation ``holder`` manages."""
    return wid("org", holder.worker_id), f"SUP_{holder.worker_id}", holder.current.department[1]


def _chain(person: Person, people: Sequence[Person]) -> list[Person]:
    """The managers above the person, top first: each manages one organisation of the chain, and the last one
    is the person's manager (a manager's own organisation is left out: its manager is the person)."""
    chain: list[Person] = []
    index = person.manager_index
    while index is not None and len(chain) < len(people):
        chain.insert(0, people[index])
        index = people[index].manager_index
    return chain


def worker_xml(person: Person, people: Sequence[Person], day: dt.date, opts: WorkdayOptions) -> str:
    """One ``wd:Worker`` as of ``day``."""
    state = AsOf(person, day)
    job = person.current
    worker_wid = wid("worker", person.worker_id)
    name = f"{person.first} {person.last}"
    emails = ordered_emails(
        person,
        {"address": person.work_email, "public": "1", "usage": ("WORK", "Work")},
        {"address": person.home_email, "public": "0", "usage": ("HOME", "Home")},
    )
    contact = "".join(
        _x("Email_Address_Data",
           _t("Email_Address", e["address"])
           + _x("Usage_Data", _x("Type_Data", _ref("Type_Reference", e["usage"][1], WID=wid("usage", e["usage"][0]),
                                                   Communication_Usage_Type_ID=e["usage"][0]), Primary="1"),
                Public=e["public"]))
        for e in emails
    ) + _x("Phone_Data", _x("Usage_Data", _x("Type_Data", _ref("Type_Reference", "Work", WID=wid("usage", "WORK"),
                                                               Communication_Usage_Type_ID="WORK"), Primary="1"),
                            Public="1"), Formatted_Phone=person.work_phone)  # fmt: skip
    legal = _x("Name_Detail_Data", _t("First_Name", person.first) + _t("Last_Name", person.last),
               Formatted_Name=name, Reporting_Name=f"{person.last}, {person.first}")  # fmt: skip
    personal = _x("Personal_Data", _x("Name_Data", _x("Legal_Name_Data", legal) + _x("Preferred_Name_Data", legal))
                  + _x("Contact_Data", contact))  # fmt: skip

    on_leave_active = state.on_leave and opts.on_leave_active
    active = state.active and (not state.on_leave or on_leave_active)
    status_parts = [
        _t("Active", _flag(active)),
        _t("Active_Status_Date", iso(job.start) if state.active else None),
        _t("Hire_Date", iso(job.start)),
        _t("Original_Hire_Date", iso(person.employments[0].start)),
        _t("Continuous_Service_Date", iso(job.start)),
        _t("Terminated", _flag(state.terminated)),
        _t("Termination_Date", iso(person.termination_date) if state.terminated else None),
        _t("Termination_Last_Day_of_Work", iso(person.termination_date) if state.terminated else None),
    ]
    if state.on_leave:
        status_parts.append(_x("Leave_Status_Data", _t("On_Leave", "1")
                               + _t("Leave_Start_Date", iso(day - dt.timedelta(days=30)))
                               + _ref("Leave_of_Absence_Type_Reference", "Personal Leave", WID=wid("leave", "personal"),
                                      Leave_of_Absence_Type_ID="PERSONAL")))  # fmt: skip
    status_parts.append(_t("Rehire", _flag(len(person.employments) > 1)))
    status = _x("Worker_Status_Data", "".join(status_parts))

    with_job = state.active or opts.inactive_job_data
    employment = ""
    organizations = ""
    chain_xml = ""
    if with_job:
        position = _x(
            "Position_Data",
            _ref("Position_Reference", job.job[1], WID=wid("position", person.worker_id),
                 Position_ID=f"P-{person.worker_id}")
            + _t("Position_ID", f"P-{person.worker_id}")
            + _t("Position_Title", job.job[1])
            + _t("Business_Title", job.job[1])
            + _ref("Worker_Type_Reference", "Regular", WID=wid("type", "regular"), Employee_Type_ID="Regular")
            + _x("Job_Profile_Summary_Data", _ref("Job_Profile_Reference", job.job[1], WID=wid("job", job.job[0]),
                                                  Job_Profile_ID=job.job[0]) + _t("Job_Profile_Name", job.job[1]))
            + _t("Start_Date", iso(job.start)),
            Effective_Date=iso(job.start) or "",
        )  # fmt: skip
        employment = _x("Worker_Job_Data", position, Primary_Job="1")
        holder = _org_holder(person, people)
        org_wid, org_ref, org_name = _org(holder)
        company = _x("Worker_Organization_Data", _ref("Organization_Reference", COMPANY[1], WID=wid("org", COMPANY[0]),
                                                      Organization_Reference_ID=COMPANY[0])
                     + _x("Organization_Data", _t("Organization_Reference_ID", COMPANY[0])
                          + _t("Organization_Code", COMPANY[0]) + _t("Organization_Name", COMPANY[1])
                          + _ref("Organization_Type_Reference", "Company", WID=wid("orgtype", "COMPANY"),
                                 Organization_Type_ID="COMPANY")))  # fmt: skip
        supervisory = _x("Worker_Organization_Data", _ref("Organization_Reference", org_name, WID=org_wid,
                                                          Organization_Reference_ID=org_ref)
                         + _x("Organization_Data", _t("Organization_Reference_ID", org_ref)
                              + _t("Organization_Code", holder.current.department[0])
                              + _t("Organization_Name", org_name)
                              + _ref("Organization_Type_Reference", "Supervisory", WID=wid("orgtype", "SUPERVISORY"),
                                     Organization_Type_ID="SUPERVISORY")))  # fmt: skip
        organizations = _x("Organization_Data", company + supervisory)
        levels = "".join(
            _x("Management_Chain_Data", _ref("Organization_Reference", _org(m)[2], WID=_org(m)[0],
                                             Organization_Reference_ID=_org(m)[1])
               + _ref("Manager_Reference", f"{m.first} {m.last}", WID=wid("worker", m.worker_id),
                      Employee_ID=m.worker_id))
            for m in _chain(person, people)
        )  # fmt: skip
        if levels:
            chain_xml = _x("Management_Chain_Data", _x("Worker_Supervisory_Management_Chain_Data", levels))
    data = _x(
        "Worker_Data",
        _t("Worker_ID", person.worker_id) + _t("User_ID", person.work_email.split("@")[0]) + personal
        + _x("Employment_Data", employment + status) + organizations + chain_xml,
    )  # fmt: skip
    reference = _ref("Worker_Reference", name, WID=worker_wid, Employee_ID=person.worker_id)
    return _x("Worker", reference + _t("Worker_Descriptor", name) + data)


def records(emu: HrmsEmulator) -> list[Record]:
    """What tests look at: each worker's ids and status today (the XML is rendered per request, as of its date)."""
    if emu.vendor == "workday-raas":
        return [workday_raas(p, emu.people) for p in emu.people]
    return [
        {"WID": wid("worker", p.worker_id), "Employee_ID": p.worker_id, "status": _STATUS[p.status],
         "Hire_Date": iso(p.current.start), "Termination_Date": iso(p.termination_date)}
        for p in emu.people
    ]  # fmt: skip


def summary(person: Person, people: Sequence[Person], base_url: str, tenant: str) -> Record:
    """The REST workerSummary view: nothing more (no employee id, legal name, manager, dates or status)."""
    holder = _org_holder(person, people)
    org_wid, _, org_name = _org(holder)
    worker_wid = wid("worker", person.worker_id)
    return {
        "id": worker_wid,
        "descriptor": f"{person.first} {person.last}",
        "href": f"{base_url}/ccx/api/v1/{tenant}/workers/{worker_wid}",
        "isManager": person.is_manager,
        "primaryWorkEmail": person.work_email,
        "primaryWorkPhone": person.work_phone,
        "businessTitle": person.current.job[1],
        "primarySupervisoryOrganization": {
            "id": org_wid,
            "descriptor": org_name,
            "href": f"{base_url}/ccx/api/v1/{tenant}/supervisoryOrganizations/{org_wid}",
        },
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
        "Worker_Status": _STATUS[person.status],
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


# ---- SOAP -------------------------------------------------------------------------------------------------


class SoapFault(Exception):
    def __init__(self, code: str, text: str, status: int = 500) -> None:
        super().__init__(text)
        self.code = code
        self.text = text
        self.status = status


def _fault_response(fault: SoapFault) -> Response:
    # The shape Workday answers with (NetIQ's and ServiceNow's published copies of Workday's fault).
    body = (
        f'<?xml version="1.0" encoding="utf-8"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="{ENV}"><SOAP-ENV:Body>'
        f'<SOAP-ENV:Fault xmlns:SOAP-ENV="{ENV}" xmlns:wd="{BSVC}"><faultcode>{escape(fault.code)}</faultcode>'
        f"<faultstring>{escape(fault.text)}</faultstring></SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>"
    )
    return Response(fault.status, {"Content-Type": "text/xml; charset=utf-8"}, body.encode())


def _validation(text: str) -> SoapFault:
    return SoapFault("SOAP-ENV:Client.validationError", text)


def _q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


def _text(parent: ET.Element | None, *path: str) -> str | None:
    node = parent
    for name in path:
        if node is None:
            return None
        node = node.find(_q(BSVC, name))
    return None if node is None or node.text is None else node.text.strip()


def _bool(value: str | None) -> bool:
    return value is not None and value.strip().lower() in ("1", "true")


def _date(value: str | None, what: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value.strip()[:10])
    except ValueError:
        raise _validation(f"Invalid date for {what}: {value}") from None


def _moment(value: str | None, what: str) -> dt.datetime | None:
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise _validation(f"Invalid dateTime for {what}: {value}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _count(value: str | None, default: int, what: str) -> int:
    if value is None or value == "":
        return default
    try:
        return int(float(value))
    except ValueError:
        raise _validation(f"Invalid number for {what}: {value}") from None


def _authenticated(emu: HrmsEmulator, request: Request, envelope: ET.Element) -> None:
    from emulators.hrms import PASSWORD, TENANT, USERNAME

    token = envelope.find(f"{_q(ENV, 'Header')}/{_q(WSSE, 'Security')}/{_q(WSSE, 'UsernameToken')}")
    if token is not None:
        user = token.findtext(_q(WSSE, "Username"), "").strip()
        password = token.find(_q(WSSE, "Password"))
        kind = password.get("Type", PASSWORD_TEXT) if password is not None else ""
        secret = (password.text or "") if password is not None else ""
        if user == f"{USERNAME}@{TENANT}" and secret == PASSWORD and kind == PASSWORD_TEXT:
            return
        raise SoapFault("SOAP-ENV:Client.authenticationError", "invalid username or password")
    if emu.bearer_ok(request):
        return
    if (request.header("authorization") or "").lower().startswith("bearer ") and \
            options(emu).bearer_refusal == "http401":  # fmt: skip
        raise unauthorized("Bearer")
    raise SoapFault("SOAP-ENV:Client.authenticationError", "invalid username or password")


def _selected(emu: HrmsEmulator, call: ET.Element, day: dt.date) -> list[Person]:
    """The workers a Get_Workers_Request asks for, in Employee_ID order."""
    people = list(emu.people)
    references = call.find(_q(BSVC, "Request_References"))
    if references is not None:
        wanted = {(node.get(_q(BSVC, "type")), (node.text or "").strip())
                  for node in references.iter(_q(BSVC, "ID"))}  # fmt: skip
        return [p for p in people
                if ("WID", wid("worker", p.worker_id)) in wanted or ("Employee_ID", p.worker_id) in wanted]  # fmt: skip
    criteria = call.find(_q(BSVC, "Request_Criteria"))
    if criteria is None:
        return people
    if _bool(_text(criteria, "Exclude_Inactive_Workers")):
        people = [p for p in people if not AsOf(p, day).terminated]
    logs = criteria.findall(_q(BSVC, "Transaction_Log_Criteria_Data"))
    for log in logs:
        people = [p for p in people if _in_log(emu, p, log.find(_q(BSVC, "Transaction_Date_Range_Data")))]
    return people


def _in_log(emu: HrmsEmulator, person: Person, dates: ET.Element | None) -> bool:
    if dates is None:
        return True
    now = dt.datetime.fromtimestamp(emu._clock(), dt.UTC)
    updated = (_moment(_text(dates, "Updated_From"), "Updated_From"),
               _moment(_text(dates, "Updated_Through"), "Updated_Through"))  # fmt: skip
    effective = (_moment(_text(dates, "Effective_From"), "Effective_From"),
                 _moment(_text(dates, "Effective_Through"), "Effective_Through"))  # fmt: skip
    for start, end, label in ((*updated, "Updated"), (*effective, "Effective")):
        if (start is None) != (end is None):
            raise _validation(f"If one of {label} From or {label} Through contains a value, both are Required!")
        if start is not None and end is not None and start > end:
            raise _validation(f"{label} From must be less than or equal to {label} Through!")
    if updated[1] is not None and updated[1] > now + dt.timedelta(seconds=5):
        raise _validation("Updated Through must be less than or equal to Current Moment!")
    keep = True
    if updated[0] is not None and updated[1] is not None:
        keep = updated[0] <= person.last_changed <= updated[1]
    if keep and effective[0] is not None and effective[1] is not None:
        first, last = effective[0].date(), effective[1].date()
        events = [d for e in person.employments for d in (e.start, e.end) if d is not None]
        keep = any(first <= d <= last for d in events)
    return keep


def get_workers(emu: HrmsEmulator, request: Request, version: str) -> Response:
    try:
        envelope = ET.fromstring(request.body)
    except ET.ParseError:
        raise _validation("The request is not well-formed XML") from None
    if envelope.tag != _q(ENV, "Envelope"):
        raise _validation("The request is not a SOAP 1.1 envelope")
    _authenticated(emu, request, envelope)
    call = envelope.find(f"{_q(ENV, 'Body')}/{_q(BSVC, 'Get_Workers_Request')}")
    if call is None:
        raise _validation("This emulator answers Get_Workers_Request only")
    today = today_of(emu._clock())
    response_filter = call.find(_q(BSVC, "Response_Filter"))
    day = _date(_text(response_filter, "As_Of_Effective_Date"), "As_Of_Effective_Date") or today
    entry = _text(response_filter, "As_Of_Entry_DateTime")
    _moment(entry, "As_Of_Entry_DateTime")
    ceiling = min(MAX_COUNT, emu.max_page_size)
    page = _count(_text(response_filter, "Page"), 1, "Page")
    count = _count(_text(response_filter, "Count"), min(DEFAULT_COUNT, ceiling), "Count")
    if page < 1:
        raise _validation("Page number cannot be zero.")
    if not 1 <= count <= ceiling:
        raise _validation(f"Count must be between 1 and {ceiling}")
    people = _selected(emu, call, day)
    group = call.find(_q(BSVC, "Response_Group"))
    log = getattr(emu, "soap_requests", None)
    if log is None:
        log = []
        emu.soap_requests = log  # type: ignore[attr-defined]
    log.append({
        "version": version, "page": page, "count": count, "asOf": day.isoformat(), "entry": entry,
        "excludeInactive": _text(call, "Request_Criteria", "Exclude_Inactive_Workers"),
        "transactionLog": call.find(f"{_q(BSVC, 'Request_Criteria')}/{_q(BSVC, 'Transaction_Log_Criteria_Data')}")
        is not None,
        "references": call.find(_q(BSVC, "Request_References")) is not None,
        "responseGroup": [] if group is None else [child.tag.split("}")[-1] for child in group],
        "auth": "bearer" if (request.header("authorization") or "").lower().startswith("bearer") else "wss",
    })  # fmt: skip
    total = len(people)
    pages = max(1, math.ceil(total / count)) if total else 0
    chunk = people[(page - 1) * count : page * count]
    opts = options(emu)
    workers = "".join(worker_xml(p, emu.people, day, opts) for p in chunk)
    echo = _t("As_Of_Effective_Date", day.isoformat()) + _t("As_Of_Entry_DateTime", entry) + _t("Page", str(page)) \
        + _t("Count", str(count))  # fmt: skip
    results = _t("Total_Results", str(total)) + _t("Total_Pages", str(pages)) + _t("Page_Results", str(len(chunk))) \
        + _t("Page", str(page))  # fmt: skip
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?><env:Envelope xmlns:env="{ENV}" '
        'xmlns:xsd="http://www.w3.org/2001/XMLSchema"><env:Body>'
        f'<wd:Get_Workers_Response xmlns:wd="{BSVC}" wd:version={quoteattr(version)}>'
        + _x("Response_Filter", echo) + _x("Response_Results", results)
        + (_x("Response_Data", workers) if chunk else "")
        + "</wd:Get_Workers_Response></env:Body></env:Envelope>"
    )  # fmt: skip
    return Response(200, {"Content-Type": "text/xml; charset=utf-8"}, body.encode())


# ---- routes -----------------------------------------------------------------------------------------------


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
    if emu.vendor == "workday":
        soap = re.fullmatch(rf"/ccx/service/{re.escape(TENANT)}/Human_Resources/(v\d+(?:\.\d+)?)", path)
        if soap is not None:
            require_method(request, "POST")
            emu.take_fault()
            try:
                return get_workers(emu, request, soap.group(1))
            except SoapFault as fault:
                return _fault_response(fault)
        if path in (f"/ccx/api/v1/{TENANT}/workers", f"/ccx/api/staffing/v6/{TENANT}/workers"):
            require_method(request, "GET")
            emu.take_fault()
            if not emu.bearer_ok(request):
                raise unauthorized("Bearer")
            limit = int_param(request.query, "limit", 20, minimum=1, maximum=min(REST_MAX_LIMIT, emu.max_page_size))
            offset = int_param(request.query, "offset", 0)
            today = today_of(emu._clock())
            listed = [summary(p, emu.people, emu.base_url, TENANT) for p in emu.people if not AsOf(p, today).terminated]
            return json_response(200, {"total": len(listed), "data": listed[offset : offset + limit]})
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

    oauth = {
        "clientId": CLIENT_ID,
        "clientSecret": CLIENT_SECRET,
        "refreshToken": emu.refresh_token,
        "tokenUrl": f"{emu.base_url}/ccx/oauth2/{TENANT}/token",
    }
    if emu.vendor == "workday":
        # authMode oauth2 (the definition's default) works as is; authMode password uses username and password.
        return {"tenant": TENANT, "version": "v43.0", **oauth, "username": f"{USERNAME}@{TENANT}", "password": PASSWORD}
    # authMode basic (the default) uses username and password; authMode oauth2 the refresh-token grant.
    return {
        "tenant": TENANT,
        "username": USERNAME,
        "password": PASSWORD,
        "reportOwner": REPORT_OWNER,
        "reportName": REPORT_NAME,
        **oauth,
    }
