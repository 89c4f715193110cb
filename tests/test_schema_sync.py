"""Schema sync against the emulator's default job schemas: every variant, Entra and AD targets."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulators.entra_schema import SCHEMA_VARIANTS, default_schema
from emulators.entra_schema_check import check_schema
from provisioning.core.mapping.profile import Profile
from provisioning.core.mapping.profiles import load_profile
from provisioning.core.schema.sync import (
    SchemaPlan,
    SchemaSyncError,
    plan_schema_sync,
    schema_enum_errors,
    target_kind,
)
from tests.support import minimal_profile

ENTRA_JOB = "API2AAD.0f7e5b9c1d2e4f3a8b6c7d9e0a1b2c3d.6a4f2e1b-9c8d-4e7f-a5b3-2c1d0e9f8a7b"
AD_JOB = "API2AD.0f7e5b9c1d2e4f3a8b6c7d9e0a1b2c3d.6a4f2e1b-9c8d-4e7f-a5b3-2c1d0e9f8a7b"
CONTOSO = "urn:ietf:params:scim:schemas:extension:contoso:1.0:User"
HIRE_DATE = f"{CONTOSO}:HireDate"
JOB_CODE = f"{CONTOSO}:JobCode"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
ALL_SCHEMAS = [(variant, job) for variant in SCHEMA_VARIANTS for job in (ENTRA_JOB, AD_JOB)]
WRITES = {"add-attribute", "replace-attribute", "add-mapping", "replace-mapping"}


def plan(schema: dict[str, Any], profile: Profile, **options: Any) -> SchemaPlan:
    """plan_schema_sync, checking on the way that it leaves its input alone."""
    before = copy.deepcopy(schema)
    result = plan_schema_sync(schema, profile, **options)
    assert schema == before
    return result


def extension_profile(attributes: dict[str, dict[str, Any]], namespace: str = CONTOSO, **rules: Any) -> Profile:
    return minimal_profile(extensions=[{"namespace": namespace, "attributes": attributes}], **rules)


def source_attributes(schema: dict[str, Any], variant: str) -> list[dict[str, Any]]:
    directory, obj = SCHEMA_VARIANTS[variant]
    found = next(d for d in schema["directories"] if d["name"] == directory)
    return next(o for o in found["objects"] if o["name"] == obj)["attributes"]


def definition(schema: dict[str, Any], variant: str, name: str) -> dict[str, Any] | None:
    return next((a for a in source_attributes(schema, variant) if a["name"] == name), None)


def attribute_mappings(schema: dict[str, Any]) -> list[dict[str, Any]]:
    return schema["synchronizationRules"][0]["objectMappings"][0]["attributeMappings"]


def mappings_to(schema: dict[str, Any], target: str) -> list[dict[str, Any]]:
    return [m for m in attribute_mappings(schema) if m["targetAttributeName"] == target]


def direct(name: str, target: str) -> dict[str, Any]:
    return {
        "defaultValue": None,
        "exportMissingReferences": False,
        "flowBehavior": "FlowWhenChanged",
        "flowType": "Always",
        "matchingPriority": 0,
        "source": {"expression": f"[{name}]", "name": name, "parameters": [], "type": "Attribute"},
        "targetAttributeName": target,
    }


def kinds(result: SchemaPlan) -> list[tuple[str, str, str | None]]:
    return [(c.kind, c.attribute, c.target) for c in result.changes]


# ---- the Microsoft sample profile ------------------------------------------------------------------------


@pytest.mark.parametrize(("variant", "job_id"), ALL_SCHEMAS)
def test_sample_profile_adds_hire_date_and_job_code(variant: str, job_id: str) -> None:
    schema = default_schema(variant, job_id)
    result = plan(schema, load_profile("microsoft-sample"), job_id=job_id)

    assert (result.source_directory, result.source_object) == SCHEMA_VARIANTS[variant]
    assert result.rule_id == schema["synchronizationRules"][0]["id"]
    assert result.target_kind == ("ad" if job_id == AD_JOB else "entra")
    assert kinds(result) == [
        ("add-attribute", HIRE_DATE, None),
        ("add-mapping", HIRE_DATE, "employeeHireDate"),
        ("add-attribute", JOB_CODE, None),
        ("add-mapping", JOB_CODE, "extensionAttribute1"),
    ]
    assert result.needs_put
    assert definition(result.schema, variant, HIRE_DATE) == {
        "anchor": False,
        "apiExpressions": [],
        "caseExact": False,
        "defaultValue": None,
        "flowNullValues": False,
        "metadata": [],
        "multivalued": False,
        "mutability": "ReadWrite",
        "name": HIRE_DATE,
        "referencedObjects": [],
        "required": False,
        "type": "DateTime",
    }
    assert definition(result.schema, variant, JOB_CODE)["type"] == "String"  # type: ignore[index]
    assert mappings_to(result.schema, "employeeHireDate") == [direct(HIRE_DATE, "employeeHireDate")]
    assert mappings_to(result.schema, "extensionAttribute1") == [direct(JOB_CODE, "extensionAttribute1")]
    # Nothing else moved: the new schema is the old one plus two definitions and two mappings.
    assert len(source_attributes(result.schema, variant)) == len(source_attributes(schema, variant)) + 2
    assert attribute_mappings(result.schema)[:-2] == attribute_mappings(schema)
    assert schema_enum_errors(result.schema) == schema_enum_errors(schema), "what it adds is valid"


@pytest.mark.parametrize(("variant", "job_id"), ALL_SCHEMAS)
@pytest.mark.parametrize("include_standard", [False, True])
def test_a_second_plan_changes_nothing(variant: str, job_id: str, include_standard: bool) -> None:
    profile = load_profile("microsoft-sample")
    first = plan(default_schema(variant, job_id), profile, job_id=job_id, include_standard=include_standard)
    for overwrite in (False, True):
        again = plan(first.schema, profile, job_id=job_id, include_standard=include_standard, overwrite=overwrite)
        assert again.changes == []
        assert not again.needs_put
        assert again.schema == first.schema
        assert again.diff_text() == "no changes"


def test_the_planned_schema_passes_the_emulators_put_checks() -> None:
    # The emulator's Entra target defines employeeHireDate but not extensionAttribute1, so a
    # profile that maps only the former must give a schema the emulator's PUT accepts.
    profile = extension_profile(
        {"HireDate": {"source": "h", "type": "DateTime", "target": "employeeHireDate"}, "Grade": {"source": "g"}}
    )
    for variant in SCHEMA_VARIANTS:
        entra = plan(default_schema(variant, ENTRA_JOB), profile, job_id=ENTRA_JOB)
        assert check_schema(entra.schema) is entra.schema
    to_department = extension_profile({"Dept": {"source": "d", "target": "department"}})
    ad = plan(default_schema("api", AD_JOB), to_department, job_id=AD_JOB, overwrite=True)
    assert [c.kind for c in ad.changes] == ["add-attribute", "replace-mapping"]
    assert check_schema(ad.schema) is ad.schema


def test_an_attribute_without_target_is_only_defined() -> None:
    profile = extension_profile({"Grade": {"source": "g", "type": "Integer"}})
    result = plan(default_schema("api", ENTRA_JOB), profile, job_id=ENTRA_JOB)
    assert kinds(result) == [("add-attribute", f"{CONTOSO}:Grade", None)]
    assert attribute_mappings(result.schema) == attribute_mappings(default_schema("api", ENTRA_JOB))


def test_a_target_missing_from_the_target_object_is_a_warning() -> None:
    profile = extension_profile({"Badge": {"source": "b", "target": "badgeColour"}})
    result = plan(default_schema("scim", ENTRA_JOB), profile, job_id=ENTRA_JOB)
    warnings = {c.target: c.warning for c in result.changes if c.warning}
    assert list(warnings) == ["badgeColour"]
    assert "not an attribute of the 'User' object of 'Azure Active Directory'" in warnings["badgeColour"]
    sample = plan(default_schema("scim", ENTRA_JOB), load_profile("microsoft-sample"), job_id=ENTRA_JOB)
    assert not any(c.warning for c in sample.changes)


# ---- conflicts ---------------------------------------------------------------------------------------------


def schema_with_hire_date_from(source: str, *, defined: bool = True) -> dict[str, Any]:
    """The api/Entra schema where employeeHireDate is already mapped from ``source``."""
    schema = default_schema("api", ENTRA_JOB)
    if defined:
        source_attributes(schema, "api").append({"name": HIRE_DATE, "type": "DateTime"})
    mapping = direct(source, "employeeHireDate") | {"matchingPriority": 2, "defaultValue": ""}
    attribute_mappings(schema).append(mapping)
    return schema


def test_a_target_mapped_from_elsewhere_is_a_conflict_left_alone() -> None:
    other = f"{ENTERPRISE}:employeeNumber"
    schema = schema_with_hire_date_from(other)
    profile = extension_profile({"HireDate": {"source": "h", "type": "DateTime", "target": "employeeHireDate"}})
    result = plan(schema, profile, job_id=ENTRA_JOB)

    [change] = result.changes
    assert (change.kind, change.attribute, change.target) == ("conflict", HIRE_DATE, "employeeHireDate")
    assert change.detail == f"employeeHireDate is already mapped from [{other}]; not overwritten (use --overwrite)"
    assert not result.needs_put  # a conflict alone is nothing to PUT
    assert result.schema == schema
    assert result.diff_text() == f"! conflict: {change.detail}"


def test_overwrite_replaces_the_conflicting_mapping_and_keeps_its_matching_priority() -> None:
    other = f"{ENTERPRISE}:employeeNumber"
    schema = schema_with_hire_date_from(other)
    attribute_mappings(schema).append(direct("displayName", "employeeHireDate"))  # a second, invalid one
    profile = extension_profile({"HireDate": {"source": "h", "type": "DateTime", "target": "employeeHireDate"}})
    result = plan(schema, profile, job_id=ENTRA_JOB, overwrite=True)

    assert kinds(result) == [("replace-mapping", HIRE_DATE, "employeeHireDate")]
    assert result.needs_put
    assert mappings_to(result.schema, "employeeHireDate") == [
        direct(HIRE_DATE, "employeeHireDate") | {"matchingPriority": 2}
    ]
    assert result.diff_text() == (
        f"~ mapping [{HIRE_DATE}] -> employeeHireDate (FlowWhenChanged, Always), replacing [{other}]"
    )
    assert plan(result.schema, profile, job_id=ENTRA_JOB, overwrite=True).changes == []


def test_a_definition_of_another_type_is_a_conflict() -> None:
    schema = default_schema("scim", AD_JOB)
    source_attributes(schema, "scim").append({"name": HIRE_DATE.lower(), "type": "String", "required": True})
    profile = extension_profile({"HireDate": {"source": "h", "type": "DateTime", "target": "employeeHireDate"}})
    result = plan(schema, profile, job_id=AD_JOB)

    [change] = result.changes
    assert (change.kind, change.attribute, change.target) == ("conflict", HIRE_DATE, None)
    assert (change.value, change.previous) == ("DateTime", "String")
    assert "already defined as String, not DateTime" in change.detail
    assert result.schema == schema  # neither the definition nor a mapping from it
    assert not result.needs_put

    replaced = plan(schema, profile, job_id=AD_JOB, overwrite=True)
    assert [c.kind for c in replaced.changes] == ["replace-attribute", "add-mapping"]
    assert definition(replaced.schema, "scim", HIRE_DATE.lower())["type"] == "DateTime"  # type: ignore[index]
    assert replaced.diff_text().splitlines()[0] == f"~ attribute {HIRE_DATE} (String -> DateTime)"
    assert plan(replaced.schema, profile, job_id=AD_JOB, overwrite=True).changes == []


def test_a_definition_of_the_same_type_in_lowercase_is_kept_as_it_is() -> None:
    schema = default_schema("api", ENTRA_JOB)
    existing = {"name": HIRE_DATE, "type": "datetime", "futureProperty": 1}  # as Microsoft's examples write types
    source_attributes(schema, "api").append(existing)
    profile = extension_profile({"HireDate": {"source": "h", "type": "DateTime", "target": "employeeHireDate"}})
    result = plan(schema, profile, job_id=ENTRA_JOB)
    assert kinds(result) == [("add-mapping", HIRE_DATE, "employeeHireDate")]
    assert definition(result.schema, "api", HIRE_DATE) == existing
    assert not plan(result.schema, profile, job_id=ENTRA_JOB).needs_put


def test_names_and_sources_compare_case_insensitively() -> None:
    schema = schema_with_hire_date_from(HIRE_DATE.upper(), defined=False)
    source_attributes(schema, "api").append({"name": HIRE_DATE.upper(), "type": "DateTime"})
    profile = extension_profile({"HireDate": {"source": "h", "type": "DateTime", "target": "EmployeeHireDate"}})
    assert plan(schema, profile, job_id=ENTRA_JOB).changes == []


def test_two_profile_attributes_for_one_target_map_only_the_first() -> None:
    profile = extension_profile(
        {
            "Start": {"source": "s", "type": "DateTime", "target": "employeeHireDate"},
            "HireDate": {"source": "h", "type": "DateTime", "target": "employeeHireDate"},
        }
    )
    for overwrite in (False, True):
        result = plan(default_schema("api", ENTRA_JOB), profile, job_id=ENTRA_JOB, overwrite=overwrite)
        assert [c.kind for c in result.changes] == ["add-attribute", "add-mapping", "add-attribute", "conflict"]
        assert "target of both" in result.changes[-1].detail
        assert mappings_to(result.schema, "employeeHireDate") == [direct(f"{CONTOSO}:Start", "employeeHireDate")]
        assert not plan(result.schema, profile, job_id=ENTRA_JOB, overwrite=overwrite).needs_put


# ---- standard attributes and active -------------------------------------------------------------------


@pytest.mark.parametrize(("variant", "job_id"), ALL_SCHEMAS)
def test_the_default_schemas_already_map_active(variant: str, job_id: str) -> None:
    result = plan(default_schema(variant, job_id), minimal_profile(), job_id=job_id, include_standard=True)
    assert result.changes == []


def without_mapping(schema: dict[str, Any], target: str) -> dict[str, Any]:
    rule = schema["synchronizationRules"][0]["objectMappings"][0]
    rule["attributeMappings"] = [m for m in rule["attributeMappings"] if m["targetAttributeName"] != target]
    return schema


@pytest.mark.parametrize("variant", list(SCHEMA_VARIANTS))
def test_ad_target_maps_active_to_account_disabled_through_not(variant: str) -> None:
    schema = without_mapping(default_schema(variant, AD_JOB), "accountDisabled")
    result = plan(schema, minimal_profile(), job_id=AD_JOB, include_standard=True)

    assert kinds(result) == [("add-mapping", "active", "accountDisabled")]
    assert mappings_to(result.schema, "accountDisabled") == [
        direct("active", "accountDisabled")
        | {
            "source": {
                "expression": "Not([active])",
                "name": "Not",
                "parameters": [
                    {
                        "key": "source",
                        "value": {"expression": "[active]", "name": "active", "parameters": [], "type": "Attribute"},
                    }
                ],
                "type": "Function",
            }
        }
    ]
    assert mappings_to(result.schema, "accountEnabled") == []
    assert result.diff_text() == "+ mapping Not([active]) -> accountDisabled (FlowWhenChanged, Always)"
    assert plan(result.schema, minimal_profile(), job_id=AD_JOB, include_standard=True).changes == []


def test_ad_target_with_a_direct_active_mapping_is_a_conflict() -> None:
    schema = without_mapping(default_schema("api", AD_JOB), "accountDisabled")
    attribute_mappings(schema).append(direct("active", "accountDisabled"))  # not inverted: would disable actives
    result = plan(schema, minimal_profile(), job_id=AD_JOB, include_standard=True)
    assert [c.kind for c in result.changes] == ["conflict"]
    assert result.changes[0].detail.startswith("accountDisabled is already mapped from [active]")
    fixed = plan(schema, minimal_profile(), job_id=AD_JOB, include_standard=True, overwrite=True)
    assert mappings_to(fixed.schema, "accountDisabled")[0]["source"]["expression"] == "Not([active])"


def test_entra_target_maps_active_to_account_enabled() -> None:
    schema = without_mapping(default_schema("scim", ENTRA_JOB), "accountEnabled")
    result = plan(schema, minimal_profile(), job_id=ENTRA_JOB, include_standard=True)
    assert kinds(result) == [("add-mapping", "active", "accountEnabled")]
    assert mappings_to(result.schema, "accountEnabled") == [direct("active", "accountEnabled")]
    # Without include_standard, active is not looked at.
    assert plan(schema, minimal_profile(), job_id=ENTRA_JOB).changes == []


def test_target_kind_from_job_id_or_target_directory() -> None:
    entra, ad = default_schema("api", ENTRA_JOB), default_schema("api", AD_JOB)
    assert target_kind(ENTRA_JOB, entra) == "entra"
    assert target_kind(AD_JOB, entra) == "ad"
    assert target_kind(AD_JOB.lower(), {}) == "ad"  # the job id says it: the schema is not needed
    assert target_kind("emulator-job", ad) == "ad"  # a target directory named like on-premises AD
    renamed = copy.deepcopy(ad)
    renamed["directories"][1]["name"] = renamed["synchronizationRules"][0]["targetDirectoryName"] = "contoso.com"
    assert target_kind("emulator-job", renamed) == "ad"  # sAMAccountName and accountDisabled tell
    result = plan(without_mapping(renamed, "accountDisabled"), minimal_profile(), job_id="x", include_standard=True)
    assert result.target_kind == "ad"
    assert [c.target for c in result.changes] == ["accountDisabled"]


def test_standard_attributes_missing_from_the_source_are_reported_not_added() -> None:
    profile = minimal_profile(
        displayName="name",
        profileUrl="url",
        name={"givenName": "first"},
        enterprise={"department": "dept", "manager": "boss"},
        emails=[{"value": "mail", "type": {"constant": "work"}}, {"value": "private", "type": {"constant": "home"}}],
        phoneNumbers=[{"value": "phone", "type": "phoneType"}],  # a type read from a column matches any
        addresses=[{"locality": "city", "type": {"constant": "work"}}],
    )
    schema = default_schema("scim", ENTRA_JOB)
    result = plan(schema, profile, job_id=ENTRA_JOB, include_standard=True)
    assert kinds(result) == [
        ("missing-standard", "profileUrl", None),
        ("missing-standard", 'emails[type eq "home"].value', None),
    ]
    assert not result.needs_put
    assert result.schema == schema
    assert result.diff_text().splitlines() == [
        "? missing: the profile maps profileUrl, but the source object 'User' has no attribute profileUrl; "
        "add it to the API's attribute list or drop it from the profile",
        "? missing: the profile maps emails[1].value, but the source object 'User' has no attribute "
        'emails[type eq "home"].value; add it to the API\'s attribute list or drop it from the profile',
    ]


def test_multi_valued_names_match_loosely() -> None:
    profile = minimal_profile(emails=[{"value": "mail", "type": {"constant": "Work"}}])
    for name in ("emails[type eq 'work'].value", 'Emails[ type  eq "WORK" ].Value', "emails.value"):
        schema = default_schema("api", ENTRA_JOB)
        [email] = [a for a in source_attributes(schema, "api") if a["name"].startswith("emails")]
        email["name"] = name
        assert plan(schema, profile, job_id=ENTRA_JOB, include_standard=True).changes == [], name
    schema = default_schema("api", ENTRA_JOB)
    source_attributes(schema, "api")[:] = [a for a in source_attributes(schema, "api") if a["name"] != "active"]
    [missing] = plan(schema, profile, job_id=ENTRA_JOB, include_standard=True).changes
    assert (missing.kind, missing.attribute, missing.target) == ("missing-standard", "active", "accountEnabled")


# ---- finding the API source -------------------------------------------------------------------------------


def test_the_source_is_found_by_the_rule_not_by_position() -> None:
    schema = default_schema("scim", ENTRA_JOB)
    schema["directories"].reverse()  # Microsoft's script would now take the target for the source
    schema["directories"].insert(0, {"id": "x", "name": "Decoy", "objects": [{"name": "User", "attributes": []}]})
    result = plan(schema, load_profile("microsoft-sample"), job_id=ENTRA_JOB)
    assert (result.source_directory, result.source_object) == ("SCIM Inbound", "User")
    assert definition(result.schema, "scim", HIRE_DATE) is not None


def test_an_unknown_source_directory_is_a_clear_error() -> None:
    schema = default_schema("api", ENTRA_JOB)
    schema["synchronizationRules"][0]["sourceDirectoryName"] = "Workday"
    message = (
        "rule 'USER_INBOUND_USER' reads from directory 'Workday', but the job schema has no directory of that "
        "name (directory names: 'API', 'Azure Active Directory')"
    )
    with pytest.raises(SchemaSyncError, match=re.escape(f"cannot find the API source in the job schema: {message}")):
        plan(schema, load_profile("microsoft-sample"), job_id=ENTRA_JOB)


def test_an_unknown_source_object_is_a_clear_error() -> None:
    schema = default_schema("scim", ENTRA_JOB)
    schema["directories"][0]["objects"][0]["name"] = "Person"
    with pytest.raises(SchemaSyncError, match="reads from object 'User', but directory 'SCIM Inbound' has no object"):
        plan(schema, load_profile("microsoft-sample"), job_id=ENTRA_JOB)


def test_a_schema_without_a_user_rule_is_a_clear_error() -> None:
    schema = default_schema("api", ENTRA_JOB)
    rule = schema["synchronizationRules"][0]
    rule["sourceDirectoryName"] = rule["targetDirectoryName"]  # within one directory: not the API source
    with pytest.raises(SchemaSyncError, match="no synchronization rule maps an object from one directory to the 'Us"):
        plan(schema, load_profile("microsoft-sample"), job_id=ENTRA_JOB)
    schema["synchronizationRules"] = []
    with pytest.raises(SchemaSyncError, match=r"\(rules: none\)"):
        plan(schema, load_profile("microsoft-sample"), job_id=ENTRA_JOB)


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ({}, "the job schema is malformed: its top level needs a 'directories' list, found nothing"),
        ({"directories": {}, "synchronizationRules": []}, "needs a 'directories' list, found a dict"),
        ({"directories": [], "synchronizationRules": None}, "needs a 'synchronizationRules' list, found nothing"),
        ({"directories": [], "synchronizationRules": ["x"]}, r"synchronizationRules\[0\] is not an object"),
    ],
)
def test_a_malformed_schema_is_a_clear_error(schema: dict[str, Any], message: str) -> None:
    with pytest.raises(SchemaSyncError, match=message):
        plan(schema, minimal_profile(), job_id=ENTRA_JOB)


def two_rules(*, second_enabled: bool) -> dict[str, Any]:
    """The scim schema plus a second source directory whose rule also provisions Users."""
    schema = default_schema("scim", ENTRA_JOB)
    source = copy.deepcopy(schema["directories"][0]) | {"name": "Legacy HR"}
    schema["directories"].append(source)
    rule = copy.deepcopy(schema["synchronizationRules"][0]) | {"id": "legacy", "sourceDirectoryName": "Legacy HR"}
    rule["objectMappings"][0]["enabled"] = second_enabled
    schema["synchronizationRules"].insert(0, rule)
    return schema


def test_ambiguous_rules_are_an_error_that_lists_them() -> None:
    with pytest.raises(SchemaSyncError, match="2 of these object mappings are enabled") as caught:
        plan(two_rules(second_enabled=True), load_profile("microsoft-sample"), job_id=ENTRA_JOB)
    assert "'USER_INBOUND_USER' (id 'legacy') 'Legacy HR' -> 'Azure Active Directory'" in str(caught.value)
    assert "'SCIM Inbound' -> 'Azure Active Directory'" in str(caught.value)


def test_of_several_rules_the_enabled_one_is_used() -> None:
    schema = two_rules(second_enabled=False)
    result = plan(schema, load_profile("microsoft-sample"), job_id=ENTRA_JOB)
    assert (result.source_directory, result.rule_id) == ("SCIM Inbound", schema["synchronizationRules"][1]["id"])
    enabled_rule = result.schema["synchronizationRules"][1]["objectMappings"][0]["attributeMappings"]
    assert enabled_rule[-1] == direct(JOB_CODE, "extensionAttribute1")
    assert result.schema["synchronizationRules"][0] == schema["synchronizationRules"][0]  # the disabled one


# ---- enum validation --------------------------------------------------------------------------------------

MAPPINGS = "synchronizationRules[0].objectMappings[0]"


def set_path(schema: dict[str, Any], path: list[Any], value: Any) -> None:
    *parents, last = path
    node: Any = schema
    for key in parents:
        node = node[key]
    node[last] = value


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (
            ["synchronizationRules", 0, "objectMappings", 0, "attributeMappings", 3, "flowType"],
            "Add",
            f"{MAPPINGS}.attributeMappings[3].flowType: 'Add' is not one of Always, ObjectAddOnly, "
            "MultiValueAddOnly, ValueAddOnly, AttributeAddOnly",
        ),
        (
            ["synchronizationRules", 0, "objectMappings", 0, "attributeMappings", 0, "flowType"],
            "always",
            f"{MAPPINGS}.attributeMappings[0].flowType: 'always' is not one of Always,",
        ),
        (
            ["synchronizationRules", 0, "objectMappings", 0, "attributeMappings", 1, "flowBehavior"],
            "OnChange",
            f"{MAPPINGS}.attributeMappings[1].flowBehavior: 'OnChange' is not one of FlowWhenChanged, FlowAlways",
        ),
        (
            ["synchronizationRules", 0, "objectMappings", 0, "attributeMappings", 1, "source", "type"],
            "Expression",
            f"{MAPPINGS}.attributeMappings[1].source.type: 'Expression' is not one of Attribute, Constant, Function",
        ),
        (
            ["synchronizationRules", 0, "objectMappings", 0, "attributeMappings", 2, "source", "parameters", 1,
             "value", "type"],
            "Literal",
            f"{MAPPINGS}.attributeMappings[2].source.parameters[1].value.type: 'Literal' is not one of Attribute,",
        ),
        (
            ["synchronizationRules", 0, "objectMappings", 0, "flowTypes"],
            "Add, Modify",
            f"{MAPPINGS}.flowTypes: 'Add, Modify' is not a comma-separated list of None, Add, Update, Delete",
        ),
        (
            ["directories", 0, "objects", 0, "attributes", 4, "type"],
            "Text",
            "directories[0].objects[0].attributes[4].type: 'Text' is not one of String, Integer, Reference, "
            "Binary, Boolean, DateTime",
        ),
        (
            ["directories", 1, "objects", 0, "attributes", 0, "mutability"],
            "Writable",
            "directories[1].objects[0].attributes[0].mutability: 'Writable' is not one of ReadWrite, ReadOnly, "
            "Immutable, WriteOnly",
        ),
    ],
)  # fmt: skip
def test_every_enum_is_reported_but_what_the_schema_holds_is_synced_as_it_is(
    path: list[Any], value: str, message: str
) -> None:
    schema = default_schema("api", ENTRA_JOB)
    assert schema_enum_errors(schema) == []
    set_path(schema, path, value)
    [error] = schema_enum_errors(schema)
    assert error.startswith(message)
    result = plan(schema, load_profile("microsoft-sample"), job_id=ENTRA_JOB)
    assert result.needs_put
    assert schema_enum_errors(result.schema) == [error]  # still there, still where it was


def test_every_bad_value_is_listed_and_defaults_are_not_errors() -> None:
    schema = default_schema("scim", AD_JOB)
    mappings = attribute_mappings(schema)
    mappings[0]["flowType"] = "Add"  # as Microsoft's sample script writes it
    mappings[1]["flowType"] = "Add"
    del mappings[2]["flowBehavior"]  # absent: Graph's default applies
    mappings[3]["flowType"] = None
    assert schema_enum_errors(schema) == [
        f"{MAPPINGS}.attributeMappings[0].flowType: 'Add' is not one of Always, ObjectAddOnly, MultiValueAddOnly, "
        "ValueAddOnly, AttributeAddOnly",
        f"{MAPPINGS}.attributeMappings[1].flowType: 'Add' is not one of Always, ObjectAddOnly, MultiValueAddOnly, "
        "ValueAddOnly, AttributeAddOnly",
    ]


# ---- diff text ---------------------------------------------------------------------------------------------


def test_diff_text_of_the_sample_profile() -> None:
    result = plan(default_schema("api", ENTRA_JOB), load_profile("microsoft-sample"), job_id=ENTRA_JOB)
    assert result.diff_text().splitlines() == [
        f"+ attribute {HIRE_DATE} (DateTime)",
        f"+ mapping [{HIRE_DATE}] -> employeeHireDate (FlowWhenChanged, Always)",
        f"+ attribute {JOB_CODE} (String)",
        f"+ mapping [{JOB_CODE}] -> extensionAttribute1 (FlowWhenChanged, Always)",
    ]
    assert [c.detail for c in result.changes[:2]] == [
        f"adds {HIRE_DATE} (DateTime) to the source object",
        f"maps [{HIRE_DATE}] to employeeHireDate",
    ]


# ---- properties ----------------------------------------------------------------------------------------------

_NAMESPACES = [f"urn:ietf:params:scim:schemas:extension:{n}:1.0:User" for n in ("contoso", "hr", "Contoso")]
_TARGETS = [None, "employeeHireDate", "extensionAttribute1", "extensionAttribute2", "department", "accountEnabled",
            "displayName", "EmployeeHireDate"]  # fmt: skip
_extension_attribute = st.fixed_dictionaries(
    {"source": st.just("column")},
    optional={
        "type": st.sampled_from(["String", "DateTime", "Integer", "Boolean"]),
        "target": st.sampled_from(_TARGETS),
    },
)
_attribute_names = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,5}", fullmatch=True)
_extensions = st.dictionaries(
    st.sampled_from(_NAMESPACES),
    st.dictionaries(_attribute_names, _extension_attribute, min_size=1, max_size=5),
    max_size=3,
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    extensions=_extensions,
    variant=st.sampled_from(list(SCHEMA_VARIANTS)),
    job_id=st.sampled_from([ENTRA_JOB, AD_JOB]),
    overwrite=st.booleans(),
    include_standard=st.booleans(),
)
def test_sync_is_idempotent_for_any_extension_attributes(
    extensions: dict[str, dict[str, Any]], variant: str, job_id: str, overwrite: bool, include_standard: bool
) -> None:
    profile = minimal_profile(extensions=[{"namespace": ns, "attributes": a} for ns, a in extensions.items()])
    options = {"job_id": job_id, "overwrite": overwrite, "include_standard": include_standard}
    schema = default_schema(variant, job_id)
    first = plan(schema, profile, **options)
    assert set(schema_enum_errors(first.schema)) <= set(schema_enum_errors(schema)), "what it writes is valid"
    names = {a["name"].lower() for a in source_attributes(first.schema, variant)}
    assert all(f"{ns}:{name}".lower() in names for ns, attributes in extensions.items() for name in attributes)

    again = plan(first.schema, profile, **options)
    assert not again.needs_put
    assert not [c for c in again.changes if c.kind in WRITES]
    assert again.schema == first.schema
