"""The earlier, in-memory yardstick: every user kept in a list, managers put first, then written.

A ``csv.DictReader`` and ``json.dumps`` program that builds every SCIM user as the microsoft-sample
profile does, keeps them all (about 330 MiB for 100,000 workers), sorts managers first and writes the
requests in files of 50 operations. It is not the program most people would write (that one streams:
``benchmarks.baseline``), so ``make bench`` no longer measures against it; it stays for comparison.

    python -m benchmarks.baseline_inmemory WORKERS.csv OUTDIR
"""

from __future__ import annotations

import csv
import json
import sys
import uuid
from pathlib import Path

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CONTOSO = "urn:ietf:params:scim:schemas:extension:contoso:1.0:User"


def present(values: dict) -> dict:
    """The entries with a value: the profile leaves empty attributes out."""
    return {key: value for key, value in values.items() if value != ""}


def to_user(row: dict) -> dict:
    row = {key: value.strip() for key, value in row.items()}
    user = present(
        {
            "schemas": [CORE, ENTERPRISE, CONTOSO],
            "externalId": row["WorkerID"],
            "userName": row["UserID"],
            "active": row["WorkerStatus"] == "Active",
            "displayName": row["FullName"],
            "nickName": row["UserID"],
            "title": row["JobTitle"],
            "userType": row["WorkerType"],
        }
    )
    user["name"] = present({"givenName": row["FirstName"], "familyName": row["LastName"]})
    if row["OfficePhone"]:
        user["phoneNumbers"] = [{"value": row["OfficePhone"], "type": "work"}]
    address = {
        "streetAddress": row["StreetAddress"],
        "locality": row["City"],
        "postalCode": row["ZipCode"],
        "country": row["CountryCode"],
    }
    user["addresses"] = [{"type": "work", **present(address)}]
    enterprise = {
        "employeeNumber": row["WorkerID"],
        "costCenter": row["CostCenter"],
        "organization": row["Company"],
        "division": row["Division"],
        "department": row["Department"],
    }
    user[ENTERPRISE] = present(enterprise)
    if row["ManagerID"]:
        user[ENTERPRISE]["manager"] = {"value": row["ManagerID"]}
    hire_date = row["HireDate"] + "T00:00:00Z" if row["HireDate"] else ""
    user[CONTOSO] = present({"HireDate": hire_date, "JobCode": row["Custom01"]})
    return user


def run(source: str, out_dir: str) -> int:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with open(source, newline="", encoding="utf-8-sig") as stream:
        users = [to_user(row) for row in csv.DictReader(stream)]

    manager_of: dict[str, str | None] = {}
    for user in users:
        manager = user.get(ENTERPRISE, {}).get("manager")
        manager_of[user["externalId"]] = manager["value"] if manager else None

    def depth_of(external_id: str) -> int:
        depth, seen = 0, {external_id}
        manager = manager_of[external_id]
        while manager is not None and manager in manager_of and manager not in seen:
            depth += 1
            seen.add(manager)
            manager = manager_of[manager]
        return depth

    users.sort(key=lambda user: depth_of(user["externalId"]))

    requests = 0
    for start in range(0, len(users), 50):
        operations = [
            {"method": "POST", "bulkId": str(uuid.uuid4()), "path": "/Users", "data": user}
            for user in users[start : start + 50]
        ]
        request = {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
            "Operations": operations,
            "failOnErrors": None,
        }
        requests += 1
        (out / f"bulk-{requests:04d}.json").write_text(json.dumps(request, ensure_ascii=False), "utf-8")
    write_reports(out, source, len(users), requests)
    return 0


def write_reports(out: Path, source: str, rows: int, requests: int) -> None:
    """The (empty) rejects.csv and the summary.json a preview writes beside its requests, and its last line."""
    (out / "rejects.csv").write_text("line,externalId,field,value,reason\r\n", "utf-8")
    summary = {"source": source, "rows": rows, "operations": rows, "rejected": 0, "requests": requests}
    (out / "summary.json").write_text(json.dumps(summary, indent=2), "utf-8")
    print(f"wrote {requests} requests, rejects.csv and summary.json to {out}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m benchmarks.baseline_inmemory WORKERS.csv OUTDIR")
    sys.exit(run(sys.argv[1], sys.argv[2]))
