"""``test_connection``: one small request to an HR system, and a line for each thing that worked or failed."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx

from provisioning.core.retry import RetryPolicy

from .context import ConnectorError, select_auth
from .definition import ConnectorDefinition
from .fetch import Pull
from .network import Resolver
from .paging import PagingError


def test_connection(
    definition: ConnectorDefinition,
    config: Mapping[str, Any],
    *,
    transport: httpx.BaseTransport | None = None,
    allow_loopback_http: bool = False,
    allow_private_networks: bool = False,
    on_rotate: Callable[[str], None] | None = None,
    resolve: Resolver | None = None,
) -> list[str]:
    """One small request; lines saying what worked and what did not.

    Workday rotates its refresh token even here: pass ``on_rotate`` to keep the new one.
    """
    lines: list[str] = []
    try:
        pull = Pull(definition, config, transport=transport, policy=RetryPolicy(max_attempts=1), sleep=lambda _: None,
                     on_rotate=None, allow_loopback_http=allow_loopback_http, timeout=httpx.Timeout(20.0),
                     allow_private_networks=allow_private_networks, resolve=resolve)  # fmt: skip
    except ConnectorError as exc:
        return [f"config: FAILED: {exc}"]
    lines.append(f"base URL: ok ({pull.base.scheme}://{pull.base.host})")
    pull.pager.page_size = min(pull.pager.page_size, 5)
    params = {**pull.query, **pull.pager.first_params()}
    try:
        response = pull._send(pull.url, params)
    except ConnectorError as exc:
        failed = "auth" if exc.status in (401, 403) or "authentication" in str(exc) else "first page"
        pull.client.close()
        return [*lines, f"{failed}: FAILED: {exc}"]
    lines.append(f"auth: ok ({select_auth(pull.definition, pull.ctx).type})")
    try:
        page = pull._page(response)
        lines.append(f"first page: ok (HTTP {response.status_code}, {len(page.records)} records)")
        if pull.definition.recordsPath:
            lines.append(f"records path {pull.definition.recordsPath!r}: found")
        step = pull.pager.advance(page)
        style = pull.definition.paging.style
        lines.append(f"paging ({style}): " + ("a next page is there" if step else "no further page"))
        if page.records and pull.extract:
            flat = pull._flat(page.records[0])
            empty = [k for k, v in flat.items() if v == ""]
            lines.append(f"fields: {len(flat) - len(empty)} of {len(flat)} found in the first record"
                         + (f" (empty: {', '.join(empty)})" if empty else ""))  # fmt: skip
    except (ConnectorError, PagingError) as exc:
        lines.append(f"first page: FAILED: {pull.ctx.scrub(str(exc))}")
    finally:
        pull.client.close()
    return lines


test_connection.__test__ = False  # type: ignore[attr-defined]
