"""What PUT .../schema accepts: as strict as Microsoft Graph is documented to be, and no stricter.

The documented workflow is GET, change, PUT the whole schema back ("This method fully replaces the
current schema"; the example is "shortened for readability. Supply all the properties in an actual
call": https://learn.microsoft.com/en-us/graph/api/synchronization-synchronizationschema-update). So a
definition or mapping exactly as the job's template holds it is taken back as it is, whatever it
carries: properties nobody lists, enum values outside the documented lists, a lowercase ``"string"``
type (that same example writes one), a mapping without a source. Everything else (what a client adds
or changes) must use the documented enum values as the documentation spells them, so that the client
under test writes canonical values and Microsoft's sample's invalid ``flowType: "Add"`` fails here as
it does against the service. Each rule below cites the page that states it.

Remembering the templates rather than the job's current schema is enough: anything else a job can
hold came through this check.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import orjson

from emulators.entra_errors import GraphError
from emulators.entra_schema import SCHEMA_VARIANTS, default_schema

_DOCS = "https://learn.microsoft.com/en-us/graph/api/resources/synchronization-"
# attributeMapping: flowType, flowBehavior (_DOCS + "attributemapping")
FLOW_TYPES = ("Always", "ObjectAddOnly", "MultiValueAddOnly", "ValueAddOnly", "AttributeAddOnly")
FLOW_BEHAVIORS = ("FlowWhenChanged", "FlowAlways")
# attributeMappingSource: type, default Attribute (_DOCS + "attributemappingsource")
SOURCE_TYPES = ("Attribute", "Constant", "Function")
# attributeDefinition: type, default String; mutability (_DOCS + "attributedefinition"). A custom
# attribute may be String or DateTime: which one API-driven provisioning takes for dates is unconfirmed.
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
    # synchronizationSchema: directories and synchronizationRules collections, and the PUT replaces the
    # whole schema (_DOCS + "synchronizationschema"): a body without them would leave the job nothing.
    for key in ("directories", "synchronizationRules"):
        if not isinstance(body.get(key), list):
            raise _bad(f"The schema must carry a {key} list")
    directory_names, attributes_by_object = _check_directories(body["directories"])
    for r, rule in enumerate(body["synchronizationRules"]):
        _check_rule(rule, f"synchronizationRules[{r}]", directory_names, attributes_by_object)
    return body


def _check_directories(directories: list[Any]) -> tuple[set[str], dict[tuple[str, str], set[str]]]:
    """The directory names and {(directory name, object name): attribute names}, all lower-cased,
    after checking each definition."""
    known: dict[tuple[str, str], set[str]] = {}
    directory_names: set[str] = set()
    for d, directory in enumerate(directories):
        where = f"directories[{d}]"
        # directoryDefinition.name: "Must be unique within the synchronization schema. Not nullable."
        if not isinstance(directory, dict) or not isinstance(directory.get("name"), str):
            raise _bad(f"{where} must be an object with a name")
        directory_name = directory["name"]
        if directory_name.lower() in directory_names:
            raise _bad(f"Duplicate directory {directory_name!r} at {where}")
        directory_names.add(directory_name.lower())
        for o, obj in enumerate(_list(directory, "objects", where)):
            obj_where = f"{where}.objects[{o}]"
            # objectDefinition.name: "Must be unique within a directory definition. Not nullable."
            if not isinstance(obj, dict) or not isinstance(obj.get("name"), str):
                raise _bad(f"{obj_where} must be an object with a name")
            if (directory_name.lower(), obj["name"].lower()) in known:
                raise _bad(f"Duplicate object {obj['name']!r} at {obj_where}")
            names: set[str] = set()
            for a, attribute in enumerate(_list(obj, "attributes", obj_where)):
                attr_where = f"{obj_where}.attributes[{a}]"
                # attributeDefinition.name: "Must be unique within the object definition. Not nullable."
                if not isinstance(attribute, dict) or not isinstance(attribute.get("name"), str):
                    raise _bad(f"{attr_where} must be an object with a name")
                name = attribute["name"]
                attr_where = f"{attr_where} ({name})"
                if not _in_template(("attribute", directory_name, obj["name"]), attribute):
                    _check_enum(attribute.get("type"), ATTRIBUTE_TYPES, "attributeDefinition.type", attr_where)
                    _check_enum(attribute.get("mutability"), MUTABILITIES, "attributeDefinition.mutability", attr_where)
                if name.lower() in names:
                    raise _bad(f"Duplicate attribute {name!r} at {obj_where}")
                names.add(name.lower())
            known[(directory_name.lower(), obj["name"].lower())] = names
    return directory_names, known


def _check_rule(rule: Any, where: str, directory_names: set[str], known: dict[tuple[str, str], set[str]]) -> None:
    if not isinstance(rule, dict):
        raise _bad(f"{where} must be an object")
    # synchronizationRule.source/targetDirectoryName: "Must match one of the directory definitions".
    for key in ("sourceDirectoryName", "targetDirectoryName"):
        name = rule.get(key)
        if name is not None and (not isinstance(name, str) or name.lower() not in directory_names):
            raise _bad(f"{where}.{key} {name!r} names no directory of the schema")
    source_dir = str(rule.get("sourceDirectoryName") or "")
    target_dir = str(rule.get("targetDirectoryName") or "")
    for m, object_mapping in enumerate(_list(rule, "objectMappings", where)):
        om_where = f"{where}.objectMappings[{m}]"
        if not isinstance(object_mapping, dict):
            raise _bad(f"{om_where} must be an object")
        source_object = str(object_mapping.get("sourceObjectName", ""))
        target_object = str(object_mapping.get("targetObjectName", ""))
        source_attributes = known.get((source_dir.lower(), source_object.lower()))
        target_attributes = known.get((target_dir.lower(), target_object.lower()))
        location = ("mapping", source_dir, target_dir, source_object, target_object)
        for a, mapping in enumerate(_list(object_mapping, "attributeMappings", om_where)):
            where_a = f"{om_where}.attributeMappings[{a}]"
            _check_mapping(mapping, where_a, source_attributes, target_attributes, _in_template(location, mapping))


def _check_mapping(
    mapping: Any, where: str, source_attributes: set[str] | None, target_attributes: set[str] | None, held: bool
) -> None:
    if not isinstance(mapping, dict) or not isinstance(mapping.get("targetAttributeName"), str):
        raise _bad(f"{where} must be an object with a targetAttributeName")
    target = mapping["targetAttributeName"]
    where = f"{where} (targetAttributeName {target!r})"
    source = mapping.get("source")
    if not held:
        _check_enum(mapping.get("flowType"), FLOW_TYPES, "attributeMapping.flowType", where)
        _check_enum(mapping.get("flowBehavior"), FLOW_BEHAVIORS, "attributeMapping.flowBehavior", where)
        # attributeMapping.matchingPriority is an Int32 (_DOCS + "attributemapping").
        priority = mapping.get("matchingPriority", 0)
        if not isinstance(priority, int) or isinstance(priority, bool):
            raise _bad(f"Invalid value {priority!r} for attributeMapping.matchingPriority at {where}")
        if source is not None:
            _check_source_shape(source, f"{where}.source")
    # directoryDefinition: "In order for the object and attribute to participate in synchronization rules
    # and object mappings, they must be defined as part of the directory definition."
    if target_attributes is not None and target.lower() not in target_attributes:
        raise _bad(f"Target attribute {target!r} at {where} is not defined in the target object")
    if source_attributes is not None and isinstance(source, dict):
        for name, source_where in _attribute_sources(source, f"{where}.source"):
            if not isinstance(name, str) or name.lower() not in source_attributes:
                raise _bad(f"Source attribute {name!r} at {source_where} is not defined in the source object")


def _check_source_shape(source: Any, where: str) -> None:
    """An attributeMappingSource; its parameters are key/value pairs whose values are sources again
    (_DOCS + "attributemappingsource")."""
    if not isinstance(source, dict):
        raise _bad(f"{where} must be an object")
    _check_enum(source.get("type"), SOURCE_TYPES, "attributeMappingSource.type", where)
    # "If type isn't Function, this property is null/empty array."
    parameters = [] if source.get("parameters") is None else _list(source, "parameters", where)
    for p, parameter in enumerate(parameters):
        value = parameter.get("value") if isinstance(parameter, dict) else None
        if not isinstance(value, dict):
            raise _bad(f"{where}.parameters[{p}] must be an object with a value")
        _check_source_shape(value, f"{where}.parameters[{p}].value")


def _attribute_sources(source: dict[str, Any], where: str) -> Iterator[tuple[Any, str]]:
    """(name, path) of every Attribute source in ``source`` and its parameters; Attribute is the default type."""
    if str(source.get("type") or "Attribute").lower() == "attribute":
        yield source.get("name"), where
    parameters = source.get("parameters")
    for p, parameter in enumerate(parameters if isinstance(parameters, list) else []):
        value = parameter.get("value") if isinstance(parameter, dict) else None
        if isinstance(value, dict):
            yield from _attribute_sources(value, f"{where}.parameters[{p}].value")


def _in_template(location: tuple[str, ...], item: dict[str, Any]) -> bool:
    """Whether ``item`` is, at ``location``, exactly as a job template of the emulator holds it."""
    return _fingerprint(location, item) in _template_items()


@functools.cache
def _template_items() -> frozenset[bytes]:
    items: set[bytes] = set()
    for variant in SCHEMA_VARIANTS:
        for job_id in ("API2AAD.template", "API2AD.template"):
            schema = default_schema(variant, job_id)
            for directory in schema["directories"]:
                for obj in directory["objects"]:
                    for attribute in obj["attributes"]:
                        items.add(_fingerprint(("attribute", directory["name"], obj["name"]), attribute))
            for rule in schema["synchronizationRules"]:
                for object_mapping in rule["objectMappings"]:
                    location = (
                        "mapping",
                        rule["sourceDirectoryName"],
                        rule["targetDirectoryName"],
                        object_mapping["sourceObjectName"],
                        object_mapping["targetObjectName"],
                    )
                    items.update(_fingerprint(location, mapping) for mapping in object_mapping["attributeMappings"])
    return frozenset(items)


def _fingerprint(location: tuple[str, ...], item: Any) -> bytes:
    try:
        return orjson.dumps([[part.lower() for part in location], item], option=orjson.OPT_SORT_KEYS)
    except TypeError:  # not JSON, so not from a template
        return b""
