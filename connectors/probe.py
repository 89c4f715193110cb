"""``test_connection``: one small request to an HR system, and a line for each thing that worked or failed."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from provisioning.core.retry import RetryPolicy

from .context import ConnectorError, select_auth
from .definition import ConnectorDefinition
from .fetch import Pull
from .network import Resolver
from .paging import PagingError


@dataclass(frozen=True)
class ProbeReport:
    """What one test request found: a line per check, and whether every check passed."""

    lines: list[str]
    ok: bool


def test_connection(
    definition: ConnectorDefinition,
    config: Mapping[str, Any],
    *,
    transport: httpx.BaseTransport | None = None,
    allow_loopback_http: bool = False,
    allow_private_networks: bool = False,
    on_rotate: Callable[[str], None] | None = None,
    resolve: Resolver | None = None,
    required_fields: Sequence[str] = (),
) -> ProbeReport:
    """One small request; a line for each check, and ``ok`` only when all of them passed.

    Workday rotates its refresh token even here: pass ``on_rotate`` to keep the new one, or the next
    pull is refused. ``required_fields``: flat fields the mapping cannot do without (the worker id, the
    userName's and ``active``'s sources); one empty in every record of the first page fails the test.
    """
    lines: list[str] = []
    try:
        pull = Pull(definition, config, transport=transport, policy=RetryPolicy(max_attempts=1), sleep=lambda _: None,
                     on_rotate=on_rotate, allow_loopback_http=allow_loopback_http, timeout=httpx.Timeout(20.0),
                     allow_private_networks=allow_private_networks, resolve=resolve)  # fmt: skip
    except ConnectorError as exc:
        return ProbeReport([f"config: FAILED: {exc}"], ok=False)
    lines.append(f"base URL: ok ({pull.base.scheme}://{pull.base.host})")
    pull.pager.page_size = min(pull.pager.page_size, 5)
    params = {**pull.query, **pull.pager.first_params()}
    try:
        response = pull._send(pull.url, params)
    except ConnectorError as exc:
        failed = "auth" if exc.status in (401, 403) or "authentication" in str(exc) else "first page"
        pull.client.close()
        return ProbeReport([*lines, f"{failed}: FAILED: {exc}"], ok=False)
    lines.append(f"auth: ok ({select_auth(pull.definition, pull.ctx).type})")
    ok = True
    try:
        page = pull._page(response)
        lines.append(f"first page: ok (HTTP {response.status_code}, {len(page.records)} records)")
        if pull.definition.recordsPath:
            lines.append(f"records path {pull.definition.recordsPath!r}: found")
        step = pull.pager.advance(page)
        style = pull.definition.paging.style
        lines.append(f"paging ({style}): " + ("a next page is there" if step else "no further page"))
        if not page.records:
            lines.append("records: none on the first page: nothing to check the fields against")
        elif pull.extract:
            flats = [pull._flat(record) for record in page.records]
            found = {key for flat in flats for key, value in flat.items() if value != ""}
            empty = [key for key in flats[0] if key not in found]
            needed = [key for key in dict.fromkeys([definition.idField, *required_fields]) if key in flats[0]]
            missing = [key for key in needed if key not in found]
            lines.append(f"fields: {len(found)} of {len(flats[0])} found in the first {len(flats)} records"
                         + (f" (empty in all: {', '.join(empty)})" if empty else ""))  # fmt: skip
            if missing:
                ok = False
                lines.append(f"required fields: FAILED: empty in every record: {', '.join(missing)}")
    except (ConnectorError, PagingError) as exc:
        ok = False
        lines.append(f"first page: FAILED: {pull.ctx.scrub(str(exc))}")
    finally:
        pull.client.close()
    return ProbeReport(lines, ok=ok)


test_connection.__test__ = False  # type: ignore[attr-defined]
