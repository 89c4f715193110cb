"""Each transform and each type coercion, with the errors a person sees."""

from __future__ import annotations

import re

import pytest
from pydantic import TypeAdapter, ValidationError

from provisioning import ProfileError, RowError, load_profile, parse_profile
from provisioning.core.mapping.profile import DateFormat, Transform
from provisioning.core.mapping.profiles import available_profiles
from provisioning.core.mapping.transforms import compile_transform, fold_diacritics, to_boolean, to_datetime, to_integer
from tests.support import ROOT, operations, run_plan

_adapter: TypeAdapter[Transform] = TypeAdapter(Transform)
BASE = {"externalId": "id", "userName": "u", "active": {"constant": True}}


def apply(spec: dict[str, object], value: object) -> object:
    return compile_transform(_adapter.validate_python(spec))(value)  # type: ignore[arg-type]


def test_case_and_trim() -> None:
    assert apply({"op": "trim"}, "  a b  ") == "a b"
    assert apply({"op": "lower"}, "ÄBC") == "äbc"
    assert apply({"op": "upper"}, "abc") == "ABC"


def test_fold_diacritics_for_user_names() -> None:
    assert fold_diacritics("Zoë Ångström-Łukasz Søren Straße Æsa") == "Zoe Angstrom-Lukasz Soren Strasse Aesa"
    assert apply({"op": "foldDiacritics"}, "José") == "Jose"
    # Every script becomes ASCII (anyascii), so no name turns into an empty user name.
    assert fold_diacritics("Дмитрий Иванов") == "Dmitriy Ivanov"
    assert fold_diacritics("李小龙") == "LiXiaoLong"
    assert fold_diacritics("Nguyễn Văn Đức") == "Nguyen Van Duc"


def test_replace_with_a_regular_expression() -> None:
    assert apply({"op": "replace", "pattern": "[^a-z.]", "replacement": ""}, "o'brien mc.x") == "obrienmc.x"
    with pytest.raises(ValidationError, match="not a valid regular expression"):
        _adapter.validate_python({"op": "replace", "pattern": "("})


def test_lookup_with_default_and_unknown_values() -> None:
    spec = {"op": "lookup", "table": {"Active": True, "Leave": True, "Terminated": False}}
    assert apply(spec, "active") is True
    assert apply(spec, "Terminated") is False
    with pytest.raises(RowError, match="'Retired' is not in the lookup table .known: Active, Leave, Terminated"):
        apply(spec, "Retired")
    assert apply({**spec, "default": False}, "Retired") is False
    with pytest.raises(RowError):
        apply({**spec, "ignoreCase": False}, "active")


def test_equals() -> None:
    assert apply({"op": "equals", "value": "Active"}, "Active") is True
    assert apply({"op": "equals", "value": "Active"}, "active") is False
    assert apply({"op": "equals", "value": "Active", "ignoreCase": True}, "ACTIVE") is True
    assert apply({"op": "equals", "value": ["A", "U"]}, "U") is True


@pytest.mark.parametrize(
    ("spec", "value", "expected"),
    [
        ({"timeZone": "America/Chicago"}, "2021-05-01", "2021-05-01T00:00:00-05:00"),
        ({"timeZone": "America/Chicago"}, "2021-01-15", "2021-01-15T00:00:00-06:00"),
        ({}, "2021-05-01", "2021-05-01T00:00:00Z"),
        ({}, "2021-05-01T08:30:00+02:00", "2021-05-01T06:30:00Z"),
        ({"formats": ["%m/%d/%Y"], "timeZone": "Europe/Paris"}, "07/10/2010", "2010-07-10T00:00:00+02:00"),
        ({}, "/Date(1514764800000)/", "2018-01-01T00:00:00Z"),
        ({"timeZone": "America/New_York"}, "/Date(1514764800000)/", "2018-01-01T00:00:00-05:00"),
        ({}, "/Date(1514768400000+0000)/", "2018-01-01T01:00:00Z"),
        ({"output": "date"}, "2021-05-01T23:00:00-05:00", "2021-05-02"),
    ],
)
def test_date_formatting_with_a_time_zone(spec: dict[str, object], value: str, expected: str) -> None:
    assert apply({"op": "date", **spec}, value) == expected


@pytest.mark.parametrize(
    ("spec", "value", "expected"),
    [
        ({"timeZone": "America/Chicago"}, "2021-05-01", "20210501050000.0Z"),  # date only, in the zone, to UTC
        ({}, "2021-05-01", "20210501000000.0Z"),
        ({}, "2021-05-01T08:30:00+02:00", "20210501063000.0Z"),  # the offset wins over timeZone
        ({"timeZone": "Asia/Tokyo"}, "2021-05-01T08:30:00-05:00", "20210501133000.0Z"),
        ({}, "2021-05-01T08:30:45.987Z", "20210501083045.0Z"),  # seconds truncated, as the ISO output
        ({}, "/Date(1514764800000)/", "20180101000000.0Z"),
        ({"timeZone": "America/New_York"}, "/Date(1514764800000)/", "20180101050000.0Z"),  # OData plain date
        ({}, "/Date(1514768400000+0000)/", "20180101010000.0Z"),
        ({"formats": ["%m/%d/%Y"], "timeZone": "Europe/Paris"}, "07/10/2010", "20100709220000.0Z"),
        ({}, "0001-01-01", "00010101000000.0Z"),
    ],
)
def test_date_as_ad_generalized_time(spec: dict[str, object], value: str, expected: str) -> None:
    assert apply({"op": "date", "output": "generalizedTime", **spec}, value) == expected


def test_a_date_moved_out_of_the_calendar_rejects_the_row() -> None:
    with pytest.raises(RowError, match="'0001-01-01' is outside the years 1 to 9999"):
        apply({"op": "date", "output": "generalizedTime", "timeZone": "Europe/Paris"}, "0001-01-01")
    with pytest.raises(RowError, match="outside the years 1 to 9999"):
        apply({"op": "date"}, "9999-12-31T23:00:00-05:00")
    with pytest.raises(RowError, match="outside the years 1 to 9999"):
        apply({"op": "date"}, "/Date(999999999999999999)/")


def test_a_profile_writing_generalized_time_to_an_ad_string_attribute_validates() -> None:
    hire_date = {
        "source": "HireDate",
        "type": "String",
        "target": "msDS-cloudExtensionAttribute1",
        "transforms": [{"op": "date", "output": "generalizedTime"}],
    }
    extension = {
        "namespace": "urn:ietf:params:scim:schemas:extension:contoso:1.0:User",
        "attributes": {"HireDate": hire_date},
    }
    profile = parse_profile({"attributes": {**BASE, "extensions": [extension]}})
    (transform,) = profile.attributes.extensions[0].attributes["HireDate"].transforms
    assert isinstance(transform, DateFormat) and transform.output == "generalizedTime"
    with pytest.raises(ProfileError, match="'dateTime', 'date' or 'generalizedTime'"):
        parse_profile(
            {"attributes": {**BASE, "title": {"source": "h", "transforms": [{"op": "date", "output": "ad"}]}}}
        )


def test_the_bundled_ad_profile_differs_from_microsoft_sample_only_in_the_hire_date() -> None:
    sample, ad = load_profile("microsoft-sample"), load_profile("microsoft-sample-ad")
    assert ad.name == "microsoft-sample-ad" and "microsoft-sample-ad" in available_profiles()
    _, sample_rejects, sample_bodies = run_plan(ROOT / "samples" / "workers.csv", sample)
    _, ad_rejects, ad_bodies = run_plan(ROOT / "samples" / "workers.csv", ad)
    assert [r.line for r in ad_rejects] == [r.line for r in sample_rejects]
    namespace = "urn:ietf:params:scim:schemas:extension:contoso:1.0:User"
    checked = 0
    for sample_op, ad_op in zip(operations(sample_bodies), operations(ad_bodies), strict=True):
        sample_data, ad_data = sample_op["data"], ad_op["data"]
        sample_hire = sample_data.get(namespace, {}).pop("HireDate", None)
        ad_hire = ad_data.get(namespace, {}).pop("HireDate", None)
        assert ad_data == sample_data
        if sample_hire is not None:  # 2021-05-01T00:00:00Z -> 20210501000000.0Z
            assert ad_hire == re.sub(r"[-:T]", "", sample_hire).removesuffix("Z") + ".0Z"
            checked += 1
    assert checked > 200


def test_date_errors() -> None:
    with pytest.raises(RowError, match="'2019-02-30' is not a date"):
        apply({"op": "date"}, "2019-02-30")
    with pytest.raises(ValidationError, match="unknown time zone 'Mars/Olympus'"):
        _adapter.validate_python({"op": "date", "timeZone": "Mars/Olympus"})


def test_unknown_transform_names_the_op() -> None:
    with pytest.raises(ValidationError, match="capitalize"):
        _adapter.validate_python({"op": "capitalize"})


@pytest.mark.parametrize("text", ["true", "TRUE", "Yes", "y", "1", "t"])
def test_boolean_true(text: str) -> None:
    assert to_boolean(text) is True


@pytest.mark.parametrize("text", ["false", "No", "n", "0", "F"])
def test_boolean_false(text: str) -> None:
    assert to_boolean(text) is False


def test_coercion_errors() -> None:
    with pytest.raises(RowError, match="'maybe' is not a Boolean"):
        to_boolean("maybe")
    assert to_integer("+42") == 42
    with pytest.raises(RowError, match="'4.2' is not an Integer"):
        to_integer("4.2")
    assert to_datetime("2021-05-01T00:00:00-05:00") == "2021-05-01T00:00:00-05:00"
    for bad in ("2021-05-01", "2021-05-01T00:00:00", "soon"):
        with pytest.raises(RowError, match="not a DateTime with a time and an offset"):
            to_datetime(bad)
