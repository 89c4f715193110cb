"""Azure Functions entry point (Python v2 programming model): thin triggers over the provisioning package.

Importing this module needs no setting: the Functions host indexes the functions before running them;
settings are read and checked the first time a function runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from functools import lru_cache
from typing import Any

import azure.functions as func
import azurefunctions.extensions.bindings.blob as blob

from provisioning.doors.composition import Services
from provisioning.doors.http.api import Api
from provisioning.doors.http.protocol import ApiRequest, ApiResponse, handle
from provisioning.doors.log_redaction import install_log_redaction
from provisioning.engine.dropped_files import provision_dropped_blob
from provisioning.engine.messages import CoordinateMessage, MalformedMessage, UploadMessage
from provisioning.engine.scheduled_pulls import run_scheduled_pulls
from provisioning.settings import blob_trigger_source

install_log_redaction()  # before any logging: no URL credential ever reaches a log line
app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
log = logging.getLogger("function_app")

# Event Grid is required on the Flex Consumption plan; polling stays available for other plans.
BLOB_SOURCE = (
    func.BlobSource.LOGS_AND_CONTAINER_SCAN
    if blob_trigger_source() == "LogsAndContainerScan"
    else func.BlobSource.EVENT_GRID
)


@lru_cache(maxsize=1)
def services() -> Services:
    """Settings, storage and clients, built once per process on first use."""
    return Services.from_settings()


api = Api(services)


def _http(endpoint: Callable[[ApiRequest], ApiResponse], req: func.HttpRequest) -> func.HttpResponse:
    request = ApiRequest(
        method=req.method,
        params=dict(req.params),
        headers={k.lower(): v for k, v in req.headers.items()},
        body=req.get_body() or b"",
        route=dict(req.route_params),
    )
    response = handle(endpoint, request)
    return func.HttpResponse(
        response.json_bytes(), status_code=response.status, headers=response.headers, mimetype="application/json"
    )


# ---- storage triggers --------------------------------------------------------------------------------


@app.blob_trigger(arg_name="client", path="%HR_INBOUND_CONTAINER%/{name}", connection="HR_STORAGE", source=BLOB_SOURCE)
def provision_blob(client: blob.BlobClient) -> None:
    """A CSV or JSON file dropped into the inbound container becomes a run (the same blob twice: one run)."""
    s = services()
    record = provision_dropped_blob(s.workflow, s.storage, s.settings, client.blob_name)
    log.info("run %s for %s: %s %s", record.runId, client.blob_name, record.status, record.message)


@app.queue_trigger(arg_name="msg", queue_name="%HR_UPLOAD_QUEUE%", connection="HR_STORAGE")
def upload_batch(msg: func.QueueMessage) -> None:
    """Sends one bulk request of a run and records its outcome."""
    message = _message(UploadMessage, msg)
    if message is not None:
        s = services()
        result = s.sender.send(s.workflow, s.graph, message)
        log.info("run %s request %s: %s", message.runId, message.batch, result.status)


@app.queue_trigger(arg_name="msg", queue_name="%HR_UPLOAD_QUEUE%-poison", connection="HR_STORAGE")
def upload_poison(msg: func.QueueMessage) -> None:
    """A request whose message failed every delivery is recorded as failed in its run."""
    message = _message(UploadMessage, msg)
    if message is not None:
        s = services()
        s.sender.poison(s.workflow, message, f"not sent: its message failed {msg.dequeue_count} deliveries")
        log.error("run %s request %s went to the poison queue", message.runId, message.batch)


@app.queue_trigger(arg_name="msg", queue_name="%HR_RESULTS_QUEUE%", connection="HR_STORAGE")
def coordinate_run(msg: func.QueueMessage) -> None:
    """Moves a run on: the next manager level, the run's totals, then the per-record results."""
    message = _message(CoordinateMessage, msg)
    if message is not None:
        s = services()
        log.info("run %s: %s", message.runId, s.sender.coordinate(s.workflow, message))


@app.queue_trigger(arg_name="msg", queue_name="%HR_RESULTS_QUEUE%-poison", connection="HR_STORAGE")
def coordinate_poison(msg: func.QueueMessage) -> None:
    """A run whose coordinator failed every delivery is ended with the reason, never left sending."""
    message = _message(CoordinateMessage, msg)
    if message is not None:
        s = services()
        outcome = s.sender.coordinate_poison(s.workflow, message, f"failed {msg.dequeue_count} deliveries")
        log.error("run %s: coordinator message poisoned: %s", message.runId, outcome)


@app.timer_trigger(arg_name="timer", schedule="%HR_SWEEP_SCHEDULE%", run_on_startup=False)
def sweep_runs(timer: func.TimerRequest) -> None:
    """Finds runs that stopped making progress: resumes them, or ends them with the reason."""
    s = services()
    for line in s.workflow.sweep(stuck_after=timedelta(minutes=s.settings.hr_stuck_minutes)):
        log.warning("periodic check: %s", line)


@app.timer_trigger(arg_name="timer", schedule="%HRMS_SYNC_SCHEDULE%", run_on_startup=False)
def hrms_sync(timer: func.TimerRequest) -> None:
    """Pulls every enabled HR system connector job through the same pipeline as a dropped file."""
    s = services()
    for record in run_scheduled_pulls(s.workflow, s.storage, s.settings):
        log.info("run %s (%s): %s %s", record.runId, record.source, record.status, record.message)


def _message(model: type[UploadMessage] | type[CoordinateMessage], msg: func.QueueMessage) -> Any:
    """The message as its model, or None (logged and dropped) when no sender of ours wrote it."""
    try:
        return model.parse(msg.get_body())
    except MalformedMessage as exc:
        log.error("dropped a malformed message (id %s): %s", msg.id, exc)
        return None


# ---- HTTP API (routes under the host's api/ prefix) ---------------------------------------------------


@app.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def health(req: func.HttpRequest) -> func.HttpResponse:
    """Liveness probe: says the app is up and nothing else."""
    return _http(api.health, req)


@app.route(route="preview", methods=["POST"])
def preview(req: func.HttpRequest) -> func.HttpResponse:
    """The exact bulk requests a CSV or JSON body would give, without sending anything."""
    return _http(api.preview, req)


@app.route(route="provision", methods=["POST"])
def provision(req: func.HttpRequest) -> func.HttpResponse:
    """Starts a run from a CSV or JSON body: 202 with its runId."""
    return _http(api.provision, req)


@app.route(route="runs", methods=["GET"])
def list_runs(req: func.HttpRequest) -> func.HttpResponse:
    """The latest runs, newest first."""
    return _http(api.runs, req)


@app.route(route="runs/{runId}", methods=["GET"])
def get_run(req: func.HttpRequest) -> func.HttpResponse:
    """One run record, with live request statuses while it sends."""
    return _http(api.run, req)


@app.route(route="runs/{runId}/results", methods=["GET"])
def get_run_results(req: func.HttpRequest) -> func.HttpResponse:
    """The per-record outcomes of a run, from the provisioning logs."""
    return _http(api.results, req)


@app.route(route="runs/{runId}/approve", methods=["POST"])
def approve_run(req: func.HttpRequest) -> func.HttpResponse:
    """Lets a run held by a safety stop go."""
    return _http(api.approve, req)


@app.route(route="runs/{runId}/retry", methods=["POST"])
def retry_run(req: func.HttpRequest) -> func.HttpResponse:
    """Sends the failed records of a run again, as a new run."""
    return _http(api.retry, req)


@app.route(route="usage", methods=["GET"])
def get_usage(req: func.HttpRequest) -> func.HttpResponse:
    """bulkUpload calls made today (UTC), against the tenant's daily quota."""
    return _http(api.usage, req)


@app.route(route="logs", methods=["GET"])
def get_logs(req: func.HttpRequest) -> func.HttpResponse:
    """Per-record outcomes from the provisioning logs since a time."""
    return _http(api.logs, req)


@app.route(route="mappings/suggest", methods=["POST"])
def suggest_mapping(req: func.HttpRequest) -> func.HttpResponse:
    """Auto-map: a suggested profile from a CSV header or JSON fields or records."""
    return _http(api.suggest, req)


@app.route(route="connectors", methods=["GET"])
def list_connectors(req: func.HttpRequest) -> func.HttpResponse:
    """The HR system connectors (definitions, no secrets)."""
    return _http(api.connectors, req)


@app.route(route="connectors/{id}/test", methods=["POST"])
def test_connector(req: func.HttpRequest) -> func.HttpResponse:
    """One small request to an HR system with the configuration in the body."""
    return _http(api.test_connector, req)


@app.route(route="openapi.json", methods=["GET"])
def openapi(req: func.HttpRequest) -> func.HttpResponse:
    """This API's OpenAPI document."""
    return _http(api.openapi, req)
