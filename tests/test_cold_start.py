"""Cold start: a process imports only what its own function or command uses.

The Functions host imports ``function_app`` to index every function before it runs any one of them, so
whatever that import loads is paid by every cold start, a queue message's or a timer's as much as an
HTTP call's. Each check runs a fresh interpreter and reads ``sys.modules`` at the end.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import provisioning
from provisioning.index_settings import IndexSettingError, blob_trigger_source
from tests.support import ROOT

INDEX_TIME_MODULES = {
    "provisioning",
    "provisioning.core",
    "provisioning.core.redact",
    "provisioning.doors",
    "provisioning.index_settings",
    "provisioning.doors.log_redaction",
}
"""What ``function_app`` needs to declare its functions: the log redaction and the blob trigger's setting."""
HEAVY = ("pydantic", "pydantic_settings", "httpx", "sqlite3", "azure.storage.queue", "azure.data.tables")


def _loaded_after(code: str, env: dict[str, str] | None = None) -> set[str]:
    script = f"""
import json, sys
try:
{chr(10).join("    " + line for line in code.splitlines())}
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, env=env, timeout=60, check=True
    )
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


def test_importing_function_app_loads_only_what_indexing_needs() -> None:
    loaded = _loaded_after("import function_app")
    ours = {name for name in loaded if name == "provisioning" or name.startswith("provisioning.")}
    assert ours == INDEX_TIME_MODULES
    assert not [name for name in HEAVY if name in loaded]
    assert "function_app" in loaded


def test_an_http_call_loads_the_api_only_then() -> None:
    loaded = _loaded_after(
        "import azure.functions as func, function_app\n"
        "health = next(f for f in function_app.app.get_functions() if f.get_function_name() == 'health')\n"
        "answer = health.get_user_function()(func.HttpRequest('GET', '/api/health', body=b''))\n"
        "assert answer.status_code == 200, answer.status_code"
    )
    assert "provisioning.doors.http.api" in loaded


@pytest.mark.parametrize("argv", [["--help"], ["run", "--help"], ["no-such-command"]])
def test_the_cli_parser_loads_no_profile_model_or_settings(argv: list[str]) -> None:
    loaded = _loaded_after(f"import sys\nsys.argv = ['provisioning', *{argv!r}]\nimport runpy\n"
                           "runpy.run_module('provisioning', run_name='__main__')")  # fmt: skip
    assert "provisioning.doors.cli.main" in loaded
    unwanted = {"provisioning.core.mapping.profile", "provisioning.settings", "provisioning.engine.workflow",
                "provisioning.core.plan.pipeline", *HEAVY}  # fmt: skip
    assert not unwanted & loaded


def test_the_package_names_load_on_first_use() -> None:
    for name in provisioning.__all__:
        assert getattr(provisioning, name) is not None, name
    assert set(provisioning.__all__) <= set(dir(provisioning))
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        _ = provisioning.nothing_here  # type: ignore[attr-defined]


def test_blob_trigger_source_is_checked_when_the_host_indexes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BLOB_TRIGGER_SOURCE", raising=False)
    assert blob_trigger_source() == "EventGrid"
    monkeypatch.setenv("BLOB_TRIGGER_SOURCE", "LogsAndContainerScan")
    assert blob_trigger_source() == "LogsAndContainerScan"
    monkeypatch.setenv("BLOB_TRIGGER_SOURCE", "eventgrid")
    with pytest.raises(IndexSettingError, match="BLOB_TRIGGER_SOURCE must be EventGrid or LogsAndContainerScan"):
        blob_trigger_source()


def test_a_wrong_blob_trigger_source_stops_the_indexing_naming_it() -> None:
    env = {**os.environ, "BLOB_TRIGGER_SOURCE": "Polling"}
    done = subprocess.run([sys.executable, "-c", "import function_app"], cwd=ROOT, capture_output=True, text=True,
                          env=env, timeout=60)  # fmt: skip
    assert done.returncode != 0
    assert "BLOB_TRIGGER_SOURCE must be EventGrid or LogsAndContainerScan, not 'Polling'" in done.stderr
