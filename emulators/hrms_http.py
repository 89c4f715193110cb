"""Small HTTP helpers shared by the HRMS emulator routes: error type, JSON answers, credentials, paging params."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl

import orjson

from emulators.entra_server import Request, Response


class HrmsError(Exception):
    """An error answer: status, JSON body, extra headers."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(status, {"Content-Type": "application/json", **(headers or {})}, orjson.dumps(payload))


def basic_credentials(request: Request) -> tuple[str, str] | None:
    scheme, _, value = (request.header("authorization") or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


def form(request: Request) -> dict[str, str]:
    return dict(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))


def client_of(request: Request, fields: dict[str, str]) -> tuple[str, str]:
    """OAuth client authentication: HTTP Basic, else client_id/client_secret in the form."""
    basic = basic_credentials(request)
    if basic is not None:
        return basic
    return fields.get("client_id", ""), fields.get("client_secret", "")


def unauthorized(scheme: str = "Basic") -> HrmsError:
    return HrmsError(
        401,
        {"error": "unauthorized", "message": "missing or wrong credentials"},
        {"WWW-Authenticate": f'{scheme} realm="hrms"'},
    )


def int_param(query: dict[str, str], name: str, default: int, *, minimum: int = 0, maximum: int | None = None) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise HrmsError(
            400, {"error": "invalid_parameter", "message": f"{name} must be an integer, got {raw!r}"}
        ) from None
    if value < minimum:
        raise HrmsError(400, {"error": "invalid_parameter", "message": f"{name} must be at least {minimum}"})
    if maximum is not None and value > maximum:
        raise HrmsError(
            400, {"error": "invalid_parameter", "message": f"{name} must be at most {maximum}, got {value}"}
        )
    return value


def not_found(path: str) -> HrmsError:
    return HrmsError(404, {"error": "not_found", "message": f"no resource at {path}"})


def require_method(request: Request, expected: str) -> None:
    if request.method != expected:
        raise HrmsError(405, {"error": "method_not_allowed", "message": f"use {expected}"}, {"Allow": expected})


def basic_ok(request: Request, user: str, password: str) -> bool:
    return basic_credentials(request) == (user, password)


def chosen_quirk(vendor: str, known: Mapping[str, Sequence[Any]], chosen: Mapping[str, Any], name: str) -> Any:
    """The value a test chose for one of ``vendor``'s unconfirmed behaviours (``known``: name -> default first,
    then the other values allowed), or its default; a name or a value the vendor does not have is refused."""
    unknown = set(chosen) - set(known)
    if unknown:
        raise ValueError(f"{vendor} has no quirk {', '.join(sorted(unknown))} (known: {', '.join(known)})")
    default, *others = known[name]
    value = chosen.get(name, default)
    if value != default and value not in others:
        raise ValueError(f"{vendor} quirk {name}: {value!r} is not one of {[default, *others]!r}")
    return value
