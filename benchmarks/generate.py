"""Synthetic worker files in Microsoft's sample CSV layout (CSV2SCIM's ``WorkerID,WorkerStatus,...``).

Rows are written one at a time, so any size streams in constant memory. Every 10th worker (index 0,
10, 20, ...) manages the nine that follow it; managers themselves have no manager.

    python -m benchmarks.generate OUT.csv COUNT [--seed N]
"""

from __future__ import annotations

import argparse
import csv
import random
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path

COLUMNS = (
    "WorkerID", "WorkerStatus", "WorkerType", "UserID", "FirstName", "LastName", "FullName",
    "GenderPronoun", "ManagerID", "HireDate", "OnLeave", "Department", "Division", "CostCenter", "Company",
    "Location", "JobTitle", "StreetAddress", "City", "CountryCode", "OfficePhone", "Custom01", "Custom02",
    "ZipCode",
)  # fmt: skip
TEAM_SIZE = 10
"""Worker ``i`` with ``i % TEAM_SIZE == 0`` manages workers ``i + 1 .. i + TEAM_SIZE - 1``."""
FIRST_WORKER_ID = 100_000

# (as written, ASCII form for the user id)
_FIRST_NAMES = (
    ("Adele", "adele"), ("Alex", "alex"), ("Ana", "ana"), ("Bianca", "bianca"), ("Chloé", "chloe"),
    ("Christie", "christie"), ("Diego", "diego"), ("Émile", "emile"), ("Fatima", "fatima"),
    ("François", "francois"), ("Grady", "grady"), ("Hélène", "helene"), ("Henrietta", "henrietta"),
    ("Isaiah", "isaiah"), ("Jürgen", "jurgen"), ("José", "jose"), ("Joni", "joni"), ("Lee", "lee"),
    ("Lidia", "lidia"), ("Łukasz", "lukasz"), ("Lynne", "lynne"), ("Megan", "megan"), ("Miriam", "miriam"),
    ("Nestor", "nestor"), ("Noémie", "noemie"), ("Patti", "patti"), ("Pradeep", "pradeep"),
    ("Renée", "renee"), ("Søren", "soren"), ("Zoë", "zoe"), ("Wei", "wei"), ("Yuki", "yuki"),
)  # fmt: skip
_LAST_NAMES = (
    ("Vance", "vance"), ("Wilber", "wilber"), ("Núñez", "nunez"), ("Gupta", "gupta"), ("Müller", "muller"),
    ("Ødegaard", "odegaard"), ("Dubois", "dubois"), ("Sanders", "sanders"), ("Johnson", "johnson"),
    ("Kowalski", "kowalski"), ("Herman", "herman"), ("Taylor", "taylor"), ("García", "garcia"),
    ("Nakamura", "nakamura"), ("Brown", "brown"), ("Fernández", "fernandez"), ("O'Brien", "obrien"),
    ("Smith", "smith"), ("Lefèvre", "lefevre"), ("Chen", "chen"), ("Adams", "adams"), ("Björk", "bjork"),
    ("Fischer", "fischer"), ("Rossi", "rossi"),
)  # fmt: skip
_PRONOUNS = ("she/her", "he/him", "they/them", "")
_WORKER_TYPES = ("Employee",) * 8 + ("Contractor", "Intern")
_STATUSES = ("Active",) * 19 + ("Inactive",)
_ON_LEAVE = ("false",) * 29 + ("true",)
# (department, division)
_DEPARTMENTS = (
    ("Sales", "Commercial"), ("Marketing", "Commercial"), ("Finance", "Corporate"),
    ("Human Resources", "Corporate"), ("Legal", "Corporate"), ("Engineering", "Product"),
    ("Research & Development", "Product"), ("Operations", "Operations"), ("Customer Support", "Operations"),
    ("IT", "Operations"),
)  # fmt: skip
_TITLES = (
    "Analyst", "Senior Analyst", "Engineer", "Senior Engineer", "Specialist", "Coordinator", "Consultant",
    "Associate", "Administrator", "Designer", "Accountant", "Representative",
)  # fmt: skip
_MANAGER_TITLES = ("Manager", "Senior Manager", "Director", "Team Lead")
_COMPANIES = ("Contoso Ltd", "Contoso Ltd", "Contoso Ltd", "Fabrikam Inc")
# (location, city, country code, postal code prefix, phone prefix)
_PLACES = (
    ("Redmond HQ", "Redmond", "US", "980", "+1 425 555 "), ("New York Office", "New York", "US", "100",
    "+1 212 555 "), ("London Office", "London", "GB", "EC1", "+44 20 7946 "), ("Paris Office", "Paris",
    "FR", "750", "+33 1 55 55 "), ("München Office", "München", "DE", "803", "+49 89 5555 "),
    ("São Paulo Office", "São Paulo", "BR", "014", "+55 11 5555 "), ("Tokyo Office", "Tokyo", "JP", "100",
    "+81 3 5555 "), ("Bengaluru Office", "Bengaluru", "IN", "560", "+91 80 5555 "),
)  # fmt: skip
_STREETS = (
    "Main Street", "Microsoft Way", "Oak Avenue", "Rue de Rivoli", "Leopoldstraße", "Avenida Paulista",
    "High Street", "Park Road", "Chūō-dōri", "MG Road",
)  # fmt: skip
_FIRST_HIRE = date(1995, 1, 1).toordinal()
_LAST_HIRE = date(2024, 12, 31).toordinal()


def worker_id(index: int) -> str:
    """The WorkerID of the worker at ``index`` (0-based)."""
    return str(FIRST_WORKER_ID + index)


def manager_index(index: int) -> int | None:
    """The index of the worker's manager, or None for a manager."""
    return None if index % TEAM_SIZE == 0 else index - index % TEAM_SIZE


def workers(count: int, *, seed: int = 0) -> Iterator[tuple[str, ...]]:
    """``count`` worker rows in ``COLUMNS`` order, deterministic for a seed."""
    rng = random.Random(seed)
    choice, randrange = rng.choice, rng.randrange
    for index in range(count):
        first, first_ascii = choice(_FIRST_NAMES)
        last, last_ascii = choice(_LAST_NAMES)
        ident = worker_id(index)
        manager = manager_index(index)
        department, division = choice(_DEPARTMENTS)
        location, city, country, postal, phone = choice(_PLACES)
        title = choice(_MANAGER_TITLES if manager is None else _TITLES)
        yield (
            ident,
            choice(_STATUSES),
            "Employee" if manager is None else choice(_WORKER_TYPES),
            f"{first_ascii}.{last_ascii}.{ident}@contoso.com",
            first,
            last,
            f"{first} {last}",
            choice(_PRONOUNS),
            "" if manager is None else worker_id(manager),
            date.fromordinal(randrange(_FIRST_HIRE, _LAST_HIRE + 1)).isoformat(),
            choice(_ON_LEAVE),
            department,
            division,
            f"CC-{randrange(1000, 10000)}",
            choice(_COMPANIES),
            location,
            f"{title}, {department}",
            f"{randrange(1, 2000)} {choice(_STREETS)}",
            city,
            country,
            f"{phone}{randrange(10000):04d}",
            f"JC{randrange(100, 1000)}",
            f"Band {randrange(1, 8)}",
            f"{postal}{randrange(10, 100)}",
        )


def write_workers_csv(path: str | Path, count: int, *, seed: int = 0) -> Path:
    """Write ``count`` workers (plus the header) to ``path`` as UTF-8 CSV, row by row."""
    path = Path(path)
    with open(path, "w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(COLUMNS)
        writer.writerows(workers(count, seed=seed))
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.generate", description=__doc__)
    parser.add_argument("out", type=Path, help="CSV file to write")
    parser.add_argument("count", type=int, help="number of workers")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    write_workers_csv(args.out, args.count, seed=args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
