"""The benchmark's worker generator and naive baseline: the inputs and the yardstick must be right."""

from __future__ import annotations

import csv
import json
import uuid
from pathlib import Path

import pytest

from benchmarks.baseline import ENTERPRISE
from benchmarks.baseline import run as run_baseline
from benchmarks.baseline_inmemory import run as run_inmemory
from benchmarks.generate import COLUMNS, write_workers_csv
from provisioning.doors.cli.main import main as provisioning_main

ROWS = 203


@pytest.fixture(scope="module")
def workers_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_workers_csv(tmp_path_factory.mktemp("bench") / "workers.csv", ROWS, seed=7)


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


def _requests(out: Path) -> list[dict]:
    return [json.loads(p.read_text("utf-8")) for p in sorted(out.glob("bulk-*.json"))]


def test_generated_workers_have_the_sample_layout_and_unique_ids(workers_csv: Path) -> None:
    with open(workers_csv, newline="", encoding="utf-8") as stream:
        assert next(csv.reader(stream)) == list(COLUMNS)
    rows = _rows(workers_csv)
    assert len(rows) == ROWS
    ids = [row["WorkerID"] for row in rows]
    assert len(set(ids)) == ROWS
    assert all(row["WorkerStatus"] in ("Active", "Inactive") for row in rows)
    assert sum(row["WorkerStatus"] == "Active" for row in rows) > ROWS * 0.8
    assert all(len(row["HireDate"]) == 10 and row["HireDate"][4] == row["HireDate"][7] == "-" for row in rows)
    assert any(not row["FirstName"].isascii() or not row["LastName"].isascii() for row in rows)
    assert all(row["UserID"].isascii() and row["UserID"].endswith("@contoso.com") for row in rows)
    assert len({row["UserID"] for row in rows}) == ROWS


def test_every_tenth_worker_manages_the_next_nine(workers_csv: Path) -> None:
    rows = _rows(workers_csv)
    for index, row in enumerate(rows):
        if index % 10 == 0:
            assert row["ManagerID"] == ""
        else:
            assert row["ManagerID"] == rows[index - index % 10]["WorkerID"]


def test_generation_is_deterministic_for_a_seed(tmp_path: Path) -> None:
    first = write_workers_csv(tmp_path / "a.csv", 30, seed=3).read_bytes()
    assert write_workers_csv(tmp_path / "b.csv", 30, seed=3).read_bytes() == first
    assert write_workers_csv(tmp_path / "c.csv", 30, seed=4).read_bytes() != first


def _check_baseline(preview_out: Path, baseline_out: Path, *, managers_first: bool) -> None:
    preview, baseline = _requests(preview_out), _requests(baseline_out)
    assert len(preview) == len(baseline) == -(-ROWS // 50)
    assert [p.name for p in sorted(baseline_out.glob("bulk-*.json"))] == [
        p.name for p in sorted(preview_out.glob("bulk-*.json"))
    ]
    for theirs, ours in zip(preview, baseline, strict=True):
        assert ours["schemas"] == theirs["schemas"]
        assert ours["failOnErrors"] is None
        assert len(ours["Operations"]) == len(theirs["Operations"])
        assert all(op["method"] == "POST" and op["path"] == "/Users" for op in ours["Operations"])
    sent = [op["data"] for request in baseline for op in request["Operations"]]
    expected = [op["data"] for request in preview for op in request["Operations"]]
    if managers_first:
        assert sent == expected
    else:  # the streaming loop keeps the file's order: the same users, not the same order
        assert sorted(sent, key=lambda user: user["externalId"]) == sorted(expected, key=lambda u: u["externalId"])

    bulk_ids = [op["bulkId"] for request in baseline for op in request["Operations"]]
    assert len(set(bulk_ids)) == ROWS
    assert all(str(uuid.UUID(b)) == b for b in bulk_ids)
    managers = -(-ROWS // 10)
    if managers_first:  # managers (every 10th worker) come first
        assert all("manager" not in user[ENTERPRISE] for user in sent[:managers])
        assert all("manager" in user[ENTERPRISE] for user in sent[managers:])

    assert (baseline_out / "rejects.csv").read_text("utf-8").splitlines() == ["line,externalId,field,value,reason"]
    summary = json.loads((baseline_out / "summary.json").read_text("utf-8"))
    assert summary["rows"] == summary["operations"] == ROWS
    assert summary["requests"] == len(baseline)


def test_baselines_write_the_same_requests_as_preview(workers_csv: Path, tmp_path: Path) -> None:
    preview_out = tmp_path / "preview"
    argv = ["preview", str(workers_csv), "--mapping", "microsoft-sample", "--out", str(preview_out)]
    assert provisioning_main(argv) == 0
    assert run_baseline(str(workers_csv), str(tmp_path / "baseline")) == 0
    _check_baseline(preview_out, tmp_path / "baseline", managers_first=False)
    assert run_inmemory(str(workers_csv), str(tmp_path / "inmemory")) == 0
    _check_baseline(preview_out, tmp_path / "inmemory", managers_first=True)
