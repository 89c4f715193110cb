"""Builders for talking to the Entra emulator in tests: SCIM users, bulk requests, a manual clock."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import orjson

from emulators.entra import DEFAULT_SP, EntraEmulator

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
SCIM_JSON = {"Content-Type": "application/scim+json"}
TOKEN = "test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SHARED = Path(__file__).resolve().parents[2] / "shared"
LOG_SAMPLE = SHARED / "fixtures" / "microsoft" / "graph" / "provisioning-logs-sample.json"


class ManualClock:
    """The emulator's clock, moved by the test instead of by sleeping."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def scim_user(
    external_id: str,
    user_name: str | None = "",
    *,
    active: bool | None = True,
    manager: str | None = None,
    **attributes: Any,
) -> dict[str, Any]:
    """A SCIM user; user_name "" means "<externalId>@contoso.com", None leaves it out."""
    user: dict[str, Any] = {"schemas": [CORE], "externalId": external_id}
    if user_name is not None:
        user["userName"] = user_name or f"user{external_id}@contoso.com"
    if active is not None:
        user["active"] = active
    user.setdefault("displayName", f"User {external_id}")
    user.update(attributes)
    if manager is not None:
        user["schemas"] = [CORE, ENTERPRISE]
        user[ENTERPRISE] = {"manager": {"value": manager}}
    return user


def with_extension(user: dict[str, Any], namespace: str, values: dict[str, Any], *, listed: bool = True) -> dict:
    """``user`` carrying an extension object; ``listed=False`` leaves its namespace out of schemas."""
    user[namespace] = values
    if listed:
        user["schemas"] = [*user["schemas"], namespace]
    return user


def bulk(*users: dict[str, Any], method: str = "POST", path: str = "/Users") -> dict[str, Any]:
    return {
        "schemas": [BULK],
        "Operations": [
            {"method": method, "bulkId": f"bulk-{i}", "path": path, "data": user} for i, user in enumerate(users)
        ],
        "failOnErrors": None,
    }


def post_bulk(
    client: httpx.Client,
    graph: EntraEmulator,
    payload: Any,
    *,
    sp: str = DEFAULT_SP,
    job: str | None = None,
    version: str = "v1.0",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    content = payload if isinstance(payload, bytes) else orjson.dumps(payload)
    return client.post(
        graph.bulk_upload_url(sp, job, version), content=content, headers={**AUTH, **SCIM_JSON, **(headers or {})}
    )


def upload(client: httpx.Client, graph: EntraEmulator, *users: dict[str, Any], **kwargs: Any) -> httpx.Response:
    response = post_bulk(client, graph, bulk(*users), **kwargs)
    assert response.status_code == 202, response.text
    return response


def assert_graph_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"code", "message", "innerError"}
    assert set(error["innerError"]) == {"date", "request-id", "client-request-id"}
    if code is not None:
        assert error["code"] == code
    return error
