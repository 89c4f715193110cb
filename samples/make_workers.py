"""Regenerates samples/workers.csv: a realistic, deterministic HR export in Microsoft's column layout.

Run ``python samples/make_workers.py`` from the project root. The file has a four-level reporting
line (shuffled, so some reports come before their managers), inactive workers, accented names and
three deliberately bad rows (and two workers sharing a UserID, which only Entra can refuse, and one
whose manager is not in the export, which Entra reports as a skipped step), so
that ``make run`` shows every part of a report.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

HEADER = ["WorkerID", "WorkerStatus", "WorkerType", "UserID", "FirstName", "LastName", "FullName",
          "GenderPronoun", "ManagerID", "HireDate", "OnLeave", "Department", "Division", "CostCenter",
          "Company", "Location", "JobTitle", "StreetAddress", "City", "CountryCode", "OfficePhone",
          "Custom01", "Custom02", "ZipCode"]  # fmt: skip
FIRST = ["Zoë", "José", "Ana", "Björn", "Chloé", "Łukasz", "Søren", "Amélie", "Noah", "Liam", "Olivia",
         "Emma", "Mateo", "Ines", "Yuki", "Priya", "Omar", "Fatima", "Jürgen", "Renée", "Ciarán", "Mia",
         "Lucas", "Sofia", "Ethan", "Aiko", "Dmitri", "Elena", "Hugo", "Nora"]  # fmt: skip
LAST = ["García", "Müller", "O'Brien", "Nguyen", "Dubois", "Kowalski", "Østergaard", "Smith", "Jones",
        "Rossi", "Silva", "Khan", "Tanaka", "Novák", "Andersson", "Fernández", "Okafor", "Brown",
        "Lefèvre", "Papadopoulos", "Wójcik", "Murphy", "Schäfer", "Costa"]  # fmt: skip
DEPARTMENTS = [("Sales", "CC3035"), ("Finance", "CC1200"), ("Product Engineering", "CC5081"),
               ("Human Resources", "CC2001"), ("Manufacturing", "CC9016")]  # fmt: skip
SITES = [("Chicago", "US", "60601", "303 Mansion Ct"), ("Frankfurt", "DE", "60311", "Kaiserstraße 12"),
         ("Paris", "FR", "75002", "12 Rue de la Paix"), ("Kraków", "PL", "31-001", "ul. Floriańska 3")]  # fmt: skip


def workers(rng: random.Random) -> list[list[str]]:
    rows: list[list[str]] = []
    number = 10000

    def add(manager: str, title: str, department: tuple[str, str]) -> str:
        nonlocal number
        number += 1
        first, last = rng.choice(FIRST), rng.choice(LAST)
        city, country, zip_code, street = rng.choice(SITES)
        status = "Inactive" if rng.random() < 0.08 else "Active"
        kind = rng.choices(["Employee", "Contractor", "Intern"], [80, 15, 5])[0]
        hired = f"{rng.randint(2005, 2025)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        rows.append([str(number), status, kind, f"EMP{number}", first, last, f"{first} {last}",
                     rng.choice(["SHE/HER", "HE/HIM", "THEY/THEM"]), manager, hired,
                     rng.choice(["True", "False"]), department[0], "Corporate", department[1], "Woodgrove",
                     city, title, street, city, country, f"+1 555 {rng.randint(1000000, 9999999)}",
                     f"JC{rng.randint(100, 999)}", "", zip_code])  # fmt: skip
        return str(number)

    ceo = add("", "Chief Executive Officer", DEPARTMENTS[0])
    for department in DEPARTMENTS:
        vp = add(ceo, f"Vice President, {department[0]}", department)
        for _ in range(4):
            manager = add(vp, "Manager", department)
            for _ in range(rng.randint(10, 16)):
                add(manager, rng.choice(["Analyst", "Engineer", "Specialist", "Associate"]), department)
    rng.shuffle(rows)
    return rows


def main() -> None:
    rng = random.Random(2026)
    rows = workers(rng)
    rows[17] = rows[17][:20]  # a row cut short: 20 fields instead of 24
    rows[42][3] = ""  # no UserID: Entra cannot create the user
    rows[101][9] = "2019-02-30"  # a hire date that does not exist
    rows[150][3] = rows[151][3]  # two people given the same UserID: Entra refuses the second one
    rows[200][8] = "19999"  # a manager outside this export: Entra creates the user and skips the manager
    path = Path(__file__).with_name("workers.csv")
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        writer.writerows(rows)
    print(f"wrote {len(rows)} workers to {path}")


if __name__ == "__main__":
    main()
