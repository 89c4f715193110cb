"""What PUT .../schema accepts: enum values as documented, and a schema that hangs together.

Enum values are compared exactly as Graph documents them ("Always", not "always"): the client
under test writes canonical values, and Microsoft's own samples shipped an invalid
``flowType: "Add"``, which must fail here as it does against the service. The consistency checks
(a mapping's source attribute must be defined in the source object, its target in the target
object, attribute names unique per object) are modelled, not confirmed: a schema that breaks them
cannot work, and catching that at PUT time names the bad value.
"""

from __future__ import annotations

from typing import Any

from emulators.entra_errors import GraphError

FLOW_TYPES = ("Always", "ObjectAddOnly", "MultiValueAddOnly", "ValueAddOnly", "AttributeAddOnly")
FLOW_BEHAVIORS = ("FlowWhenChanged", "FlowAlways")
SOURCE_TYPES = ("Attribute", "Constant", "Function")
ATTRIBUTE_TYPES = ("String", "Integer", "Reference", "Binary", "Boolean", "DateTime")
MUTABILITIES = ("ReadWrite", "ReadOnly", "Immutable", "WriteOnly")


def _bad(message: str) -> GraphError:
    return GraphError(400, message, code="BadRequest")


def _check_enum(value: Any, allowed: tuple[str, ...], what: str, where: str) -> None:
    if value is None:
        return
    if value not in allowed:
        raise _bad(f"Invalid value {value!r} for {what} at {where}; expected one of {', '.join(allowed)}")


def _list(container: dict[str, Any], key: str, where: str) -> list[Any]:
    value = container.get(key, [])
    if not isinstance(value, list):
        raise _bad(f"{where}.{key} must be a list")
    return value


def check_schema(body: Any) -> dict[str, Any]:
    """The schema to store, or a 400 naming the first problem found."""
    if not isinstance(body, dict):
        raise _bad("The schema must be a JSON object")
    for key in ("directories", "synchronizationRules"):
        if not isinstance(body.get(key), list):
            raise _bad(f"The schema must carry a {key} list")
    attributes_by_object = _check_directories(body["directories"])
    for r, rule in enumerate(body["synchronizationRules"]):
        _check_rule(rule, f"synchronizationRules[{r}]", attributes_by_object)
    return body


def _check_directories(directories: list[Any]) -> dict[tuple[str, str], set[str]]:
    """{(directory name, object name): attribute names}, after checking each definition."""
    known: dict[tuple[str, str], set[str]] = {}
    for d, directory in enumerate(directories):
        where = f"directories[{d}]"
        if not isinstance(directory, dict) or not isinstance(directory.get("name"), str):
            raise _bad(f"{where} must be an object with a name")
        for o, obj in enumerate(_list(directory, "objects", where)):
            obj_where = f"{where}.objects[{o}]"
            if not isinstance(obj, dict) or not isinstance(obj.get("name"), str):
                raise _bad(f"{obj_where} must be an object with a name")
            names: set[str] = set()
            for a, attribute in enumerate(_list(obj, "attributes", obj_where)):
                attr_where = f"{obj_where}.attributes[{a}]"
                if not isinstance(attribute, dict) or not isinstance(attribute.get("name"), str):
                    raise _bad(f"{attr_where} must be an object with a name")
                name = attribute["name"]
                attr_where = f"{attr_where} ({name})"
                _check_enum(attribute.get("type"), ATTRIBUTE_TYPES, "attributeDefinition.type", attr_where)
                _check_enum(attribute.get("mutability"), MUTABILITIES, "attributeDefinition.mutability", attr_where)
                if name.lower() in names:
                    raise _bad(f"Duplicate attribute {name!r} at {obj_where}")
                names.add(name.lower())
            known[(directory["name"].lower(), obj["name"].lower())] = names
    return known


def _check_rule(rule: Any, where: str, known: dict[tuple[str, str], set[str]]) -> None:
    if not isinstance(rule, dict):
        raise _bad(f"{where} must be an object")
    directory_names = {directory for directory, _ in known}
    for key in ("sourceDirectoryName", "targetDirectoryName"):
        name = rule.get(key)
        if name is not None and (not isinstance(name, str) or name.lower() not in directory_names):
            raise _bad(f"{where}.{key} {name!r} names no directory of the schema")
    source_dir = str(rule.get("sourceDirectoryName") or "").lower()
    target_dir = str(rule.get("targetDirectoryName") or "").lower()
    for m, object_mapping in enumerate(_list(rule, "objectMappings", where)):
        om_where = f"{where}.objectMappings[{m}]"
        if not isinstance(object_mapping, dict):
            raise _bad(f"{om_where} must be an object")
        source_attributes = known.get((source_dir, str(object_mapping.get("sourceObjectName", "")).lower()))
        target_attributes = known.get((target_dir, str(object_mapping.get("targetObjectName", "")).lower()))
        for a, mapping in enumerate(_list(object_mapping, "attributeMappings", om_where)):
            _check_mapping(mapping, f"{om_where}.attributeMappings[{a}]", source_attributes, target_attributes)


def _check_mapping(
    mapping: Any, where: str, source_attributes: set[str] | None, target_attributes: set[str] | None
) -> None:
    if not isinstance(mapping, dict) or not isinstance(mapping.get("targetAttributeName"), str):
        raise _bad(f"{where} must be an object with a targetAttributeName")
    target = mapping["targetAttributeName"]
    where = f"{where} (targetAttributeName {target!r})"
    _check_enum(mapping.get("flowType"), FLOW_TYPES, "attributeMapping.flowType", where)
    _check_enum(mapping.get("flowBehavior"), FLOW_BEHAVIORS, "attributeMapping.flowBehavior", where)
    priority = mapping.get("matchingPriority", 0)
    if not isinstance(priority, int) or isinstance(priority, bool) or priority < 0:
        raise _bad(f"Invalid value {priority!r} for attributeMapping.matchingPriority at {where}")
    if target_attributes is not None and target.lower() not in target_attributes:
        raise _bad(f"Target attribute {target!r} at {where} is not defined in the target object")
    if not isinstance(mapping.get("source"), dict):
        raise _bad(f"{where}.source must be an object")
    _check_source(mapping["source"], f"{where}.source", source_attributes)


def _check_source(source: dict[str, Any], where: str, source_attributes: set[str] | None) -> None:
    kind = source.get("type")
    if kind is None:
        raise _bad(f"{where}.type is missing; expected one of {', '.join(SOURCE_TYPES)}")
    _check_enum(kind, SOURCE_TYPES, "attributeMappingSource.type", where)
    name = source.get("name")
    known = source_attributes is None or (isinstance(name, str) and name.lower() in source_attributes)
    if kind == "Attribute" and not known:
        raise _bad(f"Source attribute {name!r} at {where} is not defined in the source object")
    for p, parameter in enumerate(_list(source, "parameters", where)):
        value = parameter.get("value") if isinstance(parameter, dict) else None
        if not isinstance(value, dict):
            raise _bad(f"{where}.parameters[{p}] must be an object with a value")
        _check_source(value, f"{where}.parameters[{p}].value", source_attributes)
