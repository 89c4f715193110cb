"""What one pull of an HR system is configured with: its values and secrets, its definition, its URLs.

``PullContext`` holds the config values (defaults filled in), renders ``{field}`` templates, and blanks
out every secret in a message; ``ConnectorError`` is what a connector raises, naming the connector,
the URL path and the status, never a secret.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import ValidationError

from provisioning.core.errors import ProvisioningError

from .definition import AuthSpec, ConnectorDefinition

_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class ConnectorError(ProvisioningError):
    """A connector cannot fetch: bad config, refused URL, an HTTP error after retries, bad paging."""

    def __init__(self, message: str, *, connector: str = "", path: str = "", status: int | None = None) -> None:
        self.connector = connector
        self.path = path
        self.status = status
        super().__init__(message)


@dataclass
class FetchReport:
    """What a pull did; ``truncated`` says a ``limit`` cut records off."""

    connector: str
    pages: int = 0
    records: int = 0
    retries: int = 0
    truncated: bool = False
    complete: bool = False
    """The end of data was reached (or the limit, with ``truncated``)."""


class PullContext:
    """Config values, templating and secret scrubbing for one pull."""

    def __init__(self, definition: ConnectorDefinition, config: Mapping[str, Any]) -> None:
        self.id = definition.id
        values: dict[str, Any] = {f.key: f.default for f in definition.fields if f.default is not None}
        values.update({k: v for k, v in config.items() if v is not None and v != ""})
        self.config = values
        self._secrets = sorted(
            (str(values[k]) for k in definition.secret_keys() | {"clientSecret", "password", "apiKey", "token",
                                                                 "refreshToken"} if values.get(k)),
            key=len, reverse=True,
        )  # fmt: skip

    def add_secret(self, value: str) -> None:
        if value and value not in self._secrets:
            self._secrets = [value, *self._secrets]  # a new list: another thread may be scrubbing

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            if len(secret) >= 3:
                text = text.replace(secret, "***")
        return text

    def error(self, message: str, *, path: str = "", status: int | None = None) -> ConnectorError:
        where = f" {path}" if path else ""
        return ConnectorError(self.scrub(f"connector {self.id!r}{where}: {message}"),
                              connector=self.id, path=path, status=status)  # fmt: skip

    def render(self, template: str, *, quote_values: bool = False) -> str:
        parts: list[str] = []
        for literal, field, spec, conversion in string.Formatter().parse(template):
            parts.append(literal)
            if field is None:
                continue
            if spec or conversion:
                raise self.error(f"template {template!r}: only plain {{field}} placeholders are supported")
            value = self.config.get(field)
            if value is None or value == "":
                raise self.error(f"config field {field!r} is required (used in {template!r})")
            text = str(value)
            parts.append(quote(text, safe="") if quote_values else text)
        return "".join(parts)


def resolve_definition(definition: ConnectorDefinition, config: Mapping[str, Any]) -> ConnectorDefinition:
    """The definition with the config's ``overrides`` and ``extract`` entries applied (custom connectors)."""
    extra = config.get("extract")
    if not definition.overrides and not isinstance(extra, Mapping):
        return definition
    data = definition.model_dump(by_alias=True, exclude_none=True)
    for key, target in definition.overrides.items():
        value = config.get(key)
        if value is None or value == "":
            continue
        node = data
        *parents, last = target.split(".")
        for parent in parents:
            node = node.setdefault(parent, {})
        node[last] = value
    if isinstance(extra, Mapping):
        data["extract"] = {**data.get("extract", {}), **{str(k): str(v) for k, v in extra.items()}}
    try:
        return ConnectorDefinition.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors(include_url=False))
        raise ConnectorError(f"connector {definition.id!r}: the config does not fit: {problems}",
                             connector=definition.id) from None  # fmt: skip


def select_auth(definition: ConnectorDefinition, ctx: PullContext) -> AuthSpec:
    spec = definition.auth
    if spec.selectBy:
        choice = ctx.config.get(spec.selectBy)
        if choice:
            if str(choice) not in spec.variants:
                known = ", ".join(spec.variants)
                raise ctx.error(f"config field {spec.selectBy!r} must be one of: {known}")
            return spec.variants[str(choice)]
    return spec


def checked_url(url: str, ctx: PullContext, *, allow_loopback_http: bool, what: str = "baseUrl") -> httpx.URL:
    """An https URL; plain http only to loopback when the caller allows it (CONNECTORS_ALLOW_LOOPBACK_HTTP)."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        raise ctx.error(f"{what} is not a valid URL") from None
    if parsed.userinfo:
        raise ctx.error(f"{what} carries a user name or password: put them in the connector's fields instead")
    if parsed.scheme == "https" and parsed.host:
        return parsed
    if parsed.scheme == "http" and parsed.host:
        if parsed.host in _LOOPBACK_HOSTS and allow_loopback_http:
            return parsed
        raise ctx.error(f"{what} must use https (plain http only to loopback, when the setting allows it)")
    raise ctx.error(f"{what} must be an absolute https URL")


def status_hint(status: int) -> str:
    if status == 401:
        return " (credentials refused)"
    if status == 403:
        return " (not allowed: check the integration user's permissions)"
    if status == 404:
        return " (check baseUrl, tenant and path)"
    return ""
