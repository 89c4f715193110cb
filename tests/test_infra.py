"""Static checks of infra/ (no Bicep compiler here): main.bicep and its modules under infra/app/.

Every .bicep file is read as text. A small scanner blanks comments and masks string contents (keeping offsets), so
braces inside strings never confuse the structure checks; regex helpers then pick out params, vars, resources,
modules, outputs, app settings and their bodies. A value is resolved across files: a module's param is followed to
the value main.bicep passes it. What a compiler or a deployment would verify (types, property names per API
version, RBAC propagation) is out of reach: these tests catch typos, drift from provisioning/settings.py, lost
hardening and secrets. Run `az bicep build --file infra/main.bicep` (or `azd provision --preview`) for the rest.
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

from provisioning.settings import Settings, parse_rate

ROOT = Path(__file__).resolve().parent.parent
INFRA = ROOT / "infra"
MAIN = INFRA / "main.bicep"
FUNCTION_APP = INFRA / "app" / "function-app.bicep"

# Built-in role definitions (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles).
BUILTIN_ROLES = {
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe": "Storage Blob Data Contributor",
    "974c5e8b-45b9-4653-ba55-5f855dd0fb88": "Storage Queue Data Contributor",
    "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": "Storage Table Data Contributor",
    "3913510d-42f4-4e42-8a64-420c390055eb": "Monitoring Metrics Publisher",
    "4633458b-17de-408a-b874-0445c86b69e6": "Key Vault Secrets User",
    "b86a8fe4-44ce-4948-aee5-eccb2c155cd7": "Key Vault Secrets Officer",
}
# What the identity must hold, and no more (least privilege: no Owner, Contributor or Administrator role).
IDENTITY_ROLES = {
    "Storage Blob Data Owner",
    "Storage Queue Data Contributor",
    "Storage Table Data Contributor",
    "Monitoring Metrics Publisher",
    "Key Vault Secrets User",
}
OPERATOR_ROLES = {"Storage Blob Data Contributor", "Key Vault Secrets Officer"}

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
# Settings aliases the template deliberately does not set in the always-present app settings (their app default
# applies, stated here with the reason).
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
DIFFERENT_FROM_DEFAULT = {
    "ENTRA_AUTH": "Azure pins managed-identity instead of auto-detection",
    "ENTRA_RATE_LIMIT": "divided among maximumInstanceCount instances (pacedRateLimit)",
}

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
    "Microsoft.Insights/scheduledQueryRules",
    "Microsoft.Insights/actionGroups",
    "Microsoft.KeyVault/vaults",
    "Microsoft.Web/serverfarms",
    "Microsoft.Web/sites",
    "Microsoft.Web/sites/config",
    "Microsoft.EventGrid/systemTopics",
}
GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
PAIRS = {")": "(", "]": "[", "}": "{"}
BICEP_FUNCTIONS = {"environment", "tenant", "resourceGroup", "subscription", "deployment"}


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


@dataclass(frozen=True)
class Resource:
    file: str
    symbol: str
    type: str
    api_version: str
    existing: bool
    condition: str | None
    body: str


@dataclass(frozen=True)
class Module:
    symbol: str
    path: str  # relative to infra/, e.g. app/storage.bicep
    condition: str | None
    params: dict[str, str]  # name -> value source text


def _scan(text: str) -> Source:
    """Blank comments and mask string contents (''' multi-line ones too); fail on an unterminated string."""
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
        elif text.startswith("'''", i):
            end = text.find("'''", i + 3)
            assert end != -1, f"unterminated ''' string at offset {i}"
            strings.append(text[i + 3 : end])
            for k in range(i + 3, end):
                if text[k] != "\n":
                    masked[k] = "_"
            i = end + 3
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


def bicep_files() -> list[str]:
    return sorted(str(p.relative_to(INFRA)) for p in INFRA.rglob("*.bicep"))


@cache
def source(file: str = "main.bicep") -> Source:
    return _scan((INFRA / file).read_text(encoding="utf-8"))


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
def params(file: str = "main.bicep") -> dict[str, Param]:
    found: dict[str, Param] = {}
    src = source(file)
    pending: list[str] = []
    depth = 0
    for line, masked in zip(src.clean.splitlines(), src.masked.splitlines(), strict=True):
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


def _block(src: Source, start: int) -> str:
    """The source text of the value starting at ``start``: a bracketed block, a ''' string, or the rest of the line."""
    if src.clean.startswith("'''", start):
        return src.clean[start : src.clean.index("'''", start + 3) + 3]
    if src.masked[start] in "[{":
        return src.clean[start : _matching(src.masked, start)]
    end = start
    while True:  # a value may go on over brackets that open on its first line
        line_end = src.clean.find("\n", end)
        line_end = len(src.clean) if line_end == -1 else line_end
        opened = src.masked[start:line_end]
        depth = sum(opened.count(c) for c in "([{") - sum(opened.count(c) for c in ")]}")
        if depth <= 0:
            return src.clean[start:line_end].strip()
        bracket = max(src.masked.rfind(c, start, line_end) for c in "([{")
        end = _matching(src.masked, bracket)


@cache
def variables(file: str = "main.bicep") -> dict[str, str]:
    """Each var's value source text (multi-line arrays, objects and ''' strings included)."""
    src = source(file)
    return {
        match.group(1): _block(src, match.end()).strip()
        for match in re.finditer(r"^var\s+(\w+)\s*=\s*", src.clean, re.MULTILINE)
    }


@cache
def outputs(file: str = "main.bicep") -> dict[str, str]:
    return dict(re.findall(r"^output\s+(\w+)\s+\w+\s*=\s*(.+)$", source(file).clean, re.MULTILINE))


@cache
def resources(file: str) -> dict[str, Resource]:
    src = source(file)
    found = {}
    header = re.compile(r"^resource\s+(\w+)\s+'([\w./]+)@([\w-]+)'\s+(existing\s+)?=\s*", re.MULTILINE)
    for match in header.finditer(src.clean):
        rest = src.clean[match.end() :]
        condition = re.match(r"(?:\[\s*for .*?:\s*)?if\s*\((.*?)\)\s*\{", rest)
        start = src.masked.index("{", match.end())
        found[match.group(1)] = Resource(
            file,
            match.group(1),
            match.group(2),
            match.group(3),
            bool(match.group(4)),
            condition.group(1).strip() if condition else None,
            src.clean[start : _matching(src.masked, start)],
        )
    return found


def all_resources() -> list[Resource]:
    return [r for f in bicep_files() for r in resources(f).values()]


@cache
def modules(file: str = "main.bicep") -> dict[str, Module]:
    src = source(file)
    found = {}
    for match in re.finditer(r"^module\s+(\w+)\s+'([^']+)'\s*=\s*(?:if\s*\((.*?)\)\s*)?\{", src.clean, re.MULTILINE):
        start = match.end() - 1
        body = src.clean[start : _matching(src.masked, start)]
        masked_body = src.masked[start : start + len(body)]
        at = re.search(r"^\s*params:\s*\{", masked_body, re.MULTILINE)
        given: dict[str, str] = {}
        if at:
            inner_start = start + at.end() - 1
            inner = src.clean[inner_start : _matching(src.masked, inner_start)]
            inner_src = _scan(inner)
            for line in re.finditer(r"^\s*(\w+):\s*", inner_src.clean, re.MULTILINE):
                given[line.group(1)] = _block(inner_src, line.end())
        found[match.group(1)] = Module(match.group(1), match.group(2), match.group(3), given)
    return found


def module_for(file: str) -> Module:
    found = [m for m in modules().values() if m.path == file]
    assert len(found) == 1, f"{file} is used by {len(found)} modules of main.bicep"
    return found[0]


def resolve(expr: str, file: str = "main.bicep") -> Any:
    """A value known before deployment (literals, param defaults, vars, module params, interpolations), else None."""
    expr = expr.strip()
    value = _literal(expr)
    if value is not None:
        return value
    if re.fullmatch(r"'[^'\\]*'", expr):  # a string with interpolations
        parts = []
        for piece in re.split(r"(\$\{[^}]*\})", expr[1:-1]):
            if piece.startswith("${"):
                inner = resolve(piece[2:-1], file)
                if inner is None:
                    return None
                parts.append(str(inner))
            else:
                parts.append(piece)
        return "".join(parts)
    if match := re.fullmatch(r"string\((\w+)\)", expr):
        inner = resolve(match.group(1), file)
        return None if inner is None else str(inner).lower() if isinstance(inner, bool) else str(inner)
    if match := re.fullmatch(r"(\w+)\s*\?\s*('[^']*')\s*:\s*('[^']*')", expr):
        condition = resolve(match.group(1), file)
        return None if not isinstance(condition, bool) else resolve(match.group(2 if condition else 3), file)
    if expr in variables(file):
        return resolve(variables(file)[expr], file)
    if expr in params(file):
        param = params(file)[expr]
        if file != "main.bicep" and param.default is None:
            given = module_for(file).params.get(expr)
            return None if given is None else resolve(given, "main.bicep")
        return _literal(param.default)
    return None


def array_items(var_name: str, file: str = "main.bicep") -> list[str]:
    body = variables(file)[var_name]
    assert body.startswith("[") and body.endswith("]"), f"var {var_name} is not an array"
    return [line.strip() for line in body[1:-1].splitlines() if line.strip()]


def of_type(type_: str) -> list[Resource]:
    """The resources of a type that a template creates (``existing`` references left out)."""
    return [r for r in all_resources() if r.type == type_ and not r.existing]


def one(type_: str) -> Resource:
    found = of_type(type_)
    assert len(found) == 1, f"expected one {type_}, found {[r.symbol for r in found]}"
    return found[0]


def prop(body: str, name: str) -> str:
    """The source text of the first ``name: value`` in a body (first line of a multi-line value)."""
    match = re.search(rf"^\s*'?{re.escape(name)}'?\s*:\s*(.+?)\s*$", body, re.MULTILINE)
    assert match, f"{name} not found"
    return match.group(1)


def _object_entries(body: str) -> dict[str, str]:
    assert body.startswith("{") and body.endswith("}"), body[:40]
    inner = _scan(body[1:-1])
    found: dict[str, str] = {}
    for match in re.finditer(r"^\s*'?([\w.-]+)'?:\s*", inner.clean, re.MULTILINE):
        name = match.group(1)
        assert name not in found, f"{name} is set twice"
        found[name] = _block(inner, match.end())
    return found


@cache
def app_settings() -> dict[str, str]:
    """Every app setting the template sets (always-present and conditional) as name -> value source text."""
    found = dict(template_settings())
    secret = variables("app/function-app.bicep")["secretSettings"]
    found.update(_object_entries(secret[secret.index("{", secret.index(":")) :]))
    return found


@cache
def template_settings() -> dict[str, str]:
    return _object_entries(variables("app/function-app.bicep")["templateSettings"])


def always_set() -> set[str]:
    return set(template_settings())


def settings_aliases() -> dict[str, str]:
    return {field.alias: name for name, field in Settings.model_fields.items() if field.alias}


def setting_value(name: str) -> Any:
    return resolve(app_settings()[name], "app/function-app.bicep")


# ----------------------------------------------------------------------------------------------------------
# Integer arithmetic as Bicep does it (for the pacing computation)
# ----------------------------------------------------------------------------------------------------------


def evaluate(expr: str, names: dict[str, Any], file: str = "main.bicep") -> Any:
    """Evaluates a Bicep expression of ints, bools and strings: + - * / % (integer), comparisons, ?:, max/min/empty,
    and '...${...}...' strings. Unknown names are looked up as vars of ``file`` first, then in ``names``."""
    tokens = re.findall(r"'(?:[^'\\]|\\.)*'|\d+|\w+|==|!=|<=|>=|&&|\|\||[-+*/%()<>?:,!]", expr)
    pos = 0

    def peek() -> str | None:
        return tokens[pos] if pos < len(tokens) else None

    def take(expected: str | None = None) -> str:
        nonlocal pos
        token = tokens[pos]
        assert expected is None or token == expected, f"expected {expected!r}, got {token!r} in {expr!r}"
        pos += 1
        return token

    def ternary() -> Any:
        condition = binary(0)
        if peek() == "?":
            take("?")
            yes = ternary()
            take(":")
            no = ternary()
            return yes if condition else no
        return condition

    levels = [["||"], ["&&"], ["==", "!="], ["<", "<=", ">", ">="], ["+", "-"], ["*", "/", "%"]]

    def binary(level: int) -> Any:
        if level == len(levels):
            return unary()
        left = binary(level + 1)
        while peek() in levels[level]:
            op = take()
            right = binary(level + 1)
            left = {
                "||": lambda a, b: a or b,
                "&&": lambda a, b: a and b,
                "==": lambda a, b: a == b,
                "!=": lambda a, b: a != b,
                "<": lambda a, b: a < b,
                "<=": lambda a, b: a <= b,
                ">": lambda a, b: a > b,
                ">=": lambda a, b: a >= b,
                "+": lambda a, b: a + b,
                "-": lambda a, b: a - b,
                "*": lambda a, b: a * b,
                "/": lambda a, b: int(a / b),  # Bicep truncates toward zero
                "%": lambda a, b: a - b * int(a / b),
            }[op](left, right)
        return left

    def unary() -> Any:
        token = take()
        if token == "!":
            return not unary()
        if token == "(":
            value = ternary()
            take(")")
            return value
        if token.isdigit():
            return int(token)
        if token.startswith("'"):
            return re.sub(r"\$\{([^}]*)\}", lambda m: str(evaluate(m.group(1), names, file)), token[1:-1])
        if token in ("true", "false"):
            return token == "true"
        if peek() == "(":
            take("(")
            args = [ternary()]
            while peek() == ",":
                take(",")
                args.append(ternary())
            take(")")
            return {"max": max, "min": min, "empty": lambda v: not v}[token](*args)
        if token in names:
            return names[token]
        if token in variables(file):
            return evaluate(variables(file)[token], names, file)
        raise AssertionError(f"unknown name {token!r} in {expr!r}")

    value = ternary()
    assert pos == len(tokens), f"unparsed rest of {expr!r}: {tokens[pos:]}"
    return value


# ----------------------------------------------------------------------------------------------------------
# Syntax and hygiene, in every file
# ----------------------------------------------------------------------------------------------------------


def test_the_template_is_main_and_modules_under_app() -> None:
    files = bicep_files()
    assert "main.bicep" in files
    used = {m.path for m in modules().values()}
    assert used == {f for f in files if f != "main.bicep"}, "every module file is used once, and only those exist"
    assert all(path.startswith("app/") for path in used)
    assert not re.search(r"^resource\s", source().clean, re.MULTILINE), "main.bicep composes modules only"


@pytest.mark.parametrize("file", bicep_files())
def test_brackets_balance_and_nest(file: str) -> None:
    masked = source(file).masked
    stack: list[tuple[str, int]] = []
    for offset, ch in enumerate(masked):
        if ch in "([{":
            stack.append((ch, offset))
        elif ch in PAIRS:
            line = masked.count("\n", 0, offset) + 1
            assert stack, f"{file}:{line}: {ch!r} closes nothing"
            opened, _ = stack.pop()
            assert opened == PAIRS[ch], f"{file}:{line}: {ch!r} closes {opened!r}"
    assert not stack, f"{file}: unclosed {stack[-1][0]!r} at line {masked.count(chr(10), 0, stack[-1][1]) + 1}"


@pytest.mark.parametrize("file", bicep_files())
def test_every_param_and_var_is_used(file: str) -> None:
    src = source(file)
    interpolations = " ".join(m for s in src.strings for m in re.findall(r"\$\{([^}]*)\}", s))
    for kind, names in (("param", params(file)), ("var", variables(file))):
        for name in names:
            uses = len(re.findall(rf"(?<![\w.]){name}\b", src.masked + " " + interpolations))
            assert uses >= 2, f"{file}: {kind} {name} is declared but never used"  # the declaration is one


@pytest.mark.parametrize("file", bicep_files())
def test_every_symbol_referenced_is_declared(file: str) -> None:
    """A typo such as ``storge.id`` or ``roleIds.storageBlobDataOwnr`` fails here rather than at deployment."""
    src = source(file)
    declared = set(params(file)) | set(variables(file)) | set(resources(file)) | set(modules(file))
    lambda_args = set(re.findall(r"(\w+)\s*=>", src.masked))
    interpolations = [m for s in src.strings for m in re.findall(r"\$\{([^}]*)\}", s)]
    code = "\n".join([src.masked, *interpolations])
    for name in set(re.findall(r"(?<![\w.'])([A-Za-z_]\w*)(?:\.|::)\w", code)):
        assert name in declared | lambda_args | BICEP_FUNCTIONS, f"{file}: {name} is referenced but not declared"
    for keyword in ("parent", "scope"):
        for name in re.findall(rf"^\s*{keyword}:\s*(\w+)\s*$", src.clean, re.MULTILINE):
            assert name in resources(file), f"{file}: {keyword}: {name} is not a resource"
    for block in re.findall(r"dependsOn:\s*\[(.*?)\]", src.clean, re.DOTALL):
        for name in block.split():
            assert name in resources(file) | modules(file), f"{file}: dependsOn {name} is not a resource or module"
    abbreviations = json.loads((INFRA / "abbreviations.json").read_text(encoding="utf-8"))
    for key in re.findall(r"\babbrs\.(\w+)", code):
        assert key in abbreviations, f"abbrs.{key} is not in abbreviations.json"
    # A module's outputs exist in the module's file.
    for symbol, output in re.findall(r"\b(\w+)\.outputs\.(\w+)", code):
        module = modules(file)[symbol]
        assert output in outputs(module.path), f"{file}: {module.path} has no output {output}"


def test_every_module_gets_exactly_its_params() -> None:
    for module in modules().values():
        declared = params(module.path)
        required = {name for name, p in declared.items() if p.default is None}
        given = set(module.params)
        assert not given - set(declared), f"{module.path}: unknown params {sorted(given - set(declared))}"
        assert not required - given, f"{module.path}: required params not given {sorted(required - given)}"


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
        if isinstance(value, str) and (substitution := re.fullmatch(r"\$\{(\w+)(?:=([^}]*))?\}", value)):
            # azd substitutes ${VAR} (or ${VAR=default}) from the environment and converts it to the param's type.
            default = substitution.group(2)
            if default is not None and param.type == "int":
                assert re.fullmatch(r"\d+", default), f"{name}: {default!r} is not an int"
            value = default if default is not None and param.type == "string" else None
            if value is None:
                continue
        assert type(value) is python_types[param.type], f"{name}: {value!r} is not a {param.type}"
        if "@allowed" in param.decorators:
            allowed = re.findall(r"'([^']*)'|\b(\d+)\b", param.decorators.split("@allowed", 1)[1].split("])")[0])
            choices = {text if text else int(number) for text, number in allowed}
            assert value in choices, f"{name}: {value!r} is not one of {choices}"
    required = {name for name, param in params().items() if param.default is None}
    assert required <= set(given), f"required params missing from main.parameters.json: {required - set(given)}"
    assert given["entraBulkUploadUrl"]["value"] == "${ENTRA_BULK_UPLOAD_URL}"
    assert given["environmentName"]["value"] == "${AZURE_ENV_NAME}"
    assert "entraBulkUploadUrl=" in (INFRA / "README.md").read_text(encoding="utf-8")  # the az deployment way


def test_every_environment_variable_of_the_parameters_file_is_documented() -> None:
    text = (INFRA / "main.parameters.json").read_text(encoding="utf-8")
    documented = (ROOT / "README.md").read_text(encoding="utf-8") + (INFRA / "README.md").read_text(encoding="utf-8")
    set_by_azd = {"AZURE_ENV_NAME", "AZURE_LOCATION", "AZURE_PRINCIPAL_ID"}
    for name in set(re.findall(r"\$\{(\w+)", text)) - set_by_azd:
        assert name in documented, f"{name} (main.parameters.json) is not documented"


def test_resources_and_api_versions() -> None:
    present = {r.type for r in all_resources()}
    assert present >= EXPECTED_RESOURCES, f"missing: {sorted(EXPECTED_RESOURCES - present)}"
    for resource in all_resources():
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", resource.api_version), f"{resource.symbol}: not a GA api version"
    # functionAppConfig (Flex Consumption) needs Microsoft.Web 2023-12-01 or later.
    assert one("Microsoft.Web/sites").api_version >= "2023-12-01"
    assert one("Microsoft.Web/serverfarms").api_version >= "2023-12-01"


def test_no_key_is_read_anywhere() -> None:
    """The Event Grid subscription moved to the postdeploy hook: no template reads a key any more."""
    for file in bicep_files():
        code = source(file).masked + " ".join(source(file).strings)
        assert not re.findall(r"\blist\w*\(", code), f"{file}: a list*() call reads keys"
    assert not of_type("Microsoft.EventGrid/systemTopics/eventSubscriptions"), "the subscription is the hook's"


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
    file = site.file
    assert "functionapp" in prop(body, "kind") and "linux" in prop(body, "kind")
    runtime = re.search(r"runtime:\s*\{(.*?)\}", body, re.DOTALL)
    assert runtime and prop(runtime.group(1), "name") == "'python'" and prop(runtime.group(1), "version") == "'3.11'"
    requirements = (ROOT / "requirements.txt").read_text(encoding="utf-8")
    assert "azure-functions==1.26" in requirements  # the newest release for Python 3.11
    assert prop(body, "httpsOnly") == "true"
    assert re.search(r"identity:\s*\{\s*type:\s*'UserAssigned'", body)
    assert prop(body, "keyVaultReferenceIdentity") == "identityId"
    assert resolve("identityId", file) is None and module_for(file).params["identityId"] == "identity.outputs.id"
    deployment = re.search(r"deployment:\s*\{(.*?)\n\s{6}\}", body, re.DOTALL)
    assert deployment, "functionAppConfig.deployment missing"
    assert prop(deployment.group(1), "type") == "'blobContainer'"
    assert "${deploymentContainerName}" in prop(deployment.group(1), "value")
    assert resolve("deploymentContainerName", file) == "app-package"
    assert re.search(r"type:\s*'UserAssignedIdentity'\s*userAssignedIdentityResourceId:\s*identityId", body)
    assert prop(body, "maximumInstanceCount") == "maximumInstanceCount"
    assert resolve("maximumInstanceCount", file) == 10
    assert prop(body, "instanceMemoryMB") == "instanceMemoryMB"
    assert resolve("instanceMemoryMB", file) == 2048
    assert (
        prop(body, "appSettings") == "map(items(appSettings), setting => { name: setting.key, value: setting.value })"
    )
    assert "'azd-service-name': 'api'" in prop(body, "tags")


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
    storage = module_for("app/storage.bicep")
    assert storage.params["blobContainerNames"] == "blobContainerNames"
    assert storage.params["queueNames"] == "queueNames"
    for type_, param in (
        ("Microsoft.Storage/storageAccounts/blobServices/containers", "blobContainerNames"),
        ("Microsoft.Storage/storageAccounts/queueServices/queues", "queueNames"),
    ):
        resource = one(type_)
        src = source(resource.file).clean
        loop = re.search(rf"for\s+(\w+)\s+in\s+{param}\s*:", src[src.index(f"resource {resource.symbol} ") :])
        assert loop and prop(resource.body, "name") == loop.group(1)


def _role_ids(file: str) -> dict[str, str]:
    return dict(re.findall(r"^\s*(\w+):\s*'([0-9a-f-]{36})'", variables(file).get("roleIds", ""), re.MULTILINE))


def test_role_assignments_are_guid_named_commented_and_least_privilege() -> None:
    granted: dict[str, set[str]] = {"identity": set(), "operator": set()}
    assignments = of_type("Microsoft.Authorization/roleAssignments")
    assert len(assignments) >= 5
    for assignment in assignments:
        file, body = assignment.file, assignment.body
        role_ids = _role_ids(file)
        for symbol, guid in role_ids.items():
            assert guid in BUILTIN_ROLES, f"{file}: roleIds.{symbol} = {guid} is not a known built-in role"
            # Each role id has a comment above it naming the role.
            text = (INFRA / file).read_text(encoding="utf-8")
            above = text[: text.index(f"{symbol}: '{guid}'")].rstrip().splitlines()
            comment = []
            while above and above[-1].strip().startswith("//"):
                comment.append(above.pop().strip())
            assert BUILTIN_ROLES[guid] in " ".join(comment), f"{file}: {symbol} has no comment naming its role"
        assert "subscriptionResourceId('Microsoft.Authorization/roleDefinitions'," in body
        assert prop(body, "principalType") in ("'ServicePrincipal'", "operatorPrincipalType")
        assert re.search(r"name:\s*guid\(", body), f"{assignment.symbol}: name must be a deterministic guid()"
        used = re.findall(r"roleIds\.(\w+)", body)
        if re.search(r"for\s+roleId\s+in\s+storageRoleIds", source(file).clean) and "roleId)" in body:
            used = [re.sub(r"roleIds\.", "", item) for item in array_items("storageRoleIds", file)]
        assert used, f"{assignment.symbol}: no roleIds.<name>"
        who = {"identityPrincipalId": "identity", "operatorPrincipalId": "operator"}[prop(body, "principalId")]
        granted[who] |= {BUILTIN_ROLES[role_ids[name]] for name in used}
        if who == "operator":
            assert assignment.condition == "!empty(operatorPrincipalId)"
        # The guid() seeds are the scope, the principal and the role: stable across redeploys (and the same as
        # the single-file template's, so an existing deployment keeps its assignments).
        seeds = re.search(r"name:\s*guid\((.*)\)\s*$", body, re.MULTILINE).group(1)  # type: ignore[union-attr]
        assert seeds.split(",")[1].strip() in ("identityId", "operatorPrincipalId")
    assert granted["identity"] == IDENTITY_ROLES, f"identity roles: {granted['identity']}"
    assert granted["operator"] == OPERATOR_ROLES, f"operator roles: {granted['operator']}"
    for file in bicep_files():
        for guid in GUID.findall(source(file).clean):
            assert guid.lower() in BUILTIN_ROLES, f"{file}: unexpected GUID {guid}"
    scopes = {a.symbol: prop(a.body, "scope") for a in assignments}
    assert scopes["storageRoleAssignments"] == "storage"
    assert scopes["monitoringRoleAssignment"] == "appInsights"
    assert scopes["keyVaultRoleAssignment"] == "keyVault"


def test_monitoring_uses_entra_auth_only() -> None:
    components = one("Microsoft.Insights/components").body
    assert re.search(r"^\s*disableLocalAuth:\s*true\s*$", components, re.MULTILINE | re.IGNORECASE)
    assert prop(components, "WorkspaceResourceId") == "logAnalytics.id"
    workspace = one("Microsoft.OperationalInsights/workspaces").body
    assert re.search(r"features:\s*\{\s*disableLocalAuth:\s*true", workspace)
    auth = app_settings()["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"]
    assert auth == "'ClientId=${identityClientId};Authorization=AAD'"


def test_key_vault_is_rbac_and_deployed_by_default() -> None:
    vault = one("Microsoft.KeyVault/vaults")
    assert module_for(vault.file).condition == "deployKeyVault"
    assert _literal(params()["deployKeyVault"].default) is True
    assert prop(vault.body, "enableRbacAuthorization") == "true"
    # Purge protection may not be set to false: omitted instead.
    assert prop(vault.body, "enablePurgeProtection") == "purgeProtection ? true : null"
    assert "accessPolicies" not in vault.body
    # The function app waits for the vault's role assignment (Key Vault references resolve on start).
    function_app = source().clean[source().clean.index("module functionApp ") :]
    assert re.search(r"dependsOn:\s*\[\s*keyVault\s*\]", function_app)


def test_event_grid_system_topic_on_the_storage_account() -> None:
    topic = one("Microsoft.EventGrid/systemTopics")
    assert prop(topic.body, "source") == "storageAccountId"
    assert module_for(topic.file).params["storageAccountId"] == "storage.outputs.id"
    assert prop(topic.body, "topicType") == "'Microsoft.Storage.StorageAccounts'"
    assert re.search(r"type:\s*'UserAssigned'", topic.body)
    for name in ("EVENT_GRID_SYSTEM_TOPIC_NAME", "EVENT_GRID_DEAD_LETTER_CONTAINER", "BLOB_TRIGGER_FUNCTION_NAME"):
        assert name in outputs()
    assert resolve(outputs()["BLOB_TRIGGER_FUNCTION_NAME"]) == "provision_blob"
    assert resolve(outputs()["EVENT_GRID_DEAD_LETTER_CONTAINER"]) in {
        resolve(i) for i in array_items("blobContainerNames")
    }


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
    created = {resolve(item) for item in array_items("queueNames")}
    for name in names:
        queue = re.sub(r"%(\w+)%", lambda m: str(setting_value(m.group(1))), name)
        assert queue in created, f"function_app.py listens to {queue!r}, main.bicep does not create it"


def test_hr_storage_settings_are_what_the_blob_sdk_binding_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """The azurefunctions-extensions-bindings-blob client factory, fed the template's HR_STORAGE__* names."""
    from azure.identity import ManagedIdentityCredential
    from azurefunctions.extensions.bindings.blob.utils import service_client_factory

    sample = {
        "storageBlobEndpoint": "https://stexample.blob.core.windows.net/",
        "storageQueueEndpoint": "https://stexample.queue.core.windows.net/",
        "identityClientId": "11111111-2222-3333-4444-555555555555",
    }
    for name in [n for n in os.environ if n.startswith("HR_STORAGE")]:
        monkeypatch.delenv(name)
    for name, value in app_settings().items():
        if name.startswith("HR_STORAGE__"):
            monkeypatch.setenv(name, sample.get(value, setting_value(name)))
    client = service_client_factory("HR_STORAGE")
    assert client.url.startswith("https://stexample.blob.core.windows.net")
    assert isinstance(client.credential, ManagedIdentityCredential)


def test_outputs_are_what_the_hooks_read_and_no_secret() -> None:
    hook = (INFRA / "scripts" / "postdeploy.sh").read_text(encoding="utf-8")
    code = hook.split("set -euo pipefail", 1)[1]
    read = set(re.findall(r"\$\{?((?:AZURE|EVENT_GRID|HR|BLOB)_[A-Z_]+)\b", code))
    read |= set(re.findall(r"for name in ([A-Z_ \\\n]+); do", code)[0].split()) - {"\\"}
    read -= {"AZURE_SUBSCRIPTION_ID"}  # set by azd itself, or read from az account show
    assert read <= set(outputs()), f"postdeploy.sh reads {sorted(read - set(outputs()))}, no output sets them"
    assert outputs()["AZURE_IDENTITY_PRINCIPAL_ID"] == "identity.outputs.principalId"
    assert outputs()["AZURE_IDENTITY_CLIENT_ID"] == "identity.outputs.clientId"
    assert resolve(outputs()["HR_INBOUND_CONTAINER"]) == Settings.model_fields["hr_inbound_container"].default
    for file in bicep_files():
        for name, value in outputs(file).items():
            assert not re.search(r"list\w*\(|secret|password", value, re.IGNORECASE), f"{file}: output {name}"


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
    assert not missing, f"set these in function-app.bicep or list them in NOT_SET_IN_AZURE: {sorted(missing)}"
    assert not (set(NOT_SET_IN_AZURE) - {"AZURE_CLIENT_SECRET"}) & set(app_settings())
    assert always_set() >= HOST_SETTINGS


def test_the_template_s_own_settings_win_over_the_extra_ones() -> None:
    file = "app/function-app.bicep"
    assert variables(file)["appSettings"] == "union(extraAppSettings, templateSettings, secretSettings)"
    assert module_for(file).params["extraAppSettings"] == "extraAppSettings"
    assert _literal(params()["extraAppSettings"].default) == {}
    site = one("Microsoft.Web/sites").body
    assert "appSettings: map(items(appSettings)" in site
    # The parameters file's extras (if any) neither collide with the template's names nor hold a secret.
    given = json.loads((INFRA / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    extras = given.get("extraAppSettings", {}).get("value", {})
    assert not set(extras) & set(app_settings()), "extraAppSettings may not name a setting the template sets"
    for name, value in extras.items():
        assert isinstance(value, str), f"{name}: app settings are strings"
        if re.search(r"SECRET|PASSWORD|TOKEN|KEY", name, re.IGNORECASE):
            assert value.startswith("@Microsoft.KeyVault("), f"{name} must be a Key Vault reference"


def test_storage_connections_are_identity_based() -> None:
    settings = app_settings()
    for prefix in ("AzureWebJobsStorage", "HR_STORAGE"):
        assert prefix not in settings, f"{prefix} as a single setting would be a connection string"
        assert settings[f"{prefix}__credential"] == "'managedidentity'"
        assert settings[f"{prefix}__clientId"] == "identityClientId"
        assert settings[f"{prefix}__blobServiceUri"] == "storageBlobEndpoint"
        assert settings[f"{prefix}__queueServiceUri"] == "storageQueueEndpoint"
    assert settings["AzureWebJobsStorage__tableServiceUri"] == "storageTableEndpoint"
    storage = module_for("app/function-app.bicep").params
    assert storage["storageBlobEndpoint"] == "storage.outputs.blobEndpoint"
    assert outputs("app/storage.bicep")["blobEndpoint"] == "storage.properties.primaryEndpoints.blob"


def test_graph_identity_settings() -> None:
    settings = app_settings()
    assert setting_value("ENTRA_AUTH") == "managed-identity"
    assert "identityClientId" in settings["AZURE_CLIENT_ID"]
    assert settings["ENTRA_BULK_UPLOAD_URL"] == "entraBulkUploadUrl"
    assert module_for("app/function-app.bicep").params["entraBulkUploadUrl"] == "entraBulkUploadUrl"
    assert setting_value("BLOB_TRIGGER_SOURCE") == "EventGrid"


def test_template_defaults_are_valid_settings_equal_to_the_app_defaults() -> None:
    """Every value known before deployment passes the app's own validation, and mirrors its default."""
    resolved = {name: setting_value(name) for name in app_settings() if name in settings_aliases()}
    resolved = {name: value for name, value in resolved.items() if value is not None}
    assert {"HRMS_SYNC_SCHEDULE", "HR_INBOUND_CONTAINER", "DELTA_FULL_SYNC", "ENTRA_LOG_RATE_LIMIT"} <= set(resolved)
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
# Pacing: ENTRA_RATE_LIMIT and maximumInstanceCount together
# ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("instances", [1, 2, 3, 4, 7, 10, 13, 21, 39, 40, 41, 64, 100, 333, 1000])
def test_the_instances_together_stay_within_40_calls_per_5_seconds(instances: int) -> None:
    rate = evaluate("effectiveRateLimit", {"maximumInstanceCount": instances, "entraRateLimit": ""})
    calls, seconds = parse_rate(rate)  # the app's own parser: a valid ENTRA_RATE_LIMIT
    assert calls >= 1
    together = instances * calls / seconds
    assert together <= 40 / 5 + 1e-9, f"{instances} instances at {rate} make {together:.2f} calls/s"
    # Not wastefully low either: at least 85% of the job's limit is usable (one call per window at the least).
    assert together >= 0.85 * 40 / 5 or (calls == 1 and seconds <= 5 * instances / 40 + 0.1)


def test_pacing_examples_and_override() -> None:
    examples = {1: "40/5", 10: "4/5", 7: "5/4.4", 21: "1/2.7", 40: "1/5", 100: "1/12.5"}
    for instances, expected in examples.items():
        assert evaluate("effectiveRateLimit", {"maximumInstanceCount": instances, "entraRateLimit": ""}) == expected
    assert evaluate("effectiveRateLimit", {"maximumInstanceCount": 10, "entraRateLimit": "2/5"}) == "2/5"
    assert _literal(params()["entraRateLimit"].default) == ""
    assert module_for("app/function-app.bicep").params["entraRateLimit"] == "effectiveRateLimit"
    assert template_settings()["ENTRA_RATE_LIMIT"] == "entraRateLimit"
    # The default deployment: 10 instances, 4 calls per 5 s each.
    assert _literal(params()["maximumInstanceCount"].default) == 10
    limits = re.search(r"@minValue\((\d+)\)\s*@maxValue\((\d+)\)", params()["maximumInstanceCount"].decorators)
    assert limits and limits.groups() == ("1", "1000")


# ----------------------------------------------------------------------------------------------------------
# Alerts
# ----------------------------------------------------------------------------------------------------------


def test_the_alert_matches_what_the_workflow_logs_when_a_run_ends() -> None:
    workflow = (ROOT / "provisioning" / "engine" / "workflow.py").read_text(encoding="utf-8")
    end = workflow[workflow.index("def _end(") :]
    end = end[: end.index("\n\n")]
    assert 'log.info("run %s: %s %s", record.runId, status, message)' in end
    rule = one("Microsoft.Insights/scheduledQueryRules")
    query = variables(rule.file)["runEndQuery"]
    assert prop(rule.body, "query") == "runEndQuery"
    assert query.startswith("'''") and "AppTraces" in query
    pattern = re.search(r'matches regex @"([^"]+)"', query).group(1)  # type: ignore[union-attr]
    line = "run %s: %s %s"
    for status, hit in (("failed", True), ("held", True), ("completed", False), ("dry-run", False), ("sending", False)):
        message = line % ("20261201T141436Z-978337", status, "why")
        assert bool(re.search(pattern, message)) is hit, message
        assert bool(re.search(pattern, line % ("20261201T141436Z-978337", status, ""))) is hit
    # Other log lines that mention a run do not count (function_app's summary, serve's own failure line).
    assert not re.search(pattern, "run 20261201T141436Z-978337 for employees/a.csv: failed reason")
    assert not re.search(pattern, "run 20261201T141436Z-978337: sending failed")
    assert prop(rule.body, "scopes").startswith("[")
    assert "logAnalyticsWorkspaceId" in rule.body
    assert module_for(rule.file).condition == "deployAlerts"
    assert _literal(params()["deployAlerts"].default) is True
    group = one("Microsoft.Insights/actionGroups")
    assert group.condition == "!empty(alertEmailAddress)"


# ----------------------------------------------------------------------------------------------------------
# No secrets
# ----------------------------------------------------------------------------------------------------------


def test_client_secret_only_as_a_key_vault_reference() -> None:
    value = app_settings()["AZURE_CLIENT_SECRET"]
    assert value == "'@Microsoft.KeyVault(SecretUri=${azureClientSecretUri})'"
    assert "AZURE_CLIENT_SECRET" not in always_set()
    assert variables("app/function-app.bicep")["secretSettings"].startswith("empty(azureClientSecretUri) ? {} :")
    assert _literal(params()["azureClientSecretUri"].default) == ""


def test_no_literal_secrets_or_keys() -> None:
    forbidden = re.compile(
        r"AccountKey=|SharedAccessSignature|DefaultEndpointsProtocol|InstrumentationKey=|[?&]sig=|"
        r"UseDevelopmentStorage|-----BEGIN",
        re.IGNORECASE,
    )
    checked = [INFRA / f for f in bicep_files()] + [INFRA / "main.parameters.json", INFRA / "abbreviations.json"]
    checked += [INFRA / "README.md", ROOT / "azure.yaml", *sorted((INFRA / "scripts").iterdir())]
    for path in checked:
        text = path.read_text(encoding="utf-8")
        assert not forbidden.search(text), f"{path.name}: {forbidden.search(text).group(0)!r}"  # type: ignore[union-attr]
    for file in bicep_files():
        for literal in source(file).strings:
            for value in re.findall(r"(?:password|secret|key|sig)\s*=\s*([^\s$]\S*)", literal, re.IGNORECASE):
                assert value.startswith("@Microsoft.KeyVault(SecretUri="), f"{file}: secret-looking literal {literal!r}"
        for param in params(file).values():
            if "@secure" in param.decorators:
                assert _literal(param.default) in (None, ""), f"{file}: {param.name}: a secure param with a default"
    for name, value in app_settings().items():
        if re.search(r"SECRET|PASSWORD|_KEY\b", name):
            assert value.startswith("'@Microsoft.KeyVault(SecretUri="), f"{name} must be a Key Vault reference"
    parameters = json.loads((INFRA / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    for name in parameters:
        assert not re.search(r"secret|password|key$", name, re.IGNORECASE) or parameters[name]["value"] in ("", False)


def test_the_page_can_sit_behind_entra_sign_in() -> None:
    # App Service authentication (authsettingsV2) for the page and the API, when a client id is given; the
    # health probe and Event Grid's blob webhook stay reachable without a sign-in.
    assert _literal(params()["pageSignInClientId"].default) == ""
    module = module_for("app/page-sign-in.bicep")
    assert module.condition == "!empty(pageSignInClientId)"
    assert module.params["clientId"] == "pageSignInClientId"
    config = [r for r in of_type("Microsoft.Web/sites/config") if r.file == module.path]
    assert len(config) == 1
    block = config[0].body
    assert "name: 'authsettingsV2'" in block
    assert "requireAuthentication: true" in block and "unauthenticatedClientAction: 'RedirectToLoginPage'" in block
    assert "'/api/health'" in block and "'/runtime/webhooks/blobs'" in block
    assert "clientSecret" not in block, "no secret: the sign-in validates tokens only"
    assert "'api://${clientId}'" in block
