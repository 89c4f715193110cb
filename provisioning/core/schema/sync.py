"""Schema sync: what a provisioning job's schema needs so the profile's custom attributes flow to the target.

Pure: it takes the schema from ``GET .../jobs/{job}/schema`` and a Profile, and returns the changes
and the whole schema to ``PUT`` back (the service replaces the schema as a whole). Nothing the admin
configured is overwritten unless asked, and a plan made on its own output changes nothing, so running
the sync twice is harmless. What the schema already holds goes back exactly as it came, values and
properties this project does not know included; only what the sync writes is checked.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Literal

from provisioning.core.mapping.profile import Profile
from provisioning.core.schema.enums import definition_enum_errors, mapping_enum_errors, schema_enum_errors
from provisioning.core.schema.locate import (
    TARGET_OBJECT,
    SchemaSyncError,
    UserFlow,
    flow_target_kind,
    is_ad_job_id,
    locate_user_flow,
    target_kind,
)
from provisioning.core.schema.standard import find_source_attribute, standard_attributes

ChangeKind = Literal[
    "add-attribute", "replace-attribute", "add-mapping", "replace-mapping", "conflict", "missing-standard"
]
_WRITES = frozenset({"add-attribute", "replace-attribute", "add-mapping", "replace-mapping"})
_FLOW_BEHAVIOR, _FLOW_TYPE = "FlowWhenChanged", "Always"


@dataclass(frozen=True)
class SchemaChange:
    """One thing the sync adds, replaces, or leaves alone and reports."""

    kind: ChangeKind
    attribute: str
    """The full source attribute name (``<namespace>:<attribute>``), or a standard attribute's name."""
    target: str | None
    """The target attribute (``employeeHireDate``, ``accountDisabled``), when there is one."""
    detail: str
    """One readable sentence."""
    value: str | None = None
    """What is written: the type of an attribute definition, the source expression of a mapping."""
    previous: str | None = None
    """What a replacement replaces: the former type or source expression."""
    warning: str | None = None
    """Something the service may refuse, e.g. a target attribute the target object does not define."""

    def diff_line(self) -> str:
        flow = f"({_FLOW_BEHAVIOR}, {_FLOW_TYPE})"
        line = {
            "add-attribute": f"+ attribute {self.attribute} ({self.value})",
            "replace-attribute": f"~ attribute {self.attribute} ({self.previous} -> {self.value})",
            "add-mapping": f"+ mapping {self.value} -> {self.target} {flow}",
            "replace-mapping": f"~ mapping {self.value} -> {self.target} {flow}, replacing {self.previous}",
            "conflict": f"! conflict: {self.detail}",
            "missing-standard": f"? missing: {self.detail}",
        }[self.kind]
        return f"{line}\n  ! warning: {self.warning}" if self.warning else line


@dataclass(frozen=True)
class SchemaPlan:
    changes: list[SchemaChange]
    schema: dict[str, Any]
    """The whole schema to PUT: a deep copy of the input with the changes applied."""
    target_kind: Literal["entra", "ad"]
    source_directory: str
    source_object: str
    rule_id: str

    @property
    def needs_put(self) -> bool:
        """True when something is added or replaced; conflicts and missing attributes alone change nothing."""
        return any(change.kind in _WRITES for change in self.changes)

    def diff_text(self) -> str:
        """The changes, one per line, for ``--dry-run``."""
        return "\n".join(change.diff_line() for change in self.changes) or "no changes"


def plan_schema_sync(
    schema: dict[str, Any],
    profile: Profile,
    *,
    job_id: str,
    overwrite: bool = False,
    include_standard: bool = False,
) -> SchemaPlan:
    """The changes that make the profile's extension attributes flow to their targets, and the schema to PUT.

    ``overwrite`` replaces conflicting definitions and mappings instead of reporting them;
    ``include_standard`` also checks the standard attributes the profile maps and the ``active`` mapping.
    """
    flow = locate_user_flow(schema)
    kind: Literal["entra", "ad"] = "ad" if is_ad_job_id(job_id) else flow_target_kind(flow)
    planner = _Planner(copy.deepcopy(schema), flow, overwrite=overwrite)
    if include_standard:
        planner.check_standard(profile, kind)
    for extension in profile.attributes.extensions:
        for name, attribute in extension.attributes.items():
            planner.ensure_extension(f"{extension.namespace}:{name}", attribute.type, attribute.target)
    errors = planner.written_enum_errors()
    if errors:  # defensive: the service rejects the whole PUT for one bad value
        listed = "; ".join(errors)
        raise SchemaSyncError(f"the sync would write invalid enum values, which the service rejects on PUT: {listed}")
    return SchemaPlan(planner.changes, planner.schema, kind, flow.source_directory, flow.source_object, flow.rule_id)


class _Planner:
    """Applies the wanted definitions and mappings to a working copy of the schema, recording each change."""

    def __init__(self, schema: dict[str, Any], flow: UserFlow, *, overwrite: bool) -> None:
        self.schema = schema
        self.flow = flow
        self.overwrite = overwrite
        self.changes: list[SchemaChange] = []
        directory, obj = flow.source_path
        self.attributes: list[Any] = schema["directories"][directory]["objects"][obj]["attributes"]
        rule = schema["synchronizationRules"][flow.rule_index]
        self.mappings: list[Any] = rule["objectMappings"][flow.mapping_index]["attributeMappings"]
        # What the profile already asked for in this plan: two profile attributes must not fight over
        # one name or one target (with --overwrite they would replace each other on every run).
        self._sources: set[str] = set()
        self._targets: dict[str, str] = {}
        self._written: list[dict[str, Any]] = []
        """The definitions and mappings this plan wrote: the only ones it checks."""

    def check_standard(self, profile: Profile, kind: Literal["entra", "ad"]) -> None:
        """Reports standard attributes the source lacks (never adds them) and ensures the ``active`` mapping."""
        names = [str(a["name"]) for a in self.attributes if isinstance(a, dict) and a.get("name")]
        # AD has no accountEnabled: the documented mapping inverts active into accountDisabled.
        active_target = "accountDisabled" if kind == "ad" else "accountEnabled"
        active_name = None
        for wanted in standard_attributes(profile):
            found = find_source_attribute(wanted, names)
            if wanted.source_name == "active":
                active_name = found
            if found is None:
                self._record(
                    "missing-standard",
                    wanted.source_name,
                    active_target if wanted.source_name == "active" else None,
                    f"the profile maps {wanted.profile_path}, but the source object {self.flow.source_object!r} "
                    f"has no attribute {wanted.source_name}; add it to the API's attribute list or drop it "
                    "from the profile",
                )
        if active_name is not None:
            source = _not_source(active_name) if kind == "ad" else _attribute_source(active_name)
            self.ensure_mapping(active_name, active_target, source)

    def ensure_extension(self, name: str, kind: str, target: str | None) -> None:
        if name.lower() in self._sources:
            detail = f"{name} appears twice in the profile (names are case-insensitive); only the first is synced"
            self._record("conflict", name, target, detail)
            return
        self._sources.add(name.lower())
        if self._ensure_definition(name, kind) and target:
            self.ensure_mapping(name, target, _attribute_source(name))

    def _ensure_definition(self, name: str, kind: str) -> bool:
        """Adds the definition when missing; False when a type conflict leaves the attribute alone."""
        index = next((i for i, a in enumerate(self.attributes) if _name_of(a) == name.lower()), None)
        if index is None:
            self.attributes.append(self._wrote(_definition(name, kind)))
            self._record("add-attribute", name, None, f"adds {name} ({kind}) to the source object", value=kind)
            return True
        existing = self.attributes[index]
        current = existing.get("type") or "String"  # Graph's default type
        if str(current).lower() == kind.lower():  # Microsoft's own examples write "string"
            return True
        if not self.overwrite:
            detail = (
                f"{name} is already defined as {current}, not {kind}; neither it nor its mapping is changed "
                "(use --overwrite)"
            )
            self._record("conflict", name, None, detail, value=kind, previous=current)
            return False
        self.attributes[index] = self._wrote(_definition(existing["name"], kind))
        detail = f"redefines {name} as {kind} (was {current})"
        self._record("replace-attribute", name, None, detail, value=kind, previous=current)
        return True

    def ensure_mapping(self, name: str, target: str, source: dict[str, Any]) -> None:
        """Maps ``source`` to ``target`` unless it already is; a mapping from anything else is a conflict."""
        shown = source["expression"]
        first = self._targets.setdefault(target.lower(), shown)
        if first != shown:
            detail = f"{target} is the target of both {first} and {shown} in the profile; only {first} is mapped"
            self._record("conflict", name, target, detail)
            return
        current = [i for i, m in enumerate(self.mappings) if _target_of(m) == target.lower()]
        if any(_source_key(self.mappings[i].get("source")) == _source_key(source) for i in current):
            return
        if not current:
            self.mappings.append(self._wrote(_mapping(target, source)))
            warning = self._target_warning(target)
            self._record("add-mapping", name, target, f"maps {shown} to {target}", value=shown, warning=warning)
            return
        old = self.mappings[current[0]]
        previous = _describe_source(old.get("source"))
        if not self.overwrite:
            detail = f"{target} is already mapped from {previous}; not overwritten (use --overwrite)"
            self._record("conflict", name, target, detail, value=shown, previous=previous)
            return
        replacement = self._wrote(_mapping(target, source))
        # Keep the matching priority: replacing where a value comes from must not change how users are matched.
        replacement["matchingPriority"] = old.get("matchingPriority", 0)
        self.mappings[current[0]] = replacement
        for duplicate in reversed(current[1:]):  # two mappings to one target are an error at the service
            del self.mappings[duplicate]
        detail = f"maps {shown} to {target} instead of {previous}"
        self._record("replace-mapping", name, target, detail, value=shown, previous=previous)

    def written_enum_errors(self) -> list[str]:
        """The bad enum values of what this plan wrote, with their paths in the schema to PUT."""
        d, o = self.flow.source_path
        r, m = self.flow.rule_index, self.flow.mapping_index
        attributes_at = f"directories[{d}].objects[{o}].attributes"
        mappings_at = f"synchronizationRules[{r}].objectMappings[{m}].attributeMappings"
        errors: list[str] = []
        for i, definition in enumerate(self.attributes):
            if self._is_written(definition):
                errors += definition_enum_errors(definition, f"{attributes_at}[{i}]")
        for i, written in enumerate(self.mappings):
            if self._is_written(written):
                errors += mapping_enum_errors(written, f"{mappings_at}[{i}]")
        return errors

    def _wrote(self, item: dict[str, Any]) -> dict[str, Any]:
        self._written.append(item)
        return item

    def _is_written(self, item: Any) -> bool:
        return any(item is written for written in self._written)

    def _target_warning(self, target: str) -> str | None:
        known = self.flow.target_attributes
        if known is None or target.lower() in known:
            return None
        return (
            f"{target} is not an attribute of the {TARGET_OBJECT!r} object of {self.flow.target_directory!r} in this "
            "schema; the service is likely to reject the mapping until it is added to that attribute list"
        )

    def _record(self, kind: ChangeKind, attribute: str, target: str | None, detail: str, **extra: Any) -> None:
        self.changes.append(SchemaChange(kind, attribute, target, detail, **extra))


def _definition(name: str, kind: str) -> dict[str, Any]:
    """An attributeDefinition with every field present, as the admin center writes a custom attribute."""
    return {
        "anchor": False,
        "apiExpressions": [],
        "caseExact": False,
        "defaultValue": None,
        "flowNullValues": False,
        "metadata": [],
        "multivalued": False,
        "mutability": "ReadWrite",
        "name": name,
        "referencedObjects": [],
        "required": False,
        "type": kind,
    }


def _mapping(target: str, source: dict[str, Any]) -> dict[str, Any]:
    return {
        "defaultValue": None,
        "exportMissingReferences": False,
        "flowBehavior": _FLOW_BEHAVIOR,
        "flowType": _FLOW_TYPE,  # never "Add": that is an objectMapping flowTypes value, invalid here
        "matchingPriority": 0,
        "source": source,
        "targetAttributeName": target,
    }


def _attribute_source(name: str) -> dict[str, Any]:
    return {"expression": f"[{name}]", "name": name, "parameters": [], "type": "Attribute"}


def _not_source(name: str) -> dict[str, Any]:
    return {
        "expression": f"Not([{name}])",
        "name": "Not",
        "parameters": [{"key": "source", "value": _attribute_source(name)}],
        "type": "Function",
    }


def _source_key(source: Any) -> str:
    """A comparable form of a mapping source: ``[name]`` for an attribute, else its expression sans spaces."""
    if not isinstance(source, dict):
        return ""
    if _is_attribute(source):
        name = source.get("name") or str(source.get("expression") or "").strip("[]")
        return f"[{name}]".lower()
    return "".join(str(source.get("expression") or source.get("name") or "").split()).lower()


def _describe_source(source: Any) -> str:
    if not isinstance(source, dict):
        return "nothing"
    if source.get("expression"):
        return str(source["expression"])
    return f"[{source.get('name')}]" if _is_attribute(source) else str(source.get("name"))


def _is_attribute(source: dict[str, Any]) -> bool:
    """Attribute is the documented default type; the case of a type Graph returned is not ours to judge."""
    return str(source.get("type") or "Attribute").lower() == "attribute"


def _name_of(definition: Any) -> str:
    return str(definition.get("name") or "").lower() if isinstance(definition, dict) else ""


def _target_of(mapping: Any) -> str:
    return str(mapping.get("targetAttributeName") or "").lower() if isinstance(mapping, dict) else ""


__all__ = [
    "SchemaChange",
    "SchemaPlan",
    "SchemaSyncError",
    "plan_schema_sync",
    "schema_enum_errors",
    "target_kind",
]
