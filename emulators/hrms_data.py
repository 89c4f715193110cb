"""The worker population every HRMS emulator serves, vendor-neutral and deterministic given a seed.

Patterns a connector has to cope with, by position ``i`` (0-based):

* every 10th worker (``i % 10 == 0``) manages the next nine; managers report to worker 0, who has none;
* ``i % 8 == 3``: rehired, two employments, the older one ended, the last one current;
* ``i % 9 == 4``: terminated (the last employment has an end date in the past);
* ``i % 11 == 5``: pre-hire (hire date in the future, relative to the emulator's clock);
* ``i % 13 == 6``: on leave;
* ``i % 7 == 2``: the home email is listed before the (primary) work email, so ``[0]`` is wrong.
"""

from __future__ import annotations

import datetime as dt
import random
import unicodedata
from dataclasses import dataclass, field, replace

FIRST_NAMES = (
    "Zoë", "José", "Ana", "Björn", "Chloé", "David", "Élodie", "Farid", "Grace", "Hélène", "Ivan", "Jürgen",
    "Kenji", "Léa", "Mateo", "Noémie", "Oskar", "Priya", "Quentin", "Renée", "Søren", "Tomás", "Uma", "Václav",
)  # fmt: skip
LAST_NAMES = (
    "Müller", "García", "Nguyen", "O'Brien", "Kowalski", "Dubois", "Smith", "Åström", "Rossi", "Yılmaz",
    "Novák", "Fernández", "Okafor", "Tanaka", "Lindqvist", "Chen", "Haddad", "Brontë", "Silva", "Ødegaard",
)  # fmt: skip
DEPARTMENTS = (
    ("D100", "Engineering"), ("D200", "Finance"), ("D300", "Human Resources"), ("D400", "Sales"),
    ("D500", "Operations"), ("D600", "Legal"),
)  # fmt: skip
TITLES = (
    ("J10", "Software Engineer"), ("J20", "Accountant"), ("J30", "HR Partner"), ("J40", "Account Executive"),
    ("J50", "Operations Analyst"), ("J60", "Counsel"),
)  # fmt: skip
STATUSES = ("active", "leave", "terminated", "prehire")
EMAIL_DOMAIN = "contoso.com"  # a verified domain of the emulated tenant (emulators.entra.VERIFIED_DOMAINS)


@dataclass(frozen=True)
class Employment:
    start: dt.date
    end: dt.date | None
    department: tuple[str, str]  # (code, name)
    job: tuple[str, str]  # (code, title)
    manager_index: int | None
    current: bool


@dataclass(frozen=True)
class Person:
    index: int
    worker_id: str  # the id every vendor exposes as its worker id field
    internal_id: str  # the vendor-internal key (BambooHR id, Oracle PersonId, ADP associateOID seed)
    first: str
    last: str
    work_email: str
    home_email: str
    home_email_first: bool
    work_phone: str
    mobile_phone: str
    status: str  # one of STATUSES
    employments: tuple[Employment, ...]
    last_changed: dt.datetime  # UTC
    birth_date: dt.date
    reports: tuple[int, ...] = field(default=())

    @property
    def current(self) -> Employment:
        return self.employments[-1]

    @property
    def hire_date(self) -> dt.date:
        return self.employments[0].start

    @property
    def termination_date(self) -> dt.date | None:
        return self.current.end

    @property
    def manager_index(self) -> int | None:
        return self.current.manager_index

    @property
    def is_manager(self) -> bool:
        return bool(self.reports)


def ascii_fold(text: str) -> str:
    """ "Zoë O'Brien" -> "zoe.obrien"-style local parts: strip accents, keep letters."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def build_population(count: int, seed: int, today: dt.date) -> list[Person]:
    """``count`` people, ordered by worker id (the order list endpoints serve them in)."""
    if count < 1:
        raise ValueError(f"workers must be at least 1, got {count}")
    rng = random.Random(seed)
    people: list[Person] = []
    for i in range(count):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        dept = DEPARTMENTS[(i // 10) % len(DEPARTMENTS)]
        job = TITLES[rng.randrange(len(TITLES))]
        manager = None if i == 0 else (0 if i % 10 == 0 else (i // 10) * 10)
        status = "active"
        if i % 9 == 4:
            status = "terminated"
        elif i % 11 == 5:
            status = "prehire"
        elif i % 13 == 6:
            status = "leave"
        start = dt.date(2012, 1, 2) + dt.timedelta(days=rng.randrange(0, 4000))
        if status == "prehire":
            start = today + dt.timedelta(days=rng.randrange(7, 60))
        end = start + dt.timedelta(days=rng.randrange(200, 900)) if status == "terminated" else None
        if end is not None and end >= today:
            end = today - dt.timedelta(days=rng.randrange(1, 90))
        employments: list[Employment] = []
        if i % 8 == 3 and status != "prehire":
            old_start = start - dt.timedelta(days=rng.randrange(1500, 2500))
            old_end = start - dt.timedelta(days=rng.randrange(90, 400))
            old_dept = DEPARTMENTS[(i + 1) % len(DEPARTMENTS)]
            employments.append(Employment(old_start, old_end, old_dept, TITLES[0], manager, current=False))
        employments.append(Employment(start, end, dept, job, manager, current=True))
        local = f"{ascii_fold(first)}.{ascii_fold(last)}{i + 1}"
        people.append(
            Person(
                index=i,
                worker_id=str(100001 + i),
                internal_id=str(i + 1),
                first=first,
                last=last,
                work_email=f"{local}@{EMAIL_DOMAIN}",
                home_email=f"{local}@home.example",
                home_email_first=i % 7 == 2,
                work_phone=f"+1 425 555 {1000 + i:04d}",
                mobile_phone=f"+1 206 555 {2000 + i:04d}",
                status=status,
                employments=tuple(employments),
                last_changed=dt.datetime.combine(today, dt.time(), dt.UTC)
                - dt.timedelta(hours=rng.randrange(1, 24 * 60)),
                birth_date=dt.date(1960, 1, 1) + dt.timedelta(days=rng.randrange(0, 14000)),
            )
        )
    reports: dict[int, list[int]] = {}
    for person in people:
        if person.manager_index is not None:
            reports.setdefault(person.manager_index, []).append(person.index)
    return [replace(person, reports=tuple(reports.get(person.index, ()))) for person in people]


def odata_date(day: dt.date | None) -> str | None:
    """2018-01-01 -> "/Date(1514764800000)/" (midnight UTC), as SuccessFactors and Workday OData send it."""
    if day is None:
        return None
    epoch = dt.datetime.combine(day, dt.time(), dt.UTC).timestamp()
    return f"/Date({int(epoch * 1000)})/"


def iso(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


def iso_time(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
