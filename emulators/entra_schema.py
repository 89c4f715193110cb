"""The default synchronization schema of an API-driven provisioning job, in three variants.

What the real schema calls the API source directory and its user object is not published.
Provisioning logs from API-driven jobs show source system ``API`` and identity type
``urn:ietf:params:scim:schemas:extension:enterprise:2.0:User``, which is the ``"api"``
variant. Microsoft's own sample client (entra-provisioning-client) looks for an object named
``User`` in a directory that is not Azure Active Directory, which the ``"scim"`` variant
(directory ``SCIM Inbound``, object ``User``) models. Clients must discover both names at run
time; testing against both variants is how we check that they do.

The ``"docs"`` variant is written the way Microsoft's documentation writes schemas (the update example
at https://learn.microsoft.com/en-us/graph/api/synchronization-synchronizationschema-update has
``"type": "string"``), plus what a client cannot know in advance: enum values outside the documented
lists, a mapping without a source, properties nobody lists. A client must send all of it back as it
came. Its source directory has a name of its own, so that what the PUT check remembers of it
(emulators.entra_schema_check) never excuses the same oddity in another variant's schema.

The source directory comes first in ``directories`` because Microsoft's CSV2SCIM script takes
``Directories[0]`` as the source and is reported to work. Ids are fixed GUIDs so the schema does
not depend on the emulator's seed.
"""

from __future__ import annotations

import copy
from typing import Any

from emulators.entra_bulk import ENTERPRISE_USER_SCHEMA

SCHEMA_VARIANTS: dict[str, tuple[str, str]] = {
    "api": ("API", ENTERPRISE_USER_SCHEMA),
    "scim": ("SCIM Inbound", "User"),
    "docs": ("Inbound API", ENTERPRISE_USER_SCHEMA),
}
UNKNOWN_ENUM_VALUE = "unknownFutureValue"
"""Graph's placeholder for enum members a client has not asked for: a value in none of the documented lists."""
ENTRA_DIRECTORY = "Azure Active Directory"
AD_DIRECTORY = "Active Directory"
TARGET_OBJECT = "User"

_ENT = ENTERPRISE_USER_SCHEMA
_WORK_ADDRESS = 'addresses[type eq "work"]'

# (name, type) of the API source user's attributes: SCIM core and enterprise, as the job
# schema names them.
_SOURCE_ATTRIBUTES: list[tuple[str, str]] = [
    ("externalId", "String"),
    ("userName", "String"),
    ("active", "Boolean"),
    ("displayName", "String"),
    ("nickName", "String"),
    ("title", "String"),
    ("userType", "String"),
    ("preferredLanguage", "String"),
    ("locale", "String"),
    ("timezone", "String"),
    ("name.givenName", "String"),
    ("name.familyName", "String"),
    ("name.middleName", "String"),
    ("name.formatted", "String"),
    ("name.honorificPrefix", "String"),
    ("name.honorificSuffix", "String"),
    ('emails[type eq "work"].value', "String"),
    ('phoneNumbers[type eq "work"].value', "String"),
    ('phoneNumbers[type eq "mobile"].value', "String"),
    ('phoneNumbers[type eq "fax"].value', "String"),
    (f"{_WORK_ADDRESS}.streetAddress", "String"),
    (f"{_WORK_ADDRESS}.locality", "String"),
    (f"{_WORK_ADDRESS}.region", "String"),
    (f"{_WORK_ADDRESS}.postalCode", "String"),
    (f"{_WORK_ADDRESS}.country", "String"),
    (f"{_WORK_ADDRESS}.formatted", "String"),
    (f"{_ENT}:employeeNumber", "String"),
    (f"{_ENT}:costCenter", "String"),
    (f"{_ENT}:organization", "String"),
    (f"{_ENT}:division", "String"),
    (f"{_ENT}:department", "String"),
    (f"{_ENT}:manager", "Reference"),
]

_ENTRA_ATTRIBUTES: list[tuple[str, str]] = [
    ("accountEnabled", "Boolean"),
    ("employeeId", "String"),
    ("userPrincipalName", "String"),
    ("mailNickname", "String"),
    ("displayName", "String"),
    ("givenName", "String"),
    ("surname", "String"),
    ("jobTitle", "String"),
    ("department", "String"),
    ("companyName", "String"),
    ("employeeType", "String"),
    ("employeeHireDate", "DateTime"),
    ("employeeLeaveDateTime", "DateTime"),
    ("employeeOrgData.costCenter", "String"),
    ("employeeOrgData.division", "String"),
    ("mail", "String"),
    ("telephoneNumber", "String"),
    ("mobile", "String"),
    ("facsimileTelephoneNumber", "String"),
    ("streetAddress", "String"),
    ("city", "String"),
    ("state", "String"),
    ("postalCode", "String"),
    ("country", "String"),
    ("officeLocation", "String"),
    ("preferredLanguage", "String"),
    ("usageLocation", "String"),
    ("manager", "Reference"),
    ("passwordProfile.password", "String"),
    # onPremisesExtensionAttributes, which the Entra target object exposes by these names
    *((f"extensionAttribute{n}", "String") for n in range(1, 16)),
]

_AD_ATTRIBUTES: list[tuple[str, str]] = [
    ("accountDisabled", "Boolean"),
    ("employeeID", "String"),
    ("userPrincipalName", "String"),
    ("sAMAccountName", "String"),
    ("parentDistinguishedName", "String"),
    ("displayName", "String"),
    ("givenName", "String"),
    ("sn", "String"),
    ("title", "String"),
    ("department", "String"),
    ("company", "String"),
    ("employeeType", "String"),
    ("mail", "String"),
    ("telephoneNumber", "String"),
    ("mobile", "String"),
    ("streetAddress", "String"),
    ("l", "String"),
    ("st", "String"),
    ("postalCode", "String"),
    ("co", "String"),
    ("manager", "Reference"),
    # present where the Exchange schema extension is installed, as in most AD forests
    *((f"extensionAttribute{n}", "String") for n in range(1, 16)),
]

# The UPN prefix, as Microsoft's documented mailNickname / sAMAccountName expressions take it.
_UPN_PREFIX = 'Replace([userName], , "(?<Suffix>@(.)*)", "Suffix", "", , )'


def _attribute(name: str, kind: str, object_name: str) -> dict[str, Any]:
    definition: dict[str, Any] = {
        "anchor": name in ("externalId", "objectId", "objectGUID"),
        "caseExact": False,
        "defaultValue": None,
        "flowNullValues": False,
        "multivalued": False,
        "mutability": "WriteOnly" if name == "passwordProfile.password" else "ReadWrite",
        "name": name,
        "required": name in ("externalId", "userPrincipalName"),
        "type": kind,
        "apiExpressions": [],
        "metadata": [],
        "referencedObjects": [],
    }
    if kind == "Reference":
        definition["referencedObjects"] = [{"referencedObjectName": object_name, "referencedProperty": None}]
    return definition


def _object(name: str, attributes: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "name": name,
        "attributes": [_attribute(n, k, name) for n, k in attributes],
        "metadata": [],
        "supportedApis": [],
    }


def _attr_source(name: str) -> dict[str, Any]:
    return {"expression": f"[{name}]", "name": name, "type": "Attribute", "parameters": []}


def _const_source(value: str) -> dict[str, Any]:
    return {"expression": f'"{value}"', "name": value, "type": "Constant", "parameters": []}


def _function_source(name: str, expression: str, parameters: list[tuple[str, dict[str, Any]]]) -> dict:
    return {
        "expression": expression,
        "name": name,
        "type": "Function",
        "parameters": [{"key": key, "value": value} for key, value in parameters],
    }


def _upn_prefix_source() -> dict[str, Any]:
    return _function_source(
        "Replace",
        _UPN_PREFIX,
        [
            ("source", _attr_source("userName")),
            ("regexPattern", _const_source("(?<Suffix>@(.)*)")),
            ("regexGroupName", _const_source("Suffix")),
            ("replacementValue", _const_source("")),
        ],
    )


def _mapping(target: str, source: dict[str, Any], *, matching: int = 0, add_only: bool = False) -> dict:
    return {
        "defaultValue": "",
        "exportMissingReferences": False,
        "flowBehavior": "FlowWhenChanged",
        "flowType": "ObjectAddOnly" if add_only else "Always",
        "matchingPriority": matching,
        "source": source,
        "targetAttributeName": target,
    }


def _common_mappings(names: dict[str, str]) -> list[dict[str, Any]]:
    """Mappings both targets share; ``names`` renames the target attributes that differ."""
    pairs = [
        ("displayName", "displayName"),
        ("name.givenName", "givenName"),
        ("name.familyName", "surname"),
        ("title", "jobTitle"),
        ("userType", "employeeType"),
        ('emails[type eq "work"].value', "mail"),
        ('phoneNumbers[type eq "work"].value', "telephoneNumber"),
        ('phoneNumbers[type eq "mobile"].value', "mobile"),
        (f"{_WORK_ADDRESS}.streetAddress", "streetAddress"),
        (f"{_WORK_ADDRESS}.locality", "city"),
        (f"{_WORK_ADDRESS}.region", "state"),
        (f"{_WORK_ADDRESS}.postalCode", "postalCode"),
        (f"{_WORK_ADDRESS}.country", "country"),
        (f"{_ENT}:department", "department"),
        (f"{_ENT}:organization", "companyName"),
        (f"{_ENT}:manager", "manager"),
    ]
    return [_mapping(names.get(target, target), _attr_source(source)) for source, target in pairs]


def _entra_mappings() -> list[dict[str, Any]]:
    return [
        _mapping("employeeId", _attr_source("externalId"), matching=1),
        _mapping("userPrincipalName", _attr_source("userName")),
        _mapping("mailNickname", _upn_prefix_source()),
        _mapping("accountEnabled", _attr_source("active")),
        _mapping("preferredLanguage", _attr_source("preferredLanguage")),
        _mapping("employeeOrgData.costCenter", _attr_source(f"{_ENT}:costCenter")),
        _mapping("employeeOrgData.division", _attr_source(f"{_ENT}:division")),
        *_common_mappings({}),
    ]


def _ad_mappings() -> list[dict[str, Any]]:
    sam = _function_source("Left", f"Left({_UPN_PREFIX}, 20)", [("source", _upn_prefix_source())])
    disabled = _function_source("Not", "Not([active])", [("source", _attr_source("active"))])
    ad_names = {
        "surname": "sn",
        "jobTitle": "title",
        "companyName": "company",
        "city": "l",
        "state": "st",
        "country": "co",
    }
    return [
        _mapping("employeeID", _attr_source("externalId"), matching=1),
        _mapping("userPrincipalName", _attr_source("userName")),
        _mapping("sAMAccountName", sam, add_only=True),
        _mapping("parentDistinguishedName", _const_source("OU=Users,DC=contoso,DC=com"), add_only=True),
        # AD has no accountEnabled: the documented mapping inverts active into accountDisabled.
        _mapping("accountDisabled", disabled),
        *_common_mappings(ad_names),
    ]


def default_schema(variant: str, job_id: str) -> dict[str, Any]:
    """A fresh copy of the job schema for ``variant`` ("api" or "scim") and the job's target."""
    if variant not in SCHEMA_VARIANTS:
        raise ValueError(f"schema_variant must be one of {sorted(SCHEMA_VARIANTS)}, got {variant!r}")
    source_directory, source_object = SCHEMA_VARIANTS[variant]
    to_ad = is_ad_job(job_id)
    target_directory = AD_DIRECTORY if to_ad else ENTRA_DIRECTORY
    target_attributes = _AD_ATTRIBUTES if to_ad else _ENTRA_ATTRIBUTES
    schema = {
        "id": job_id,
        "version": "Date:2024-01-01T00:00:00Z~###~Version:1",
        "directories": [
            {
                "id": "5b1a2e43-8c55-4f8e-a9a6-6b1c3e2d4f01",
                "name": source_directory,
                "discoverabilities": "None",
                "discoveryDateTime": None,
                "readOnly": False,
                "version": None,
                "objects": [_object(source_object, _SOURCE_ATTRIBUTES)],
            },
            {
                "id": "9d3f6c7a-2b1e-4c8d-b5a4-3e2f1d0c9b02",
                "name": target_directory,
                "discoverabilities": "None",
                "discoveryDateTime": None,
                "readOnly": False,
                "version": None,
                "objects": [_object(TARGET_OBJECT, target_attributes)],
            },
        ],
        "synchronizationRules": [
            {
                "id": "2c6e8a4f-1d3b-4e5a-9c7f-8b0a1e2d3c03",
                "name": "USER_INBOUND_USER",
                "editable": True,
                "priority": 1,
                "sourceDirectoryName": source_directory,
                "targetDirectoryName": target_directory,
                "containerFilter": {"includedContainers": []},
                "groupFilter": {"includedGroups": []},
                "metadata": [],
                "objectMappings": [
                    {
                        "name": f"Provision {source_directory} {source_object}",
                        "enabled": True,
                        "flowTypes": "Add, Update, Delete",
                        "metadata": [],
                        "scope": None,
                        "sourceObjectName": source_object,
                        "targetObjectName": TARGET_OBJECT,
                        "attributeMappings": _ad_mappings() if to_ad else _entra_mappings(),
                    }
                ],
            }
        ],
    }
    if variant == "docs":
        _as_documented(schema)
    return copy.deepcopy(schema)


def _as_documented(schema: dict[str, Any]) -> None:
    """Lowercase String types, unknown enum values, a source-less mapping and unknown properties."""
    schema["futureSchemaProperty"] = {"kept": True}
    for directory in schema["directories"]:
        directory["futureDirectoryProperty"] = None
        for obj in directory["objects"]:
            for attribute in obj["attributes"]:
                if attribute["type"] == "String":
                    attribute["type"] = "string"
    source_attributes = schema["directories"][0]["objects"][0]["attributes"]
    timezone = next(a for a in source_attributes if a["name"] == "timezone")
    timezone["mutability"] = UNKNOWN_ENUM_VALUE
    timezone["futureProperty"] = ["a", 1, None]
    object_mapping = schema["synchronizationRules"][0]["objectMappings"][0]
    object_mapping["futureObjectMappingProperty"] = "kept"
    by_target = {m["targetAttributeName"]: m for m in object_mapping["attributeMappings"]}
    by_target["displayName"]["flowType"] = UNKNOWN_ENUM_VALUE
    by_target["givenName"]["flowBehavior"] = UNKNOWN_ENUM_VALUE
    by_target["givenName"]["source"]["futureSourceProperty"] = {"nested": [1.5, "x"]}
    mapping = _mapping("extensionAttribute15", {}) | {"source": None, "futureMappingProperty": 0}
    object_mapping["attributeMappings"].append(mapping)


def is_ad_job(job_id: str) -> bool:
    """API2AD jobs provision on-premises AD through the agent; API2AAD jobs provision Entra ID."""
    return job_id.upper().startswith("API2AD.")
