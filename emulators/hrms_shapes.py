"""What every vendor's worker record is built with (the records themselves are in each vendor's module).

Employments, work relationships and assignments are listed oldest first, so for a rehire the
current one is the last element; the primary email is not always the first element.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from typing import Any

from emulators.hrms_data import TITLES, Person, iso

Record = dict[str, Any]


def wid(*parts: str) -> str:
    """A Workday-style 32-hex id, stable for its parts."""
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:32]


def manager_of(person: Person, people: Sequence[Person]) -> Person | None:
    return None if person.manager_index is None else people[person.manager_index]


def ordered_emails(person: Person, work: Record, home: Record) -> list[Record]:
    return [home, work] if person.home_email_first else [work, home]


def custom(person: Person, people: Sequence[Person]) -> Record:
    manager = manager_of(person, people)
    return {
        "id": person.worker_id,
        "firstName": person.first,
        "lastName": person.last,
        "emails": ordered_emails(
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
