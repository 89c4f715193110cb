"""The enum values a provisioning job's schema may carry, and checks that name every bad one.

Values are checked exactly as Microsoft Graph documents them ("Always", not "always"), but only in
what the sync writes: Microsoft's own sample script wrote ``flowType: "Add"`` (a value of the object
mapping's ``flowTypes``, not of an attribute mapping's ``flowType``), which the service rejects. What
the job's schema already holds is never judged: Graph returns values outside these lists (Microsoft's
update example writes ``"type": "string"``, and Graph enums may gain members), and the schema is PUT
back whole, so the sync must carry them through untouched.
"""

from __future__ import annotations

from typing import Any

ATTRIBUTE_TYPES = ("String", "Integer", "Reference", "Binary", "Boolean", "DateTime")
MUTABILITIES = ("ReadWrite", "ReadOnly", "Immutable", "WriteOnly")
FLOW_TYPES = ("Always", "ObjectAddOnly", "MultiValueAddOnly", "ValueAddOnly", "AttributeAddOnly")
FLOW_BEHAVIORS = ("FlowWhenChanged", "FlowAlways")
SOURCE_TYPES = ("Attribute", "Constant", "Function")
OBJECT_FLOW_TYPES = ("None", "Add", "Update", "Delete")
"""objectMapping.flowTypes is a flags enum written as a comma-separated list: "Add, Update, Delete"."""


def schema_enum_errors(schema: dict[str, Any]) -> list[str]:
    """One message per value outside the documented lists, each with its JSON path; [] when none is.

    A report on a whole schema: the sync does not refuse a schema for what it already carries.
    Missing or null values are not errors (Graph applies its defaults); parts of the schema that are
    not shaped as expected are skipped here, as finding the API source reports those.
    """
    errors: list[str] = []
    for d, directory in _items(schema, "directories"):
        for o, obj in _items(directory, "objects"):
            for a, attribute in _items(obj, "attributes"):
                errors += definition_enum_errors(attribute, f"directories[{d}].objects[{o}].attributes[{a}]")
    for r, rule in _items(schema, "synchronizationRules"):
        for m, object_mapping in _items(rule, "objectMappings"):
            where = f"synchronizationRules[{r}].objectMappings[{m}]"
            _check_flags(errors, object_mapping.get("flowTypes"), f"{where}.flowTypes")
            for a, mapping in _items(object_mapping, "attributeMappings"):
                errors += mapping_enum_errors(mapping, f"{where}.attributeMappings[{a}]")
    return errors


def definition_enum_errors(attribute: dict[str, Any], where: str) -> list[str]:
    """The bad enum values of one attributeDefinition found at ``where``."""
    errors: list[str] = []
    _check(errors, attribute.get("type"), ATTRIBUTE_TYPES, f"{where}.type")
    _check(errors, attribute.get("mutability"), MUTABILITIES, f"{where}.mutability")
    return errors


def mapping_enum_errors(mapping: dict[str, Any], where: str) -> list[str]:
    """The bad enum values of one attributeMapping found at ``where``, its source's included."""
    errors: list[str] = []
    _check(errors, mapping.get("flowType"), FLOW_TYPES, f"{where}.flowType")
    _check(errors, mapping.get("flowBehavior"), FLOW_BEHAVIORS, f"{where}.flowBehavior")
    if isinstance(mapping.get("source"), dict):
        _check_source(errors, mapping["source"], f"{where}.source")
    return errors


def _check_source(errors: list[str], source: dict[str, Any], where: str) -> None:
    _check(errors, source.get("type"), SOURCE_TYPES, f"{where}.type")
    for p, parameter in _items(source, "parameters"):
        if isinstance(parameter.get("value"), dict):
            _check_source(errors, parameter["value"], f"{where}.parameters[{p}].value")


def _check(errors: list[str], value: Any, allowed: tuple[str, ...], where: str) -> None:
    if value is not None and value not in allowed:
        errors.append(f"{where}: {value!r} is not one of {', '.join(allowed)}")


def _check_flags(errors: list[str], value: Any, where: str) -> None:
    if value is None:
        return
    parts = [part.strip() for part in value.split(",")] if isinstance(value, str) else [value]
    if not all(part in OBJECT_FLOW_TYPES for part in parts):
        errors.append(f"{where}: {value!r} is not a comma-separated list of {', '.join(OBJECT_FLOW_TYPES)}")


def _items(container: Any, key: str) -> list[tuple[int, dict[str, Any]]]:
    """(index, item) of the dict items of ``container[key]``, keeping the indexes for the paths."""
    values = container.get(key) if isinstance(container, dict) else None
    if not isinstance(values, list):
        return []
    return [(i, item) for i, item in enumerate(values) if isinstance(item, dict)]
