"""Compiling a mapping profile against a source into one fast function: record -> SCIM user.

The compiled ``UserMapper`` reads each field through the source's own getter (a column index for CSV,
a path for JSON), so the per-record work is a few closure calls and dict stores.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from provisioning.core.errors import ProfileError, RowError
from provisioning.core.mapping.lifecycle import LifecyclePolicy
from provisioning.core.mapping.profile import (
    CORE_SCHEMA,
    ENTERPRISE_SCHEMA,
    EnterpriseRules,
    Profile,
    Scalar,
    ValueRule,
    template_fields,
)
from provisioning.core.mapping.transforms import COERCIONS, compile_transform, to_string
from provisioning.core.mapping.upn import user_principal_name
from provisioning.core.read.records import Getter, RecordSource

OMIT: Any = object()
"""What a compiled rule returns when the attribute is left out of the user."""
_MISSING: Any = object()
_NO_EXTERNAL_ID = "externalId is empty: every record needs the worker's id"
_MEMO_SIZE = 16384
"""Distinct source values whose transformed result a rule keeps."""

ValueOf = Callable[[Any], Any]
MappedUser = tuple[dict[str, Any], str, str | None]
"""The SCIM user, its externalId, and its manager's externalId (or None)."""

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_CORE_STRINGS = ("displayName", "nickName", "title", "userType", "preferredLanguage", "locale", "timezone",
                 "profileUrl")  # fmt: skip
_MULTI_VALUED = {
    "emails": ("value", "display"),
    "phoneNumbers": ("value",),
    "addresses": ("streetAddress", "locality", "region", "postalCode", "country", "formatted"),
}
_ENTERPRISE = ("employeeNumber", "costCenter", "organization", "division", "department")


class UserMapper:
    """A profile compiled for one source. Call it with a record; it returns a ``MappedUser``."""

    def __init__(self, profile: Profile, source: RecordSource, *, now: datetime | None = None) -> None:
        """``now``: the moment the run's "today" is taken from (pre-hires, leave dates); default: the clock."""
        self.profile = profile
        compile_rule = _RuleCompiler(source, trim=profile.source.trimValues)
        lifecycle = profile.lifecycle
        self.lifecycle = (
            LifecyclePolicy(
                lifecycle,
                compile_rule(lifecycle.hireDate, "lifecycle.hireDate") if lifecycle.hireDate else None,
                compile_rule(lifecycle.leaveDate, "lifecycle.leaveDate") if lifecycle.leaveDate else None,
                now or datetime.now(UTC),
                OMIT,
            )
            if lifecycle is not None
            else None
        )
        rules = profile.attributes
        self._external_id = compile_rule(rules.externalId, "externalId")
        self._user_name = compile_rule(rules.userName, "userName") if rules.userName else None
        self._user_name_required = not profile.updatesOnly
        self._upn_domain = profile.upnDomain
        assert rules.active is not None  # the model requires it
        self._active = compile_rule(rules.active, "active", "Boolean")
        self._core = [
            (key, compile_rule(rule, key)) for key in _CORE_STRINGS if (rule := getattr(rules, key)) is not None
        ]
        self._name = _compile_group(rules.name, "name", compile_rule)
        self._multi = [
            (attribute, [_compile_entry(entry, f"{attribute}[{i}]", content, compile_rule)
                         for i, entry in enumerate(getattr(rules, attribute))])
            for attribute, content in _MULTI_VALUED.items()
            if getattr(rules, attribute)
        ]  # fmt: skip
        self._enterprise = _compile_group(rules.enterprise, "enterprise", compile_rule, _ENTERPRISE)
        manager = rules.enterprise.manager if rules.enterprise else None
        self._manager = compile_rule(manager, "enterprise.manager") if manager else None
        self._extensions = [
            (
                extension.namespace,
                [
                    (name, compile_rule(rule, f"{extension.namespace}:{name}", rule.type))
                    for name, rule in extension.attributes.items()
                ],
            )
            for extension in rules.extensions
        ]

        self.map: Callable[[Any], MappedUser] = _generated(self)
        """The same function as ``mapped``, generated as one flat function: plain columns read inline."""

    def external_id(self, record: Any) -> Any:
        """The record's externalId (or ``OMIT``), for reports about records that failed elsewhere."""
        return self._external_id(record)

    def __call__(self, record: Any) -> MappedUser:
        return self.map(record)

    def mapped(self, record: Any) -> MappedUser:
        """The reference mapping, rule by rule (``map`` does the same in one generated function)."""
        external_id = self._external_id(record)
        if external_id is OMIT:
            raise RowError(_NO_EXTERNAL_ID, field="externalId")
        user: dict[str, Any] = {"schemas": None, "externalId": external_id}
        if self._user_name is not None:
            user_name = self._user_name(record)
            if user_name is not OMIT:
                user["userName"] = user_principal_name(str(user_name), self._upn_domain)
            elif self._user_name_required:
                raise RowError("userName is empty: Entra needs it to create the user", field="userName")
        active = self._active(record)
        if active is OMIT:
            raise RowError("active is empty and its rule has no default", field="active")
        if self.lifecycle is not None:
            active = self.lifecycle.decide(record, str(external_id), bool(active))
        user["active"] = active
        for key, value_of in self._core:
            value = value_of(record)
            if value is not OMIT:
                user[key] = value
        if self._name:
            name = _group(self._name, record)
            if name:
                user["name"] = name
        for attribute, entries in self._multi:
            values = [entry for entry_rules in entries if (entry := _entry(entry_rules, record))]
            if values:
                user[attribute] = values
        # The core and the enterprise URNs are always listed: Microsoft's bulkUpload page requires both,
        # whether or not the record has enterprise values; then each custom namespace used.
        schemas = [CORE_SCHEMA, ENTERPRISE_SCHEMA]
        enterprise = _group(self._enterprise, record) if self._enterprise else {}
        manager_id = None
        if self._manager is not None:
            manager = self._manager(record)
            if manager is not OMIT:
                manager_id = manager
                enterprise["manager"] = {"value": manager}
        if enterprise:
            user[ENTERPRISE_SCHEMA] = enterprise
        for namespace, attributes in self._extensions:
            extension = _group(attributes, record)
            if extension:
                user[namespace] = extension
                schemas.append(namespace)
        user["schemas"] = schemas
        return user, external_id, manager_id


# ---- one generated function for the whole profile ------------------------------------------------


class _Source:
    """Python source of the generated mapping function, with the values it refers to."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.names: dict[str, Any] = {"OMIT": OMIT, "RowError": RowError}
        self.trimmed: set[int] = set()

    def name(self, value: Any) -> str:
        name = f"_v{len(self.names)}"
        self.names[name] = value
        return name

    def emit(self, depth: int, line: str) -> None:
        self.lines.append("    " * depth + line)

    def value(self, depth: int, target: str, value_of: ValueOf) -> bool:
        """``target = <the rule's value>``; True when an empty value is tested by truth (no OMIT check)."""
        column = getattr(value_of, "column", None)
        if column is not None:
            index, empty, trim = column
            read = f"record[{index}]"
            if trim:  # each column trimmed once, however many attributes it feeds
                read = f"c{index}"
                if index not in self.trimmed:
                    self.trimmed.add(index)
                    self.emit(depth, f"{read} = record[{index}].strip()")
            if empty is OMIT:
                self.emit(depth, f"{target} = {read}")
                return True
            self.emit(depth, f"{target} = {read} or {self.name(empty)}")
            return False
        if hasattr(value_of, "constant"):
            self.emit(depth, f"{target} = {self.name(value_of.constant)}")
            return False
        self.emit(depth, f"{target} = {self.name(value_of)}(record)")
        return False

    def present(self, by_truth: bool, target: str) -> str:
        return target if by_truth else f"{target} is not OMIT"

    def group(self, depth: int, target: str, compiled: list[tuple[str, ValueOf]]) -> None:
        self.emit(depth, f"{target} = {{}}")
        for key, value_of in compiled:
            by_truth = self.value(depth, "value", value_of)
            self.emit(depth, f"if {self.present(by_truth, 'value')}:")
            self.emit(depth + 1, f"{target}[{key!r}] = value")


def _generated(mapper: UserMapper) -> Callable[[Any], MappedUser]:
    """``mapper.mapped`` as one function: the same rules in the same order, without a call per rule."""
    src = _Source()
    emit = src.emit
    emit(0, "def mapped(record):")
    by_truth = src.value(1, "external_id", mapper._external_id)
    emit(1, f"if {'not external_id' if by_truth else 'external_id is OMIT'}:")
    emit(2, f"raise RowError({_NO_EXTERNAL_ID!r}, field='externalId')")
    emit(1, "user = {'schemas': None, 'externalId': external_id}")
    if mapper._user_name is not None:
        by_truth = src.value(1, "user_name", mapper._user_name)
        upn, domain = src.name(user_principal_name), src.name(mapper._upn_domain)
        emit(1, f"if {src.present(by_truth, 'user_name')}:")
        emit(2, f"user['userName'] = {upn}(str(user_name), {domain})")
        if mapper._user_name_required:
            emit(1, "else:")
            emit(2, "raise RowError('userName is empty: Entra needs it to create the user', field='userName')")
    by_truth = src.value(1, "active", mapper._active)
    emit(1, f"if {'not active' if by_truth else 'active is OMIT'}:")
    emit(2, "raise RowError('active is empty and its rule has no default', field='active')")
    if mapper.lifecycle is not None:
        emit(1, f"active = {src.name(mapper.lifecycle.decide)}(record, str(external_id), bool(active))")
    emit(1, "user['active'] = active")
    for key, value_of in mapper._core:
        by_truth = src.value(1, "value", value_of)
        emit(1, f"if {src.present(by_truth, 'value')}:")
        emit(2, f"user[{key!r}] = value")
    if mapper._name:
        src.group(1, "name", mapper._name)
        emit(1, "if name:")
        emit(2, "user['name'] = name")
    for attribute, entries in mapper._multi:
        emit(1, "values = []")
        for entry_rules in entries:
            emit(1, "entry = {}")
            emit(1, "has_content = False")
            for key, value_of, is_content in entry_rules:
                by_truth = src.value(1, "value", value_of)
                emit(1, f"if {src.present(by_truth, 'value')}:")
                emit(2, f"entry[{key!r}] = value")
                if is_content:
                    emit(2, "has_content = True")
            emit(1, "if has_content:")
            emit(2, "values.append(entry)")
        emit(1, "if values:")
        emit(2, f"user[{attribute!r}] = values")
    emit(1, f"schemas = [{CORE_SCHEMA!r}, {ENTERPRISE_SCHEMA!r}]")
    if mapper._enterprise:
        src.group(1, "enterprise", mapper._enterprise)
    else:
        emit(1, "enterprise = {}")
    emit(1, "manager_id = None")
    if mapper._manager is not None:
        by_truth = src.value(1, "manager", mapper._manager)
        emit(1, f"if {src.present(by_truth, 'manager')}:")
        emit(2, "manager_id = manager")
        emit(2, "enterprise['manager'] = {'value': manager}")
    emit(1, "if enterprise:")
    emit(2, f"user[{ENTERPRISE_SCHEMA!r}] = enterprise")
    for namespace, attributes in mapper._extensions:
        src.group(1, "extension", attributes)
        emit(1, "if extension:")
        emit(2, f"user[{namespace!r}] = extension")
        emit(2, f"schemas.append({namespace!r})")
    emit(1, "user['schemas'] = schemas")
    emit(1, "return user, external_id, manager_id")
    scope = dict(src.names)
    exec(compile("\n".join(src.lines), "<mapping profile>", "exec"), scope)  # our own source, from the profile's rules
    function: Callable[[Any], MappedUser] = scope["mapped"]
    return function


# ---- compiling one rule ------------------------------------------------------------------------------


class _RuleCompiler:
    def __init__(self, source: RecordSource, *, trim: bool) -> None:
        self._source = source
        self._trim = trim

    def __call__(self, rule: ValueRule, attribute: str, type_name: str = "String") -> ValueOf:
        coerce = COERCIONS[type_name]
        transforms = [compile_transform(t) for t in rule.transforms]
        empty = self._empty_result(rule, attribute, type_name, coerce)
        if rule.constant is not None:
            constant = _apply(rule.constant, transforms, coerce, attribute)
            constant_of: Any = lambda record: constant  # noqa: E731
            constant_of.constant = constant
            return constant_of
        if not transforms and coerce is to_string:
            column = self._column(rule)
            if column is not None:
                return _plain_column(column, empty, trim=self._trim)
        read = self._reader(rule)
        if not transforms and coerce is to_string:
            return _plain_text(read, empty)

        # Transforms and coercions are pure functions of the text: the results of the first values seen
        # are kept (statuses, dates, codes repeat), errors never are.
        memo: dict[Any, Any] = {}
        missing = memo.get

        def value_of(record: Any) -> Any:
            raw = read(record)
            if raw == "":
                return empty
            value = missing(raw, _MISSING)
            if value is not _MISSING:
                return value
            value = _apply(raw, transforms, coerce, attribute)
            if value == "":
                value = empty
            if len(memo) < _MEMO_SIZE:
                memo[raw] = value
            return value

        return value_of

    def _reader(self, rule: ValueRule) -> Getter:
        """A function returning the source text of the rule (trimmed when the profile says so)."""
        if rule.template is not None:
            return self._template(rule.template)
        assert rule.source is not None
        return self._field(rule.source)

    def _column(self, rule: ValueRule) -> int | None:
        """The CSV column index of a plain source rule (None for JSON sources and templates)."""
        column_index = getattr(self._source, "column_index", None)
        if rule.source is None or column_index is None:
            return None
        index: int = column_index(rule.source)
        return index

    def _field(self, field: str) -> Getter:
        column_index = getattr(self._source, "column_index", None)
        if column_index is not None:
            index = column_index(field)
            return (lambda record: record[index].strip()) if self._trim else (lambda record: record[index])
        get = self._source.getter(field)
        trim = self._trim

        def read(record: Any) -> str:
            value = get(record)
            if value.__class__ is not str:
                value = _text_of(value, field)
            return value.strip() if trim else value

        return read

    def _template(self, template: str) -> Getter:
        names = template_fields(template)
        literals = re.split(r"\{[^{}]+\}", template)
        readers = [self._field(name) for name in names]

        def read(record: Any) -> str:
            values = [r(record) for r in readers]
            if not any(values):
                return ""
            parts = [literals[0]]
            for value, literal in zip(values, literals[1:], strict=True):
                parts.append(value)
                parts.append(literal)
            return "".join(parts)

        return read

    @staticmethod
    def _empty_result(rule: ValueRule, attribute: str, type_name: str, coerce: Callable[[Scalar], Scalar]) -> Any:
        if rule.default is not None:
            try:
                return coerce(rule.default)
            except RowError as exc:
                raise ProfileError(f"{attribute}: default {rule.default!r}: {exc.reason}") from exc
        if rule.ifEmpty == "empty" and type_name == "String":
            return ""
        return OMIT


def _plain_column(index: int, empty: Any, *, trim: bool) -> ValueOf:
    """The hot path: a CSV column copied as text (inlined by ``_generated``, which reads the marks)."""
    value_of: Any = (lambda record: record[index].strip() or empty) if trim else (lambda record: record[index] or empty)
    value_of.column = (index, empty, trim)
    return value_of


def _plain_text(read: Getter, empty: Any) -> ValueOf:
    def value_of(record: Any) -> Any:
        return read(record) or empty

    return value_of


def _apply(value: Scalar, transforms: list[Callable[[Scalar], Scalar]], coerce: Callable[[Scalar], Scalar],
           attribute: str) -> Scalar:  # fmt: skip
    raw = value
    try:
        for transform in transforms:
            value = transform(value)
        return coerce(value)
    except RowError as exc:
        raise RowError(exc.reason, field=attribute, value=str(raw)) from None


def _text_of(value: Any, field: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return value
    raise RowError(f"expected a single value, found {type(value).__name__}", field=field)


# ---- groups and multi-valued entries ---------------------------------------------------------------


def _compile_group(group: Any, prefix: str, compile_rule: _RuleCompiler,
                   keys: tuple[str, ...] | None = None) -> list[tuple[str, ValueOf]]:  # fmt: skip
    if group is None:
        return []
    names = keys or tuple(type(group).model_fields)
    return [(key, compile_rule(rule, f"{prefix}.{key}")) for key in names if (rule := getattr(group, key)) is not None]


def _compile_entry(entry: Any, prefix: str, content: tuple[str, ...],
                   compile_rule: _RuleCompiler) -> list[tuple[str, ValueOf, bool]]:  # fmt: skip
    compiled = []
    for key in type(entry).model_fields:
        rule = getattr(entry, key)
        if rule is None:
            continue
        type_name = "Boolean" if key == "primary" else "String"
        value_of = compile_rule(rule, f"{prefix}.{key}", type_name)
        if key == "value" and prefix.startswith("emails"):
            value_of = _checked_email(value_of, f"{prefix}.value")
        compiled.append((key, value_of, key in content))
    return compiled


def _checked_email(value_of: ValueOf, attribute: str) -> ValueOf:
    def checked(record: Any) -> Any:
        value = value_of(record)
        if value is not OMIT and value and not _EMAIL.match(value):
            raise RowError("not an email address", field=attribute, value=value)
        return value

    return checked


def _group(compiled: list[tuple[str, ValueOf]], record: Any) -> dict[str, Any]:
    group = {}
    for key, value_of in compiled:
        value = value_of(record)
        if value is not OMIT:
            group[key] = value
    return group


def _entry(compiled: list[tuple[str, ValueOf, bool]], record: Any) -> dict[str, Any] | None:
    entry = {}
    has_content = False
    for key, value_of, is_content in compiled:
        value = value_of(record)
        if value is not OMIT:
            entry[key] = value
            has_content = has_content or is_content
    return entry if has_content else None


__all__ = ["OMIT", "EnterpriseRules", "MappedUser", "UserMapper"]
