"""HR systems as a source of worker records: a connector's records, page by page, for the pipeline.

The connector configuration (``hr.jobs``) says which system and how to sign in; a rotated refresh
token is kept in a ``TokenStore`` (``state.tokens`` has the local and the blob one).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from provisioning.core.errors import ProfileError
from provisioning.core.read.json_source import JsonSource

if TYPE_CHECKING:
    from connectors.definition import ConnectorDefinition
    from connectors.probe import ProbeReport
    from provisioning.core.mapping.profile import Profile

PAGES_AHEAD = 4
"""Pages requested at once where the paging style allows it (offset, page number, $skip): bounded, so
memory stays a few pages whatever the size of the HR system."""


class TokenStore(Protocol):
    """Where a rotated refresh token is kept for the next run (Workday rotates it on every use)."""

    def load(self, name: str) -> str | None: ...
    def save(self, name: str, token: str) -> None: ...


def connector_source(
    connector_id: str,
    config: Mapping[str, Any],
    *,
    name: str | None = None,
    registry: Mapping[str, ConnectorDefinition],
    tokens: TokenStore | None = None,
    limit: int | None = None,
    changed_since: str | None = None,
    allow_loopback_http: bool = False,
    allow_private_networks: bool = False,
) -> JsonSource:
    """The records of an HR system as a source for the pipeline (fetched page by page as it reads).

    With ``changed_since``, only the workers the system reports as changed since then (its own delta,
    where it has one: ``connector_supports_changes``).
    """
    from connectors.fetch import fetch_records

    if connector_id not in registry:
        known = ", ".join(sorted(registry))
        raise ProfileError(f"connector {connector_id!r} not found (connectors: {known})")
    definition = registry[connector_id]
    config, on_rotate = _with_kept_token(definition, config, tokens, name or connector_id)
    if changed_since is not None:
        from connectors.changes import fetch_changes

        changes = fetch_changes(
            definition,
            config,
            since=changed_since,
            limit=limit,
            on_rotate=on_rotate,
            allow_loopback_http=allow_loopback_http,
            allow_private_networks=allow_private_networks,
        )
        return JsonSource(changes, name=f"hrms:{connector_id} (changed since {changed_since})", allow_empty=True)
    records = fetch_records(
        definition,
        config,
        limit=limit,
        on_rotate=on_rotate,
        concurrency=PAGES_AHEAD,
        allow_loopback_http=allow_loopback_http,
        allow_private_networks=allow_private_networks,
    )
    return JsonSource(records, name=f"hrms:{connector_id}")


def probe_connector(
    connector_id: str,
    config: Mapping[str, Any],
    *,
    name: str | None = None,
    registry: Mapping[str, ConnectorDefinition],
    tokens: TokenStore | None = None,
    profile: Profile | None = None,
    allow_loopback_http: bool = False,
    allow_private_networks: bool = False,
) -> ProbeReport:
    """``connectors test`` for every door: one small request with the kept refresh token (and the rotated one
    kept again: Workday takes the old one back), failing when a field ``profile`` cannot do without is empty."""
    from connectors.probe import test_connection

    if connector_id not in registry:
        known = ", ".join(sorted(registry))
        raise ProfileError(f"connector {connector_id!r} not found (connectors: {known})")
    definition = registry[connector_id]
    config, on_rotate = _with_kept_token(definition, config, tokens, name or connector_id)
    return test_connection(
        definition,
        config,
        on_rotate=on_rotate,
        required_fields=required_fields(profile) if profile is not None else (),
        allow_loopback_http=allow_loopback_http,
        allow_private_networks=allow_private_networks,
    )


def required_fields(profile: Profile) -> list[str]:
    """The source fields a profile cannot map a worker without: its externalId's, userName's and active's."""
    rules = profile.attributes
    needed = [rules.externalId, rules.userName, rules.active]
    return list(dict.fromkeys(name for rule in needed if rule is not None for name in rule.fields()))


def _with_kept_token(
    definition: ConnectorDefinition, config: Mapping[str, Any], tokens: TokenStore | None, key: str
) -> tuple[dict[str, Any], Callable[[str], None] | None]:
    """The configuration with the refresh token kept from the last use (the one in the file is spent once the
    system rotated it), and where a newly rotated one goes."""
    config = dict(config)
    if tokens is None:
        return config, None
    if any(field.key == "refreshToken" for field in definition.fields):
        config["refreshToken"] = tokens.load(key) or config.get("refreshToken", "")
    return config, lambda token: tokens.save(key, token)


def connector_supports_changes(definition: ConnectorDefinition | None) -> bool:
    """Whether the HR system can list only the workers changed since a time (its own delta)."""
    from connectors.changes import supports_changes

    return definition is not None and supports_changes(definition)
