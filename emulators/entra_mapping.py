"""The job schema's user mapping, compiled once per schema and applied to each uploaded user.

Processing follows whatever schema the job holds, so a custom attribute added through PUT
.../schema really flows into the emulated directory, and a mapping the client forgot really
does not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from emulators.entra_expressions import ExpressionError, evaluate, parse


@dataclass(frozen=True)
class TargetMapping:
    target: str
    expression: Any  # a parsed expression, or None when the source does not parse
    add_only: bool  # flowType ObjectAddOnly: only when the user is created
    default: Any
    kind: str  # the target attribute's type: String, Boolean, DateTime, Reference, ...


@dataclass(frozen=True)
class UserMapping:
    source_directory: str
    source_object: str
    target_directory: str
    mappings: tuple[TargetMapping, ...]

    def kind_of(self, target: str) -> str:
        return next((m.kind for m in self.mappings if m.target == target), "String")


def compile_user_mapping(schema: Mapping[str, Any]) -> UserMapping | None:
    """The first enabled mapping into the target ``User`` object from another directory."""
    types = {
        (directory.get("name"), obj.get("name"), attribute.get("name")): attribute.get("type") or "String"
        for directory in schema.get("directories", [])
        for obj in directory.get("objects", [])
        for attribute in obj.get("attributes", [])
    }
    for rule in schema.get("synchronizationRules", []):
        source_dir, target_dir = rule.get("sourceDirectoryName"), rule.get("targetDirectoryName")
        if source_dir == target_dir:
            continue
        for object_mapping in rule.get("objectMappings", []):
            target_object = str(object_mapping.get("targetObjectName", ""))
            if target_object.lower() != "user" or object_mapping.get("enabled") is False:
                continue
            mappings = tuple(
                TargetMapping(
                    target=m["targetAttributeName"],
                    expression=_compile_source(m.get("source") or {}),
                    add_only=m.get("flowType") == "ObjectAddOnly",
                    default=m.get("defaultValue") or None,
                    kind=types.get((target_dir, target_object, m["targetAttributeName"]), "String"),
                )
                for m in object_mapping.get("attributeMappings", [])
            )
            return UserMapping(source_dir, object_mapping.get("sourceObjectName", ""), target_dir, mappings)
    return None


def _compile_source(source: Mapping[str, Any]) -> Any:
    expression = source.get("expression")
    if not expression:
        kind, name = source.get("type"), source.get("name") or ""
        if kind == "Constant":
            expression = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
        elif kind == "Attribute":
            expression = f"[{name}]"
        else:
            return None  # a Function without its expression text: nothing reliable to evaluate
    try:
        return parse(expression)
    except ExpressionError:
        return None


def apply_mapping(mapping: UserMapping, source: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
    """{target attribute: value} for the attributes that flow; absent sources do not flow."""
    values: dict[str, Any] = {}
    for m in mapping.mappings:
        if m.add_only and not creating:
            continue
        value = evaluate(m.expression, source) if m.expression is not None else None
        if value is None or value == "":
            value = m.default
        if value is None:
            continue
        values[m.target] = _coerce(value, m.kind)
    return values


def _coerce(value: Any, kind: str) -> Any:
    if kind == "Boolean":
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        return value
    if kind in ("String", "DateTime", "Reference") and not isinstance(value, str):
        if isinstance(value, bool):
            return "True" if value else "False"
        return str(value)
    return value
