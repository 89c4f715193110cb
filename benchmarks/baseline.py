"""The plain way to do what ``preview --mapping microsoft-sample`` does: the yardstick of ``make bench``.

A streaming ``csv.DictReader`` + ``json.dumps`` loop, as most people would write it: each row mapped
with plain dict lookups (the microsoft-sample profile's attributes), 50 operations per request file,
written as soon as 50 are read, then an (empty) rejects.csv and a summary.json. It keeps nothing per
worker, so it does no validation, no duplicate check and no managers-first ordering: ``preview`` does
all three and is still measured against this loop.

    python -m benchmarks.baseline WORKERS.csv OUTDIR
"""

from __future__ import annotations

import csv
import json
import sys
import uuid
from pathlib import Path

from benchmarks.baseline_inmemory import CONTOSO, CORE, ENTERPRISE, to_user, write_reports

BATCH = 50
__all__ = ["CONTOSO", "CORE", "ENTERPRISE", "run"]


def run(source: str, out_dir: str) -> int:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = requests = 0
    operations: list[dict] = []

    def write() -> None:
        nonlocal requests
        request = {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
            "Operations": operations,
            "failOnErrors": None,
        }
        requests += 1
        (out / f"bulk-{requests:04d}.json").write_text(json.dumps(request, ensure_ascii=False), "utf-8")

    with open(source, newline="", encoding="utf-8-sig") as stream:
        for row in csv.DictReader(stream):
            rows += 1
            user = to_user(row)
            operations.append({"method": "POST", "bulkId": str(uuid.uuid4()), "path": "/Users", "data": user})
            if len(operations) == BATCH:
                write()
                operations = []
    if operations:
        write()
    write_reports(out, source, rows, requests)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m benchmarks.baseline WORKERS.csv OUTDIR")
    sys.exit(run(sys.argv[1], sys.argv[2]))
