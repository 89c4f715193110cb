"""Mapping profiles: which source field feeds which SCIM attribute, and how the value is cleaned.

A profile is a JSON file validated by these models (``extra="forbid"``, so a typo names the field).
``mappings/profile.schema.json`` is generated from them (``make schema``) for editors.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from provisioning.core.mapping.upn import normal_domain

Scalar = str | bool | int

CORE_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
_NAMESPACE = re.compile(r"^urn:[A-Za-z0-9][A-Za-z0-9-]{0,31}:[A-Za-z0-9()+,\-.:=@;$_!*'%/?#]+$")
_ATTRIBUTE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")


def known_zone(zone: str) -> str:
    """An IANA time zone name, or ValueError naming it."""
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {zone!r}") from exc
    return zone


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, use_attribute_docstrings=True)


# ---- transforms -------------------------------------------------------------------------------------


class Trim(_Model):
    op: Literal["trim"]


class Lower(_Model):
    op: Literal["lower"]


class Upper(_Model):
    op: Literal["upper"]


class FoldDiacritics(_Model):
    """Writes any script in ASCII (anyascii): "Zoë Ångström-Łukasz" becomes "Zoe Angstrom-Lukasz", "Дмитрий"
    "Dmitriy" and "李小龙" "LiXiaoLong" (for user names and mail nicknames)."""

    op: Literal["foldDiacritics"]


class Replace(_Model):
    """Replaces every match of a regular expression (for example to drop spaces and apostrophes)."""

    op: Literal["replace"]
    pattern: str
    """A Python regular expression."""
    replacement: str = ""

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str) -> str:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from exc
        return pattern


class Lookup(_Model):
    """Translates a value through a table, e.g. WorkerStatus Active -> true, Terminated -> false."""

    op: Literal["lookup"]
    table: dict[str, Scalar] = Field(min_length=1)
    default: Scalar | None = None
    """Used for values not in the table; without it such a value rejects the record."""
    ignoreCase: bool = True


class Equals(_Model):
    """True when the value equals one of ``value``, else false (e.g. WorkerStatus == "Active")."""

    op: Literal["equals"]
    value: str | list[str]
    ignoreCase: bool = False


class DateFormat(_Model):
    """Parses a date or date-time and writes it as ISO 8601 in a time zone, or as AD's generalized time.

    Entra's DateTime attributes need a time part and an offset: ``2021-05-01T00:00:00-05:00``.
    """

    op: Literal["date"]
    formats: list[str] = Field(default_factory=list)
    """strptime formats tried in order, after ISO 8601 and OData ``/Date(ms)/`` values."""
    timeZone: str = "UTC"
    """IANA zone of values that carry no offset, and of the output (generalizedTime is always UTC)."""
    output: Literal["dateTime", "date", "generalizedTime"] = "dateTime"
    """dateTime: ``2021-05-01T00:00:00-05:00`` (Entra DateTime attributes); date: ``2021-05-01``;
    generalizedTime: ``20210501050000.0Z`` in UTC, for an on-premises AD String attribute such as
    msDS-cloudExtensionAttribute1 that Entra Connect syncs to employeeHireDate."""

    @field_validator("timeZone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        return known_zone(zone)


Transform = Annotated[
    Trim | Lower | Upper | FoldDiacritics | Replace | Lookup | Equals | DateFormat,
    Field(discriminator="op"),
]

# ---- value rules --------------------------------------------------------------------------------------


class ValueRule(_Model):
    """Where one SCIM value comes from. A bare string is shorthand for ``{"source": "<field>"}``."""

    source: str | None = None
    """A CSV column, or a dotted/indexed path into a JSON record (``person.names[0].first``)."""
    constant: Scalar | None = None
    template: str | None = None
    """Fields joined in a pattern: ``"{FirstName}.{LastName}@contoso.com"``."""
    transforms: list[Transform] = Field(default_factory=list)
    default: Scalar | None = None
    """Used when the source value is empty."""
    ifEmpty: Literal["omit", "empty"] = "omit"
    """What an empty value does: leave the attribute out (default) or send it as ""."""

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return {"source": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _one_origin(self) -> ValueRule:
        origins = [n for n in ("source", "constant", "template") if getattr(self, n) is not None]
        if len(origins) != 1:
            raise ValueError("give exactly one of 'source', 'constant' or 'template'")
        return self

    def fields(self) -> list[str]:
        """The source fields this rule reads."""
        if self.source is not None:
            return [self.source]
        if self.template is not None:
            return template_fields(self.template)
        return []


def template_fields(template: str) -> list[str]:
    return re.findall(r"\{([^{}]+)\}", template)


Rule = Annotated[ValueRule, Field()]


class NameRules(_Model):
    givenName: Rule | None = None
    familyName: Rule | None = None
    middleName: Rule | None = None
    honorificPrefix: Rule | None = None
    honorificSuffix: Rule | None = None
    formatted: Rule | None = None


class EmailRules(_Model):
    value: Rule
    type: Rule | None = None
    primary: Rule | None = None
    display: Rule | None = None


class PhoneNumberRules(_Model):
    value: Rule
    type: Rule | None = None
    primary: Rule | None = None


class AddressRules(_Model):
    type: Rule | None = None
    streetAddress: Rule | None = None
    locality: Rule | None = None
    region: Rule | None = None
    postalCode: Rule | None = None
    country: Rule | None = None
    formatted: Rule | None = None
    primary: Rule | None = None


class EnterpriseRules(_Model):
    employeeNumber: Rule | None = None
    costCenter: Rule | None = None
    organization: Rule | None = None
    division: Rule | None = None
    department: Rule | None = None
    manager: Rule | None = None
    """The manager's externalId; sent as ``manager.value``."""


class ExtensionAttribute(ValueRule):
    type: Literal["String", "DateTime", "Integer", "Boolean"] = "String"
    """Values are coerced to this type; a value that cannot be is a rejected record."""
    target: str | None = None
    """The Entra attribute this feeds (``employeeHireDate``, ``extensionAttribute1``), for schema sync."""


class Extension(_Model):
    namespace: str
    """A URN such as ``urn:ietf:params:scim:schemas:extension:contoso:1.0:User``."""
    attributes: dict[str, ExtensionAttribute] = Field(min_length=1)

    @field_validator("namespace")
    @classmethod
    def _urn(cls, namespace: str) -> str:
        if not _NAMESPACE.match(namespace) or namespace in (CORE_SCHEMA, ENTERPRISE_SCHEMA):
            raise ValueError(f"{namespace!r} is not a custom extension URN")
        return namespace

    @field_validator("attributes")
    @classmethod
    def _names(cls, attributes: dict[str, ExtensionAttribute]) -> dict[str, ExtensionAttribute]:
        for name in attributes:
            if not _ATTRIBUTE_NAME.match(name):
                raise ValueError(f"{name!r} is not a valid attribute name")
        return attributes


class UserRules(_Model):
    """The SCIM user: core attributes, the enterprise extension and custom extensions."""

    externalId: Rule
    """The worker's id in the HR system; Entra matches it to employeeId."""
    userName: Rule | None = None
    active: Rule | None = None
    displayName: Rule | None = None
    nickName: Rule | None = None
    title: Rule | None = None
    userType: Rule | None = None
    preferredLanguage: Rule | None = None
    locale: Rule | None = None
    timezone: Rule | None = None
    profileUrl: Rule | None = None
    name: NameRules | None = None
    emails: list[EmailRules] = Field(default_factory=list)
    phoneNumbers: list[PhoneNumberRules] = Field(default_factory=list)
    addresses: list[AddressRules] = Field(default_factory=list)
    enterprise: EnterpriseRules | None = None
    extensions: list[Extension] = Field(default_factory=list)

    @field_validator("extensions")
    @classmethod
    def _distinct_namespaces(cls, extensions: list[Extension]) -> list[Extension]:
        namespaces = [e.namespace for e in extensions]
        if len(set(namespaces)) != len(namespaces):
            raise ValueError("each extension namespace may appear once")
        return extensions


class Lifecycle(_Model):
    """Joiners and leavers by their dates, not only by the HR status: pre-hires, future-dated terminations,
    and workers who vanish from the source."""

    hireDate: Rule | None = None
    """The first working day (ISO 8601, OData ``/Date(ms)/``, or a ``date`` transform's output)."""
    leaveDate: Rule | None = None
    """The last working day: from the day after, the worker is sent disabled, whatever the status says."""
    preHire: Literal["disable", "hold", "send"] = "disable"
    """A worker whose first day is more than ``activateDaysBefore`` days away: created disabled (the account is
    ready on day one), held back (not sent until then), or sent as the HR status says."""
    activeUntilLeaveDate: bool = False
    """A worker whose last day is still ahead is active until then, whatever the status says: for sources that
    show future-dated records today (SuccessFactors read with ``asOfDate``, where a termination entered
    ahead already shows status T)."""
    activateDaysBefore: int = Field(default=0, ge=0, le=365)
    """How many days before the first day a pre-hire is enabled (or, with ``hold``, first sent)."""
    missing: Literal["ignore", "disable"] = "ignore"
    """A worker sent active before and absent from a full source (many HR exports drop leavers): left alone,
    or sent ``active: false``. The safety stop weighs these disables like any other."""
    timeZone: str = "UTC"
    """The zone in which "today" is taken and dates without an offset are read."""

    @field_validator("timeZone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        return known_zone(zone)


class SourceOptions(_Model):
    encoding: str | None = None
    """Encoding of CSV sources without a byte-order mark (default UTF-8), e.g. ``cp1252``."""
    delimiter: str | None = None
    """Force the CSV delimiter (``,`` ``;`` ``tab``); detected from the header line by default."""
    trimValues: bool = True
    """Strip spaces around every source value before anything else."""


class Profile(_Model):
    """A mapping profile."""

    schema_: str | None = Field(default=None, alias="$schema")
    """Path or URL of the JSON Schema, for editors."""
    name: str = ""
    description: str = ""
    source: SourceOptions = Field(default_factory=SourceOptions)
    duplicates: Literal["reject", "first", "last"] = "reject"
    """Records sharing an externalId: reject all of them (default), or keep the first or the last."""
    updatesOnly: bool = False
    """The source only updates existing users, so ``userName`` is not required."""
    lifecycle: Lifecycle | None = None
    """Pre-hires, leave dates and vanished workers (off unless given)."""
    upnDomain: str | None = None
    """The domain given to a ``userName`` that has none (``EMP1001`` becomes ``EMP1001@contoso.com``): one of the
    tenant's verified domains. The setting HR_UPN_DOMAIN, when set, takes its place."""
    attributes: UserRules

    @field_validator("upnDomain")
    @classmethod
    def _domain(cls, value: str | None) -> str | None:
        return normal_domain(value)

    @model_validator(mode="after")
    def _required_attributes(self) -> Profile:
        if self.attributes.active is None:
            raise ValueError(
                "attributes.active is required: a record without 'active' has been reported to "
                'disable accounts; map it from a status field or set {"constant": true}'
            )
        if self.attributes.userName is None and not self.updatesOnly:
            raise ValueError("attributes.userName is required unless the profile sets updatesOnly: true")
        return self

    def source_fields(self) -> list[str]:
        """Every source field the profile reads, in order of first use."""
        found: dict[str, None] = {}
        lifecycle = [self.lifecycle.hireDate, self.lifecycle.leaveDate] if self.lifecycle else []
        for rule in [*iter_rules(self.attributes), *(r for r in lifecycle if r is not None)]:
            found.update(dict.fromkeys(rule.fields()))
        return list(found)


def iter_rules(model: BaseModel) -> list[ValueRule]:
    rules: list[ValueRule] = []
    for name in type(model).model_fields:
        value = getattr(model, name)
        items = value if isinstance(value, list) else [value]
        for item in items:
            if isinstance(item, ValueRule):
                rules.append(item)
            elif isinstance(item, Extension):
                rules.extend(item.attributes.values())
            elif isinstance(item, BaseModel):
                rules.extend(iter_rules(item))
    return rules


def profile_json_schema() -> dict[str, Any]:
    schema = Profile.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Mapping profile"
    return schema
