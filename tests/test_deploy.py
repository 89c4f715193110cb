"""Static and scripted checks of the deployment files: azure.yaml, the hook and grant scripts, .funcignore and
.gitignore, the Dockerfile and .dockerignore, LICENSE, and the deploy guide.

azd, the Bicep compiler, Docker, Core Tools and PowerShell are not installable here: the files are read as text,
the bash scripts run under ``bash -n`` (and shellcheck when it is installed), and grant-graph-permissions.sh runs
for real against a fake ``az`` that answers like Microsoft Graph.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import zlib
from functools import cache
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "infra" / "scripts"
GRANT_SH = SCRIPTS / "grant-graph-permissions.sh"
GRANT_PS1 = SCRIPTS / "grant-graph-permissions.ps1"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
REQUIRED = ["SynchronizationData-User.Upload", "ProvisioningLog.Read.All", "Synchronization.Read.All"]
SCHEMA_SYNC = "Synchronization.ReadWrite.All"

# What the Function App's package (and the image) holds at the top level, and nothing else.
SHIPPED_TOP_LEVEL = {
    "function_app.py",
    "host.json",
    "requirements.txt",
    "provisioning",
    "connectors",
    "mappings",
    ".funcignore",
    "LICENSE",
}
MUST_SHIP = ["function_app.py", "host.json", "requirements.txt", "provisioning", "connectors", "mappings"]
MUST_NOT_SHIP = [
    ".azurite/__azurite_db_blob__.json",
    ".azurite/__blobstorage__/workers.csv",
    "out/runs/20261201T141436Z-978337/run.json",
    ".venv/lib/python3.11/site-packages/x.py",
    "tests/test_infra.py",
    "node_modules/azurite/package.json",
    "local.settings.json",
    "local.settings.example.json",
    ".azure/dev/.env",
    "emulators/entra.py",
    "samples/workers.csv",
    "infra/main.bicep",
    "provisioning/__pycache__/settings.cpython-311.pyc",
    ".mypy_cache/3.11/x.json",
    "__azurite_db_queue__.json",
    "__blobstorage__/x",
]


# ----------------------------------------------------------------------------------------------------------
# Ignore-file semantics
# ----------------------------------------------------------------------------------------------------------


def _patterns(path: Path) -> list[str]:
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    patterns = [line for line in lines if line and not line.startswith("#")]
    assert not [p for p in patterns if p.startswith("!")], f"{path.name}: no negations (Core Tools ignores them)"
    return patterns


def _glob_regex(glob: str) -> str:
    out, i = "", 0
    while i < len(glob):
        if glob.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif glob.startswith("/**", i) and i + 3 == len(glob):
            out, i = out + "/.*", i + 3
        elif glob.startswith("**", i):
            out, i = out + ".*", i + 2
        elif glob[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif glob[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(glob[i]), i + 1
    return out


def gitignored(patterns: list[str], path: str, is_dir: bool = False) -> bool:
    """.gitignore semantics (no negation): a pattern without an inner slash matches a name at any depth; a trailing
    slash matches directories only; a match on a directory ignores everything under it."""
    parts = path.split("/")
    for pattern in patterns:
        dir_only = pattern.endswith("/")
        body = pattern.rstrip("/")
        anchored = "/" in body
        regex = re.compile(_glob_regex(body.lstrip("/")))
        for depth in range(1, len(parts) + 1):
            candidate_is_dir = depth < len(parts) or is_dir
            if dir_only and not candidate_is_dir:
                continue
            candidate = "/".join(parts[:depth]) if anchored else parts[depth - 1]
            if regex.fullmatch(candidate):
                return True
    return False


def dockerignored(patterns: list[str], path: str) -> bool:
    """.dockerignore semantics: patterns from the context root (Go filepath.Match, ** for any depth); a match on a
    directory excludes what is under it."""
    parts = path.split("/")
    for pattern in patterns:
        regex = re.compile(_glob_regex(pattern.strip("/")))
        if any(regex.fullmatch("/".join(parts[:depth])) for depth in range(1, len(parts) + 1)):
            return True
    return False


# Big folders the walk does not enter (their exclusion is checked with the MUST_NOT_SHIP probes instead).
NOT_WALKED = {".git", ".venv", "node_modules", ".mypy_cache", ".hypothesis", ".ruff_cache", ".pytest_cache"}


@cache
def repository_files() -> tuple[str, ...]:
    found = []
    for dirpath, dirnames, filenames in os.walk(ROOT):
        dirnames[:] = [d for d in dirnames if not (Path(dirpath) == ROOT and d in NOT_WALKED)]
        for name in filenames:
            found.append(str((Path(dirpath) / name).relative_to(ROOT)).replace(os.sep, "/"))
    return tuple(sorted(found))


@cache
def package_files() -> tuple[str, ...]:
    patterns = _patterns(ROOT / ".funcignore")
    return tuple(p for p in repository_files() if not gitignored(patterns, p))


# ----------------------------------------------------------------------------------------------------------
# azure.yaml
# ----------------------------------------------------------------------------------------------------------


def _yaml(text: str) -> dict[str, Any]:
    """The subset of YAML azure.yaml uses: nested mappings of scalars, comments, indentation by spaces."""
    root: dict[str, Any] = {}
    stack: list[tuple[int, dict[str, Any]]] = [(-1, root)]
    for raw in text.splitlines():
        line = re.sub(r"\s+#.*$", "", raw) if not raw.lstrip().startswith("#") else ""
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip(" "))
        assert "\t" not in line[:indent], "tabs in azure.yaml"
        key, _, value = line.strip().partition(":")
        assert _ == ":", f"not a mapping line: {raw!r}"
        while stack[-1][0] >= indent:
            stack.pop()
        parent = stack[-1][1]
        assert key not in parent, f"{key} twice"
        if value.strip():
            scalar: Any = value.strip().strip("'\"")
            parent[key] = {"true": True, "false": False}.get(scalar, scalar)
        else:
            parent[key] = {}
            stack.append((indent, parent[key]))
    return root


@cache
def azure_yaml() -> dict[str, Any]:
    return _yaml((ROOT / "azure.yaml").read_text(encoding="utf-8"))


def test_azure_yaml_deploys_the_repository_root_as_a_python_function_app() -> None:
    document = azure_yaml()
    assert set(document["services"]) == {"api"}
    api = document["services"]["api"]
    assert api == {"project": ".", "language": "python", "host": "function"}
    assert document["infra"] == {"provider": "bicep", "path": "infra", "module": "main"}
    assert (ROOT / document["infra"]["path"] / f"{document['infra']['module']}.bicep").is_file()
    for name in ("function_app.py", "host.json", "requirements.txt"):
        assert (ROOT / api["project"] / name).is_file()
    # azd finds the app by its azd-service-name tag.
    assert "'azd-service-name': 'api'" in (ROOT / "infra" / "app" / "function-app.bicep").read_text(encoding="utf-8")


@pytest.mark.parametrize("hook", ["preprovision", "postdeploy"])
def test_hooks_run_scripts_that_exist_on_both_platforms(hook: str) -> None:
    hooks = azure_yaml()["hooks"][hook]
    posix, windows = hooks["posix"], hooks["windows"]
    assert posix["shell"] == "sh" and windows["shell"] == "pwsh"
    assert posix["continueOnError"] is False and windows["continueOnError"] is False
    assert posix["run"] == f"bash infra/scripts/{hook}.sh"
    assert windows["run"] == f"./infra/scripts/{hook}.ps1"
    assert (SCRIPTS / f"{hook}.sh").is_file() and (SCRIPTS / f"{hook}.ps1").is_file()


def test_the_postdeploy_hook_creates_the_subscription_as_the_template_did() -> None:
    script = (SCRIPTS / "postdeploy.sh").read_text(encoding="utf-8")
    assert "az functionapp keys list" in script and "--query systemKeys.blobs_extension" in script
    assert "/runtime/webhooks/blobs?functionName=Host.Functions.$BLOB_TRIGGER_FUNCTION_NAME&code=$key" in script
    assert '"includedEventTypes": ["Microsoft.Storage.BlobCreated"]' in script
    assert '"subjectBeginsWith": "/blobServices/default/containers/$HR_INBOUND_CONTAINER/"' in script
    assert '"deadLetterWithResourceIdentity"' in script and '"type": "UserAssigned"' in script
    assert "az rest --method PUT" in script and '--body "@$body_file"' in script  # the key never on a command line
    assert "umask 077" in script and "trap 'rm -f \"$body_file\"' EXIT" in script
    assert not re.search(r"echo[^\n]*\$key", script), "the key is never printed"
    assert 'subscription_name="evgs-$HR_INBOUND_CONTAINER"' in script  # the template's old name: updated in place
    assert 'bash "$here/grant-graph-permissions.sh"' in script and "GRANT_GRAPH_PERMISSIONS" in script
    ps1 = (SCRIPTS / "postdeploy.ps1").read_text(encoding="utf-8")
    for text in ("systemKeys.blobs_extension", "deadLetterWithResourceIdentity", "Microsoft.Storage.BlobCreated"):
        assert text in ps1
    assert "grant-graph-permissions.ps1" in ps1 and "GRANT_GRAPH_PERMISSIONS" in ps1


# ----------------------------------------------------------------------------------------------------------
# The scripts
# ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("script", sorted(p.name for p in SCRIPTS.glob("*.sh")))
def test_bash_scripts_parse_and_are_strict(script: str) -> None:
    path = SCRIPTS / script
    text = path.read_text(encoding="utf-8")
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "\nset -euo pipefail\n" in text
    subprocess.run(["bash", "-n", str(path)], check=True)
    if shutil.which("shellcheck"):
        subprocess.run(["shellcheck", "--severity=style", str(path)], check=True)
    ps1 = path.with_suffix(".ps1")
    assert ps1.is_file(), f"{script} has no PowerShell twin"
    assert "$ErrorActionPreference = 'Stop'" in ps1.read_text(encoding="utf-8")


def _documented_permissions() -> dict[str, str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### Permissions") :]
    section = section[: section.index("\n### ", 5)]
    return dict(re.findall(r"^\| `([\w.-]+)` \| [^|]+ \| ([^|]+) \|", section, re.MULTILINE))


def test_the_scripts_grant_exactly_the_documented_permissions() -> None:
    documented = _documented_permissions()
    assert set(documented) == {*REQUIRED, SCHEMA_SYNC}
    assert documented[SCHEMA_SYNC].startswith("only for profiles with custom attributes")
    sh = GRANT_SH.read_text(encoding="utf-8")
    assert f"REQUIRED_PERMISSIONS=({' '.join(REQUIRED)})" in sh
    assert f"SCHEMA_SYNC_PERMISSION={SCHEMA_SYNC}" in sh
    ps1 = GRANT_PS1.read_text(encoding="utf-8")
    assert "$permissions = @(" + ", ".join(f"'{p}'" for p in REQUIRED) + ")" in ps1
    assert f"$permissions += '{SCHEMA_SYNC}'" in ps1 and "[switch] $SchemaSync" in ps1
    for text in (sh, ps1):
        assert GRAPH_APP_ID in text
        assert not re.search(r"appRoleId\W+[0-9a-f]{8}-", text), "role ids are looked up, never hard-coded"
    assert "New-MgServicePrincipalAppRoleAssignment" in ps1 and "Get-MgServicePrincipalAppRoleAssignment" in ps1
    assert "refusing to run" in ps1 and "Mandatory" not in ps1  # refuses, never prompts
    # The pasted loop is gone from infra/README.md in favour of the scripts.
    infra_readme = (ROOT / "infra" / "README.md").read_text(encoding="utf-8")
    assert "for PERMISSION in" not in infra_readme and "foreach ($permission" not in infra_readme
    assert "grant-graph-permissions.sh" in infra_readme and "grant-graph-permissions.ps1" in infra_readme


FAKE_AZ = textwrap.dedent(
    '''\
    #!{python}
    """A fake `az` for grant-graph-permissions.sh: `az cloud show` and `az rest` against an in-memory Graph."""
    import json, os, re, sys
    state_path = os.environ["FAKE_AZ_STATE"]
    state = json.load(open(state_path))
    args = sys.argv[1:]
    def opt(name, default=None):
        return args[args.index(name) + 1] if name in args else default
    state["calls"].append(args)
    out = None
    if args[:2] == ["cloud", "show"]:
        out = "https://graph.microsoft.com/"
    elif args[0] == "rest":
        method, uri, query = opt("--method"), opt("--uri"), opt("--query")
        path = uri.split("/v1.0/", 1)[1].split("?", 1)[0]
        sps = state["servicePrincipals"]
        if method == "GET":
            m = re.fullmatch(r"servicePrincipals\\(appId='([^']+)'\\)", path)
            if m:
                found = [sp for sp in sps.values() if sp["appId"] == m.group(1)]
                if not found:
                    print("Resource not found", file=sys.stderr); sys.exit(3)
                doc = found[0]
            elif m := re.fullmatch(r"servicePrincipals/([^/]+)/appRoleAssignments", path):
                doc = {{"value": [a for a in state["assignments"] if a["principalId"] == m.group(1)]}}
            elif m := re.fullmatch(r"servicePrincipals/([^/]+)", path):
                if m.group(1) not in sps:
                    print("Resource not found", file=sys.stderr); sys.exit(3)
                doc = sps[m.group(1)]
            else:
                sys.exit("unexpected GET " + uri)
            if query in ("id", "displayName"):
                out = doc[query]
            elif m := re.fullmatch(r"value\\[\\?resourceId=='([^']+)'\\]\\.appRoleId", query or ""):
                out = "\\n".join(a["appRoleId"] for a in doc["value"] if a["resourceId"] == m.group(1))
            elif m := re.fullmatch(
                r"appRoles\\[\\?value=='([^']+)' && contains\\(allowedMemberTypes, 'Application'\\)\\]"
                r"\\.id \\| \\[0\\]",
                query or "",
            ):
                roles = [r for r in doc["appRoles"] if r["value"] == m.group(1)]
                ids = [r["id"] for r in roles if "Application" in r["allowedMemberTypes"]]
                out = ids[0] if ids else ""
            else:
                sys.exit("unexpected query " + repr(query))
        elif method == "POST" and path.endswith("/appRoleAssignedTo"):
            body = json.loads(opt("--body"))
            assert path == "servicePrincipals/" + body["resourceId"] + "/appRoleAssignedTo", path
            key = (body["principalId"], body["appRoleId"])
            if any((a["principalId"], a["appRoleId"]) == key for a in state["assignments"]):
                print("Permission being assigned already exists on the object", file=sys.stderr); sys.exit(1)
            state["assignments"].append(body)
        else:
            sys.exit("unexpected " + repr(args))
    json.dump(state, open(state_path, "w"))
    if out is not None and opt("--output") == "tsv":
        print(out)
    '''
)
GRAPH_SP = "9a9b0d0e-0000-4000-8000-00000000a001"
IDENTITY = "1d1d1d1d-2222-4333-8444-555555555555"
APP_SP = "2e2e2e2e-2222-4333-8444-666666666666"
APP_ID = "3f3f3f3f-2222-4333-8444-777777777777"


def _role_id(permission: str) -> str:
    return f"{zlib.crc32(permission.encode()) % 10**8:08d}-0000-4000-8000-000000000000"


@pytest.fixture
def fake_az(tmp_path: Path) -> tuple[dict[str, str], Path]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    az = bin_dir / "az"
    az.write_text(FAKE_AZ.format(python=sys.executable), encoding="utf-8")
    az.chmod(0o755)
    roles = [
        {"id": _role_id(p), "value": p, "allowedMemberTypes": ["Application"]}
        for p in [*REQUIRED, SCHEMA_SYNC, "User.Read.All"]
    ]
    # A delegated-only role with the same value: the script must pick the application one.
    roles.insert(
        0, {"id": "dddddddd-0000-4000-8000-000000000000", "value": REQUIRED[0], "allowedMemberTypes": ["User"]}
    )
    state = {
        "calls": [],
        "assignments": [{"principalId": IDENTITY, "resourceId": GRAPH_SP, "appRoleId": _role_id("User.Read.All")}],
        "servicePrincipals": {
            GRAPH_SP: {"id": GRAPH_SP, "appId": GRAPH_APP_ID, "displayName": "Microsoft Graph", "appRoles": roles},
            IDENTITY: {"id": IDENTITY, "appId": "aaaaaaaa-0000-4000-8000-000000000000", "displayName": "id-hrprov"},
            APP_SP: {"id": APP_SP, "appId": APP_ID, "displayName": "hr-provisioning-app"},
        },
    }
    state_path = tmp_path / "state.json"
    state_path.write_text(json.dumps(state), encoding="utf-8")
    env = {"PATH": f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin", "FAKE_AZ_STATE": str(state_path)}
    return env, state_path


def _grant(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(GRANT_SH), *args], env=env, capture_output=True, text=True, timeout=60)


def _granted(state_path: Path, principal: str) -> set[str]:
    state = json.loads(state_path.read_text(encoding="utf-8"))
    names = {_role_id(p): p for p in [*REQUIRED, SCHEMA_SYNC, "User.Read.All"]}
    return {names[a["appRoleId"]] for a in state["assignments"] if a["principalId"] == principal}


def test_the_grant_refuses_to_run_without_a_principal(fake_az: tuple[dict[str, str], Path]) -> None:
    env, state_path = fake_az
    for args in (
        [],
        ["--schema-sync"],
        ["--principal-id", "not-a-guid"],
        ["--principal-id", IDENTITY, "--app-id", APP_ID],
    ):
        result = _grant(env, *args)
        assert result.returncode == 2, (args, result.stderr)
        assert "refusing to run" in result.stderr or "unknown argument" in result.stderr
    assert json.loads(state_path.read_text(encoding="utf-8"))["calls"] == [], "nothing was called"


def test_the_grant_is_idempotent_and_says_what_it_did(fake_az: tuple[dict[str, str], Path]) -> None:
    env, state_path = fake_az
    first = _grant(env, "--principal-id", IDENTITY)
    assert first.returncode == 0, first.stderr
    for permission in REQUIRED:
        assert f"granted: {permission}" in first.stdout
    assert "3 permission(s) granted to id-hrprov" in first.stdout
    assert "Synchronization.ReadWrite.All not granted" in first.stdout
    assert _granted(state_path, IDENTITY) == {*REQUIRED, "User.Read.All"}
    state = json.loads(state_path.read_text(encoding="utf-8"))
    assert "dddddddd-0000-4000-8000-000000000000" not in {a["appRoleId"] for a in state["assignments"]}

    second = _grant(env, "--principal-id", IDENTITY)
    assert second.returncode == 0, second.stderr
    for permission in REQUIRED:
        assert f"already granted: {permission}" in second.stdout
    assert "nothing changed" in second.stdout
    posts = [c for c in json.loads(state_path.read_text(encoding="utf-8"))["calls"] if "POST" in c]
    assert len(posts) == 3, "the second run posted nothing"

    schema = _grant(env, "--principal-id", IDENTITY, "--schema-sync")
    assert schema.returncode == 0, schema.stderr
    assert f"granted: {SCHEMA_SYNC}" in schema.stdout and "1 permission(s) granted" in schema.stdout
    assert _granted(state_path, IDENTITY) == {*REQUIRED, SCHEMA_SYNC, "User.Read.All"}


def test_the_grant_takes_an_app_registration_by_app_id(fake_az: tuple[dict[str, str], Path]) -> None:
    env, state_path = fake_az
    result = _grant(env, "--app-id", APP_ID)
    assert result.returncode == 0, result.stderr
    assert f"principal: hr-provisioning-app ({APP_SP})" in result.stdout
    assert _granted(state_path, APP_SP) == set(REQUIRED)
    missing = _grant(env, "--app-id", "44444444-2222-4333-8444-777777777777")
    assert missing.returncode != 0


def test_the_preprovision_check_accepts_what_the_app_accepts(tmp_path: Path) -> None:
    from provisioning.entra.graph_endpoint import EndpointError, parse_bulk_upload_url

    urls = [
        "https://graph.microsoft.com/v1.0/servicePrincipals/a1/synchronization/jobs/API2AAD.x.y/bulkUpload",
        "https://graph.microsoft.us/beta/servicePrincipals/a1/synchronization/jobs/j/bulkUpload/",
        "https://graph.microsoft.com/V1.0/servicePrincipals/a1/synchronization/jobs/j/BulkUpload",
        "https://graph.microsoft.com/v1.0/servicePrincipals/a1/synchronization/jobs/j",
        "https://graph.microsoft.com/v2.0/servicePrincipals/a1/synchronization/jobs/j/bulkUpload",
        "http://graph.microsoft.com/v1.0/servicePrincipals/a1/synchronization/jobs/j/bulkUpload",
        "https://graph.microsoft.com/v1.0/servicePrincipals/a1/synchronization/jobs/j/bulkUpload?x=1",
    ]
    env = {"PATH": "/usr/bin:/bin"}
    for url in urls:
        try:
            parse_bulk_upload_url(url)
            accepted = True
        except EndpointError:
            accepted = False
        result = subprocess.run(
            ["bash", str(SCRIPTS / "preprovision.sh")],
            env={**env, "ENTRA_BULK_UPLOAD_URL": url},
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert (result.returncode == 0) is accepted, (url, result.stderr)
    unset = subprocess.run(["bash", str(SCRIPTS / "preprovision.sh")], env=env, capture_output=True, text=True)
    assert unset.returncode == 1 and "azd env set ENTRA_BULK_UPLOAD_URL" in unset.stderr


# ----------------------------------------------------------------------------------------------------------
# What is deployed: .funcignore, .gitignore, the image
# ----------------------------------------------------------------------------------------------------------


def test_the_ignore_matcher_agrees_with_pathspec_where_it_is_installed() -> None:
    pathspec = pytest.importorskip("pathspec")
    for name in (".funcignore", ".gitignore"):
        patterns = _patterns(ROOT / name)
        spec = pathspec.GitIgnoreSpec.from_lines(patterns)
        for path in [*repository_files(), *MUST_NOT_SHIP]:
            assert gitignored(patterns, path) == spec.match_file(path), (name, path)


def test_the_package_is_exactly_the_app() -> None:
    files = package_files()
    top = {path.split("/", 1)[0] for path in files}
    assert top <= SHIPPED_TOP_LEVEL, f"would be deployed: {sorted(top - SHIPPED_TOP_LEVEL)}"
    for name in MUST_SHIP:
        assert name in top, f"{name} is not deployed"
    # Every source and data file of the app's packages ships (no pattern catches a nested folder by accident).
    for folder in ("provisioning", "connectors", "mappings"):
        expected = [p for p in repository_files() if p.startswith(f"{folder}/") and "__pycache__" not in p]
        missing = [p for p in expected if p not in files]
        assert not missing, f"not deployed: {missing[:5]}"
    ui = [p for p in files if p.startswith("provisioning/doors/http/ui/")]
    assert ui, "the mapping page's files are deployed"
    assert "provisioning/doors/http/openapi.json" in files
    assert any(p.startswith("connectors/builtin/") and p.endswith(".json") for p in files)
    patterns = _patterns(ROOT / ".funcignore")
    for path in MUST_NOT_SHIP:
        assert gitignored(patterns, path), f"{path} would be deployed"
    assert gitignored(patterns, ".azurite", is_dir=True) and gitignored(patterns, "out", is_dir=True)


def test_git_ignores_local_data_settings_and_environments() -> None:
    patterns = _patterns(ROOT / ".gitignore")
    for path in (
        ".azurite/__blobstorage__/workers.csv",
        "__azurite_db_blob__.json",
        "out/runs/x/run.json",
        "local.settings.json",
        ".venv/bin/python",
        "node_modules/azurite/package.json",
        ".azure/dev/.env",
        "provisioning/__pycache__/settings.cpython-311.pyc",
        ".pytest_cache/v/cache",
        ".mypy_cache/3.11/x.json",
        ".ruff_cache/x",
        ".hypothesis/examples/x",
        ".import_linter_cache/x",
    ):
        assert gitignored(patterns, path), f"git would track {path}"
    for path in ("local.settings.example.json", "azure.yaml", "infra/main.bicep", "Dockerfile", "LICENSE"):
        assert not gitignored(patterns, path), f"git would ignore {path}"


def test_the_function_app_never_needs_the_emulators() -> None:
    """The decision behind leaving emulators/ out of the package: with Azure's settings (storage configured), the
    Function App imports, indexes its functions and builds its services with emulators/ unimportable."""
    program = textwrap.dedent(
        """
        import importlib.abc, sys
        class NoEmulators(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path, target=None):
                if name == "emulators" or name.startswith("emulators."):
                    raise ImportError("emulators/ is not deployed")
        sys.meta_path.insert(0, NoEmulators())
        import function_app
        assert len(function_app.app.get_functions()) > 10
        services = function_app.services()
        assert type(services).__name__ == "Services", type(services)
        services.graph()  # the Graph client (no call is made yet)
        assert "provisioning.doors.local_services" not in sys.modules
        assert not [m for m in sys.modules if m.split(".")[0] == "emulators"]
        print("ok")
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HR_", "ENTRA_", "AZURE_", "AzureWebJobs"))}
    env.update(
        {
            "HR_STORAGE__blobServiceUri": "https://stexample.blob.core.windows.net/",
            "HR_STORAGE__queueServiceUri": "https://stexample.queue.core.windows.net/",
            "HR_STORAGE__credential": "managedidentity",
            "HR_STORAGE__clientId": "11111111-2222-3333-4444-555555555555",
            "ENTRA_AUTH": "managed-identity",
            "AZURE_CLIENT_ID": "11111111-2222-3333-4444-555555555555",
            "ENTRA_BULK_UPLOAD_URL": "https://graph.microsoft.com/v1.0/servicePrincipals/a/synchronization/jobs/j/bulkUpload",
            "BLOB_TRIGGER_SOURCE": "EventGrid",
        }
    )
    result = subprocess.run(
        [sys.executable, "-c", program], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-2000:]
    assert gitignored(_patterns(ROOT / ".funcignore"), "emulators/entra.py")


def test_the_dockerfile_is_microsofts_python_311_layout() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    instructions = [line for line in text.splitlines() if line and not line.startswith("#")]
    joined = "\n".join(instructions).replace("\\\n", " ")
    froms = re.findall(r"^FROM\s+(\S+)", joined, re.MULTILINE)
    assert froms == ["mcr.microsoft.com/azure-functions/python:4-python3.11"]
    image_python = re.search(r"python(\d+\.\d+)$", froms[0]).group(1)  # type: ignore[union-attr]
    bicep = (ROOT / "infra" / "app" / "function-app.bicep").read_text(encoding="utf-8")
    assert f"version: '{image_python}'" in bicep, "the image and the Flex app run the same Python"
    assert re.search(r"^ENV\s+AzureWebJobsScriptRoot=/home/site/wwwroot\s+", joined, re.MULTILINE)
    assert "AzureFunctionsJobHost__Logging__Console__IsEnabled=true" in joined
    steps = re.findall(r"^(COPY|RUN|ADD)\s+(.+)$", joined, re.MULTILINE)
    assert steps == [
        ("COPY", "requirements.txt /"),
        ("RUN", "pip install --no-cache-dir -r /requirements.txt"),
        ("COPY", ". /home/site/wwwroot"),
    ]
    assert not re.search(r"^(ARG|ENV)\s+\S*(SECRET|PASSWORD|KEY|CONNECTION)", joined, re.MULTILINE | re.IGNORECASE)


def test_the_image_copies_what_the_package_holds() -> None:
    """.dockerignore mirrors .funcignore: `COPY . /home/site/wwwroot` copies exactly the package's files."""
    docker = _patterns(ROOT / ".dockerignore")
    context = tuple(p for p in repository_files() if not dockerignored(docker, p))
    assert context == package_files()
    func = _patterns(ROOT / ".funcignore")
    for path in MUST_NOT_SHIP:
        assert dockerignored(docker, path) == gitignored(func, path) is True, path
    # Line for line the same exclusions, written for each syntax.
    assert {p.strip("/").removeprefix("**/") for p in docker} == {p.strip("/") for p in func}


def test_license_is_mit() -> None:
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License\n")
    assert "Copyright (c) 2026 The entra-inbound-provisioning contributors" in text
    assert 'THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND' in text


# ----------------------------------------------------------------------------------------------------------
# The deploy guide
# ----------------------------------------------------------------------------------------------------------


def _deploy_section() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Deploying to Azure") :]
    return section[: section.index("\n## ", 5)]


def test_the_deploy_guide_goes_from_zero_to_a_run() -> None:
    section = _deploy_section()
    for heading in ("### From zero", "### Operating it", "### Troubleshooting"):
        assert heading in section
    for text in (
        "azd env set ENTRA_BULK_UPLOAD_URL",
        "azd up",
        "infra/scripts/grant-graph-permissions.sh --principal-id",
        "GRANT_GRAPH_PERMISSIONS",
        "samples/workers.csv",
        "/api/ui",
        "/api/runs",
        "az bicep build --file infra/main.bicep",
        "azd provision --preview",
        "extraAppSettings",
        "MAXIMUM_INSTANCE_COUNT",
        "PAGE_SIGN_IN_CLIENT_ID",
        "ALERT_EMAIL_ADDRESS",
        "AZURE_PRINCIPAL_TYPE",
        "Dockerfile",
    ):
        assert text in section, f"the deploy guide does not mention {text}"


FAKE_AZ_POSTDEPLOY = textwrap.dedent(
    '''\
    #!{python}
    """A fake `az` for postdeploy.sh: the app's keys, and an Event Grid subscription PUT through az rest."""
    import json, os, sys
    log = os.environ["FAKE_AZ_LOG"]
    args = sys.argv[1:]
    def opt(name):
        return args[args.index(name) + 1] if name in args else None
    entry = {{"args": args}}
    if args[:2] == ["account", "show"]:
        print("00000000-1111-2222-3333-444444444444")
    elif args[:2] == ["cloud", "show"]:
        print("https://management.azure.com/")
    elif args[:3] == ["functionapp", "keys", "list"]:
        print(os.environ["FAKE_KEY"])
    elif args[0] == "rest" and opt("--method") == "PUT":
        body = opt("--body")
        assert body.startswith("@"), body
        entry["body"] = json.load(open(body[1:]))
        entry["body_mode"] = oct(os.stat(body[1:]).st_mode & 0o777)
    elif args[0] == "rest" and opt("--method") == "GET":
        print("Succeeded")
    else:
        sys.exit("unexpected " + repr(args))
    with open(log, "a") as handle:
        handle.write(json.dumps(entry) + "\\n")
    '''
)


def test_the_postdeploy_hook_puts_the_subscription_with_the_key_encoded(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    az = bin_dir / "az"
    az.write_text(FAKE_AZ_POSTDEPLOY.format(python=sys.executable), encoding="utf-8")
    az.chmod(0o755)
    log = tmp_path / "calls.jsonl"
    key = "AbC+d/EfG=="
    storage = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/stx"
    identity = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-x"
    env = {
        "PATH": f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin",
        "FAKE_AZ_LOG": str(log),
        "FAKE_KEY": key,
        "AZURE_RESOURCE_GROUP": "rg-hrprov-dev",
        "AZURE_FUNCTION_APP_NAME": "func-x",
        "AZURE_FUNCTION_APP_HOST_NAME": "func-x.azurewebsites.net",
        "AZURE_STORAGE_ACCOUNT_ID": storage,
        "AZURE_IDENTITY_RESOURCE_ID": identity,
        "AZURE_IDENTITY_PRINCIPAL_ID": IDENTITY,
        "EVENT_GRID_SYSTEM_TOPIC_NAME": "evgt-x",
        "HR_INBOUND_CONTAINER": "hr-inbound",
        "EVENT_GRID_DEAD_LETTER_CONTAINER": "hr-eventgrid-deadletter",
        "BLOB_TRIGGER_FUNCTION_NAME": "provision_blob",
        "TMPDIR": str(tmp_path / "tmp"),
    }
    (tmp_path / "tmp").mkdir()
    result = subprocess.run(
        ["bash", str(SCRIPTS / "postdeploy.sh")], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert key not in result.stdout + result.stderr and "AbC" not in result.stdout + result.stderr
    calls = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    put = next(c for c in calls if "body" in c)
    uri = put["args"][put["args"].index("--uri") + 1]
    assert uri == (
        "https://management.azure.com/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/rg-hrprov-dev"
        "/providers/Microsoft.EventGrid/systemTopics/evgt-x/eventSubscriptions/evgs-hr-inbound?api-version=2025-02-15"
    )
    assert put["body_mode"] == "0o600"
    properties = put["body"]["properties"]
    assert properties["destination"]["properties"]["endpointUrl"] == (
        "https://func-x.azurewebsites.net/runtime/webhooks/blobs?functionName=Host.Functions.provision_blob"
        "&code=AbC%2Bd%2FEfG%3D%3D"
    )
    assert properties["filter"]["subjectBeginsWith"] == "/blobServices/default/containers/hr-inbound/"
    assert properties["filter"]["includedEventTypes"] == ["Microsoft.Storage.BlobCreated"]
    dead_letter = properties["deadLetterWithResourceIdentity"]
    assert dead_letter["identity"] == {"type": "UserAssigned", "userAssignedIdentity": identity}
    assert dead_letter["deadLetterDestination"]["properties"] == {
        "resourceId": storage,
        "blobContainerName": "hr-eventgrid-deadletter",
    }
    assert properties["retryPolicy"] == {"maxDeliveryAttempts": 30, "eventTimeToLiveInMinutes": 1440}
    assert "Graph permissions not granted here" in result.stdout
    assert not list((tmp_path / "tmp").iterdir()), "the body file (with the key) is removed"
