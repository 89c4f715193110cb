"""Finding, in a job's schema, where the API source's users flow into the target's User object.

Microsoft does not publish the names of the API source directory and of its user object (logs
suggest "API" and the enterprise user URN; Microsoft's own client looks for "User"), and its
samples that take ``directories[0]`` are fragile. So nothing here is found by a hard-coded name or
by position: the synchronization rule tells which directory and object are the source.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from provisioning.core.errors import ProvisioningError

TARGET_OBJECT = "User"
_AD_ONLY_ATTRIBUTES = frozenset({"samaccountname", "parentdistinguishedname", "accountdisabled"})
"""Attributes of an on-premises AD user that Entra's user object does not have."""


class SchemaSyncError(ProvisioningError):
    """The job's schema is malformed, or the API source and its user mapping cannot be found in it."""


@dataclass(frozen=True)
class UserFlow:
    """Where users flow from the API source into the target's User object, as indexes into the schema."""

    rule_index: int
    mapping_index: int
    rule_id: str
    source_directory: str
    source_object: str
    source_path: tuple[int, int]
    """(directory index, object index) of the source user object."""
    target_directory: str
    target_attributes: frozenset[str] | None
    """Lower-cased attribute names of the target User object; None when the schema does not define it."""


def locate_user_flow(schema: Any) -> UserFlow:
    """The one rule and object mapping that provision users from the API source, or a SchemaSyncError."""
    directories = _list(schema, "directories", "its top level")
    rules = _list(schema, "synchronizationRules", "its top level")
    candidates = _user_mappings(rules)
    if not candidates:
        seen = "; ".join(_describe_rule(r, rule) for r, rule in enumerate(rules)) or "none"
        raise SchemaSyncError(
            f"cannot find the API source in the job schema: no synchronization rule maps an object from one "
            f"directory to the '{TARGET_OBJECT}' object of another (rules: {seen}); is this the schema of an "
            "API-driven provisioning job?"
        )
    if len(candidates) > 1:
        # Several rules may survive from a template; the disabled ones do not provision anything.
        enabled = [(r, m) for r, m in candidates if rules[r]["objectMappings"][m].get("enabled") is True]
        if len(enabled) != 1:
            listed = "; ".join(_describe_mapping(rules, r, m) for r, m in candidates)
            raise SchemaSyncError(
                f"cannot tell which synchronization rule provisions users from the API source: "
                f"{len(enabled)} of these object mappings are enabled, expected exactly one: {listed}"
            )
        candidates = enabled
    r, m = candidates[0]
    rule = rules[r]
    object_mapping = rule["objectMappings"][m]
    source_directory, source_object = rule["sourceDirectoryName"], str(object_mapping.get("sourceObjectName") or "")
    d = _find_named(directories, source_directory, "directory", f"rule {_rule_name(r, rule)!r}", "the job schema")
    # A directory Graph has not discovered may come without objects: that is the missing object below.
    no_objects = directories[d].get("objects") is None
    o = _find_named(
        [] if no_objects else _list(directories[d], "objects", f"directory {source_directory!r}"),
        source_object,
        "object",
        f"the object mapping {object_mapping.get('name') or m!r} of rule {_rule_name(r, rule)!r}",
        f"directory {source_directory!r}",
        if_none=_discover_advice(directories[d]),
    )
    _list(directories[d]["objects"][o], "attributes", f"object {source_object!r} of directory {source_directory!r}")
    _list(object_mapping, "attributeMappings", f"the object mapping of rule {_rule_name(r, rule)!r}")
    return UserFlow(
        rule_index=r,
        mapping_index=m,
        rule_id=str(rule.get("id") or rule.get("name") or ""),
        source_directory=directories[d]["name"],
        source_object=directories[d]["objects"][o]["name"],
        source_path=(d, o),
        target_directory=str(rule.get("targetDirectoryName") or ""),
        target_attributes=_target_attributes(directories, rule, object_mapping),
    )


def target_kind(job_id: str, schema: dict[str, Any]) -> Literal["entra", "ad"]:
    """Whether the job provisions on-premises Active Directory ("ad", API2AD jobs) or Entra ID ("entra")."""
    return "ad" if is_ad_job_id(job_id) else flow_target_kind(locate_user_flow(schema))


def is_ad_job_id(job_id: str) -> bool:
    """API2AD.<tenant>.<guid> jobs provision on-premises AD through the agent (API2AAD ones do not match)."""
    return job_id.upper().startswith("API2AD")


def flow_target_kind(flow: UserFlow) -> Literal["entra", "ad"]:
    """What the rule's target looks like, for job ids that do not say (an emulator's, a renamed one)."""
    name = flow.target_directory.lower()
    named_ad = "active directory" in name and not any(word in name for word in ("azure", "entra", "aad"))
    has_ad_attributes = bool(flow.target_attributes and flow.target_attributes & _AD_ONLY_ATTRIBUTES)
    return "ad" if named_ad or has_ad_attributes else "entra"


def _user_mappings(rules: list[Any]) -> list[tuple[int, int]]:
    """(rule index, object mapping index) of every mapping into a User object across two directories."""
    found = []
    for r, rule in enumerate(rules):
        if not isinstance(rule, dict):
            raise SchemaSyncError(f"the job schema is malformed: synchronizationRules[{r}] is not an object")
        source, target = rule.get("sourceDirectoryName"), rule.get("targetDirectoryName")
        if not isinstance(source, str) or not source or (isinstance(target, str) and source.lower() == target.lower()):
            continue
        for m, object_mapping in enumerate(_list(rule, "objectMappings", f"synchronizationRules[{r}]")):
            if not isinstance(object_mapping, dict):
                raise SchemaSyncError(
                    f"the job schema is malformed: synchronizationRules[{r}].objectMappings[{m}] is not an object"
                )
            if str(object_mapping.get("targetObjectName") or "").lower() == TARGET_OBJECT.lower():
                found.append((r, m))
    return found


def _target_attributes(
    directories: list[Any], rule: dict[str, Any], object_mapping: dict[str, Any]
) -> frozenset[str] | None:
    directory = _named(directories, rule.get("targetDirectoryName"))
    obj = _named(directory.get("objects") if directory else None, object_mapping.get("targetObjectName"))
    attributes = obj.get("attributes") if obj else None
    if not isinstance(attributes, list):
        return None
    return frozenset(str(a["name"]).lower() for a in attributes if isinstance(a, dict) and a.get("name"))


def _named(items: Any, name: Any) -> dict[str, Any] | None:
    if not isinstance(items, list) or not isinstance(name, str):
        return None
    return next((i for i in items if isinstance(i, dict) and str(i.get("name", "")).lower() == name.lower()), None)


def _find_named(items: list[Any], name: str, what: str, wanted_by: str, where: str, *, if_none: str = "") -> int:
    """The index of the one item named ``name`` (case-insensitively), or an error that lists the names
    and, when no item has the name, says what to do (``if_none``)."""
    matches = [i for i, item in enumerate(items) if _named([item], name) is not None]
    if len(matches) == 1:
        return matches[0]
    names = ", ".join(repr(item.get("name")) for item in items if isinstance(item, dict)) or "none"
    problem = "no" if not matches else "more than one"
    advice = f". {if_none}" if if_none and not matches else ""
    raise SchemaSyncError(
        f"cannot find the API source in the job schema: {wanted_by} reads from {what} {name!r}, "
        f"but {where} has {problem} {what} of that name ({what} names: {names}){advice}"
    )


def _discover_advice(directory: dict[str, Any]) -> str:
    """What to do when the source directory lacks the object its rule reads: have Graph discover it."""
    directory_id = directory.get("id") or "{directoryId}"
    # Microsoft Graph "directoryDefinition: discover" (v1.0):
    # https://learn.microsoft.com/en-us/graph/api/synchronization-directorydefinition-discover
    return (
        "Graph may not have discovered the API source's objects yet: ask an admin to discover them with "
        f"POST /servicePrincipals/{{id}}/synchronization/jobs/{{jobId}}/schema/directories/{directory_id}/discover "
        "(Microsoft Graph directoryDefinition: discover; it needs Application.ReadWrite.OwnedBy or "
        "Directory.ReadWrite.All), check that the job's schema then has the object the rule reads, and run the "
        "schema sync again"
    )


def _list(container: Any, key: str, where: str) -> list[Any]:
    value = container.get(key) if isinstance(container, dict) else None
    if not isinstance(value, list):
        found = "nothing" if value is None else f"a {type(value).__name__}"
        raise SchemaSyncError(f"the job schema is malformed: {where} needs a '{key}' list, found {found}")
    return value


def _rule_name(index: int, rule: Any) -> str:
    return str(rule.get("name") or rule.get("id") or f"synchronizationRules[{index}]")


def _describe_rule(index: int, rule: Any) -> str:
    if not isinstance(rule, dict):
        return f"synchronizationRules[{index}] (not an object)"
    rule_id = f" (id {rule['id']!r})" if rule.get("id") and rule.get("id") != rule.get("name") else ""
    directories = f"{rule.get('sourceDirectoryName')!r} -> {rule.get('targetDirectoryName')!r}"
    return f"{_rule_name(index, rule)!r}{rule_id} {directories}"


def _describe_mapping(rules: list[Any], r: int, m: int) -> str:
    object_mapping = rules[r]["objectMappings"][m]
    state = "enabled" if object_mapping.get("enabled") is True else "disabled"
    return f"{_describe_rule(r, rules[r])} object {object_mapping.get('sourceObjectName')!r} ({state})"
