"""A small evaluator for attribute-mapping expressions, enough for the mappings this project writes.

Supports attribute references (``[userName]``, ``[emails[type eq "work"].value]``), string and
number literals, and the functions Not, Join, Append, Coalesce, IgnoreFlowIfNullOrEmpty,
ToLower, ToUpper, Left, Switch, Replace and DefaultDomain. ``None`` means "no value": the
mapping then does not flow, as the service does for a null source without a default.
An unknown function or an expression that does not parse also yields ``None`` (the emulator
does not try to guess what the real engine would compute).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

EMULATED_DOMAIN = "contoso.onmicrosoft.com"


class ExpressionError(ValueError):
    """The expression text does not parse."""


@dataclass(frozen=True)
class _Attribute:
    name: str


@dataclass(frozen=True)
class _Literal:
    value: Any


@dataclass(frozen=True)
class _Call:
    name: str
    args: tuple[Any, ...]  # each a node, or None for an empty argument ("Replace([a], , ...)")


def parse(text: str) -> Any:
    parser = _Parser(text)
    node = parser.expression()
    parser.skip_spaces()
    if parser.pos != len(text):
        raise ExpressionError(f"unexpected text at {parser.pos} in {text!r}")
    return node


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def skip_spaces(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def expression(self) -> Any:
        self.skip_spaces()
        if self.pos >= len(self.text):
            raise ExpressionError(f"expression ends early: {self.text!r}")
        char = self.text[self.pos]
        if char == "[":
            return self._attribute()
        if char == '"':
            return _Literal(self._string())
        match = re.compile(r"-?\d+(\.\d+)?").match(self.text, self.pos)
        if match:
            self.pos = match.end()
            return _Literal(match.group(0))
        match = re.compile(r"[A-Za-z_][A-Za-z0-9_]*").match(self.text, self.pos)
        if not match:
            raise ExpressionError(f"unexpected {char!r} at {self.pos} in {self.text!r}")
        self.pos = match.end()
        self.skip_spaces()
        if self.pos >= len(self.text) or self.text[self.pos] != "(":
            raise ExpressionError(f"{match.group(0)} is not followed by '(' in {self.text!r}")
        self.pos += 1
        return _Call(match.group(0), self._arguments())

    def _arguments(self) -> tuple[Any, ...]:
        args: list[Any] = []
        self.skip_spaces()
        if self.pos < len(self.text) and self.text[self.pos] == ")":
            self.pos += 1
            return ()
        while True:
            self.skip_spaces()
            if self.pos < len(self.text) and self.text[self.pos] in ",)":
                args.append(None)
            else:
                args.append(self.expression())
            self.skip_spaces()
            if self.pos >= len(self.text):
                raise ExpressionError(f"unclosed '(' in {self.text!r}")
            char = self.text[self.pos]
            self.pos += 1
            if char == ")":
                return tuple(args)
            if char != ",":
                raise ExpressionError(f"expected ',' or ')' at {self.pos - 1} in {self.text!r}")

    def _attribute(self) -> _Attribute:
        # Names may hold brackets and quotes themselves: emails[type eq "work"].value.
        depth, start, in_quotes = 0, self.pos + 1, False
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == '"':
                in_quotes = not in_quotes
            elif not in_quotes and char == "[":
                depth += 1
            elif not in_quotes and char == "]":
                depth -= 1
                if depth == 0:
                    self.pos += 1
                    return _Attribute(self.text[start : self.pos - 1])
            self.pos += 1
        raise ExpressionError(f"unclosed '[' in {self.text!r}")

    def _string(self) -> str:
        out: list[str] = []
        self.pos += 1
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "\\" and self.pos + 1 < len(self.text):
                out.append(self.text[self.pos + 1])
                self.pos += 2
                continue
            self.pos += 1
            if char == '"':
                return "".join(out)
            out.append(char)
        raise ExpressionError(f"unclosed string in {self.text!r}")


def evaluate(node: Any, source: Mapping[str, Any]) -> Any:
    if node is None:
        return None
    if isinstance(node, _Literal):
        return node.value
    if isinstance(node, _Attribute):
        return source.get(node.name)
    function = _FUNCTIONS.get(node.name.lower())
    if function is None:
        return None
    return function(*(evaluate(arg, source) for arg in node.args))


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


def _not(value: Any = None, *_: Any) -> bool | None:
    if isinstance(value, bool):
        return not value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() != "true"
    return None


def _join(separator: Any = None, *values: Any) -> str | None:
    present = [_text(v) for v in values if v is not None]
    return (_text(separator) or "").join(p for p in present if p is not None) if present else None


def _append(value: Any = None, suffix: Any = None, *_: Any) -> str | None:
    return None if value is None else f"{_text(value)}{_text(suffix) or ''}"


def _coalesce(*values: Any) -> Any:
    return next((v for v in values if v not in (None, "")), None)


def _ignore_if_empty(value: Any = None, *_: Any) -> Any:
    return None if value in (None, "") else value


def _to_lower(value: Any = None, *_: Any) -> str | None:
    text = _text(value)
    return None if text is None else text.lower()


def _to_upper(value: Any = None, *_: Any) -> str | None:
    text = _text(value)
    return None if text is None else text.upper()


def _left(value: Any = None, count: Any = None, *_: Any) -> str | None:
    text = _text(value)
    return None if text is None or count is None else text[: int(count)]


def _switch(value: Any = None, default: Any = None, *pairs: Any) -> Any:
    text = _text(value)
    for key, result in zip(pairs[::2], pairs[1::2], strict=False):
        if text is not None and _text(key) == text:
            return result
    return None if default in (None, "") else default


def _replace(
    value: Any = None,
    old: Any = None,
    pattern: Any = None,
    group: Any = None,
    replacement: Any = None,
    *_: Any,
) -> str | None:
    text = _text(value)
    if text is None:
        return None
    new = _text(replacement) or ""
    if old not in (None, ""):
        return text.replace(str(old), new)
    if pattern in (None, ""):
        return text
    # .NET writes named groups (?<name>...); Python wants (?P<name>...). Look-behinds stay.
    regex = re.compile(re.sub(r"\(\?<(?![=!])", "(?P<", str(pattern)))
    if group in (None, ""):
        return regex.sub(lambda _match: new, text)
    match = regex.search(text)
    if not match or match.group(str(group)) is None:
        return text
    return text[: match.start(str(group))] + new + text[match.end(str(group)) :]


def _default_domain(*_: Any) -> str:
    return EMULATED_DOMAIN


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "not": _not,
    "join": _join,
    "append": _append,
    "coalesce": _coalesce,
    "ignoreflowifnullorempty": _ignore_if_empty,
    "tolower": _to_lower,
    "toupper": _to_upper,
    "left": _left,
    "switch": _switch,
    "replace": _replace,
    "defaultdomain": _default_domain,
}
