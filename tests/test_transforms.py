"""Each transform and each type coercion, with the errors a person sees."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from provisioning import RowError
from provisioning.core.mapping.profile import Transform
from provisioning.core.mapping.transforms import compile_transform, fold_diacritics, to_boolean, to_datetime, to_integer

_adapter: TypeAdapter[Transform] = TypeAdapter(Transform)


def apply(spec: dict[str, object], value: object) -> object:
    return compile_transform(_adapter.validate_python(spec))(value)  # type: ignore[arg-type]


def test_case_and_trim() -> None:
    assert apply({"op": "trim"}, "  a b  ") == "a b"
    assert apply({"op": "lower"}, "ÄBC") == "äbc"
    assert apply({"op": "upper"}, "abc") == "ABC"


def test_fold_diacritics_for_user_names() -> None:
    assert fold_diacritics("Zoë Ångström-Łukasz Søren Straße Æsa") == "Zoe Angstrom-Lukasz Soren Strasse AEsa"
    assert apply({"op": "foldDiacritics"}, "José") == "Jose"
    assert fold_diacritics("Дмитрий") == "Дмитрии"  # other scripts are kept, only marks go


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
