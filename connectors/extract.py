"""Field expressions: pick one value out of a vendor's nested worker JSON.

Grammar::

    expression  := alternative ( "||" alternative )*
    alternative := step ( "." step | "[" bracket "]" )*
    step        := key | "@" | "[" bracket "]"
    bracket     := index | quoted-key | "?" condition
    condition   := path | path "==" literal | path "!=" literal

A step is a key (``person``), a quoted key (``['@odata.nextLink']``), an index (``[0]``, ``[-1]`` for
the last: rehires), or a filter keeping the FIRST element that matches: ``[?isPrimary]`` (truthy),
``[?EmailType=='W1']``, ``[?typeCode.codeValue!='X']``. A filter applied to a single object tests
that object. ``@`` as the first step of a path is the value itself: in a filter, the element under
test; a filter on ``@`` alone also tests a single string, number or boolean, so
``hireDate[?@!='0000-00-00']`` keeps a date unless it is BambooHR's empty date (a filter on any
other path finds nothing in a plain value). ``@`` elsewhere is refused; a key named ``@`` is
written ``['@']``.

Alternatives: ``a.shortName || a.longName`` is the value of the first alternative that is not
empty, where empty means missing, null, a string of only spaces, or an empty list or object
(``false`` and ``0`` are values). When every alternative is empty, the last one's value is given.
Spaces around ``||`` are ignored; ``||`` inside brackets or quotes is text; a lone ``|`` outside
them is refused (it is almost always a ``||`` with a character missing; quote such a key).

Anything missing gives ``""``; OData ``/Date(ms)/`` strings are returned unchanged (the profiles'
date transform reads them). Evaluation never raises, whatever the JSON; a malformed expression is
refused when compiled (ValueError naming what is wrong), which the connector definition does when
it is loaded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

MISSING = ""


@dataclass(frozen=True)
class _Key:
    name: str


@dataclass(frozen=True)
class _Index:
    position: int


@dataclass(frozen=True)
class _Filter:
    path: tuple[Any, ...]
    op: str
    """"truthy", "==" or "!="."""
    literal: str = ""


Step = _Key | _Index | _Filter
Expression = Callable[[Any], Any]


def compile_expression(expression: str) -> Expression:
    """A function evaluating ``expression`` on a record; ValueError names what is wrong with it."""
    return _compiled(expression)


@lru_cache(maxsize=4096)
def _compiled(expression: str) -> Expression:
    alternatives = _alternatives(expression)
    paths = tuple(tuple(_parse(alternative)) for alternative in alternatives)
    if len(paths) == 1:
        steps = paths[0]

        def evaluate(record: Any) -> Any:
            value = _walk(record, steps)
            return MISSING if value is None else value

        return evaluate

    *first, last = paths

    def evaluate_first(record: Any) -> Any:
        for steps in first:
            value = _walk(record, steps)
            if not _empty(value):
                return value
        value = _walk(record, last)
        return MISSING if value is None else value

    return evaluate_first


def evaluate(record: Any, expression: str) -> Any:
    """The value of one expression on one record ("" when missing)."""
    return compile_expression(expression)(record)


def flatten(record: Any, expressions: Mapping[str, str]) -> dict[str, Any]:
    """A flat dict: each field's value from its expression ("" when missing)."""
    return {field: compile_expression(expression)(record) for field, expression in expressions.items()}


# ---- parsing -------------------------------------------------------------------------------------------


def _alternatives(expression: str) -> list[str]:
    """``expression`` cut at each ``||`` outside brackets and quotes; one part when there is none.

    A single part is kept as written (a key may end in a space); several are stripped of the spaces
    around ``||``.
    """
    if not expression or not expression.strip():
        raise ValueError("empty expression")
    parts: list[str] = []
    depth, quote, start, i = 0, "", 0, 0
    while i < len(expression):
        char = expression[i]
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"" and depth:
            quote = char
        elif char == "[":
            depth += 1
        elif char == "]":
            depth = max(depth - 1, 0)  # an unbalanced ']' is reported by _parse, with its position
        elif char == "|" and not depth:
            if expression.startswith("||", i):
                parts.append(expression[start:i])
                start = i = i + 2
                continue
            raise ValueError(f"{expression!r}: a single '|' at position {i}: alternatives are written '||' "
                             "(a key with '|' in it is quoted: ['a|b'])")  # fmt: skip
        i += 1
    parts.append(expression[start:])
    if len(parts) == 1:
        return parts
    stripped = [part.strip() for part in parts]
    for number, part in enumerate(stripped, 1):
        if not part:
            raise ValueError(f"{expression!r}: alternative {number} of {len(parts)} is empty")
    return stripped


def _parse(expression: str) -> list[Step]:
    if not expression or not expression.strip():
        raise ValueError("empty expression")
    steps: list[Step] = []
    i, n = 0, len(expression)
    expect_step = True
    while i < n:
        char = expression[i]
        if char == ".":
            if expect_step:
                raise ValueError(f"{expression!r}: empty step at position {i}")
            expect_step = True
            i += 1
        elif char == "[":
            end = _closing_bracket(expression, i)
            steps.append(_bracket(expression, expression[i + 1 : end]))
            expect_step = False
            i = end + 1
        elif char == "]":
            raise ValueError(f"{expression!r}: unexpected ']' at position {i}")
        else:
            if not expect_step:
                raise ValueError(f"{expression!r}: missing '.' before position {i}")
            j = i
            while j < n and expression[j] not in ".[]":
                j += 1
            name = expression[i:j]
            if name == "@":
                if i != 0:
                    raise ValueError(f"{expression!r}: '@' (the value itself) can only begin a path; "
                                     "a key named '@' is written ['@']")  # fmt: skip
            else:
                steps.append(_Key(name))
            expect_step = False
            i = j
    if expect_step:
        raise ValueError(f"{expression!r}: ends with '.'")
    return steps


def _closing_bracket(expression: str, start: int) -> int:
    quote = ""
    for j in range(start + 1, len(expression)):
        char = expression[j]
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "]":
            return j
    raise ValueError(f"{expression!r}: '[' at position {start} is not closed")


def _bracket(expression: str, inner: str) -> Step:
    text = inner.strip()
    if not text:
        raise ValueError(f"{expression!r}: empty []")
    if text[0] in "'\"":
        if len(text) < 2 or text[-1] != text[0]:
            raise ValueError(f"{expression!r}: unterminated quoted key [{inner}]")
        return _Key(text[1:-1])
    if text[0] == "?":
        return _filter(expression, text[1:].strip())
    try:
        return _Index(int(text))
    except ValueError:
        raise ValueError(f"{expression!r}: [{inner}] is neither an index, a quoted key nor a [?filter]") from None


def _filter(expression: str, condition: str) -> _Filter:
    for op in ("==", "!="):
        if op in condition:
            left, right = condition.split(op, 1)
            left, right = left.strip(), right.strip()
            if len(right) >= 2 and right[0] in "'\"" and right[-1] == right[0]:
                right = right[1:-1]
            elif not right:
                raise ValueError(f"{expression!r}: filter [?{condition}] has no value after {op}")
            return _Filter(tuple(_parse(left)), op, right)
    if not condition:
        raise ValueError(f"{expression!r}: empty filter [?]")
    return _Filter(tuple(_parse(condition)), "truthy")


# ---- evaluation ------------------------------------------------------------------------------------------


def _walk(value: Any, steps: tuple[Step, ...]) -> Any:
    for step in steps:
        if isinstance(step, _Key):
            if not isinstance(value, dict):
                return None
            value = value.get(step.name)
        elif isinstance(step, _Index):
            if not isinstance(value, list) or not -len(value) <= step.position < len(value):
                return None
            value = value[step.position]
        else:
            if isinstance(value, list):
                candidates = value
            elif isinstance(value, dict) or not step.path:  # a plain value is tested by a condition on @ only
                candidates = [value]
            else:
                candidates = []
            value = next((item for item in candidates if _matches(item, step)), None)
        if value is None:
            return None
    return value


def _matches(item: Any, condition: _Filter) -> bool:
    value = _walk(item, condition.path)
    if condition.op == "truthy":
        return _truthy(value)
    equal = _text(value) == condition.literal
    return equal if condition.op == "==" else not equal


def _empty(value: Any) -> bool:
    """What an alternative may not be for ``||`` to stop at it: missing, null, blank text, [] or {}."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | dict):
        return not value
    return False


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().casefold() in ("true", "yes", "y", "1")
    return bool(value)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)
