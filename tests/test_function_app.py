"""The Function App's registrations, exercised with real azure.functions objects (no Core Tools here)."""

from __future__ import annotations

import json

import azure.functions as func

from tests.functions_support import FUNCTIONS


def test_import_needs_no_setting_and_names_are_unique() -> None:
    assert "health" in FUNCTIONS


def test_health_is_anonymous_and_reveals_nothing() -> None:
    health = FUNCTIONS["health"]
    binding = next(b for b in health.get_bindings() if b.type == "httpTrigger")
    assert binding.auth_level == func.AuthLevel.ANONYMOUS
    assert binding.route == "health"
    request = func.HttpRequest(method="GET", url="http://localhost/api/health", body=b"")
    response = health.get_user_function()(request)
    assert response.status_code == 200
    assert json.loads(response.get_body()) == {"status": "ok"}


def test_host_json_bounds_retries_and_concurrency() -> None:
    from tests.support import ROOT

    host = json.loads((ROOT / "host.json").read_text())
    queues = host["extensions"]["queues"]
    assert queues["maxDequeueCount"] == 5, "a request fails over to the poison queue after 5 deliveries"
    assert queues["batchSize"] * 1 <= 16 and queues["newBatchThreshold"] == 0
    assert queues["messageEncoding"] == "base64", "what StorageClients sends"
    assert host["extensions"]["http"]["routePrefix"] == "api"
