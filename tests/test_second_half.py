"""A forked process reading the second half of a CSV changes nothing: requests, rejects, summary and the
delta's count of disables are those of one process, byte for byte, however the file is cut.

The cases run in a fresh interpreter (``tests/second_half_check.py``): the pipeline forks only when no other
thread runs, which a long test session cannot promise.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from provisioning.core.mapping.profile import Profile
from provisioning.core.plan.pipeline import plan_run
from provisioning.core.plan.second_half import forking_pays
from provisioning.core.read.csv_source import CsvSource
from tests.support import ROOT

HEADER = "id,user,status,mgr,name,start,end"
BASE: dict[str, Any] = {
    "name": "halves",
    "upnDomain": "contoso.com",
    "attributes": {
        "externalId": "id",
        "userName": "user",
        "active": {"source": "status", "transforms": [{"op": "equals", "value": "Active"}]},
        "displayName": "name",
        "enterprise": {"manager": "mgr"},
    },
}


def profile(**changes: Any) -> dict[str, Any]:
    return {**BASE, **changes}


def row(number: int, *, manager: int | None = None, status: str = "Active", name: str | None = None,
        start: str = "2020-01-01", end: str = "", worker: str | None = None) -> str:  # fmt: skip
    worker = worker or f"W{number:05d}"
    boss = f"W{manager:05d}" if manager is not None else ""
    return f"{worker},user{number},{status},{boss},{name or f'Worker {number}'},{start},{end}"


def workers(first: int, count: int) -> list[str]:
    """Every tenth worker manages the nine after it; some managers come after their reports."""
    rows = []
    for number in range(first, first + count):
        manager = number - number % 10 if number % 10 else None
        rows.append(row(number, manager=manager if number % 7 else number + 13))
    return rows


def write(folder: Path, name: str, lines: list[str], *, newline: str = "\n", encoding: str = "utf-8",
          raw_tail: bytes = b"") -> str:  # fmt: skip
    path = folder / f"{name}.csv"
    path.write_bytes((newline.join(lines) + newline).encode(encoding) + raw_tail)
    return str(path)


def quoted_across_the_middle() -> list[str]:
    """A quoted field of 60 lines placed so that the file's middle byte is inside it."""
    address = "\n".join(f"line {i} of a long address" for i in range(60))
    middle = row(9000, name=f'"{address}"')
    return [HEADER, *workers(1, 40), middle, *workers(41, 40)]


def cases(folder: Path) -> list[dict[str, Any]]:
    plain = [HEADER, *workers(1, 400)]
    unclosed_before = [HEADER, *workers(1, 199), row(500, name='"never closed'), *workers(200, 200)]
    unclosed_after = [HEADER, *workers(1, 200), *workers(201, 50), row(600, name='"open'), *workers(251, 150)]
    duplicates = [HEADER, *workers(1, 200), row(7, manager=1), *workers(201, 200), row(300, manager=200)]
    rejects = [HEADER, *workers(1, 100), row(0, worker=" "), "x,y", *workers(101, 200), row(1, worker=""),
               "1,2,3", row(9100).replace("user9100", "bad user"), *workers(301, 100)]  # fmt: skip
    blanks = [HEADER, *workers(1, 200), *([""] * 30), "  ", *workers(201, 200), ""]
    only_blanks = [HEADER, *workers(1, 60), *([""] * 10_000)]
    dated = [HEADER, *[row(n, start="2026-12-20" if n % 5 == 0 else "2020-01-01",
                           end="2026-12-05" if n == 350 else "") for n in range(1, 401)]]  # fmt: skip
    lifecycle = profile(lifecycle={"hireDate": "start", "leaveDate": "end", "missing": "disable"})
    return [
        {"name": "plain", "path": write(folder, "plain", plain), "profile": profile()},
        {"name": "crlf", "path": write(folder, "crlf", plain, newline="\r\n"), "profile": profile()},
        {"name": "bom", "path": write(folder, "bom", plain, encoding="utf-8-sig"), "profile": profile()},
        {"name": "small batches", "path": write(folder, "batches", plain), "profile": profile(), "batch_size": 7},
        {
            "name": "quoted field across the split",
            "path": write(folder, "quoted", quoted_across_the_middle()),
            "profile": profile(),
            "expect_processes": 1,
        },
        {
            "name": "unclosed quote before the split",
            "path": write(folder, "unclosed1", unclosed_before),
            "profile": profile(),
        },
        {
            "name": "unclosed quote after the split",
            "path": write(folder, "unclosed2", unclosed_after),
            "profile": profile(),
        },
        *(
            {
                "name": f"duplicates, {policy}",
                "path": write(folder, f"dup-{policy}", duplicates),
                "profile": profile(duplicates=policy),
            }
            for policy in ("reject", "first", "last")
        ),
        {"name": "rejects in both halves", "path": write(folder, "rejects", rejects), "profile": profile()},
        {"name": "blank lines", "path": write(folder, "blanks", blanks), "profile": profile()},
        {
            "name": "a second half of blank lines",
            "path": write(folder, "only-blanks", only_blanks),
            "profile": profile(),
            "expect_processes": 1,
        },
        {
            "name": "bad bytes in the second half",
            "path": write(folder, "bad-bytes", plain, raw_tail=b"W9,\xff\xfe,x\n"),
            "profile": profile(),
            "expect_processes": 0,
        },
        {
            "name": "lifecycle dates",
            "path": write(folder, "dated", dated),
            "profile": lifecycle,
            "known_active": [f"W{n:05d}" for n in range(395, 420)],
        },
    ]


def run_cases(chosen: list[dict[str, Any]], folder: Path) -> dict[str, dict[str, Any]]:
    listing = folder / "cases.json"
    listing.write_text(json.dumps(chosen), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "tests.second_half_check", str(listing)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, check=True)  # fmt: skip
    return {found["name"]: found for found in map(json.loads, done.stdout.splitlines())}


def test_every_way_of_cutting_a_file_gives_the_one_process_outcome(tmp_path: Path) -> None:
    chosen = cases(tmp_path)
    found = run_cases(chosen, tmp_path)
    assert set(found) == {case["name"] for case in chosen}
    for case in chosen:
        result = found[case["name"]]
        assert result["same"], f"{case['name']}: differs in {result['difference']}"
        assert result["processes"] == case.get("expect_processes", 2), case["name"]
    assert "not valid utf-8" in found["bad bytes in the second half"]["error"]


def test_a_delta_run_counts_unchanged_records_and_disables_in_both_halves(tmp_path: Path) -> None:
    lines = [HEADER, *[row(n, status="Active" if n % 9 else "Leaver") for n in range(1, 401)]]
    path = write(tmp_path, "delta", lines)
    seen: dict[str, str] = {}

    def remember(external_id: str, fingerprint: str, active: bool) -> bool:
        seen[external_id] = fingerprint
        return True

    plan_run(CsvSource(path), Profile.model_validate(profile()), on_reject=lambda r: None, changed=remember,
             parallel=False).close()  # fmt: skip
    # Every third worker unchanged since the last run, every worker active then: the leavers are disables.
    state = {key: [value if int(key[1:]) % 3 == 0 else "old", True] for key, value in seen.items()}
    found = run_cases([{"name": "delta", "path": path, "profile": profile(), "state": state}], tmp_path)["delta"]
    assert found["same"], found["difference"]
    assert found["processes"] == 2


def test_no_fork_while_another_thread_runs(tmp_path: Path) -> None:
    path = write(tmp_path, "threads", [HEADER, *workers(1, 300)])
    release = threading.Event()
    other = threading.Thread(target=release.wait, daemon=True)
    other.start()
    try:
        assert not forking_pays()
        plan = plan_run(CsvSource(path), Profile.model_validate(profile()), on_reject=lambda r: None, parallel=True)
        assert plan.processes == 1
        plan.close()
    finally:
        release.set()
        other.join()


@pytest.mark.parametrize("source", ["bytes", "small file"])
def test_small_files_and_streams_are_read_by_one_process(tmp_path: Path, source: str) -> None:
    lines = [HEADER, *workers(1, 300)]
    path = write(tmp_path, "small", lines)
    data = CsvSource(Path(path).read_bytes()) if source == "bytes" else CsvSource(path)
    plan = plan_run(data, Profile.model_validate(profile()), on_reject=lambda r: None,
                    parallel=True if source == "bytes" else None)  # fmt: skip
    assert plan.processes == 1
    assert plan.summary.rows == 300
    plan.close()


def test_the_second_half_starts_on_the_first_line_after_the_middle(tmp_path: Path) -> None:
    path = write(tmp_path, "lines", [HEADER, *workers(1, 100)])
    data = Path(path).read_bytes()
    rest = CsvSource(path).second_half()
    assert rest is not None
    offset = data.index(b"\n", len(data) // 2) + 1
    assert rest.first_line == data[:offset].count(b"\n") + 1
    expected = dict(CsvSource(path).records())
    got = list(rest.records())
    assert got and got[0][0] == rest.first_line
    assert all(expected[line] == record for line, record in got)
    assert CsvSource(path, encoding="utf-16").second_half() is None  # a line feed is two bytes there


def test_a_child_whose_parent_was_killed_removes_its_files(tmp_path: Path) -> None:
    script = (
        "import sys, time\n"
        "from provisioning.core.plan.second_half import SecondHalf\n"
        "half = SecondHalf.start(2, lambda files: time.sleep(1.5) or {}, sys.argv[1])\n"
        "print(half.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE,
                              text=True)  # fmt: skip
    assert parent.stdout is not None
    assert int(parent.stdout.readline()) > 0  # the child's pid: it has been forked
    assert len(list(tmp_path.glob("scim-half-*"))) == 4
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 20
    while list(tmp_path.glob("scim-half-*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(tmp_path.glob("scim-half-*")) == [], "the orphaned child left its files behind"
