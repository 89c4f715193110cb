"""The CLI, run for real in a subprocess: automap, validate, preview, their exit statuses and files."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from provisioning import parse_profile
from tests.support import ROOT, microsoft_fixture


def cli(*args: str, stdin: bytes | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "provisioning", *args],
        cwd=ROOT,
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_automap_prints_a_valid_profile_and_lists_what_it_left() -> None:
    result = cli("automap", str(microsoft_fixture("csv2scim/csv-with-2-records.csv")))
    assert result.returncode == 0, result.stderr
    profile = parse_profile(result.stdout)
    assert profile.attributes.externalId.source == "WorkerID"
    assert "not mapped: GenderPronoun, OnLeave, Location, Custom01, Custom02" in result.stderr


def test_validate_exit_statuses(tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text("id,user,status\n1,a,Active\n")
    bad_rows = tmp_path / "bad.csv"
    bad_rows.write_text("id,user,status\n1,a,Active\n2,,Active\n")
    not_csv = tmp_path / "empty.csv"
    not_csv.write_bytes(b"")
    profile = tmp_path / "p.json"
    profile.write_text(
        json.dumps({"attributes": {"externalId": "id", "userName": "user", "active": {"constant": True}}})
    )

    bare = cli("validate", str(good), "--mapping", str(profile))
    assert bare.returncode == 1, "'a' is no UPN, and neither the profile nor the settings give a domain"
    assert "userName: 'a' has no @domain: set HR_UPN_DOMAIN" in bare.stdout
    domain = {"HR_UPN_DOMAIN": "contoso.com"}
    ok = cli("validate", str(good), "--mapping", str(profile), env=domain)
    assert ok.returncode == 0 and "1 rows -> 1 operations in 1 requests, 0 rejected" in ok.stdout
    some = cli("validate", str(bad_rows), "--mapping", str(profile), env=domain)
    assert some.returncode == 1
    assert "rejected line 3 (externalId 2): userName: userName is empty" in some.stdout
    broken = cli("validate", str(not_csv), "--mapping", str(profile))
    assert broken.returncode == 2
    assert f"error: {not_csv}: is empty: a header row is required" in broken.stderr
    assert "Traceback" not in broken.stderr
    unknown = cli("validate", str(good), "--mapping", "no-such-profile")
    assert unknown.returncode == 2 and "mapping profile 'no-such-profile' not found" in unknown.stderr


def test_preview_writes_the_requests_rejects_and_summary(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "bulk-0099.json").write_text("stale")
    result = cli("preview", "samples/workers.csv", "--mapping", "microsoft-sample", "--out", str(out))
    assert result.returncode == 1, result.stderr
    summary = orjson.loads((out / "summary.json").read_bytes())
    files = sorted(out.glob("bulk-*.json"))
    assert [f.name for f in files] == [f"bulk-{n:04d}.json" for n in range(1, summary["requests"] + 1)]
    bodies = [orjson.loads(f.read_bytes()) for f in files]
    assert sum(len(b["Operations"]) for b in bodies) == summary["operations"]
    assert summary["rows"] == summary["operations"] + summary["rejected"]
    assert summary["rejected"] == 3
    with (out / "rejects.csv").open(newline="", encoding="utf-8") as f:
        rejects = list(csv.DictReader(f))
    assert [r["line"] for r in rejects] == ["19", "44", "103"]
    assert set(rejects[0]) == {"line", "externalId", "field", "value", "reason"}


def test_preview_reads_stdin_and_neutralises_spreadsheet_formulas(tmp_path: Path) -> None:
    data = b'id,user,status\n1,a,Active\n=HYPERLINK("x"),,Active\n'
    profile = tmp_path / "p.json"
    profile.write_text(
        json.dumps({"attributes": {"externalId": "id", "userName": "user", "active": {"constant": True}}})
    )
    result = cli("preview", "-", "--mapping", str(profile), "--out", str(tmp_path / "o"), stdin=data)
    assert result.returncode == 1
    text = (tmp_path / "o" / "rejects.csv").read_text()
    assert "'=HYPERLINK" in text
    assert ",=HYPERLINK" not in text


@pytest.mark.parametrize(("option", "value"), [("--encoding", "cp1252"), ("--delimiter", ";")])
def test_encoding_and_delimiter_options(tmp_path: Path, option: str, value: str) -> None:
    path = tmp_path / "w.csv"
    path.write_bytes("id;user;status\n1;Zoë;Active\n".encode("cp1252"))
    profile = tmp_path / "p.json"
    attributes = {"externalId": "id", "userName": "id", "displayName": "user", "active": {"constant": True}}
    profile.write_text(json.dumps({"upnDomain": "contoso.com", "attributes": attributes}))
    args = ["--encoding", "cp1252"] if option == "--encoding" else ["--encoding", "cp1252", "--delimiter", value]
    result = cli("preview", str(path), "--mapping", str(profile), "--out", str(tmp_path / "o"), *args)
    assert result.returncode == 0, result.stderr
    body = orjson.loads((tmp_path / "o" / "bulk-0001.json").read_bytes())
    assert body["Operations"][0]["data"]["displayName"] == "Zoë"


def test_batch_size_above_50_is_refused(tmp_path: Path) -> None:
    result = cli("validate", "samples/workers.csv", "--mapping", "microsoft-sample", "--batch-size", "51")
    assert result.returncode == 2
    assert "--batch-size must be between 1 and 50" in result.stderr


def test_help_lists_the_commands() -> None:
    result = cli("--help")
    assert result.returncode == 0
    for command in ("automap", "validate", "preview"):
        assert command in result.stdout
