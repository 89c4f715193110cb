"""``connectors test`` (the CLI and the HTTP API): a failed check is a failed test, and a rotated refresh token is
kept, so the README's test-then-fetch sequence works against Workday."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from emulators.hrms import HrmsEmulator
from tests.test_hrms_integration import cli, config_file


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_refused_sign_in_fails_the_test(tmp_path: Path) -> None:
    with HrmsEmulator("oracle-hcm", workers=5) as hr:
        path = config_file(tmp_path, {**hr.config, "password": "wrong"})
        result = cli("connectors", "test", "oracle-hcm", "--connector-config", str(path))
    assert result.returncode == 1, result.stdout
    assert "auth: FAILED" in result.stdout and "wrong" not in result.stdout


def test_an_unreachable_host_fails_the_test(tmp_path: Path) -> None:
    path = config_file(tmp_path, {"baseUrl": f"http://127.0.0.1:{_closed_port()}", "username": "u", "password": "p"})
    result = cli("connectors", "test", "oracle-hcm", "--connector-config", str(path))
    assert result.returncode == 1, result.stdout
    assert "FAILED" in result.stdout


def test_fields_the_profile_needs_that_never_come_fail_the_test(tmp_path: Path) -> None:
    with HrmsEmulator("custom-rest", workers=5, auth="apikey") as hr:
        definition = {
            "id": "shifted",
            "name": "A custom API whose field paths are wrong",
            "category": "custom",
            "auth": {"type": "apikey-header", "headerName": "X-API-Key"},
            "fields": [{"key": "baseUrl", "required": True}, {"key": "apiKey", "secret": True}],
            "request": {"path": "/all/people"},
            "recordsPath": "items",
            "paging": {"style": "none"},
            "extract": {"workerId": "no.such.path", "email": "also.missing", "status": "status"},
            "defaultProfile": "custom-rest",
        }
        folder = tmp_path / "definitions"
        folder.mkdir()
        (folder / "shifted.json").write_text(json.dumps(definition))
        path = config_file(tmp_path, hr.config)
        result = cli("connectors", "test", "shifted", "--connector-config", str(path),
                     env={"CONNECTORS_FOLDER": str(folder)})  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    assert "required fields: FAILED: empty in every record: workerId" in result.stdout


def test_a_successful_test_exits_0(tmp_path: Path) -> None:
    with HrmsEmulator("oracle-hcm", workers=5) as hr:
        path = config_file(tmp_path, hr.config)
        result = cli("connectors", "test", "oracle-hcm", "--connector-config", str(path))
    assert result.returncode == 0, result.stdout
    assert "FAILED" not in result.stdout


def test_test_then_fetch_keeps_workdays_rotated_refresh_token(tmp_path: Path) -> None:
    with HrmsEmulator("workday", workers=5) as hr:
        path = config_file(tmp_path, hr.config)  # holds the refresh token the emulator issued
        tested = cli("connectors", "test", "workday", "--connector-config", str(path))
        assert "auth: ok" in tested.stdout, tested.stdout
        assert hr.refresh_token not in path.read_text(), "the test used the token up, and Workday rotated it"
        fetched = cli(
            "connectors", "fetch", "workday", "--connector-config", str(path), "--out", str(tmp_path / "w.jsonl")
        )
    assert fetched.returncode == 0, fetched.stdout + fetched.stderr
    assert json.loads(fetched.stdout.splitlines()[-1])["records"] == 5
