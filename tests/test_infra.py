"""Static checks of infra/main.bicep (no Bicep compiler here): resources, settings, roles, secrets, syntax.

The template is read as text. A small scanner blanks comments and masks string contents (keeping offsets), so
braces inside strings never confuse the structure checks; regex helpers then pick out params, vars, resources,
app settings and their bodies. What a compiler or a deployment would verify (types, property names per API
version, RBAC propagation) is out of reach: these tests catch typos, drift from provisioning/settings.py, lost
hardening and secrets.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter

from provisioning.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
INFRA = ROOT / "infra"
BICEP_PATH = INFRA / "main.bicep"

# Built-in role definitions (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles).
BUILTIN_ROLES = {
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe": "Storage Blob Data Contributor",
    "974c5e8b-45b9-4653-ba55-5f855dd0fb88": "Storage Queue Data Contributor",
    "8a0f0c08-91a1-4084-bc3d-661d67233fed": "Storage Queue Data Message Processor",
    "c6a89b2d-59bc-44d0-9896-0f6e12d7b80a": "Storage Queue Data Message Sender",
    "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": "Storage Table Data Contributor",
    "17d1049b-9a84-46fb-8f53-869881c3d3ab": "Storage Account Contributor",
    "3913510d-42f4-4e42-8a64-420c390055eb": "Monitoring Metrics Publisher",
    "4633458b-17de-408a-b874-0445c86b69e6": "Key Vault Secrets User",
}
REQUIRED_IDENTITY_ROLES = {
    "Storage Blob Data Owner",
    "Storage Queue Data Contributor",
    "Storage Table Data Contributor",
    "Monitoring Metrics Publisher",
    "Key Vault Secrets User",
}

# Functions host settings the template may set besides the Settings aliases.
HOST_SETTINGS = {
    "AzureWebJobsStorage__blobServiceUri",
    "AzureWebJobsStorage__queueServiceUri",
    "AzureWebJobsStorage__tableServiceUri",
    "AzureWebJobsStorage__credential",
    "AzureWebJobsStorage__clientId",
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
}
# Settings the Flex Consumption plan rejects or replaces with functionAppConfig.
FLEX_DEPRECATED_SETTINGS = {
    "FUNCTIONS_EXTENSION_VERSION",
    "FUNCTIONS_WORKER_RUNTIME",
    "FUNCTIONS_WORKER_RUNTIME_VERSION",
    "WEBSITE_RUN_FROM_PACKAGE",
    "WEBSITE_CONTENTSHARE",
    "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
    "WEBSITE_NODE_DEFAULT_VERSION",
}
# Settings aliases the template deliberately does not set in the always-present app settings.
NOT_SET_IN_AZURE = {
    "RUNS_DIR": "CLI only: the Function App keeps run records in the hr-runs container",
    "STATE_DIR": "CLI only: the Function App keeps feed state in the hr-state container",
    "WEBSITE_AUTH_ENABLED": "set by App Service itself when its authentication (pageSignIn) is on",
    "CONFIG_DIR": "serve only: the Function App keeps profiles and connector jobs in the hr-config container",
    "HR_STORAGE": "a connection string; Azure uses the identity-based HR_STORAGE__* settings",
    "AZURE_CLIENT_SECRET": "only as a Key Vault reference, only with entraAuth=secret (secretSettings)",
    "AZURE_CLIENT_CERTIFICATE_PATH": "a certificate file is a CLI option; Azure uses the managed identity",
    "AZURE_CLIENT_CERTIFICATE_PASSWORD": "goes with AZURE_CLIENT_CERTIFICATE_PATH",
    "ENTRA_ALLOW_LOOPBACK": "tests and the emulator only; must stay false in Azure",
    "CONNECTORS_ALLOW_LOOPBACK_HTTP": "tests and the HR emulators only; must stay false in Azure",
    "CONNECTORS_FOLDER": "user-defined connector definitions live in the hr-config container in Azure",
    "AZURE_AUTHORITY_HOST": "the login host follows the endpoint's cloud; an empty app setting would break "
    "azure-identity's own default authority",
}
# Settings whose Azure value differs from the app's default on purpose.
DIFFERENT_FROM_DEFAULT = {"ENTRA_AUTH": "Azure pins managed-identity instead of auto-detection"}

EXPECTED_RESOURCES = {
    "Microsoft.ManagedIdentity/userAssignedIdentities",
    "Microsoft.Storage/storageAccounts",
    "Microsoft.Storage/storageAccounts/blobServices",
    "Microsoft.Storage/storageAccounts/blobServices/containers",
    "Microsoft.Storage/storageAccounts/queueServices",
    "Microsoft.Storage/storageAccounts/queueServices/queues",
    "Microsoft.Authorization/roleAssignments",
    "Microsoft.OperationalInsights/workspaces",
    "Microsoft.Insights/components",
    "Microsoft.KeyVault/vaults",
    "Microsoft.Web/serverfarms",
    "Microsoft.Web/sites",
    "Microsoft.Web/sites/host",
    "Microsoft.EventGrid/systemTopics",
    "Microsoft.EventGrid/systemTopics/eventSubscriptions",
}
GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
PAIRS = {")": "(", "]": "[", "}": "{"}


# ----------------------------------------------------------------------------------------------------------
# A tiny Bicep reader
# ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    clean: str  # comments blanked (offsets kept)
    masked: str  # clean, with string contents masked too
    strings: tuple[str, ...]  # every string literal's raw content


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    default: str | None  # the default's source text, None when required
    decorators: str


def _scan(text: str) -> Source:
    """Blank comments and mask string contents; fail on an unterminated string or comment."""
    clean, masked, strings = list(text), list(text), []
    i, n = 0, len(text)
    while i < n:
        if text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end == -1 else end
            for k in range(i, end):
                clean[k] = masked[k] = " "
            i = end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            assert end != -1, f"unterminated /* comment at offset {i}"
            for k in range(i, end + 2):
                if text[k] != "\n":
                    clean[k] = masked[k] = " "
            i = end + 2
        elif text[i] == "'":
            j, depth = i + 1, 0
            while True:
                assert j < n, f"unterminated string at offset {i}"
                ch = text[j]
                if ch == "\\":
                    j += 2
                    continue
                if depth == 0 and ch == "'":
                    break
                assert not (depth == 0 and ch == "\n"), f"newline in a string at offset {i}"
                if text.startswith("${", j):
                    depth, j = depth + 1, j + 2
                    continue
                if depth and ch == "{":
                    depth += 1
                elif depth and ch == "}":
                    depth -= 1
                elif depth and ch == "'":  # a string inside an interpolation
                    j = text.index("'", j + 1)
                j += 1
            strings.append(text[i + 1 : j])
            for k in range(i + 1, j):
                masked[k] = "_"
            i = j + 1
        else:
            i += 1
    return Source("".join(clean), "".join(masked), tuple(strings))


@cache
def source() -> Source:
    return _scan(BICEP_PATH.read_text(encoding="utf-8"))


def _matching(masked: str, start: int) -> int:
    """Offset just past the bracket that closes the one at ``start``."""
    stack: list[str] = []
    for k in range(start, len(masked)):
        ch = masked[k]
        if ch in "([{":
            stack.append(ch)
        elif ch in PAIRS:
            assert stack and stack[-1] == PAIRS[ch], f"unbalanced {ch!r} at offset {k}"
            stack.pop()
            if not stack:
                return k + 1
    raise AssertionError(f"bracket at offset {start} is never closed")


@cache
def params() -> dict[str, Param]:
    found: dict[str, Param] = {}
    lines_clean = source().clean.splitlines()
    lines_masked = source().masked.splitlines()
    pending: list[str] = []
    depth = 0
    for line, masked in zip(lines_clean, lines_masked, strict=True):
        stripped = line.strip()
        if depth or stripped.startswith("@"):
            pending.append(stripped)
            depth += sum(masked.count(c) for c in "([{") - sum(masked.count(c) for c in ")]}")
            continue
        match = re.match(r"param\s+(\w+)\s+(\w+)(?:\s*=\s*(.+?))?\s*$", stripped)
        if match:
            name, type_, default = match.groups()
            found[name] = Param(name, type_, default, "\n".join(pending))
        if stripped:
            pending = []
    return found


def _literal(text: str | None) -> Any:
    """The value of a literal default (string without interpolation, int, bool, {}), else None."""
    if text is None:
        return None
    if re.fullmatch(r"'(?:[^'\\$]|\\.)*'", text):
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if text in ("true", "false"):
        return text == "true"
    if text == "{}":
        return {}
    return None


@cache
def variables() -> dict[str, str]:
    """Each var's value source text (multi-line arrays and objects included)."""
    src = source()
    found = {}
    for match in re.finditer(r"^var\s+(\w+)\s*=\s*", src.clean, re.MULTILINE):
        start = match.end()
        end = _matching(src.masked, start) if src.masked[start] in "[{" else src.clean.index("\n", start)
        found[match.group(1)] = src.clean[start:end].strip()
    return found


def resolve(expr: str) -> Any:
    """A value known before deployment (literals, param defaults, vars, interpolations of those), else None."""
    expr = expr.strip()
    value = _literal(expr)
    if value is not None:
        return value
    if re.fullmatch(r"'[^'\\]*'", expr):  # a string with interpolations
        parts = []
        for piece in re.split(r"(\$\{[^}]*\})", expr[1:-1]):
            if piece.startswith("${"):
                inner = resolve(piece[2:-1])
                if inner is None:
                    return None
                parts.append(str(inner))
            else:
                parts.append(piece)
        return "".join(parts)
    if match := re.fullmatch(r"string\((\w+)\)", expr):
        inner = resolve(match.group(1))
        return None if inner is None else str(inner).lower() if isinstance(inner, bool) else str(inner)
    if match := re.fullmatch(r"(\w+)\s*\?\s*('[^']*')\s*:\s*('[^']*')", expr):
        condition = resolve(match.group(1))
        return None if not isinstance(condition, bool) else resolve(match.group(2 if condition else 3))
    if expr in params():
        return _literal(params()[expr].default)
    if expr in variables():
        return resolve(variables()[expr])
    return None


def array_items(var_name: str) -> list[str]:
    body = variables()[var_name]
    assert body.startswith("[") and body.endswith("]"), f"var {var_name} is not an array"
    return [line.strip() for line in body[1:-1].splitlines() if line.strip()]


@dataclass(frozen=True)
class Resource:
    symbol: str
    type: str
    api_version: str
    existing: bool
    condition: str | None
    body: str


@cache
def resources() -> dict[str, Resource]:
    src = source()
    found = {}
    header = re.compile(r"^resource\s+(\w+)\s+'([\w./]+)@([\w-]+)'\s+(existing\s+)?=\s*", re.MULTILINE)
    for match in header.finditer(src.clean):
        rest = src.clean[match.end() :]
        condition = re.match(r"if\s*\((.*?)\)\s*\{", rest)
        start = src.masked.index("{", match.end())
        body = src.clean[start : _matching(src.masked, start)]
        found[match.group(1)] = Resource(
            match.group(1),
            match.group(2),
            match.group(3),
            bool(match.group(4)),
            condition.group(1).strip() if condition else None,
            body,
        )
    return found


def of_type(type_: str) -> list[Resource]:
    return [r for r in resources().values() if r.type == type_]


def one(type_: str) -> Resource:
    found = of_type(type_)
    assert len(found) == 1, f"expected one {type_}, found {[r.symbol for r in found]}"
    return found[0]


def prop(body: str, name: str) -> str:
    """The source text of the first ``name: value`` in a body (first line of a multi-line value)."""
    match = re.search(rf"^\s*'?{re.escape(name)}'?\s*:\s*(.+?)\s*$", body, re.MULTILINE)
    assert match, f"{name} not found"
    return match.group(1)


@cache
def app_settings() -> dict[str, str]:
    """Every app setting (always-present and conditional) as name -> value source text."""
    found: dict[str, str] = {}
    entry = re.compile(r"\{\s*name:\s*'([^']+)',\s*value:\s*(.+?)\s*\}(?=\s*(?:$|\]))", re.MULTILINE)
    for var_name in ("appSettings", "secretSettings"):
        for match in entry.finditer(variables()[var_name]):
            assert match.group(1) not in found, f"{match.group(1)} is set twice"
            found[match.group(1)] = match.group(2)
    return found


def always_set() -> set[str]:
    return set(re.findall(r"name:\s*'([^']+)'", variables()["appSettings"]))


def settings_aliases() -> dict[str, str]:
    return {field.alias: name for name, field in Settings.model_fields.items() if field.alias}


# ----------------------------------------------------------------------------------------------------------
# Syntax and hygiene
# ----------------------------------------------------------------------------------------------------------


def test_brackets_balance_and_nest() -> None:
    masked = source().masked
    stack: list[tuple[str, int]] = []
    for offset, ch in enumerate(masked):
        if ch in "([{":
            stack.append((ch, offset))
        elif ch in PAIRS:
            line = masked.count("\n", 0, offset) + 1
            assert stack, f"line {line}: {ch!r} closes nothing"
            opened, _ = stack.pop()
            assert opened == PAIRS[ch], f"line {line}: {ch!r} closes {opened!r}"
    assert not stack, f"unclosed {stack[-1][0]!r} at line {masked.count(chr(10), 0, stack[-1][1]) + 1}"


def test_every_param_and_var_is_used() -> None:
    masked_code = source().masked
    interpolations = " ".join(m for s in source().strings for m in re.findall(r"\$\{([^}]*)\}", s))
    for kind, names in (("param", params()), ("var", variables())):
        for name in names:
            uses = len(re.findall(rf"(?<![\w.]){name}\b", masked_code + " " + interpolations))
            assert uses >= 2, f"{kind} {name} is declared but never used"  # the declaration is one


def test_every_symbol_referenced_is_declared() -> None:
    """A typo such as ``storge.id`` or ``roleIds.storageBlobDataOwnr`` fails here rather than at deployment."""
    declared = set(params()) | set(variables()) | set(resources())
    interpolations = [m for s in source().strings for m in re.findall(r"\$\{([^}]*)\}", s)]
    code = "\n".join([source().masked, *interpolations])
    for name in set(re.findall(r"(?<![\w.'])([A-Za-z_]\w*)(?:\.|::)\w", code)):
        assert name in declared, f"{name} is referenced but not declared"
    for keyword in ("parent", "scope"):
        for name in re.findall(rf"^\s*{keyword}:\s*(\w+)\s*$", source().clean, re.MULTILINE):
            assert name in resources(), f"{keyword}: {name} is not a resource"
    for block in re.findall(r"dependsOn:\s*\[(.*?)\]", source().clean, re.DOTALL):
        for name in block.split():
            assert name in resources(), f"dependsOn {name} is not a resource"
    abbreviations = json.loads((INFRA / "abbreviations.json").read_text(encoding="utf-8"))
    for key in re.findall(r"\babbrs\.(\w+)", code):
        assert key in abbreviations, f"abbrs.{key} is not in abbreviations.json"


def test_parameters_file_matches_the_template() -> None:
    document = json.loads((INFRA / "main.parameters.json").read_text(encoding="utf-8"))
    assert "deploymentParameters.json" in document["$schema"]
    given = document["parameters"]
    unknown = set(given) - set(params())
    assert not unknown, f"main.parameters.json sets params main.bicep does not declare: {sorted(unknown)}"
    python_types = {"string": str, "int": int, "bool": bool, "object": dict, "array": list}
    for name, entry in given.items():
        param = params()[name]
        value = entry["value"]
        assert type(value) is python_types[param.type], f"{name}: {value!r} is not a {param.type}"
        if "@allowed" in param.decorators:
            allowed = re.findall(r"'([^']*)'|\b(\d+)\b", param.decorators.split("@allowed", 1)[1].split("])")[0])
            choices = {text if text else int(number) for text, number in allowed}
            assert value in choices, f"{name}: {value!r} is not one of {choices}"
    required = {name for name, param in params().items() if param.default is None}
    # The job's endpoint differs per tenant and job: passed on the command line (infra/README.md shows how).
    assert required - set(given) == {"entraBulkUploadUrl"}
    assert "entraBulkUploadUrl=" in (INFRA / "README.md").read_text(encoding="utf-8")


def test_resources_and_api_versions() -> None:
    present = {r.type for r in resources().values()}
    assert present >= EXPECTED_RESOURCES, f"missing: {sorted(EXPECTED_RESOURCES - present)}"
    for resource in resources().values():
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", resource.api_version), f"{resource.symbol}: not a GA api version"
    # functionAppConfig (Flex Consumption) needs Microsoft.Web 2023-12-01 or later.
    assert one("Microsoft.Web/sites").api_version >= "2023-12-01"
    assert one("Microsoft.Web/serverfarms").api_version >= "2023-12-01"


# ----------------------------------------------------------------------------------------------------------
# The resources
# ----------------------------------------------------------------------------------------------------------


def test_flex_consumption_plan() -> None:
    body = one("Microsoft.Web/serverfarms").body
    assert re.search(r"sku:\s*\{[^}]*name:\s*'FC1'", body)
    assert re.search(r"sku:\s*\{[^}]*tier:\s*'FlexConsumption'", body)
    assert prop(body, "reserved") == "true"  # Linux


def test_function_app_is_flex_python_311_with_the_identity() -> None:
    site = one("Microsoft.Web/sites")
    body = site.body
    assert "functionapp" in prop(body, "kind") and "linux" in prop(body, "kind")
    runtime = re.search(r"runtime:\s*\{(.*?)\}", body, re.DOTALL)
    assert runtime and prop(runtime.group(1), "name") == "'python'" and prop(runtime.group(1), "version") == "'3.11'"
    assert prop(body, "httpsOnly") == "true"
    assert re.search(r"identity:\s*\{\s*type:\s*'UserAssigned'", body)
    assert prop(body, "keyVaultReferenceIdentity") == "identity.id"
    deployment = re.search(r"deployment:\s*\{(.*?)\n      \}", body, re.DOTALL)
    assert deployment, "functionAppConfig.deployment missing"
    assert prop(deployment.group(1), "type") == "'blobContainer'"
    assert "${deploymentContainerName}" in prop(deployment.group(1), "value")
    assert re.search(r"type:\s*'UserAssignedIdentity'\s*userAssignedIdentityResourceId:\s*identity\.id", body)
    assert prop(body, "maximumInstanceCount") == "maximumInstanceCount"
    assert _literal(params()["maximumInstanceCount"].default) == 10
    assert prop(body, "instanceMemoryMB") == "instanceMemoryMB"
    assert _literal(params()["instanceMemoryMB"].default) == 2048
    assert prop(body, "appSettings") == "concat(appSettings, secretSettings)"


def test_storage_account_is_hardened() -> None:
    body = one("Microsoft.Storage/storageAccounts").body
    assert prop(body, "kind") == "'StorageV2'"
    assert re.search(r"sku:\s*\{\s*name:\s*'Standard_LRS'", body)
    assert prop(body, "minimumTlsVersion") == "'TLS1_2'"
    assert prop(body, "allowSharedKeyAccess") == "false"
    assert prop(body, "allowBlobPublicAccess") == "false"
    assert prop(body, "supportsHttpsTrafficOnly") == "true"
    for container in of_type("Microsoft.Storage/storageAccounts/blobServices/containers"):
        assert prop(container.body, "publicAccess") == "'None'"


def test_containers_and_queues_are_the_settings_defaults() -> None:
    fields = Settings.model_fields
    containers = {f.default for n, f in fields.items() if n.startswith("hr_") and n.endswith("_container")}
    queues = {f.default for n, f in fields.items() if n.startswith("hr_") and n.endswith("_queue")}
    assert {"hr-inbound", "hr-config", "hr-runs", "hr-state", "hr-quarantine"} <= containers
    assert {"hr-upload", "hr-results"} <= queues
    created_containers = {resolve(item) for item in array_items("blobContainerNames")}
    created_queues = {resolve(item) for item in array_items("queueNames")}
    assert containers <= created_containers, f"missing containers: {containers - created_containers}"
    assert queues | {f"{q}-poison" for q in queues} <= created_queues
    assert resolve("deploymentContainerName") in created_containers
    for resource, var_name in (
        (one("Microsoft.Storage/storageAccounts/blobServices/containers"), "blobContainerNames"),
        (one("Microsoft.Storage/storageAccounts/queueServices/queues"), "queueNames"),
    ):
        loop = re.search(rf"for\s+(\w+)\s+in\s+{var_name}\s*:", source().clean[source().clean.index(resource.symbol) :])
        assert loop and prop(resource.body, "name") == loop.group(1)


def test_role_assignments_use_known_builtin_roles_for_the_identity() -> None:
    role_ids = dict(re.findall(r"^\s*(\w+):\s*'([0-9a-f-]{36})'", variables()["roleIds"], re.MULTILINE))
    for symbol, guid in role_ids.items():
        assert guid in BUILTIN_ROLES, f"roleIds.{symbol} = {guid} is not a known built-in role"
    for guid in GUID.findall(source().clean):
        assert guid.lower() in BUILTIN_ROLES, f"unexpected GUID {guid}"
    granted: set[str] = set()
    for assignment in of_type("Microsoft.Authorization/roleAssignments"):
        body = assignment.body
        assert "subscriptionResourceId('Microsoft.Authorization/roleDefinitions'," in body
        assert prop(body, "principalType") in ("'ServicePrincipal'", "operatorPrincipalType")
        assert re.search(r"name:\s*guid\(", body), f"{assignment.symbol}: name must be a deterministic guid()"
        used = re.findall(r"roleIds\.(\w+)", body)
        if assignment.symbol == "storageRoleAssignments":
            assert "for roleId in storageRoleIds" in source().clean
            used = [re.sub(r"roleIds\.", "", item) for item in array_items("storageRoleIds")]
        assert used, f"{assignment.symbol}: no roleIds.<name>"
        if prop(body, "principalId") == "identity.properties.principalId":
            granted |= {BUILTIN_ROLES[role_ids[name]] for name in used}
    assert granted >= REQUIRED_IDENTITY_ROLES, f"identity lacks {REQUIRED_IDENTITY_ROLES - granted}"
    scopes = {a.symbol: prop(a.body, "scope") for a in of_type("Microsoft.Authorization/roleAssignments")}
    assert scopes["storageRoleAssignments"] == "storage"
    assert scopes["monitoringRoleAssignment"] == "appInsights"
    assert scopes["keyVaultRoleAssignment"] == "keyVault"


def test_monitoring_uses_entra_auth_only() -> None:
    components = one("Microsoft.Insights/components").body
    assert re.search(r"^\s*disableLocalAuth:\s*true\s*$", components, re.MULTILINE | re.IGNORECASE)
    assert prop(components, "WorkspaceResourceId") == "logAnalytics.id"
    auth = app_settings()["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"]
    assert auth == "'ClientId=${identity.properties.clientId};Authorization=AAD'"


def test_key_vault_is_optional_and_rbac() -> None:
    vault = one("Microsoft.KeyVault/vaults")
    assert vault.condition == "deployKeyVault"
    assert _literal(params()["deployKeyVault"].default) is False
    assert prop(vault.body, "enableRbacAuthorization") == "true"
    assert resources()["keyVaultRoleAssignment"].condition == "deployKeyVault"


def test_event_grid_delivers_inbound_blob_created_to_provision_blob() -> None:
    topic = one("Microsoft.EventGrid/systemTopics").body
    assert prop(topic, "source") == "storage.id"
    assert prop(topic, "topicType") == "'Microsoft.Storage.StorageAccounts'"
    subscription = one("Microsoft.EventGrid/systemTopics/eventSubscriptions")
    body = subscription.body
    assert subscription.condition == "deployEventSubscription"
    assert _literal(params()["deployEventSubscription"].default) is False  # phase 2 only
    assert re.search(r"includedEventTypes:\s*\[\s*'Microsoft\.Storage\.BlobCreated'\s*\]", body)
    inbound = Settings.model_fields["hr_inbound_container"].default
    assert resolve(prop(body, "subjectBeginsWith")) == f"/blobServices/default/containers/{inbound}/"
    assert prop(body, "endpointType") == "'WebHook'"
    url = prop(body, "endpointUrl")
    assert "/runtime/webhooks/blobs?functionName=Host.Functions.${blobTriggerFunctionName}&code=" in url
    assert "functionAppHost.listKeys().systemKeys.blobs_extension" in url
    assert resolve("blobTriggerFunctionName") == "provision_blob"
    # Dead-letters go to a container created here, written with the identity (shared keys are off).
    assert resolve(prop(body, "blobContainerName")) in {resolve(i) for i in array_items("blobContainerNames")}
    assert re.search(r"userAssignedIdentity:\s*identity\.id", body)


def test_blob_trigger_name_matches_function_app() -> None:
    text = (ROOT / "function_app.py").read_text(encoding="utf-8")
    match = re.search(r"@app\.blob_trigger\((?:.|\n)*?\)\s*\n(?:@.*\n)*def\s+(\w+)", text)
    if not match:
        pytest.skip("function_app.py has no blob trigger yet")
    assert match.group(1) == resolve("blobTriggerFunctionName")
    assert 'connection="HR_STORAGE"' in match.group(0)
    # The subscription's subject filter and the trigger's path name the same container.
    assert "%HR_INBOUND_CONTAINER%/" in match.group(0)


def test_every_queue_a_trigger_listens_to_is_created() -> None:
    text = (ROOT / "function_app.py").read_text(encoding="utf-8")
    names = re.findall(r'queue_name="([^"]+)"', text)
    if not names:
        pytest.skip("function_app.py has no queue trigger yet")
    values = {name: resolve(value) for name, value in app_settings().items()}
    created = {resolve(item) for item in array_items("queueNames")}
    for name in names:
        queue = re.sub(r"%(\w+)%", lambda m: str(values[m.group(1)]), name)
        assert queue in created, f"function_app.py listens to {queue!r}, main.bicep does not create it"


def test_hr_storage_settings_are_what_the_blob_sdk_binding_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """The azurefunctions-extensions-bindings-blob client factory, fed the template's HR_STORAGE__* names."""
    from azure.identity import ManagedIdentityCredential
    from azurefunctions.extensions.bindings.blob.utils import service_client_factory

    sample = {
        "storage.properties.primaryEndpoints.blob": "https://stexample.blob.core.windows.net/",
        "storage.properties.primaryEndpoints.queue": "https://stexample.queue.core.windows.net/",
        "identity.properties.clientId": "11111111-2222-3333-4444-555555555555",
    }
    for name in [n for n in os.environ if n.startswith("HR_STORAGE")]:
        monkeypatch.delenv(name)
    for name, value in app_settings().items():
        if name.startswith("HR_STORAGE__"):
            monkeypatch.setenv(name, sample.get(value, resolve(value)))
    client = service_client_factory("HR_STORAGE")
    assert client.url.startswith("https://stexample.blob.core.windows.net")
    assert isinstance(client.credential, ManagedIdentityCredential)


def test_outputs() -> None:
    outputs = dict(re.findall(r"^output\s+(\w+)\s+\w+\s*=\s*(.+)$", source().clean, re.MULTILINE))
    for name in ("functionAppName", "identityPrincipalId", "identityClientId", "storageAccountName"):
        assert name in outputs, f"output {name} missing"
    assert outputs["identityPrincipalId"] == "identity.properties.principalId"
    assert outputs["identityClientId"] == "identity.properties.clientId"
    assert resolve(outputs["inboundContainerName"]) == Settings.model_fields["hr_inbound_container"].default
    for name, value in outputs.items():
        assert not re.search(r"list\w*\(|ConnectionString|secret|password", value, re.IGNORECASE), name


# ----------------------------------------------------------------------------------------------------------
# App settings
# ----------------------------------------------------------------------------------------------------------


def test_every_app_setting_name_is_known() -> None:
    known = HOST_SETTINGS | set(settings_aliases())
    unknown = set(app_settings()) - known
    assert not unknown, f"not a host setting nor a Settings alias (typo?): {sorted(unknown)}"
    assert not set(app_settings()) & FLEX_DEPRECATED_SETTINGS, "Flex Consumption rejects these"


def test_every_setting_that_matters_in_azure_is_set() -> None:
    aliases = set(settings_aliases())
    assert set(NOT_SET_IN_AZURE) <= aliases, f"stale exceptions: {set(NOT_SET_IN_AZURE) - aliases}"
    missing = aliases - set(NOT_SET_IN_AZURE) - always_set()
    assert not missing, f"set these in main.bicep or list them in NOT_SET_IN_AZURE with a reason: {sorted(missing)}"
    assert not (set(NOT_SET_IN_AZURE) - {"AZURE_CLIENT_SECRET"}) & set(app_settings())
    assert always_set() >= HOST_SETTINGS


def test_storage_connections_are_identity_based() -> None:
    settings = app_settings()
    for prefix in ("AzureWebJobsStorage", "HR_STORAGE"):
        assert prefix not in settings, f"{prefix} as a single setting would be a connection string"
        assert settings[f"{prefix}__credential"] == "'managedidentity'"
        assert settings[f"{prefix}__clientId"] == "identity.properties.clientId"
        assert settings[f"{prefix}__blobServiceUri"] == "storage.properties.primaryEndpoints.blob"
        assert settings[f"{prefix}__queueServiceUri"] == "storage.properties.primaryEndpoints.queue"
    assert settings["AzureWebJobsStorage__tableServiceUri"] == "storage.properties.primaryEndpoints.table"


def test_graph_identity_settings() -> None:
    settings = app_settings()
    assert resolve(settings["ENTRA_AUTH"]) == "managed-identity"
    assert "identity.properties.clientId" in settings["AZURE_CLIENT_ID"]
    assert settings["ENTRA_BULK_UPLOAD_URL"] == "entraBulkUploadUrl"
    assert resolve(settings["BLOB_TRIGGER_SOURCE"]) == "EventGrid"


def test_template_defaults_are_valid_settings_equal_to_the_app_defaults() -> None:
    """Every value known before deployment passes the app's own validation, and mirrors its default."""
    resolved = {name: resolve(text) for name, text in app_settings().items() if name in settings_aliases()}
    resolved = {name: value for name, value in resolved.items() if value is not None}
    assert {"ENTRA_RATE_LIMIT", "HRMS_SYNC_SCHEDULE", "HR_INBOUND_CONTAINER", "DELTA_FULL_SYNC"} <= set(resolved)
    validated = Settings.model_validate({name: str(value) for name, value in resolved.items()})
    for alias, value in resolved.items():
        field_name = settings_aliases()[alias]
        field = Settings.model_fields[field_name]
        if field.default is None or alias in DIFFERENT_FROM_DEFAULT:
            continue
        parsed = TypeAdapter(field.annotation).validate_python(str(value))
        assert parsed == field.default, f"{alias}: template default {value!r}, app default {field.default!r}"
        assert getattr(validated, field_name) == field.default


# ----------------------------------------------------------------------------------------------------------
# No secrets
# ----------------------------------------------------------------------------------------------------------


def test_client_secret_only_as_a_key_vault_reference() -> None:
    value = app_settings()["AZURE_CLIENT_SECRET"]
    assert value == "'@Microsoft.KeyVault(SecretUri=${azureClientSecretUri})'"
    assert "AZURE_CLIENT_SECRET" not in always_set()
    assert variables()["secretSettings"].startswith("empty(azureClientSecretUri) ? [] :")
    assert _literal(params()["azureClientSecretUri"].default) == ""


def test_no_literal_secrets_or_keys() -> None:
    forbidden = re.compile(
        r"AccountKey=|SharedAccessSignature|DefaultEndpointsProtocol|InstrumentationKey=|[?&]sig=|"
        r"UseDevelopmentStorage|-----BEGIN",
        re.IGNORECASE,
    )
    for path in (BICEP_PATH, INFRA / "main.parameters.json", INFRA / "abbreviations.json", INFRA / "README.md"):
        text = path.read_text(encoding="utf-8")
        assert not forbidden.search(text), f"{path.name}: {forbidden.search(text).group(0)!r}"
    for literal in source().strings:
        for value in re.findall(r"(?:password|secret|key|sig)\s*=\s*([^\s$]\S*)", literal, re.IGNORECASE):
            assert value.startswith("@Microsoft.KeyVault(SecretUri="), f"secret-looking literal: {literal!r}"
    for name, value in app_settings().items():
        if re.search(r"SECRET|PASSWORD|_KEY\b", name):
            assert value.startswith("'@Microsoft.KeyVault(SecretUri="), f"{name} must be a Key Vault reference"
    for param in params().values():
        if "@secure" in param.decorators:
            assert _literal(param.default) in (None, ""), f"{param.name}: a secure param with a default"
    # The only key read anywhere: the blobs_extension system key, inside the Event Grid subscription.
    code = source().masked + " ".join(source().strings)
    calls = re.findall(r"\.(list\w*)\(", code)
    assert calls == ["listKeys"], f"list*() calls: {calls}"
    subscription = one("Microsoft.EventGrid/systemTopics/eventSubscriptions").body
    assert ".listKeys().systemKeys.blobs_extension" in subscription
    parameters = json.loads((INFRA / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    for name in parameters:
        assert not re.search(r"secret|password|key$", name, re.IGNORECASE) or parameters[name]["value"] in ("", False)


def test_the_page_can_sit_behind_entra_sign_in() -> None:
    # App Service authentication (authsettingsV2) for the page and the API, when a client id is given; the
    # health probe and Event Grid's blob webhook stay reachable without a sign-in.
    text = BICEP_PATH.read_text(encoding="utf-8")
    assert _literal(params()["pageSignInClientId"].default) == ""
    block = text[text.index("resource pageSignIn 'Microsoft.Web/sites/config@") :]
    block = block[: block.index("\nresource ")]
    assert "if (!empty(pageSignInClientId))" in block and "name: 'authsettingsV2'" in block
    assert "requireAuthentication: true" in block and "unauthenticatedClientAction: 'RedirectToLoginPage'" in block
    assert "'/api/health'" in block and "'/runtime/webhooks/blobs'" in block
    assert "clientSecret" not in block, "no secret: the sign-in validates tokens only"
