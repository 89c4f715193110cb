"""Workday specifics of the Get_Workers answer: the worker's status, and who is a future-dated hire.

Workday has no single status element. ``Worker_Status_Data`` (Human_Resources WSDL,
``Worker_Status_Detail_DataType``) carries the flags the status is read from, the same ones Microsoft's
"Workday attribute reference" lists as the XPATHs Entra reads (StatusTerminated, StatusHireDate,
LeaveAbsenceType, Active):

* ``Terminated`` 1: **Terminated** (``Termination_Date`` says since when);
* a ``Leave_Status_Data`` with ``On_Leave`` 1: **On Leave**, whatever ``Active`` says (a worker on leave is
  still employed; which value ``Active`` then has is not documented, so it is not relied on);
* ``Hire_Date`` after the pull's effective date: **Pre-Hire**, a future-dated hire. Microsoft's
  "How Microsoft Entra provisioning integrates with Workday" says such workers come with ``Active`` 0 until
  the hire date, and 1 when read as of that date, so the date decides, not the flag;
* ``Active`` 1: **Active**; anything else **Inactive**.

Workday's own "Pre-Hire" object (a candidate not yet hired, Get_Applicants in Recruiting) is not a worker
and has no Employee_ID: Get_Workers never returns it, and Entra's connector does not read it either.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

ACTIVE = "Active"
ON_LEAVE = "On Leave"
TERMINATED = "Terminated"
PRE_HIRE = "Pre-Hire"
INACTIVE = "Inactive"


def _get(record: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(record, Mapping):
            return None
        record = record.get(key)
    return record


def _items(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    return [] if value is None or value == "" else [value]


def flag(value: Any) -> bool:
    """An xsd:boolean as Workday writes it ("1"/"0", or "true"/"false")."""
    return isinstance(value, str) and value.strip().lower() in ("1", "true")


def day(value: Any) -> dt.date | None:
    """An xsd:date, possibly with an offset (``2014-11-27-08:00``): the calendar day is kept."""
    if not isinstance(value, str) or len(value.strip()) < 10:
        return None
    try:
        return dt.date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def status_data(worker: Mapping[str, Any]) -> Any:
    return _get(worker, "Worker_Data", "Employment_Data", "Worker_Status_Data")


def hire_date(worker: Mapping[str, Any]) -> dt.date | None:
    return day(_get(status_data(worker), "Hire_Date"))


def worker_status(worker: Mapping[str, Any], as_of: dt.date) -> str:
    """The worker's status on ``as_of`` (the date the pull reads Workday as of), by the rules above."""
    data = status_data(worker)
    if flag(_get(data, "Terminated")):
        return TERMINATED
    if any(flag(_get(leave, "On_Leave")) for leave in _items(_get(data, "Leave_Status_Data"))):
        return ON_LEAVE
    hired = day(_get(data, "Hire_Date"))
    if hired is not None and hired > as_of:
        return PRE_HIRE
    if flag(_get(data, "Active")):
        return ACTIVE
    return INACTIVE


def wid(worker: Mapping[str, Any]) -> str:
    """The worker's Workday ID (``Worker_Reference/ID[@type='WID']``), "" when absent."""
    value = _get(worker, "Worker_Reference", "ID", "WID")
    return value if isinstance(value, str) else ""
