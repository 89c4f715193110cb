"""Azure Functions entry point (Python v2 programming model): thin triggers over the provisioning package.

Importing this module needs no setting: the Functions host indexes the functions before running them;
settings are read and checked the first time a function runs.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import lru_cache
from operator import attrgetter
from typing import TYPE_CHECKING, Any

import azure.functions as func
import azurefunctions.extensions.bindings.blob as blob

from provisioning.doors.log_redaction import install_log_redaction
from provisioning.index_settings import blob_trigger_source

if TYPE_CHECKING:  # imported by the functions that use them (cold start: the host indexes every function first)
    from provisioning.doors.composition import AppServices, Services
    from provisioning.doors.http.api import Api
    from provisioning.engine.messages import CoordinateMessage, UploadMessage

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
def services() -> AppServices:
    """Settings, storage and clients, built once per process on first use: the Function App's (storage is
    configured), or folders and threads on a machine without Azure (``python -m provisioning serve``)."""
    from provisioning.doors.composition import build_services

    return build_services()


def azure_services() -> Services:
    """The storage and queue triggers run only in the Function App, where storage is always configured."""
    from provisioning.doors.composition import Services
    from provisioning.settings import SettingsError

    found = services()
    if not isinstance(found, Services):
        raise SettingsError("no storage account is configured: set HR_STORAGE (the triggers need Azure Storage)")
    return found


@lru_cache(maxsize=1)
def http_api() -> Api:
    """The HTTP endpoints, loaded by the first HTTP call: a queue, blob or timer invocation never imports
    them (nor the engine's modules they bring)."""
    from provisioning.doors.http.api import Api

    return Api(services)


def _http(endpoint: str, req: func.HttpRequest) -> func.HttpResponse:
    """Calls the endpoint named ``endpoint`` (``"preview"``, ``"pages.upload"``) of ``http_api()``: a name, so
    that the module loads only now."""
    from provisioning.doors.http.protocol import ApiRequest, handle

    request = ApiRequest(
        method=req.method,
        params=dict(req.params),
        headers={k.lower(): v for k, v in req.headers.items()},
        body=req.get_body() or b"",
        route=dict(req.route_params),
    )
    response = handle(attrgetter(endpoint)(http_api()), request)
    return func.HttpResponse(
        response.json_bytes(), status_code=response.status, headers=response.headers, mimetype=response.content_type
    )


# ---- storage triggers --------------------------------------------------------------------------------


@app.blob_trigger(arg_name="client", path="%HR_INBOUND_CONTAINER%/{name}", connection="HR_STORAGE", source=BLOB_SOURCE)
def provision_blob(client: blob.BlobClient) -> None:
    """A CSV or JSON file dropped into the inbound container becomes a run (the same blob twice: one run)."""
    from provisioning.engine.dropped_files import provision_dropped_blob

    s = azure_services()
    record = provision_dropped_blob(s.workflow, s.storage, s.settings, client.blob_name)
    log.info("run %s for %s: %s %s", record.runId, client.blob_name, record.status, record.message)


@app.queue_trigger(arg_name="msg", queue_name="%HR_UPLOAD_QUEUE%", connection="HR_STORAGE")
def upload_batch(msg: func.QueueMessage) -> None:
    """Sends one bulk request of a run and records its outcome."""
    from provisioning.engine.messages import UploadMessage

    message = _message(UploadMessage, msg)
    if message is not None:
        s = azure_services()
        result = s.sender.send(s.workflow, s.graph, message)
        log.info("run %s request %s: %s", message.runId, message.batch, result.status)


@app.queue_trigger(arg_name="msg", queue_name="%HR_UPLOAD_QUEUE%-poison", connection="HR_STORAGE")
def upload_poison(msg: func.QueueMessage) -> None:
    """A request whose message failed every delivery is recorded as failed in its run."""
    from provisioning.engine.messages import UploadMessage

    message = _message(UploadMessage, msg)
    if message is not None:
        s = azure_services()
        s.sender.poison(s.workflow, message, f"not sent: its message failed {msg.dequeue_count} deliveries")
        log.error("run %s request %s went to the poison queue", message.runId, message.batch)


@app.queue_trigger(arg_name="msg", queue_name="%HR_RESULTS_QUEUE%", connection="HR_STORAGE")
def coordinate_run(msg: func.QueueMessage) -> None:
    """Moves a run on: the next manager level, the run's totals, then the per-record results."""
    from provisioning.engine.messages import CoordinateMessage

    message = _message(CoordinateMessage, msg)
    if message is not None:
        s = azure_services()
        log.info("run %s: %s", message.runId, s.sender.coordinate(s.workflow, message))


@app.queue_trigger(arg_name="msg", queue_name="%HR_RESULTS_QUEUE%-poison", connection="HR_STORAGE")
def coordinate_poison(msg: func.QueueMessage) -> None:
    """A run whose coordinator failed every delivery is ended with the reason, never left sending."""
    from provisioning.engine.messages import CoordinateMessage

    message = _message(CoordinateMessage, msg)
    if message is not None:
        s = azure_services()
        outcome = s.sender.coordinate_poison(s.workflow, message, f"failed {msg.dequeue_count} deliveries")
        log.error("run %s: coordinator message poisoned: %s", message.runId, outcome)


@app.timer_trigger(arg_name="timer", schedule="%HR_SWEEP_SCHEDULE%", run_on_startup=False)
def sweep_runs(timer: func.TimerRequest) -> None:
    """Finds runs that stopped making progress: resumes them, or ends them with the reason."""
    s = azure_services()
    for line in s.workflow.sweep(stuck_after=timedelta(minutes=s.settings.hr_stuck_minutes)):
        log.warning("periodic check: %s", line)


@app.timer_trigger(arg_name="timer", schedule="%HRMS_SYNC_SCHEDULE%", run_on_startup=False)
def hrms_sync(timer: func.TimerRequest) -> None:
    """Pulls every enabled HR system connector job through the same pipeline as a dropped file."""
    from provisioning.engine.scheduled_pulls import run_scheduled_pulls

    s = azure_services()
    for record in run_scheduled_pulls(s.workflow, s.storage, s.settings):
        log.info("run %s (%s): %s %s", record.runId, record.source, record.status, record.message)


def _message(model: type[UploadMessage] | type[CoordinateMessage], msg: func.QueueMessage) -> Any:
    """The message as its model, or None (logged and dropped) when no sender of ours wrote it."""
    from provisioning.engine.messages import MalformedMessage

    try:
        return model.parse(msg.get_body())
    except MalformedMessage as exc:
        log.error("dropped a malformed message (id %s): %s", msg.id, exc)
        return None


# ---- HTTP API (routes under the host's api/ prefix) ---------------------------------------------------


@app.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def health(req: func.HttpRequest) -> func.HttpResponse:
    """Liveness probe: says the app is up and nothing else."""
    return _http("health", req)


@app.route(route="preview", methods=["POST"])
def preview(req: func.HttpRequest) -> func.HttpResponse:
    """The exact bulk requests a CSV or JSON body would give, without sending anything."""
    return _http("preview", req)


@app.route(route="provision", methods=["POST"])
def provision(req: func.HttpRequest) -> func.HttpResponse:
    """Starts a run from a CSV or JSON body: 202 with its runId."""
    return _http("provision", req)


@app.route(route="runs", methods=["GET"])
def list_runs(req: func.HttpRequest) -> func.HttpResponse:
    """The latest runs, newest first."""
    return _http("runs", req)


@app.route(route="runs/{runId}", methods=["GET"])
def get_run(req: func.HttpRequest) -> func.HttpResponse:
    """One run record, with live request statuses while it sends."""
    return _http("run", req)


@app.route(route="runs/{runId}/results", methods=["GET"])
def get_run_results(req: func.HttpRequest) -> func.HttpResponse:
    """The per-record outcomes of a run, from the provisioning logs."""
    return _http("results", req)


@app.route(route="runs/{runId}/approve", methods=["POST"])
def approve_run(req: func.HttpRequest) -> func.HttpResponse:
    """Lets a run held by a safety stop go."""
    return _http("approve", req)


@app.route(route="runs/{runId}/retry", methods=["POST"])
def retry_run(req: func.HttpRequest) -> func.HttpResponse:
    """Sends the failed records of a run again, as a new run."""
    return _http("retry", req)


@app.route(route="usage", methods=["GET"])
def get_usage(req: func.HttpRequest) -> func.HttpResponse:
    """bulkUpload calls made today (UTC), against the tenant's daily quota."""
    return _http("usage", req)


@app.route(route="logs", methods=["GET"])
def get_logs(req: func.HttpRequest) -> func.HttpResponse:
    """Per-record outcomes from the provisioning logs since a time."""
    return _http("logs", req)


@app.route(route="mappings/suggest", methods=["POST"])
def suggest_mapping(req: func.HttpRequest) -> func.HttpResponse:
    """Auto-map: a suggested profile from a CSV header or JSON fields or records."""
    return _http("suggest", req)


@app.route(route="connectors", methods=["GET"])
def list_connectors(req: func.HttpRequest) -> func.HttpResponse:
    """The HR system connectors (definitions, no secrets)."""
    return _http("connectors", req)


@app.route(route="connectors/{id}/test", methods=["POST"])
def test_connector(req: func.HttpRequest) -> func.HttpResponse:
    """One small request to an HR system with the configuration in the body."""
    return _http("test_connector", req)


@app.route(route="uploads", methods=["POST"])
def upload_file(req: func.HttpRequest) -> func.HttpResponse:
    """Keeps an uploaded CSV or JSON file for the mapping page: 201 with its id, format and fields."""
    return _http("pages.upload", req)


@app.route(route="uploads/{uploadId}/rows", methods=["GET"])
def get_upload_rows(req: func.HttpRequest) -> func.HttpResponse:
    """A page of an upload's rows."""
    return _http("pages.rows", req)


@app.route(route="uploads/{uploadId}/suggest", methods=["POST"])
def suggest_upload(req: func.HttpRequest) -> func.HttpResponse:
    """Auto-map: a profile suggested from an upload's fields."""
    return _http("pages.suggest", req)


@app.route(route="uploads/{uploadId}/validate", methods=["POST"])
def validate_upload(req: func.HttpRequest) -> func.HttpResponse:
    """An upload through the profile in the body: counts and rejects."""
    return _http("pages.validate", req)


@app.route(route="uploads/{uploadId}/preview", methods=["POST"])
def preview_upload(req: func.HttpRequest) -> func.HttpResponse:
    """A page of the exact bulk requests the profile in the body gives."""
    return _http("pages.preview", req)


@app.route(route="uploads/{uploadId}/provision", methods=["POST"])
def provision_upload(req: func.HttpRequest) -> func.HttpResponse:
    """Starts a run of an upload with a saved profile: 202 with its runId."""
    return _http("pages.provision", req)


@app.route(route="mappings", methods=["GET"])
def list_mappings(req: func.HttpRequest) -> func.HttpResponse:
    """The saved and bundled mapping profiles."""
    return _http("pages.list_mappings", req)


@app.route(route="mappings/{name}", methods=["GET"])
def get_mapping(req: func.HttpRequest) -> func.HttpResponse:
    """One mapping profile."""
    return _http("pages.get_mapping", req)


@app.route(route="mappings/{name}", methods=["PUT"])
def save_mapping(req: func.HttpRequest) -> func.HttpResponse:
    """Saves a mapping profile (409 when it exists, unless overwrite=true)."""
    return _http("pages.save_mapping", req)


@app.route(route="mappings/schema-sync", methods=["POST"])
def schema_sync_dry_run(req: func.HttpRequest) -> func.HttpResponse:
    """What the profile's custom attributes would change in the job schema (a dry run)."""
    return _http("pages.schema_sync", req)


@app.route(route="connector-jobs", methods=["GET"])
def list_connector_jobs(req: func.HttpRequest) -> func.HttpResponse:
    """The configured HR connector jobs (names and connectors, no configuration)."""
    return _http("pages.connector_jobs", req)


@app.route(route="connector-jobs/{name}/sample", methods=["POST"])
def sample_connector_job(req: func.HttpRequest) -> func.HttpResponse:
    """The first records of a job's HR system, kept as an upload."""
    return _http("pages.connector_sample", req)


@app.route(route="entra-targets", methods=["GET"])
def list_entra_targets(req: func.HttpRequest) -> func.HttpResponse:
    """The Entra attributes a custom attribute can target, grouped."""
    return _http("pages.entra_targets", req)


@app.route(route="ui", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def ui_page(req: func.HttpRequest) -> func.HttpResponse:
    """The mapping page (no secret in it: it asks for a function key when one is needed)."""
    return _http("ui", req)


@app.route(route="ui/{file}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def ui_file(req: func.HttpRequest) -> func.HttpResponse:
    """The mapping page's script and style sheet."""
    return _http("ui", req)


@app.route(route="openapi.json", methods=["GET"])
def openapi(req: func.HttpRequest) -> func.HttpResponse:
    """This API's OpenAPI document."""
    return _http("openapi", req)
