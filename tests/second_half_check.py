"""Plans each case twice, by one process and with a forked second half, and says whether they agree.

Run in a fresh interpreter by ``tests/test_second_half.py``: the pipeline forks only in a process with no
other thread, which a long test session cannot promise. Reads a JSON list of cases, prints one JSON line a
case: ``{"name", "same", "processes", "difference", "error"}``.

    python -m tests.second_half_check CASES.json
"""

from __future__ import annotations

import hashlib
import json
import sys
from datetime import UTC, datetime
from typing import Any

from provisioning.core.errors import ProvisioningError
from provisioning.core.mapping.profile import Profile
from provisioning.core.plan.delta import DeltaFilter, SourceState
from provisioning.core.plan.pipeline import plan_run
from provisioning.core.read.csv_source import CsvSource

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def outcome(case: dict[str, Any], parallel: bool) -> dict[str, Any]:
    """Everything a plan hands on: each request (body, ids, levels), the rejects in order, the summary, and
    the delta filter's count of disables; or the error, with its message."""
    profile = Profile.model_validate(case["profile"])
    rejects: list[list[Any]] = []
    changed = None
    if case.get("state") is not None:
        records = {key: (value[0], bool(value[1])) for key, value in case["state"].items()}
        changed = DeltaFilter(SourceState(records=records, rows=len(records)), full_sync=False)
    try:
        plan = plan_run(CsvSource(case["path"]), profile, on_reject=lambda r: rejects.append(list(vars(r).values())),
                        changed=changed, now=NOW, known_active=case.get("known_active"), parallel=parallel,
                        batch_size=case.get("batch_size", 50))  # fmt: skip
    except ProvisioningError as exc:
        return {"error": f"{type(exc).__name__}: {exc}", "rejects": rejects, "processes": 0}
    requests = []
    for request in plan.requests():
        digest = hashlib.sha256(request.body).hexdigest()
        requests.append([request.number, digest, request.external_ids, request.first_level, request.last_level])
    return {"requests": requests, "rejects": rejects, "summary": plan.summary.as_json(),
            "disables": getattr(changed, "disables", None), "processes": plan.processes}  # fmt: skip


def main(path: str) -> int:
    with open(path, encoding="utf-8") as stream:
        cases = json.load(stream)
    for case in cases:
        alone, split = outcome(case, parallel=False), outcome(case, parallel=True)
        processes = split.pop("processes")
        alone.pop("processes")
        difference = sorted(key for key in set(alone) | set(split) if alone.get(key) != split.get(key))
        print(json.dumps({"name": case["name"], "same": not difference, "processes": processes,
                          "difference": difference, "error": alone.get("error")}), flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
