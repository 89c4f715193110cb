"""Every attribute a profile can emit exists, with the right type, in the SCIM schemas (RFC 7643).

Checked against Microsoft's copies of the User and EnterpriseUser schema definitions.
"""

from __future__ import annotations

from typing import Any

import orjson

from provisioning.core.mapping.profile import CORE_SCHEMA, ENTERPRISE_SCHEMA
from tests.support import microsoft_fixture, minimal_profile, operations, run_plan

SCIM_TYPES = {str: "string", bool: "boolean", dict: "complex", list: "complex"}


def _definitions(file: str) -> dict[str, Any]:
    schema = orjson.loads(microsoft_fixture(f"scim-schemas/{file}").read_bytes())
    return {a["name"]: a for a in schema["attributes"]}


def _check(value: dict[str, Any], definitions: dict[str, Any], where: str) -> None:
    for key, item in value.items():
        assert key in definitions, f"{where}.{key} is not in the SCIM schema"
        definition = definitions[key]
        if definition["multiValued"]:
            assert isinstance(item, list), f"{where}.{key} must be a list"
            # RFC 7643 4.1.2 gives every multi-valued attribute "primary", though its schema JSON
            # for addresses (copied by Microsoft) leaves it out.
            entries = {a["name"]: a for a in definition["subAttributes"]}
            entries.setdefault("primary", {"name": "primary", "type": "boolean", "multiValued": False})
            for entry in item:
                _check(entry, entries, f"{where}.{key}[]")
        elif definition["type"] == "complex":
            _check(item, {a["name"]: a for a in definition["subAttributes"]}, f"{where}.{key}")
        else:
            expected = definition["type"]
            actual = SCIM_TYPES[type(item)]
            assert actual == expected or (expected == "reference" and actual == "string"), f"{where}.{key}"


def test_every_emitted_attribute_is_in_the_scim_schemas() -> None:
    core = _definitions("User.json")
    enterprise = _definitions("EnterpriseUser.json")
    columns = (
        "id,user,status,dn,nick,title,type,lang,loc,tz,url,gn,fn,mn,mail,phone,street,city,region,zip,country,"
        "num,cc,org,div,dept,boss"
    )
    row = "1,u,Active,D,N,T,Employee,en,en-US,UTC,https://x,G,F,M,a@b.c,1,S,C,R,Z,US,1,CC,O,V,P,2"
    profile = minimal_profile(
        displayName="dn",
        nickName="nick",
        title="title",
        userType="type",
        preferredLanguage="lang",
        locale="loc",
        timezone="tz",
        profileUrl="url",
        name={"givenName": "gn", "familyName": "fn", "middleName": "mn"},
        emails=[{"value": "mail", "type": {"constant": "work"}, "primary": {"constant": True}}],
        phoneNumbers=[{"value": "phone", "type": {"constant": "work"}, "primary": {"constant": True}}],
        addresses=[
            {
                "type": {"constant": "work"},
                "streetAddress": "street",
                "locality": "city",
                "region": "region",
                "postalCode": "zip",
                "country": "country",
                "primary": {"constant": True},
            }
        ],
        enterprise={
            "employeeNumber": "num",
            "costCenter": "cc",
            "organization": "org",
            "division": "div",
            "department": "dept",
            "manager": "boss",
        },
    )
    _, _, bodies = run_plan(f"{columns}\n{row}\n", profile)
    (operation,) = operations(bodies)
    data = dict(operation["data"])
    data.pop("schemas")
    data.pop("externalId")  # a common attribute (RFC 7643 section 3.1), not in the User schema
    extension = data.pop(ENTERPRISE_SCHEMA)
    _check(data, core, CORE_SCHEMA)
    manager = extension.pop("manager")
    _check(extension, enterprise, ENTERPRISE_SCHEMA)
    assert set(manager) <= {a["name"] for a in enterprise["manager"]["subAttributes"]}
