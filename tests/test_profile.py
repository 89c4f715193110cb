"""Mapping profiles: the model's errors, its committed JSON Schema, loading by name, the flat form."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from provisioning import ProfileError, load_profile, parse_profile
from provisioning.core.mapping.profile import profile_json_schema
from provisioning.core.mapping.profiles import MAPPINGS_DIR, available_profiles
from tests.support import ROOT

BASE = {"externalId": "id", "userName": "u", "active": {"constant": True}}


def test_a_typo_names_the_field() -> None:
    with pytest.raises(ProfileError, match=r"attributes\.titel: Extra inputs are not permitted"):
        parse_profile({"attributes": {**BASE, "titel": "JobTitle"}})
    with pytest.raises(ProfileError, match=r"attributes\.name\.givnName"):
        parse_profile({"attributes": {**BASE, "name": {"givnName": "x"}}})


def test_active_is_required_unless_set() -> None:
    with pytest.raises(ProfileError, match="attributes.active is required"):
        parse_profile({"attributes": {"externalId": "id", "userName": "u"}})


def test_user_name_is_required_unless_updates_only() -> None:
    with pytest.raises(ProfileError, match="userName is required unless the profile sets updatesOnly"):
        parse_profile({"attributes": {"externalId": "id", "active": {"constant": True}}})
    assert parse_profile({"updatesOnly": True, "attributes": {"externalId": "id", "active": {"constant": True}}})


def test_a_rule_has_exactly_one_origin() -> None:
    with pytest.raises(ProfileError, match="exactly one of 'source', 'constant' or 'template'"):
        parse_profile({"attributes": {**BASE, "title": {"source": "a", "constant": "b"}}})
    with pytest.raises(ProfileError, match="exactly one of"):
        parse_profile({"attributes": {**BASE, "title": {"transforms": []}}})


def test_extension_namespaces_and_attribute_names_are_checked() -> None:
    with pytest.raises(ProfileError, match="is not a custom extension URN"):
        parse_profile({"attributes": {**BASE, "extensions": [{"namespace": "contoso", "attributes": {"A": "a"}}]}})
    with pytest.raises(ProfileError, match="is not a custom extension URN"):
        ext = {"namespace": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "attributes": {"A": "a"}}
        parse_profile({"attributes": {**BASE, "extensions": [ext]}})
    with pytest.raises(ProfileError, match="'Hire Date' is not a valid attribute name"):
        ext = {"namespace": "urn:x:y:1.0:User", "attributes": {"Hire Date": "a"}}
        parse_profile({"attributes": {**BASE, "extensions": [ext]}})
    with pytest.raises(ProfileError, match="Input should be 'String', 'DateTime', 'Integer' or 'Boolean'"):
        ext = {"namespace": "urn:x:y:1.0:User", "attributes": {"A": {"source": "a", "type": "Date"}}}
        parse_profile({"attributes": {**BASE, "extensions": [ext]}})


def test_duplicate_policy_values() -> None:
    assert parse_profile({"duplicates": "last", "attributes": BASE}).duplicates == "last"
    with pytest.raises(ProfileError, match="duplicates"):
        parse_profile({"duplicates": "newest", "attributes": BASE})


def test_not_json_and_not_an_object() -> None:
    with pytest.raises(ProfileError, match="p.json: not valid JSON"):
        parse_profile(b"{", origin="p.json")
    with pytest.raises(ProfileError, match="a mapping profile is a JSON object"):
        parse_profile(b"[]")


def test_committed_json_schema_matches_the_model() -> None:
    committed = json.loads((MAPPINGS_DIR / "profile.schema.json").read_text())
    assert committed == profile_json_schema(), "run `make schema` and commit mappings/profile.schema.json"
    assert committed["additionalProperties"] is False


def test_every_shipped_profile_loads_and_names_its_schema() -> None:
    names = available_profiles()
    assert "microsoft-sample" in names
    for name in names:
        profile = load_profile(name)
        assert profile.name == name
        assert json.loads((MAPPINGS_DIR / f"{name}.json").read_text())["$schema"] == "./profile.schema.json"


def test_load_by_path_or_name_and_unknown_names() -> None:
    assert load_profile(str(MAPPINGS_DIR / "microsoft-sample.json")).name == "microsoft-sample"
    with pytest.raises(ProfileError, match=r"mapping profile 'nope' not found \(profiles in .*microsoft-sample"):
        load_profile("nope")
    with pytest.raises(ProfileError, match="not found"):
        load_profile("../etc/passwd")


def test_microsoft_sample_matches_the_psd1_mapping() -> None:
    """Every assignment of Microsoft's AttributeMapping.psd1, and the two custom attributes."""
    profile = load_profile("microsoft-sample")
    rules = profile.attributes
    plain = {
        k: getattr(rules, k).source for k in ("externalId", "userName", "displayName", "nickName", "userType", "title")
    }
    assert plain == {
        "externalId": "WorkerID",
        "userName": "UserID",
        "displayName": "FullName",
        "nickName": "UserID",
        "userType": "WorkerType",
        "title": "JobTitle",
    }
    assert rules.active is not None and rules.active.transforms[0].model_dump() == {
        "op": "equals",
        "value": "Active",
        "ignoreCase": False,
    }
    assert rules.name is not None and (rules.name.familyName.source, rules.name.givenName.source) == (
        "LastName",
        "FirstName",
    )  # type: ignore[union-attr]
    address = rules.addresses[0]
    assert address.type is not None and address.type.constant == "work"
    assert [getattr(address, k).source for k in ("streetAddress", "locality", "postalCode", "country")] == [
        "StreetAddress",
        "City",
        "ZipCode",
        "CountryCode",
    ]
    phone = rules.phoneNumbers[0]
    assert (phone.value.source, phone.type.constant) == ("OfficePhone", "work")  # type: ignore[union-attr]
    enterprise = rules.enterprise
    assert enterprise is not None
    assert {
        k: getattr(enterprise, k).source
        for k in ("employeeNumber", "costCenter", "organization", "division", "department", "manager")
    } == {
        "employeeNumber": "WorkerID",
        "costCenter": "CostCenter",
        "organization": "Company",
        "division": "Division",
        "department": "Department",
        "manager": "ManagerID",
    }
    (extension,) = rules.extensions
    assert extension.attributes["HireDate"].type == "DateTime"
    assert extension.attributes["HireDate"].target == "employeeHireDate"
    assert extension.attributes["JobCode"].source == "Custom01"


def test_flat_mapping_form_is_imported() -> None:
    flat = {
        "externalId": "WorkerID",
        "userName": "UserID",
        "active": "WorkerStatus",
        "name.givenName": "FirstName",
        "enterprise.department": "Department",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter": "CostCenter",
        "enterprise.manager": "ManagerID",
        "custom.HireDate": "HireDate",
        "addresses.0.locality": "City",
        "addresses.0.country": "CountryCode",
        "emails.0.value": "Email",
    }
    profile = parse_profile(json.dumps(flat), default_name="imported")
    rules = profile.attributes
    assert rules.enterprise is not None and rules.enterprise.department.source == "Department"  # type: ignore[union-attr]
    assert rules.enterprise.costCenter.source == "CostCenter"  # type: ignore[union-attr]
    assert rules.addresses[0].locality.source == "City"  # type: ignore[union-attr]
    assert rules.addresses[0].type.constant == "work"  # type: ignore[union-attr]
    assert rules.emails[0].value.source == "Email"
    assert rules.extensions[0].attributes["HireDate"].source == "HireDate"
    assert rules.active is not None and rules.active.transforms[0].op == "lookup"


def test_flat_mapping_with_unknown_targets_names_them() -> None:
    with pytest.raises(ProfileError, match="unknown target attributes: enterprise.salary, phone"):
        parse_profile({"externalId": "a", "userName": "b", "enterprise.salary": "c", "phone": "d"})


def test_the_schema_file_is_valid_json_schema_for_editors() -> None:
    schema = json.loads(Path(ROOT / "mappings" / "profile.schema.json").read_text())
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert "attributes" in schema["required"]
