"""The connector registry: the built-in definitions plus user definitions from a folder.

Blob-container loading belongs to the caller: read the bytes, then ``parse_definition(data, origin)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from .context import ConnectorError
from .definition import ConnectorDefinition

BUILTIN_DIR = Path(__file__).resolve().parent / "builtin"
BUILTIN_IDS = ("workday", "workday-raas", "successfactors", "bamboohr", "adp", "oracle-hcm", "custom-rest")


def parse_definition(data: bytes | str, origin: str) -> ConnectorDefinition:
    """A definition from JSON; errors name ``origin`` (the file or blob) and the field at fault."""
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ConnectorError(f"{origin}: not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise ConnectorError(f"{origin}: a connector definition is a JSON object")
    try:
        return ConnectorDefinition.model_validate(document)
    except ValidationError as exc:
        parts = []
        for error in exc.errors(include_url=False):
            location = ".".join(str(p) for p in error["loc"] if not str(p).startswith("function-"))
            parts.append(f"{location}: {error['msg']}" if location else error["msg"])
        raise ConnectorError(f"{origin}: {'; '.join(parts)}") from None


def load_builtins() -> dict[str, ConnectorDefinition]:
    found: dict[str, ConnectorDefinition] = {}
    for path in sorted(BUILTIN_DIR.glob("*.json")):
        definition = parse_definition(path.read_bytes(), str(path))
        found[definition.id] = definition
    return found


def load_registry(
    extra_folder: Path | None = None,
    *,
    extra: Iterable[tuple[str, bytes]] = (),
    problems: list[str] | None = None,
) -> dict[str, ConnectorDefinition]:
    """Built-ins, plus every ``*.json`` definition in ``extra_folder`` and each ``(origin, bytes)`` of
    ``extra`` (definitions kept in blob storage). A bad definition (not valid, or an id that clashes) is an
    error; with ``problems`` given it is named there instead, and only it is left out."""
    registry = load_builtins()
    builtin = set(registry)
    sources: list[tuple[str, bytes]] = []
    if extra_folder is not None:
        if not extra_folder.is_dir():
            _problem(ConnectorError(f"connector folder {extra_folder} does not exist"), problems)
        else:
            sources += [(str(path), path.read_bytes()) for path in sorted(extra_folder.glob("*.json"))]
    sources += list(extra)
    origins: dict[str, str] = {}
    for origin, data in sources:
        try:
            definition = parse_definition(data, origin)
            if definition.id in builtin:
                raise ConnectorError(f"{origin}: id: {definition.id!r} is a built-in connector; choose another id")
            if definition.id in origins:
                raise ConnectorError(f"{origin}: id: {definition.id!r} is already defined in {origins[definition.id]}")
        except ConnectorError as exc:
            _problem(exc, problems)
            continue
        origins[definition.id] = origin
        registry[definition.id] = definition
    return registry


def _problem(error: ConnectorError, problems: list[str] | None) -> None:
    if problems is None:
        raise error
    problems.append(str(error))


def public_view(definition: ConnectorDefinition, config: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The definition for the HTTP API: fields say whether they are configured, never their values."""
    view = definition.model_dump(by_alias=True, exclude_none=True, exclude={"schema_"})
    for field in view.get("fields", []):
        if field.get("secret"):
            field.pop("default", None)
        if config is not None:
            value = config.get(field["key"])
            field["configured"] = value is not None and value != ""
    return view
