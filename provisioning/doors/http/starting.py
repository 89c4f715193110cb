"""Starting a run from an HTTP request: the one way both provision endpoints (a body, an upload) do it."""

from __future__ import annotations

from provisioning.core.read.records import RecordSource
from provisioning.core.runs import new_run_id
from provisioning.doors.composition import AppServices
from provisioning.doors.http.protocol import ApiResponse
from provisioning.engine.workflow import StartRequest


def start_run(services: AppServices, source: RecordSource, profile_name: str, *, feed: str,
              dry_run: bool) -> ApiResponse:  # fmt: skip
    """202 with the new run's id and where to follow it; an unknown profile is a 404 before any run."""
    services.profiles.load(profile_name)
    run_id = new_run_id()
    record = services.workflow.start(
        StartRequest(source=source, profile=profile_name, trigger="http", feed=feed, run_id=run_id, dry_run=dry_run)
    )
    location = f"/api/runs/{run_id}"
    body = {"runId": run_id, "status": record.status, "message": record.message, "location": location}
    return ApiResponse(202, body, {"Location": location})
