"""Delta pulls: only the workers an HR system reports as changed since a moment.

``fetch_changes(definition, config, since=...)`` yields the same flat records as ``fetch_records`` (the
definition's ``extract`` fields), so the connector's mapping profile applies unchanged; it returns a
``FetchStream`` whose ``report`` is a ``ChangeReport``. Three built-ins have a delta query:

* **BambooHR**: ``GET .../v1/employees/changed?since=<UTC, seconds>`` lists the internal ids changed since
  then (with an ``action``); each one is then read with ``GET .../v1/employees/{id}?fields=<the custom
  report's fields>``, which answers the same flat object as a report row. Terminated workers come back like
  any other change (``status`` says Inactive); ids whose action is ``Deleted``, or whose record answers 404,
  cannot be read any more: they are listed in ``report.deleted`` (internal ids) and yield no record.
  Records come in ascending internal id order. Every answer counts as a page. Both calls send
  ``Accept: application/json`` whatever the definition says: without it BambooHR answers XML.
* **SuccessFactors**: the normal PerPerson pull (same expands, same server-side paging) with a ``$filter``
  on the ``lastModifiedDateTime`` of every entity that carries a mapped field, or-ed:
  ``lastModifiedDateTime gt datetimeoffset'<UTC, seconds>Z' or personalInfoNav/lastModifiedDateTime gt ...``
  (and-ed to a ``$filter`` already in the definition). PerPerson's own time does not move when a job, an
  email, a name or an employment changes: each entity keeps its own. Records come in the server's order.
* **Workday**: Get_Workers with ``Transaction_Log_Criteria_Data``, once for changes entered since then and once
  for changes effective since then, as Entra's incremental sync does (``connectors/workday_changes.py``).

``since`` must carry an offset or ``Z`` (a naive time is refused with ValueError: the vendors would read it
in their own time zone). It is cut to whole seconds downwards, so a delta may repeat a change, never miss one.

Which connectors have a delta is decided by id: the built-in ids are reserved (the registry refuses a user
definition reusing one), and a definition has no field saying so (``connectors/definition.py`` is kept as is).
Errors are ``ConnectorError``s from the same request machinery as ``fetch_records``: they name the connector,
the URL path (never the query string) and the status, with secrets blanked out.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from provisioning.core.retry import RetryPolicy

from .context import ConnectorError, FetchReport
from .definition import ConnectorDefinition, PagingSpec, RequestSpec
from .fetch import DEFAULT_TIMEOUT, FetchStream, Pull, fetch_records

logger = logging.getLogger(__name__)

CHANGE_CONNECTORS = frozenset({"bamboohr", "successfactors", "workday"})
"""Built-in connector ids with a delta query."""
BAMBOO_API_ROOT = "/v1/"
BAMBOO_DELETED = "deleted"


@dataclass
class ChangeReport(FetchReport):
    """A delta pull's report; ``deleted`` holds the internal ids reported deleted (BambooHR), not fetched."""

    deleted: list[str] = field(default_factory=list)


def supports_changes(definition: ConnectorDefinition) -> bool:
    """Whether ``fetch_changes`` can pull this connector's deltas (BambooHR and SuccessFactors, by id)."""
    return definition.id in CHANGE_CONNECTORS


def parse_since(since: str) -> dt.datetime:
    """``since`` as an aware UTC datetime cut to whole seconds; ValueError when unreadable or naive."""
    if not isinstance(since, str) or not since.strip():
        raise ValueError(f"since must be an ISO 8601 time with an offset or Z, got {since!r}")
    try:
        moment = dt.datetime.fromisoformat(since.strip())
    except ValueError:
        raise ValueError(f"since must be an ISO 8601 time with an offset or Z, got {since!r}") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"since {since!r} has no offset: add Z or +hh:mm (a naive time is ambiguous)")
    return moment.astimezone(dt.UTC).replace(microsecond=0)


def odata_datetime_literal(moment: dt.datetime) -> str:
    """The OData v2 ``datetime'YYYY-MM-DDTHH:MM:SS'`` literal of an aware moment, in UTC."""
    return f"datetime'{moment.astimezone(dt.UTC).strftime('%Y-%m-%dT%H:%M:%S')}'"


def fetch_changes(
    definition: ConnectorDefinition, config: Mapping[str, Any], *, since: str, **fetch_kwargs: Any
) -> FetchStream:
    """Flat records of the workers changed since ``since``; ``fetch_kwargs`` are those of ``fetch_records``.

    ValueError for a bad ``since``; ConnectorError for a connector without a delta query or a bad config
    (at once) and for HTTP problems (while iterating).
    """
    moment = parse_since(since)
    if definition.id == "successfactors":
        return fetch_records(successfactors_delta(definition, moment), config, **fetch_kwargs)
    if definition.id == "bamboohr":
        return _bamboohr_changes(definition, config, moment, **fetch_kwargs)
    if definition.id == "workday":
        from .workday_changes import workday_changes

        return workday_changes(definition, config, moment, **fetch_kwargs)
    raise ConnectorError(f"connector {definition.id!r} has no delta query: pull it in full", connector=definition.id)


# ---- SuccessFactors ------------------------------------------------------------------------------------------


SUCCESSFACTORS_DELTA_ENTITIES = (
    "",  # PerPerson itself
    "personalInfoNav",  # PerPersonal: names
    "emailNav",  # PerEmail
    "phoneNav",  # PerPhone (no built-in field, but a config's extract may read it)
    "employmentNav",  # EmpEmployment: hire and end dates, the termination
    "employmentNav/jobInfoNav",  # EmpJob: title, department, manager, emplStatus
)
"""Where a mapped field's change moves a ``lastModifiedDateTime``. Microsoft's own SuccessFactors connector
asks the same entities (Microsoft Learn, "How Microsoft Entra provisioning integrates with SAP SuccessFactors",
incremental sync template; it adds effective-date conditions this connector does not need: with
``asOfDate=9999-12-31`` a change dated ahead is read, and so filtered, when it is entered). On an
effective-dated entity the condition holds when any time slice matches (SAP KBA 2920680)."""


def successfactors_delta(definition: ConnectorDefinition, moment: dt.datetime) -> ConnectorDefinition:
    """The definition with ``<entity>/lastModifiedDateTime gt datetimeoffset'...'`` for each entity in its
    ``$filter``, or-ed (SAP KBA 2920680 writes Edm.DateTimeOffset literals ``datetimeoffset'...Z'``)."""
    literal = odata_datetimeoffset_literal(moment)
    condition = " or ".join(
        f"{entity + '/' if entity else ''}lastModifiedDateTime gt {literal}" for entity in SUCCESSFACTORS_DELTA_ENTITIES
    )
    query = dict(definition.request.query)
    existing = query.get("$filter", "").strip()
    query["$filter"] = f"({existing}) and ({condition})" if existing else condition
    return definition.model_copy(update={"request": definition.request.model_copy(update={"query": query})})


def odata_datetimeoffset_literal(moment: dt.datetime) -> str:
    """The OData v2 ``datetimeoffset'YYYY-MM-DDTHH:MM:SSZ'`` literal of an aware moment, in UTC."""
    return f"datetimeoffset'{moment.astimezone(dt.UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}'"


# ---- BambooHR ------------------------------------------------------------------------------------------------


def _bamboohr_changes(
    definition: ConnectorDefinition,
    config: Mapping[str, Any],
    moment: dt.datetime,
    *,
    transport: httpx.BaseTransport | None = None,
    policy: RetryPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
    limit: int | None = None,
    on_page: Callable[[FetchReport], None] | None = None,
    on_rotate: Callable[[str], None] | None = None,
    allow_loopback_http: bool = False,
    allow_private_networks: bool = False,
    timeout: httpx.Timeout = DEFAULT_TIMEOUT,
) -> FetchStream:
    fields = _report_fields(definition)
    pull = Pull(_bamboohr_changed_request(definition), config, transport=transport, policy=policy or RetryPolicy(),
                 sleep=sleep, on_rotate=on_rotate, allow_loopback_http=allow_loopback_http,
                 allow_private_networks=allow_private_networks, timeout=timeout)  # fmt: skip
    pull.report = report = ChangeReport(connector=definition.id)
    records = _bamboohr_records(pull, report, moment, fields, limit=limit, on_page=on_page)
    return _ChangeStream(report, records)


def _report_fields(definition: ConnectorDefinition) -> list[str]:
    body = definition.request.body
    fields = body.get("fields") if isinstance(body, dict) else None
    if not isinstance(fields, list) or not fields or not all(isinstance(f, str) for f in fields):
        raise ConnectorError(f"connector {definition.id!r}: the request body has no 'fields' list to read employees "
                             "with", connector=definition.id)  # fmt: skip
    return list(dict.fromkeys(["id", *fields]))


def _bamboohr_changed_request(definition: ConnectorDefinition) -> ConnectorDefinition:
    """The definition turned into ``GET .../v1/employees/changed`` (one answer, no paging)."""
    path = definition.request.path
    root = path.find(BAMBOO_API_ROOT)
    if root < 0:
        raise ConnectorError(f"connector {definition.id!r}: request path {path!r} has no {BAMBOO_API_ROOT!r} API root",
                             connector=definition.id)  # fmt: skip
    # employees/changed and employees/{id} have no format parameter: without Accept: application/json (any other
    # value included) they answer XML, so it replaces whatever Accept the definition has.
    headers = {k: v for k, v in definition.request.headers.items() if k.lower() not in ("content-type", "accept")}
    headers["Accept"] = "application/json"
    request = RequestSpec(method="GET", path=path[: root + len(BAMBOO_API_ROOT)] + "employees/changed",
                          headers=headers)  # fmt: skip
    return definition.model_copy(update={"request": request, "recordsPath": "", "paging": PagingSpec()})


def _bamboohr_records(
    pull: Pull,
    report: ChangeReport,
    moment: dt.datetime,
    fields: list[str],
    *,
    limit: int | None,
    on_page: Callable[[FetchReport], None] | None,
) -> Generator[dict[str, Any], None, None]:
    list_url = pull.url
    employee_root = str(list_url)[: -len("changed")]  # .../v1/employees/
    try:
        response = pull._send(list_url, {"since": moment.strftime("%Y-%m-%dT%H:%M:%SZ")})
        changes = _changed_ids(pull, response)
        report.pages += 1
        logger.info("connector %s: %d changed since %s", report.connector, len(changes), moment.isoformat())
        if on_page is not None:
            on_page(report)
        wanted = {"fields": ",".join(fields)}
        for position, (internal_id, action) in enumerate(changes):
            if limit is not None and report.records >= limit:
                report.truncated = any(a != BAMBOO_DELETED for _, a in changes[position:])
                break
            if action == BAMBOO_DELETED:
                report.deleted.append(internal_id)
                continue
            url = httpx.URL(employee_root + quote(internal_id, safe=""))
            try:
                answer = pull._send(url, wanted)
            except ConnectorError as exc:
                if exc.status != 404:
                    raise
                report.deleted.append(internal_id)  # gone between the two calls
                continue
            record = _json_object(pull, answer)
            report.pages += 1
            if on_page is not None:
                on_page(report)
            report.records += 1
            yield pull._flat(record)
        report.complete = True
        if report.deleted:
            logger.info("connector %s: %d deleted employees (internal ids) not fetched", report.connector,
                        len(report.deleted))  # fmt: skip
    finally:
        pull.client.close()


def _json_object(pull: Pull, response: httpx.Response) -> dict[str, Any]:
    path = response.request.url.path
    try:
        body = response.json()
    except ValueError:
        raise pull.ctx.error("answered something that is not JSON", path=path, status=response.status_code) from None
    if not isinstance(body, dict):
        raise pull.ctx.error(f"answered a JSON {type(body).__name__}, not an object", path=path,
                             status=response.status_code)  # fmt: skip
    return body


def _changed_ids(pull: Pull, response: httpx.Response) -> list[tuple[str, str]]:
    """(internal id, lower-case action) pairs from an ``employees/changed`` answer, by ascending id.

    BambooHR keys ``employees`` by id (``{"12": {"id": "12", "action": "Updated", ...}}``); a list is read too.
    """
    employees = _json_object(pull, response).get("employees")
    if isinstance(employees, Mapping):
        entries = [(str(key), entry) for key, entry in employees.items()]
    elif isinstance(employees, list) or employees is None:
        entries = [("", entry) for entry in employees or []]
    else:
        raise pull.ctx.error("'employees' is neither an object nor a list", path=response.request.url.path,
                             status=response.status_code)  # fmt: skip
    found: dict[str, str] = {}
    for key, entry in entries:
        details = entry if isinstance(entry, Mapping) else {}
        internal_id = str(details.get("id") or key).strip()
        if internal_id:
            found[internal_id] = str(details.get("action") or "").strip().lower()
    return sorted(found.items(), key=lambda item: _id_order(item[0]))


def _id_order(internal_id: str) -> tuple[int, int, str]:
    return (0, int(internal_id), "") if internal_id.isdigit() else (1, 0, internal_id)


class _ChangeStream(FetchStream):
    """A FetchStream over records produced here rather than by a paged pull."""

    def __init__(self, report: ChangeReport, records: Generator[dict[str, Any], None, None]) -> None:
        self.report = report
        self._records = records
