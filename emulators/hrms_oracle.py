"""Oracle HCM Cloud: the workers resource with expand, framework-version shapes, limit/offset paging, hasMore.

Sources, cited beside each behaviour below:

* [workers] "Get all workers", https://docs.oracle.com/en/cloud/saas/human-resources/farws/op-workers-get.html
  (the ``expand`` parameter: ``Child.NestedChild`` expands the children on the way implicitly).
* [versions] "Set the REST Framework Version",
  https://docs.oracle.com/en/cloud/saas/human-resources/farws/Setting_the_REST_Framework_Version.html: HCM offers
  versions 1 to 8, uses 1 when the client sends no ``REST-Framework-Version``; from version 3 nested children
  come as a collection resource instead of an array of items.
* [v4 sample] a recorded version-4 answer (``onlyData=true``, expanded children): NangoHQ/integration-templates,
  integrations/oracle-hcm/mocks/nango/get/proxy/hcmRestApi/resources/11.13.18.05/workers/unified-employees/
  0053f210cc1e9a60e9dca5c36ad185c46a42fa51.json. Each child is ``{"items", "count", "hasMore", "limit",
  "offset", "links"}``, the child's ``limit`` equal to the request's, the page carries a self link.
* [v1 sample] Oracle LiveLabs "Create a REST API Connector" (HCM workers payload, version 1 arrays): work
  relationship ``StartDate``/``TerminationDate``/``PrimaryFlag``, assignment ``AssignmentNumber`` "E" + the
  person number, ``AssignmentStatusType``, ``PrimaryFlag`` and ``PrimaryAssignmentFlag``; default ``limit`` 25.
* [managers] "Update a Worker Manager",
  https://docs.oracle.com/en/cloud/saas/human-resources/farws/Update_a_Worker_Manager.html: a managers item
  holds ``AssignmentSupervisorId``, ``ManagerAssignmentId``, ``ManagerAssignmentNumber``, ``ManagerType``
  (``LINE_MANAGER``), ``ActionCode``, ``ReasonCode`` and effective dates: no person number of the manager.
* [primary] "Employment Primary Status Attributes",
  https://docs.oracle.com/en/cloud/saas/human-resources/fawhr/employment-primary-status-attributes.html: one
  primary work relationship; ``PRIMARY_ASSIGNMENT_FLAG`` marks the primary assignment, ``PRIMARY_FLAG`` only the
  primary assignment of the primary work relationship.
* [statuses] "How You Set Up Assignment Statuses" (HCM implementation guide): the HR status of an assignment is
  Active, Suspended or Inactive.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from emulators.entra_server import Request, Response
from emulators.hrms_data import Employment, Person, iso
from emulators.hrms_http import (
    HrmsError,
    basic_ok,
    int_param,
    json_response,
    not_found,
    require_method,
    unauthorized,
)
from emulators.hrms_shapes import Record, manager_of, ordered_emails, wid

if TYPE_CHECKING:
    from emulators.hrms import HrmsEmulator

ORACLE_WORKERS = "/hcmRestApi/resources/11.13.18.05/workers"
# What the built-in connector asks for; raw_workers are served that way.
CONNECTOR_EXPAND = "names,emails,workRelationships.assignments.managers"
CONNECTOR_FRAMEWORK_VERSION = 4
FRAMEWORK_VERSIONS = range(1, 9)  # [versions]: eight versions
DEFAULT_FRAMEWORK_VERSION = 1  # [versions]: no header, version 1
COLLECTIONS_FROM = 3  # [versions]: version 3 turns nested arrays into collection resources
DEFAULT_LIMIT = 25  # [v1 sample]: a page without limit says "limit": 25
END_OF_TIME = "4712-12-31"  # [v4 sample], [managers]: the open end of an effective-dated row
CHILDREN = ("names", "emails", "workRelationships")


@dataclass(frozen=True)
class Shape:
    """How children come out: the framework version decides arrays or collections; links need the base URL."""

    version: int
    limit: int
    base_url: str

    def child(self, items: list[Record], href: str, name: str) -> Any:
        if self.version < COLLECTIONS_FROM:
            return items
        # [v4 sample]: the nested collection keeps its self link even with onlyData=true, and nothing is cut
        # (no sample shows a child longer than its limit, so none is invented here).
        link = {"rel": "self", "href": self.base_url + href, "name": name, "kind": "collection"}
        return {"items": items, "count": len(items), "hasMore": False, "limit": self.limit, "offset": 0,
                "links": [link]}  # fmt: skip


def expanded(value: str) -> set[str]:
    """The children ``expand`` names: ``a.b.c`` also expands ``a`` and ``a.b`` ([workers]).

    ``all`` expands the direct children only: [workers] says nested children are named ``Child.NestedChild``;
    whether ``all`` reaches further is not documented, and no connector sends it.
    """
    paths: set[str] = set()
    for entry in (e.strip() for e in value.split(",")):
        if entry == "all":
            paths.update(CHILDREN)
        elif entry:
            parts = entry.split(".")
            paths.update(".".join(parts[: n + 1]) for n in range(len(parts)))
    return paths


def framework_version(request: Request) -> int:
    raw = request.header("REST-Framework-Version")
    if raw is None or not raw.strip():
        return DEFAULT_FRAMEWORK_VERSION
    try:
        version = int(raw.strip())
    except ValueError:
        version = 0
    if version not in FRAMEWORK_VERSIONS:
        # What Oracle answers to a version it does not offer is not documented; this emulator refuses it (400).
        raise HrmsError(400, {"title": "Bad Request", "detail": f"unsupported REST-Framework-Version {raw!r}"})
    return version


def assignment_number(person: Person, n: int) -> str:
    """[v1 sample]: the first assignment is "E" + the person number; later ones "-2", "-3" (secondary:
    hcmconnects.com, "Understanding Employee Number and Assignment Number in Oracle HCM")."""
    return f"E{person.worker_id}" if n == 0 else f"E{person.worker_id}-{n + 1}"


def status_type(person: Person, emp: Employment) -> str:
    """[statuses]: the HR status is ACTIVE, SUSPENDED or INACTIVE. An ended work relationship's assignment is
    INACTIVE; the population's workers on leave have their assignment suspended (an absence need not suspend
    it in Oracle, but a suspension is how a leave shows in this status); pre-hires are ACTIVE already
    (hrms-apis.md, Corrections: pre-hires arrive active)."""
    if emp.end is not None:
        return "INACTIVE"
    return "SUSPENDED" if person.status == "leave" else "ACTIVE"


def _manager_item(person: Person, manager: Person, kind: str, emp: Employment, n: int) -> Record:
    current = len(manager.employments) - 1
    return {  # [managers]
        "AssignmentSupervisorId": 500000 + int(person.internal_id) * 10 + n * 2 + (kind != "LINE_MANAGER"),
        "EffectiveStartDate": iso(emp.start),
        "EffectiveEndDate": iso(emp.end) or END_OF_TIME,
        "ManagerAssignmentId": 300000200000000 + int(manager.internal_id) * 10 + current,
        "ManagerAssignmentNumber": assignment_number(manager, current),
        "ManagerType": kind,
        "ActionCode": "REHIRE" if n else "HIRE",
        "ReasonCode": None,
    }


def _managers(person: Person, people: Sequence[Person], emp: Employment, n: int) -> list[Record]:
    items: list[Record] = []
    # Every fourth worker also has a project manager, listed first, so managers[0] is not the line manager.
    # ManagerType PROJECT_MANAGER: secondary (IBM watsonx Orchestrate's Oracle HCM tools name it beside LINE_MANAGER).
    if person.index % 4 == 1 and person.index + 1 < len(people):
        items.append(_manager_item(person, people[person.index + 1], "PROJECT_MANAGER", emp, n))
    line = manager_of(person, people)
    if line is not None:
        items.append(_manager_item(person, line, "LINE_MANAGER", emp, n))
    return items


def oracle_record(
    person: Person, people: Sequence[Person], expand: set[str], shape: Shape, newest_first: bool = False
) -> Record:
    """A workers item; a child only when ``expand`` names it, as an array or a collection per ``shape``.

    Work relationships come oldest first, or newest first with ``newest_first``: Oracle documents no order,
    so a client has to find the current one by its PrimaryFlag ([primary]), not by its place.
    """
    href = f"{ORACLE_WORKERS}/{wid('oracle', person.worker_id).upper()}"
    item: Record = {
        "PersonId": 300000000000000 + int(person.internal_id),
        "PersonNumber": person.worker_id,
        "DateOfBirth": iso(person.birth_date),
        "LastUpdateDate": person.last_changed.isoformat(),
    }
    if "names" in expand:
        name = {  # [v4 sample]
            "PersonNameId": 300000010000000 + int(person.internal_id),
            "EffectiveStartDate": iso(person.hire_date),
            "EffectiveEndDate": END_OF_TIME,
            "LegislationCode": "US",
            "FirstName": person.first,
            "LastName": person.last,
            "DisplayName": f"{person.first} {person.last}",
            "ListName": f"{person.last}, {person.first}",
        }
        item["names"] = shape.child([name], f"{href}/child/names", "names")
    if "emails" in expand:
        work = {"EmailAddressId": 300000020000000 + int(person.internal_id) * 2, "EmailType": "W1",
                "EmailAddress": person.work_email, "FromDate": iso(person.hire_date), "ToDate": None,
                "PrimaryFlag": True}  # fmt: skip
        home = {"EmailAddressId": 300000020000001 + int(person.internal_id) * 2, "EmailType": "H1",
                "EmailAddress": person.home_email, "FromDate": iso(person.hire_date), "ToDate": None,
                "PrimaryFlag": False}  # fmt: skip
        item["emails"] = shape.child(ordered_emails(person, work, home), f"{href}/child/emails", "emails")
    if "workRelationships" in expand:
        relationships = []
        for n, emp in enumerate(person.employments):
            period = 300000100000000 + int(person.internal_id) * 10 + n
            relationship: Record = {  # [v1 sample]
                "PeriodOfServiceId": period,
                "LegalEntityId": 300000050000001,
                "LegalEmployerName": "Contoso US",
                "WorkerType": "E",
                "PrimaryFlag": emp.current,  # [primary]: only the current relationship of a rehire is primary
                "StartDate": iso(emp.start),
                "TerminationDate": iso(emp.end),
            }
            if "workRelationships.assignments" in expand:
                relationship["assignments"] = shape.child(
                    [_assignment(person, people, emp, n, expand, shape, f"{href}/child/workRelationships/{period}")],
                    f"{href}/child/workRelationships/{period}/child/assignments",
                    "assignments",
                )
            relationships.append(relationship)
        if newest_first:
            relationships.reverse()
        item["workRelationships"] = shape.child(relationships, f"{href}/child/workRelationships", "workRelationships")
    return item


def _assignment(
    person: Person, people: Sequence[Person], emp: Employment, n: int, expand: set[str], shape: Shape, parent: str
) -> Record:
    assignment_id = 300000200000000 + int(person.internal_id) * 10 + n
    assignment: Record = {  # [v1 sample]
        "AssignmentId": assignment_id,
        "AssignmentNumber": assignment_number(person, n),
        "AssignmentName": emp.job[1],
        "AssignmentStatusType": status_type(person, emp),
        "PrimaryAssignmentFlag": True,
        "PrimaryFlag": emp.current,  # [primary]: the primary assignment of the primary relationship only
        "EffectiveStartDate": iso(emp.start),
        "EffectiveEndDate": iso(emp.end) or END_OF_TIME,
        "DepartmentName": emp.department[1],
        "JobCode": emp.job[0],
    }
    # hrms-apis.md (Corrections) and [workers]: the managers child comes only when expand names it.
    if "workRelationships.assignments.managers" in expand:
        href = f"{parent}/child/assignments/{assignment_id:X}/child/managers"
        assignment["managers"] = shape.child(_managers(person, people, emp, n), href, "managers")
    return assignment


def records(emu: HrmsEmulator) -> list[Record]:
    """The items as the built-in connector asks for them (its expand, framework version 4)."""
    shape = Shape(CONNECTOR_FRAMEWORK_VERSION, DEFAULT_LIMIT, emu.base_url)
    expand = expanded(CONNECTOR_EXPAND)
    return [oracle_record(p, emu.people, expand, shape, emu.oracle_newest_first) for p in emu.people]


def route(emu: HrmsEmulator, request: Request) -> Response:
    from emulators.hrms import PASSWORD, USERNAME

    if request.path.rstrip("/") != ORACLE_WORKERS:
        raise not_found(request.path)
    require_method(request, "GET")
    emu.take_fault()
    if not (basic_ok(request, USERNAME, PASSWORD) or emu.bearer_ok(request)):
        raise unauthorized()
    version = framework_version(request)
    limit = int_param(request.query, "limit", DEFAULT_LIMIT, minimum=1, maximum=emu.max_page_size)
    offset = int_param(request.query, "offset", 0)
    shape = Shape(version, limit, emu.base_url)
    expand = expanded(request.query.get("expand", ""))
    people = emu.people[offset : offset + limit]
    items = [oracle_record(p, emu.people, expand, shape, emu.oracle_newest_first) for p in people]
    # [workers]: hasMore says more items lie beyond this page. The quirk (hrms-apis.md, secondary source): it
    # stays true on the last non-empty page and only an empty page says false, so a client also stops on a
    # short page.
    has_more = bool(items) if emu.oracle_wrong_has_more else offset + len(items) < len(emu.people)
    body: dict[str, Any] = {"items": items, "count": len(items), "hasMore": has_more, "limit": limit,
                            "offset": offset}  # fmt: skip
    body["links"] = [{"rel": "self", "href": emu.base_url + ORACLE_WORKERS, "name": "workers", "kind": "collection"}]
    if request.query.get("totalResults") == "true":
        body["totalResults"] = len(emu.people)
    return json_response(200, body)


def config(emu: HrmsEmulator) -> dict[str, str]:
    """A working connector configuration for this emulator (besides ``baseUrl``)."""
    from emulators.hrms import PASSWORD, USERNAME

    return {"username": USERNAME, "password": PASSWORD}
