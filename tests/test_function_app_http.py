"""The HTTP API through the registered functions: every route, its errors, and its auth level."""

from __future__ import annotations

import json
from collections.abc import Iterator

import azure.functions as func
import pytest

from emulators.entra import EntraEmulator
from provisioning.doors.http.api import OPENAPI_FILE
from tests.azurite import StorageSandbox
from tests.functions_support import FUNCTIONS, FunctionHost, host_for
from tests.support import ROOT

CSV = b"WorkerID,WorkerStatus,UserID,FullName\n1,Active,a@contoso.com,Ann\n2,Inactive,b@contoso.com,Bob\n"
ROUTES = {
    "health": ("health", ["GET"], func.AuthLevel.ANONYMOUS),
    "preview": ("preview", ["POST"], func.AuthLevel.FUNCTION),
    "provision": ("provision", ["POST"], func.AuthLevel.FUNCTION),
    "list_runs": ("runs", ["GET"], func.AuthLevel.FUNCTION),
    "get_run": ("runs/{runId}", ["GET"], func.AuthLevel.FUNCTION),
    "get_run_results": ("runs/{runId}/results", ["GET"], func.AuthLevel.FUNCTION),
    "approve_run": ("runs/{runId}/approve", ["POST"], func.AuthLevel.FUNCTION),
    "retry_run": ("runs/{runId}/retry", ["POST"], func.AuthLevel.FUNCTION),
    "get_logs": ("logs", ["GET"], func.AuthLevel.FUNCTION),
    "get_usage": ("usage", ["GET"], func.AuthLevel.FUNCTION),
    "suggest_mapping": ("mappings/suggest", ["POST"], func.AuthLevel.FUNCTION),
    "openapi": ("openapi.json", ["GET"], func.AuthLevel.FUNCTION),
    "list_connectors": ("connectors", ["GET"], func.AuthLevel.FUNCTION),
    "test_connector": ("connectors/{id}/test", ["POST"], func.AuthLevel.FUNCTION),
    "upload_file": ("uploads", ["POST"], func.AuthLevel.FUNCTION),
    "get_upload_rows": ("uploads/{uploadId}/rows", ["GET"], func.AuthLevel.FUNCTION),
    "suggest_upload": ("uploads/{uploadId}/suggest", ["POST"], func.AuthLevel.FUNCTION),
    "validate_upload": ("uploads/{uploadId}/validate", ["POST"], func.AuthLevel.FUNCTION),
    "preview_upload": ("uploads/{uploadId}/preview", ["POST"], func.AuthLevel.FUNCTION),
    "provision_upload": ("uploads/{uploadId}/provision", ["POST"], func.AuthLevel.FUNCTION),
    "list_mappings": ("mappings", ["GET"], func.AuthLevel.FUNCTION),
    "get_mapping": ("mappings/{name}", ["GET"], func.AuthLevel.FUNCTION),
    "save_mapping": ("mappings/{name}", ["PUT"], func.AuthLevel.FUNCTION),
    "schema_sync_dry_run": ("mappings/schema-sync", ["POST"], func.AuthLevel.FUNCTION),
    "list_connector_jobs": ("connector-jobs", ["GET"], func.AuthLevel.FUNCTION),
    "sample_connector_job": ("connector-jobs/{name}/sample", ["POST"], func.AuthLevel.FUNCTION),
    "list_entra_targets": ("entra-targets", ["GET"], func.AuthLevel.FUNCTION),
    "ui_page": ("ui", ["GET"], func.AuthLevel.ANONYMOUS),
    "ui_file": ("ui/{file}", ["GET"], func.AuthLevel.ANONYMOUS),
}


@pytest.fixture
def host(storage: StorageSandbox, graph: EntraEmulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[FunctionHost]:
    yield host_for(storage, graph, monkeypatch, HTTP_MAX_BODY_BYTES="2048")


def post(host: FunctionHost, function: str, body: bytes, content_type: str = "text/csv", **params: str):  # type: ignore[no-untyped-def]
    route = ROUTES[function][0]
    return host.http(function, "POST", f"http://localhost/api/{route}", body, {"Content-Type": content_type}, params)


def test_every_function_is_registered_with_its_documented_binding() -> None:
    assert len(FUNCTIONS) == len(set(FUNCTIONS))
    http = {name for name, f in FUNCTIONS.items() if any(b.type == "httpTrigger" for b in f.get_bindings())}
    assert http == set(ROUTES), "every HTTP function is in the table (and so in openapi.json)"
    for name, (route, methods, level) in ROUTES.items():
        (binding,) = [b for b in FUNCTIONS[name].get_bindings() if b.type == "httpTrigger"]
        assert (binding.route, [str(m) for m in binding.methods], binding.auth_level) == (route, methods, level), name
    triggers = {name: json.loads(f.get_raw_bindings()[0]) for name, f in FUNCTIONS.items() if name not in ROUTES}
    assert triggers["provision_blob"] | {} == triggers["provision_blob"]
    assert triggers["provision_blob"]["path"] == "%HR_INBOUND_CONTAINER%/{name}"
    assert triggers["provision_blob"]["connection"] == "HR_STORAGE"
    assert triggers["provision_blob"]["source"] == "EventGrid"
    assert triggers["upload_batch"]["queueName"] == "%HR_UPLOAD_QUEUE%"
    assert triggers["upload_poison"]["queueName"] == "%HR_UPLOAD_QUEUE%-poison"
    assert triggers["coordinate_run"]["queueName"] == "%HR_RESULTS_QUEUE%"
    assert triggers["hrms_sync"]["schedule"] == "%HRMS_SYNC_SCHEDULE%"


def test_openapi_documents_exactly_the_routes() -> None:
    document = json.loads(OPENAPI_FILE.read_text())
    assert set(document["paths"]) == {"/" + route for route, _, _ in ROUTES.values()}
    methods_of: dict[str, set[str]] = {}
    for route, methods, _ in ROUTES.values():  # one route may have a function per method (mappings/{name})
        methods_of.setdefault(route, set()).update(m.lower() for m in methods)
    for route, _, level in ROUTES.values():
        operations = document["paths"]["/" + route]
        assert set(operations) == methods_of[route]
        if level == func.AuthLevel.ANONYMOUS:
            assert all(op.get("security") == [] for op in operations.values())


def test_health_reveals_nothing(host: FunctionHost) -> None:
    status, body, _ = host.http("health", "GET", "http://localhost/api/health")
    assert (status, body) == (200, {"status": "ok"})


def test_preview_csv_and_json(host: FunctionHost) -> None:
    status, body, _ = host.http(
        "preview", "POST", "http://x/api/preview", CSV, {"Content-Type": "text/csv"}, {"mapping": "microsoft-sample"}
    )
    assert (
        status == 400
        and "is not in the header (columns: WorkerID, WorkerStatus, UserID, FullName)" in body["error"]["message"]
    )
    profile = {
        "attributes": {
            "externalId": "WorkerID",
            "userName": "UserID",
            "active": {"source": "WorkerStatus", "transforms": [{"op": "equals", "value": "Active"}]},
        }
    }
    config = host.storage.clients.container(host.setting("HR_CONFIG_CONTAINER"))
    config.upload_blob("tiny.json", json.dumps(profile), overwrite=True)
    status, body, _ = post(host, "preview", CSV, mapping="tiny")
    assert status == 200
    assert body["summary"]["rows"] == 2 and body["summary"]["operations"] == 2 and body["rejects"] == []
    (request,) = body["requests"]
    assert request["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"]
    assert [op["data"]["active"] for op in request["Operations"]] == [True, False]
    records = [{"WorkerID": "9", "WorkerStatus": "Active", "UserID": "z@contoso.com"}, {"WorkerID": "", "UserID": "x"}]
    status, body, _ = post(host, "preview", json.dumps(records).encode(), "application/json", mapping="tiny")
    assert status == 200 and body["summary"]["operations"] == 1 and body["rejects"][0]["field"] == "externalId"
    status, body, _ = post(
        host, "preview", json.dumps({"records": records}).encode(), "application/json", mapping="tiny"
    )
    assert status == 200 and body["summary"]["rows"] == 2
    assert host.graph.upload_count == 0, "preview sends nothing"


def test_provision_then_runs_run_results_and_logs(host: FunctionHost) -> None:
    body_csv = (ROOT / "samples" / "workers.csv").read_bytes()[:1800]
    body_csv = body_csv[: body_csv.rfind(b"\n") + 1]
    status, body, headers = post(host, "provision", body_csv, mapping="microsoft-sample")
    assert status == 202, body
    run_id = body["runId"]
    assert headers["Location"] == f"/api/runs/{run_id}" and body["status"] == "sending"
    host.run_queues()
    status, runs, _ = host.http("list_runs", "GET", "http://x/api/runs")
    assert status == 200 and [r["runId"] for r in runs["runs"]] == [run_id]
    status, run, _ = host.http("get_run", "GET", "http://x", route={"runId": run_id})
    assert status == 200 and run["status"] == "completed" and run["trigger"] == "http"
    status, results, _ = host.http("get_run_results", "GET", "http://x", route={"runId": run_id})
    assert status == 200 and results["results"]["complete"] is True
    status, logs, _ = host.http("get_logs", "GET", "http://x/api/logs", params={"since": "2000-01-01T00:00:00Z"})
    assert status == 200 and logs["sent"] == run["counts"]["accepted"]
    status, dry, _ = post(host, "provision", body_csv, mapping="microsoft-sample", dryRun="true")
    assert status == 202 and dry["status"] == "dry-run"


def test_suggest_from_a_header_field_names_or_records(host: FunctionHost) -> None:
    status, body, _ = post(host, "suggest_mapping", b"WorkerID,FirstName,LastName,WorkerStatus,ShoeSize\n")
    assert status == 200 and body["matched"]["WorkerID"] == "externalId" and body["unmatched"] == ["ShoeSize"]
    status, body, _ = post(host, "suggest_mapping", b'["Employee_ID", "Email_Address"]', "application/json")
    assert status == 200 and body["profile"]["attributes"]["externalId"] == "Employee_ID"
    status, body, _ = post(host, "suggest_mapping", b'[{"person": {"firstName": "A"}, "id": 1}]', "application/json")
    assert status == 200 and body["matched"]["person.firstName"] == "name.givenName"


@pytest.mark.parametrize(
    ("name", "body", "content_type", "params", "status", "code"),
    [
        ("preview", CSV, "text/csv", {}, 400, "MissingParameter"),
        ("preview", CSV, "text/csv", {"mapping": "nope"}, 404, "UnknownProfile"),
        ("preview", CSV, "application/xml", {"mapping": "microsoft-sample"}, 415, "UnsupportedMediaType"),
        ("preview", b"", "text/csv", {"mapping": "microsoft-sample"}, 400, "EmptyBody"),
        ("preview", b"x" * 4096, "text/csv", {"mapping": "microsoft-sample"}, 413, "BodyTooLarge"),
        ("preview", b"\xff\xfe\x00garbage\x00\x01", "text/csv", {"mapping": "microsoft-sample"}, 400, "InvalidSource"),
        ("preview", b"[{", "application/json", {"mapping": "microsoft-sample"}, 400, "InvalidSource"),
        ("preview", b'{"rows": []}', "application/json", {"mapping": "microsoft-sample"}, 400, "InvalidSource"),
        ("provision", CSV, "text/csv", {"mapping": "nope"}, 404, "UnknownProfile"),
        ("provision", CSV, "text/csv", {"mapping": "microsoft-sample", "dryRun": "maybe"}, 400, "InvalidParameter"),
        ("provision", b"WorkerID\n", "text/csv", {"mapping": "microsoft-sample"}, 400, "InvalidSource"),
        ("provision", b"\x00\x01\x02", "text/plain", {"mapping": "microsoft-sample"}, 400, "InvalidSource"),
        ("suggest_mapping", b"{", "application/json", {}, 400, "InvalidJson"),
        ("suggest_mapping", b"a,b", "image/png", {}, 415, "UnsupportedMediaType"),
    ],
)
def test_bad_requests_get_a_4xx_with_a_json_reason_and_change_nothing(
    host: FunctionHost, name: str, body: bytes, content_type: str, params: dict[str, str], status: int, code: str
) -> None:
    got, answer, _ = post(host, name, body, content_type, **params)
    assert (got, answer["error"]["code"]) == (status, code), answer
    assert "Traceback" not in answer["error"]["message"]
    listed = host.http("list_runs", "GET", "http://x/api/runs")[1]["runs"]
    assert all(r["status"] == "failed" for r in listed), "a bad body never leaves a run that sends"
    assert host.graph.upload_count == 0


def test_reading_errors(host: FunctionHost) -> None:
    assert host.http("get_run", "GET", "http://x", route={"runId": "20990101T000000Z-ffffff"})[0] == 404
    assert host.http("get_run_results", "GET", "http://x", route={"runId": "../../etc"})[0] == 404
    assert host.http("approve_run", "POST", "http://x", route={"runId": "nope"})[0] == 404
    assert host.http("get_logs", "GET", "http://x/api/logs")[0] == 400
    assert host.http("get_logs", "GET", "http://x/api/logs", params={"since": "yesterday"})[0] == 400
    assert host.http("get_logs", "GET", "http://x/api/logs", params={"since": "2026-01-01T00:00:00"})[0] == 400
    assert host.http("list_runs", "GET", "http://x/api/runs", params={"limit": "0"})[0] == 400
    status, document, _ = host.http("openapi", "GET", "http://x/api/openapi.json")
    assert status == 200 and document["openapi"].startswith("3.")


def test_a_missing_entra_setting_is_a_503_naming_it(host: FunctionHost) -> None:
    host.configure(ENTRA_BULK_UPLOAD_URL="")
    status, body, _ = host.http("get_logs", "GET", "http://x/api/logs", params={"since": "2026-01-01T00:00:00Z"})
    assert status == 503 and "ENTRA_BULK_UPLOAD_URL" in body["error"]["message"]


def test_the_mapping_page_routes_keep_uploads_and_profiles_in_storage(host: FunctionHost) -> None:
    # The Function App's door to the same endpoints serve uses: blob storage instead of folders.
    csv = b"WorkerID,WorkerStatus,UserID,FullName\n1,Active,a@contoso.com,Ann\n2,Active,,Bob\n"
    status, upload, _ = host.http("upload_file", "POST", "http://x/api/uploads", csv,
                                  {"Content-Type": "text/csv"}, {"name": "w.csv"})  # fmt: skip
    assert status == 201 and upload["rows"] == 2, upload
    route = {"uploadId": upload["uploadId"]}
    status, rows, _ = host.http("get_upload_rows", "GET", "http://x", route=route, params={"limit": "1"})
    assert status == 200 and rows["rows"] == [{"WorkerID": "1", "WorkerStatus": "Active", "UserID": "a@contoso.com",
                                               "FullName": "Ann"}]  # fmt: skip
    active = {"source": "WorkerStatus", "transforms": [{"op": "equals", "value": "Active"}]}
    profile = {"attributes": {"externalId": "WorkerID", "userName": "UserID", "displayName": "FullName",
                              "active": active}}  # fmt: skip
    body = json.dumps({"profile": profile}).encode()
    status, checked, _ = host.http("validate_upload", "POST", "http://x", body, {"Content-Type": "application/json"},
                                   route=route)  # fmt: skip
    assert status == 200 and checked["summary"]["rejected"] == 1 and checked["rejects"][0]["field"] == "userName"
    raw = json.dumps(profile).encode()
    status, saved, _ = host.http("save_mapping", "PUT", "http://x", raw, {"Content-Type": "application/json"},
                                 route={"name": "page-made"})  # fmt: skip
    assert status == 201, saved
    config = host.storage.clients.container(host.setting("HR_CONFIG_CONTAINER"))
    assert json.loads(config.download_blob("page-made.json").readall())["name"] == "page-made"
    status, page, headers = host.http_raw("ui_page", "GET", "http://x/api/ui")
    assert status == 200 and b"<html" in page and "default-src 'self'" in headers["Content-Security-Policy"]
