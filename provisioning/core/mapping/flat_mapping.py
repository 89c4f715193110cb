"""Importing the reference web client's flat mapping form into a profile.

The flat form maps dotted SCIM paths to source fields, e.g. ``{"name.givenName": "FirstName",
"enterprise.department": "Department", "custom.HireDate": "HireDate", "addresses.0.locality": "City"}``.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from provisioning.core.errors import ProfileError
from provisioning.core.mapping.automap import CUSTOM_NAMESPACE, status_rule
from provisioning.core.mapping.profile import ENTERPRISE_SCHEMA, Profile

_CORE = {"externalId", "userName", "displayName", "nickName", "title", "userType", "preferredLanguage",
         "locale", "timezone", "profileUrl"}  # fmt: skip
_NAME = {"givenName", "familyName", "middleName", "honorificPrefix", "honorificSuffix", "formatted"}
_ENTERPRISE = {"employeeNumber", "costCenter", "organization", "division", "department", "manager"}
_MULTI = {"emails", "phoneNumbers", "addresses"}


def is_flat_mapping(document: dict[str, Any]) -> bool:
    return bool(document) and "attributes" not in document and all(isinstance(v, str) for v in document.values())


def profile_from_flat(flat: dict[str, str], *, name: str = "imported",
                      namespace: str = CUSTOM_NAMESPACE) -> Profile:  # fmt: skip
    """A profile equivalent to a flat mapping; unknown keys are an error that names them."""
    attributes: dict[str, Any] = {}
    multi: dict[str, dict[int, dict[str, Any]]] = {}
    unknown = []
    for key, source in flat.items():
        path = key.replace(ENTERPRISE_SCHEMA + ":", "enterprise.").split(".")
        head = path[0]
        if key == "active":
            attributes["active"] = status_rule(source)
        elif head in _CORE and len(path) == 1:
            attributes[head] = source
        elif head == "name" and len(path) == 2 and path[1] in _NAME:
            attributes.setdefault("name", {})[path[1]] = source
        elif head == "enterprise" and len(path) >= 2 and path[1] in _ENTERPRISE:
            attributes.setdefault("enterprise", {})[path[1]] = source
        elif head == "custom" and len(path) == 2:
            extension = _extension(attributes, namespace)
            extension["attributes"][path[1]] = {"source": source}
        elif head in _MULTI and len(path) == 3 and path[1].isdigit():
            multi.setdefault(head, {}).setdefault(int(path[1]), {})[path[2]] = source
        else:
            unknown.append(key)
    if unknown:
        raise ProfileError(f"flat mapping: unknown target attributes: {', '.join(unknown)}")
    for attribute, entries in multi.items():
        attributes[attribute] = [
            {"type": {"constant": "work"}, **entries[i]} if "type" not in entries[i] else entries[i]
            for i in sorted(entries)
        ]
    attributes.setdefault("active", {"constant": True})
    try:
        return Profile.model_validate({"name": name, "attributes": attributes})
    except ValidationError as exc:
        from provisioning.core.mapping.profiles import describe_validation_error

        raise ProfileError(f"flat mapping: {describe_validation_error(exc)}") from None


def _extension(attributes: dict[str, Any], namespace: str) -> dict[str, Any]:
    extensions = attributes.setdefault("extensions", [{"namespace": namespace, "attributes": {}}])
    return extensions[0]
