"""The standard SCIM attributes a profile sends, by the names a job schema gives its API source.

Core attributes keep their SCIM names (``userName``, ``name.givenName``), enterprise ones are
prefixed by the enterprise URN, and multi-valued ones are likely named with a filter,
``emails[type eq "work"].value``. That last form is unconfirmed, so it is matched loosely: case,
spaces and quotes are ignored, and an entry whose ``type`` is not a constant in the profile matches
any filter.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from pydantic import BaseModel

from provisioning.core.mapping.profile import ENTERPRISE_SCHEMA, Profile, ValueRule

_GROUPS = ("name", "enterprise")
_MULTI_VALUED = ("emails", "phoneNumbers", "addresses")
_NOT_SENT_AS_ATTRIBUTES = ("type", "primary")
"""Sub-attributes of multi-valued entries that select the entry rather than being attributes of it."""
_ANY_TYPE = "work"
"""Shown in the expected name when the profile's entry type is not a constant (Microsoft's samples use it)."""


@dataclass(frozen=True)
class StandardAttribute:
    """A standard attribute the profile maps, and how to recognise it among the source's attributes."""

    profile_path: str
    """Where the profile maps it: ``name.givenName``, ``emails[0].value``, ``enterprise.department``."""
    source_name: str
    """The name we expect the job schema to use: ``emails[type eq "work"].value``."""
    collection: str | None = None
    """For multi-valued entries: ``emails``, ``phoneNumbers`` or ``addresses``."""
    sub_attribute: str | None = None
    entry_type: str | None = None
    """The entry's type when the profile sets it as a constant; None matches any filter."""


def standard_attributes(profile: Profile) -> list[StandardAttribute]:
    """Every standard (core and enterprise) attribute the profile maps, once each, in profile order."""
    rules = profile.attributes
    found: dict[tuple[str, str | None], StandardAttribute] = {}

    def add(attribute: StandardAttribute) -> None:
        found.setdefault((attribute.source_name.lower(), attribute.entry_type), attribute)

    for key in type(rules).model_fields:
        value = getattr(rules, key)
        if isinstance(value, ValueRule):
            add(StandardAttribute(key, key))
        elif key in _GROUPS and isinstance(value, BaseModel):
            prefix = f"{ENTERPRISE_SCHEMA}:" if key == "enterprise" else "name."
            for sub in _set_fields(value):
                add(StandardAttribute(f"{key}.{sub}", f"{prefix}{sub}"))
        elif key in _MULTI_VALUED:
            for index, entry in enumerate(value):
                entry_type = _constant_type(entry.type)
                for sub in _set_fields(entry):
                    if sub not in _NOT_SENT_AS_ATTRIBUTES:
                        name = f'{key}[type eq "{entry_type or _ANY_TYPE}"].{sub}'
                        add(StandardAttribute(f"{key}[{index}].{sub}", name, key, sub, entry_type))
    return list(found.values())


def find_source_attribute(wanted: StandardAttribute, names: Iterable[str]) -> str | None:
    """The name of the source attribute that carries ``wanted``, or None when the source has none."""
    if wanted.collection is None or wanted.sub_attribute is None:
        key = _normalise(wanted.source_name)
        return next((name for name in names if _normalise(name) == key), None)
    collection, sub = re.escape(wanted.collection.lower()), re.escape(wanted.sub_attribute.lower())
    pattern = re.compile(rf"^{collection}(\[(?P<filter>[^\]]*)\])?\.{sub}$")
    wanted_filter = f"typeeq{wanted.entry_type.lower()}" if wanted.entry_type else None
    for name in names:
        match = pattern.match(_normalise(name))
        if match and (wanted_filter is None or match["filter"] in (None, wanted_filter)):
            return name
    return None


def _normalise(name: str) -> str:
    return re.sub(r"[\s\"']", "", name).lower()


def _set_fields(model: BaseModel) -> list[str]:
    return [key for key in type(model).model_fields if getattr(model, key) is not None]


def _constant_type(rule: ValueRule | None) -> str | None:
    if rule is None or not isinstance(rule.constant, str) or rule.transforms:
        return None
    return rule.constant
