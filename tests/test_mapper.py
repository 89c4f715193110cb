"""Mapping records to SCIM users: each attribute group, the empty-value policy, coercion and rejects."""

from __future__ import annotations

from typing import Any

import pytest

from provisioning import CsvSource, JsonSource, ProfileError, RowError
from provisioning.core.mapping.mapper import UserMapper
from provisioning.core.mapping.profile import CORE_SCHEMA, ENTERPRISE_SCHEMA
from tests.support import minimal_profile

NS = "urn:ietf:params:scim:schemas:extension:contoso:1.0:User"


def map_one(header: str, row: str, **attributes: Any) -> dict[str, Any]:
    source = CsvSource(f"{header}\n{row}\n".encode())
    mapper = UserMapper(minimal_profile(**attributes), source)
    (_, record), *_ = source.records()
    return mapper(record)[0]


def test_minimal_user_lists_the_core_and_enterprise_schemas_externalId_userName_active() -> None:
    """Microsoft's bulkUpload page requires both URNs in ``schemas``, enterprise values or not."""
    user = map_one("id,user,status", "7, u7 ,Active")
    assert user == {
        "schemas": [CORE_SCHEMA, ENTERPRISE_SCHEMA],
        "externalId": "7",
        "userName": "u7@contoso.com",
        "active": True,
    }


def test_every_core_and_name_attribute() -> None:
    header = "id,user,status,dn,nick,title,type,lang,loc,tz,url,gn,fn,mn,pre,suf,full"
    row = "7,u,Active,Dee,D,Boss,Employee,en-US,en-US,Europe/Paris,https://x,Ann,Lee,Q,Dr.,III,Dr. Ann Q Lee III"
    user = map_one(
        header,
        row,
        displayName="dn",
        nickName="nick",
        title="title",
        userType="type",
        preferredLanguage="lang",
        locale="loc",
        timezone="tz",
        profileUrl="url",
        name={
            "givenName": "gn",
            "familyName": "fn",
            "middleName": "mn",
            "honorificPrefix": "pre",
            "honorificSuffix": "suf",
            "formatted": "full",
        },
    )
    assert user["displayName"] == "Dee" and user["timezone"] == "Europe/Paris" and user["profileUrl"] == "https://x"
    assert user["name"] == {
        "givenName": "Ann",
        "familyName": "Lee",
        "middleName": "Q",
        "honorificPrefix": "Dr.",
        "honorificSuffix": "III",
        "formatted": "Dr. Ann Q Lee III",
    }


def test_multi_valued_entries_with_constant_types_and_primary() -> None:
    user = map_one(
        "id,user,status,mail,phone,mobile,city,street",
        "7,u,Active,a@b.c,123,,Lyon,",
        emails=[{"value": "mail", "type": {"constant": "work"}, "primary": {"constant": True}}],
        phoneNumbers=[
            {"value": "phone", "type": {"constant": "work"}},
            {"value": "mobile", "type": {"constant": "mobile"}},
        ],
        addresses=[{"type": {"constant": "work"}, "locality": "city", "streetAddress": "street"}],
    )
    assert user["emails"] == [{"value": "a@b.c", "type": "work", "primary": True}]
    assert user["phoneNumbers"] == [{"value": "123", "type": "work"}]  # the empty mobile entry is left out
    assert user["addresses"] == [{"type": "work", "locality": "Lyon"}]


def test_an_entry_with_only_constants_is_left_out() -> None:
    user = map_one("id,user,status,city", "7,u,Active,", addresses=[{"type": {"constant": "work"}, "locality": "city"}])
    assert "addresses" not in user


def test_enterprise_extension_and_manager() -> None:
    user = map_one(
        "id,user,status,dept,boss",
        "7,u,Active,Sales,3",
        enterprise={"department": "dept", "manager": "boss", "employeeNumber": "id"},
    )
    assert user["schemas"] == [CORE_SCHEMA, ENTERPRISE_SCHEMA]
    assert user[ENTERPRISE_SCHEMA] == {"employeeNumber": "7", "department": "Sales", "manager": {"value": "3"}}


def test_the_enterprise_schema_is_listed_even_with_no_enterprise_values() -> None:
    user = map_one("id,user,status,dept,boss", "7,u,Active,,", enterprise={"department": "dept", "manager": "boss"})
    assert user["schemas"] == [CORE_SCHEMA, ENTERPRISE_SCHEMA], "the bulkUpload page requires both URNs"
    assert ENTERPRISE_SCHEMA not in user, "but no empty enterprise object is sent"


def test_custom_extension_with_coerced_types() -> None:
    extension = {
        "namespace": NS,
        "attributes": {
            "HireDate": {
                "source": "hired",
                "type": "DateTime",
                "transforms": [{"op": "date", "timeZone": "America/Chicago"}],
            },
            "Grade": {"source": "grade", "type": "Integer"},
            "Remote": {"source": "remote", "type": "Boolean"},
            "Code": "code",
        },
    }
    user = map_one("id,user,status,hired,grade,remote,code", "7,u,Active,2021-05-01,4,yes,X1", extensions=[extension])
    assert user["schemas"] == [CORE_SCHEMA, ENTERPRISE_SCHEMA, NS]
    assert user[NS] == {"HireDate": "2021-05-01T00:00:00-05:00", "Grade": 4, "Remote": True, "Code": "X1"}


def test_a_value_that_cannot_be_coerced_rejects_the_row_with_field_and_value() -> None:
    extension = {"namespace": NS, "attributes": {"Grade": {"source": "grade", "type": "Integer"}}}
    with pytest.raises(RowError) as caught:
        map_one("id,user,status,grade", "7,u,Active,four", extensions=[extension])
    assert caught.value.field == f"{NS}:Grade"
    assert caught.value.value == "four"
    assert "'four' is not an Integer" in caught.value.reason


def test_datetime_without_time_part_is_rejected() -> None:
    extension = {"namespace": NS, "attributes": {"HireDate": {"source": "hired", "type": "DateTime"}}}
    with pytest.raises(RowError, match="not a DateTime with a time and an offset"):
        map_one("id,user,status,hired", "7,u,Active,2021-05-01", extensions=[extension])


def test_empty_values_are_omitted_by_default_or_sent_empty_on_request() -> None:
    assert "title" not in map_one("id,user,status,t", "7,u,Active,", title="t")
    assert map_one("id,user,status,t", "7,u,Active,  ", title={"source": "t", "ifEmpty": "empty"})["title"] == ""
    assert map_one("id,user,status,t", "7,u,Active,", title={"source": "t", "default": "Staff"})["title"] == "Staff"


def test_values_are_trimmed_unless_the_profile_says_not() -> None:
    source = CsvSource(b"id,user,status,t\n7,u,Active, Boss \n")
    profile = minimal_profile(title="t").model_copy(
        update={"source": minimal_profile().source.model_copy(update={"trimValues": False})}
    )
    ((_, record),) = source.records()
    assert UserMapper(profile, source)(record)[0]["title"] == " Boss "


def test_template_with_transforms_for_user_names() -> None:
    rule = {
        "template": "{first}.{last}@contoso.com",
        "transforms": [
            {"op": "foldDiacritics"},
            {"op": "lower"},
            {"op": "replace", "pattern": "[^a-z0-9.@-]", "replacement": ""},
        ],
    }
    user = map_one("id,user,status,first,last", "7,,Active,Zoë,O'Brien Łuk", userName=rule)
    assert user["userName"] == "zoe.obrienluk@contoso.com"


def test_template_with_all_fields_empty_is_empty() -> None:
    with pytest.raises(RowError, match="userName is empty"):
        map_one("id,user,status,first,last", "7,,Active,,", userName={"template": "{first}.{last}@x.com"})


def test_constants_and_defaults_for_active() -> None:
    assert map_one("id,user,status", "7,u,", active={"constant": True})["active"] is True
    assert map_one("id,user,status", "7,u,", active={"source": "status", "default": False})["active"] is False
    with pytest.raises(RowError, match="active is empty"):
        map_one("id,user,status", "7,u,", active={"source": "status", "transforms": [{"op": "equals", "value": "A"}]})
    with pytest.raises(RowError, match="'maybe' is not a Boolean"):
        map_one("id,user,status", "7,u,maybe", active="status")


def test_required_attributes_reject_with_their_names() -> None:
    with pytest.raises(RowError) as caught:
        map_one("id,user,status", " ,u,Active")
    assert caught.value.field == "externalId"
    with pytest.raises(RowError) as caught:
        map_one("id,user,status", "7,,Active")
    assert caught.value.field == "userName"


def test_invalid_email_is_rejected() -> None:
    with pytest.raises(RowError) as caught:
        map_one("id,user,status,mail", "7,u,Active,not-an-email", emails=[{"value": "mail"}])
    assert (caught.value.field, caught.value.value) == ("emails[0].value", "not-an-email")


def test_bad_default_is_a_profile_error() -> None:
    with pytest.raises(ProfileError, match="active: default 'sometimes'"):
        UserMapper(
            minimal_profile(active={"source": "status", "default": "sometimes"}), CsvSource(b"id,user,status\n1,2,3\n")
        )


def test_json_records_with_paths_and_non_string_values() -> None:
    source = JsonSource(
        [{"person": {"id": 42, "names": [{"first": "Ann"}], "active": True}, "login": "ann"}], name="api"
    )
    profile = minimal_profile(
        externalId="person.id",
        userName="login",
        active="person.active",
        name={"givenName": "person.names[0].first", "familyName": "person.names[1].last"},
    )
    ((_, record),) = source.records()
    user, external_id, manager = UserMapper(profile, source)(record)
    assert (external_id, manager) == ("42", None)
    assert user["active"] is True and user["name"] == {"givenName": "Ann"}


def test_json_value_that_is_an_object_is_rejected() -> None:
    source = JsonSource([{"id": {"nested": 1}, "user": "u", "status": "Active"}])
    ((_, record),) = source.records()
    with pytest.raises(RowError, match="expected a single value, found dict"):
        UserMapper(minimal_profile(), source)(record)
