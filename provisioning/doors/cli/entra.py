"""The CLI commands that run the engine: run, resume, approve, retry-failed, logs, and schema-sync.

They only turn argv into a call on the workflow and its record into lines and an exit status. The CLI's
composition: state in local folders (RUNS_DIR, STATE_DIR), requests sent by threads in this process, and
Graph at ENTRA_BULK_UPLOAD_URL (or ``--endpoint``), else the Graph emulator started in this process
(the embedded default, whose directory ends with the process). A command about an earlier run talks to
the endpoint that run used.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from provisioning.core.errors import ProvisioningError
from provisioning.doors.cli.progress import Progress

if TYPE_CHECKING:  # the profile models, settings, Graph and Azure SDK modules load only for the commands that use them
    from provisioning.core.runs import RunRecord
    from provisioning.engine.workflow import Workflow
    from provisioning.entra.graph_client import GraphClient
    from provisioning.settings import Settings
    from provisioning.state.local import LocalState

EXIT_OK, EXIT_NOT_PROVISIONED, EXIT_ERROR, EXIT_HELD, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


def add_commands(commands: Any, build_arguments: Any) -> None:
    run = commands.add_parser("run", help="build, hold-check, send, and show per-worker results")
    build_arguments(run)
    _endpoint_argument(run)
    run.add_argument("--dry-run", action="store_true", help="build and show the schema change; send nothing")
    run.add_argument("--no-wait", action="store_true", help="do not wait for the provisioning logs")
    run.add_argument("--ignore-job-status", action="store_true", help="send even if the job is paused")
    run.add_argument("--full-sync", action="store_true", help="send every record, changed or not")
    run.add_argument("--feed", help="the feed whose delta state and safety history this run uses (default: profile)")
    run.set_defaults(handler=_run)

    resume = commands.add_parser("resume", help="go on with a run stopped by Ctrl-C, a kill or a crash")
    resume.add_argument("run_id", metavar="RUN")
    _endpoint_argument(resume)
    resume.add_argument("--no-wait", action="store_true")
    resume.set_defaults(handler=_resume)

    approve = commands.add_parser("approve", help="let a run held by a safety stop go")
    approve.add_argument("run_id", metavar="RUN")
    _endpoint_argument(approve)
    approve.add_argument("--no-wait", action="store_true")
    approve.set_defaults(handler=_approve)

    retry = commands.add_parser("retry-failed", help="send again the failed records of a run, as a new run")
    retry.add_argument("--run", required=True, help="the run id")
    _endpoint_argument(retry)
    retry.add_argument("--no-wait", action="store_true")
    retry.set_defaults(handler=_retry_failed)

    logs = commands.add_parser("logs", help="per-worker outcomes from the provisioning logs")
    _endpoint_argument(logs)
    which = logs.add_mutually_exclusive_group(required=True)
    which.add_argument("--since", help="ISO date-time, e.g. 2026-11-28T09:00:00Z")
    which.add_argument("--run", help="a run id: the workers that run sent")
    logs.set_defaults(handler=_logs)

    schema = commands.add_parser("schema-sync", help="add the profile's custom attributes to the job schema")
    schema.add_argument("--mapping", required=True, metavar="PROFILE")
    _endpoint_argument(schema)
    schema.add_argument("--dry-run", action="store_true", help="show the change as a diff; write nothing")
    schema.add_argument("--overwrite", action="store_true", help="replace mappings of the same targets")
    schema.add_argument(
        "--include-standard",
        action="store_true",
        help="also check the standard attributes the profile maps (and active's mapping for the target)",
    )
    schema.set_defaults(handler=_schema_sync)


def _endpoint_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--endpoint", help="bulkUpload URL (default: ENTRA_BULK_UPLOAD_URL, else the emulator)")


class EmbeddedRunGone(ProvisioningError):
    """A run made on the embedded emulator: its directory and logs ended with the process that made it."""


# ---- composition ----------------------------------------------------------------------------------


def _state(settings: Settings) -> LocalState:
    from provisioning.state.local import LocalState

    return LocalState(settings.runs_dir, settings.state_dir)


@contextmanager
def _state_for(settings: Settings, client: GraphClient) -> Iterator[LocalState]:
    """Run records stay in RUNS_DIR. Feed state describes what a directory holds, so a run on the embedded
    emulator keeps it only as long as that directory lives: in a folder removed with the process."""
    if not client.embedded:
        yield _state(settings)
        return
    import tempfile

    from provisioning.state.local import LocalState

    with tempfile.TemporaryDirectory(prefix="embedded-feeds-") as folder:
        yield LocalState(settings.runs_dir, folder)


@contextmanager
def _graph(args: argparse.Namespace, settings: Settings, record: RunRecord | None = None) -> Iterator[GraphClient]:
    """The Graph client of this invocation: ``--endpoint``, else the run's own endpoint, else the setting,
    else the embedded emulator."""
    from provisioning.core.retry import RetryPolicy
    from provisioning.doors.composition import build_graph_client
    from provisioning.entra.credentials import EmulatorCredential
    from provisioning.entra.graph_client import GraphClient
    from provisioning.entra.graph_endpoint import parse_bulk_upload_url

    recorded = (record.endpoint if record is not None else {}) or {}
    url = getattr(args, "endpoint", None)
    if not url and recorded.get("embedded"):
        raise EmbeddedRunGone(
            f"run {record.runId if record else ''} was sent to the embedded Graph emulator, which ended with the "
            "process that ran it: its directory and logs are gone. Pass --endpoint (or run against a real job)."
        )
    url = url or recorded.get("bulkUploadUrl") or settings.entra_bulk_upload_url
    if url:
        with build_graph_client(settings, url) as client:
            yield client
        return
    from emulators.entra import EntraEmulator  # the embedded default only

    with EntraEmulator(processing_delay=0.0) as emulator:
        print(f"no ENTRA_BULK_UPLOAD_URL set: using the embedded Graph emulator at {emulator.base_url}")
        endpoint = parse_bulk_upload_url(emulator.bulk_upload_url(), allow_loopback=True)
        policy = RetryPolicy(max_attempts=settings.entra_max_attempts)
        with GraphClient(
            endpoint, EmulatorCredential(), rate=settings.rate, log_rate=settings.log_rate, policy=policy, embedded=True
        ) as client:
            yield client


def _workflow(args: argparse.Namespace, settings: Settings, client: GraphClient, state: LocalState) -> Workflow:
    from provisioning.core.mapping.profiles import BundledProfiles
    from provisioning.engine.config import RunConfig
    from provisioning.engine.sending import ThreadSender
    from provisioning.engine.workflow import Workflow

    config = RunConfig.from_settings(settings)
    batch_size = getattr(args, "batch_size", None)
    config = config.but(
        batch_size=min(batch_size or settings.entra_batch_size, settings.entra_batch_size),
        full_sync=config.full_sync or getattr(args, "full_sync", False),
        ignore_job_status=config.ignore_job_status or getattr(args, "ignore_job_status", False),
    )
    if client.embedded:
        config = config.for_embedded_emulator()
    sender = ThreadSender(
        client, concurrency=config.concurrency, wait_for_results=not getattr(args, "no_wait", False), echo=print
    )
    return Workflow(
        state,
        graph=lambda: client,
        # --mapping: a name in mappings/ or a path, for approve and retry too
        profiles=BundledProfiles(upn_domain=settings.hr_upn_domain),
        sender=sender,
        config=config,
        echo=print,
        progress=Progress("reading"),
    )


# ---- commands -------------------------------------------------------------------------------------


def _run(args: argparse.Namespace) -> int:
    from provisioning.core.mapping.profiles import load_profile, with_upn_domain
    from provisioning.engine.sources import source_from_args
    from provisioning.engine.workflow import StartRequest
    from provisioning.settings import load_settings

    settings = load_settings()
    profile = with_upn_domain(load_profile(args.mapping), settings.hr_upn_domain)
    source = source_from_args(args, profile)
    with _graph(args, settings) as client, _state_for(settings, client) as state:
        workflow = _workflow(args, settings, client, state)
        request = StartRequest(
            source=source,
            profile=args.mapping,
            trigger="cli",
            feed=args.feed or f"profile:{profile.name}",
            dry_run=args.dry_run,
        )
        return _report(_interruptible(lambda: workflow.start(request)), state)


def _resume(args: argparse.Namespace) -> int:
    return _on_run(args, args.run_id, lambda workflow: workflow.resume(args.run_id))


def _approve(args: argparse.Namespace) -> int:
    return _on_run(args, args.run_id, lambda workflow: workflow.approve(args.run_id, by="cli"))


def _retry_failed(args: argparse.Namespace) -> int:
    return _on_run(args, args.run, lambda workflow: workflow.retry(args.run))


def _on_run(args: argparse.Namespace, run_id: str, step: Any) -> int:
    from provisioning.settings import load_settings

    settings = load_settings()
    state = _state(settings)
    record = state.load_record(run_id)
    with _graph(args, settings, record) as client, _state_for(settings, client) as state:
        return _report(_interruptible(lambda: step(_workflow(args, settings, client, state))), state)


def _interruptible(step: Any) -> Any:
    from provisioning.engine.sending import RunInterrupted

    try:
        return step()
    except RunInterrupted as exc:
        print(str(exc), file=sys.stderr)
        raise SystemExit(EXIT_INTERRUPTED) from None


def _report(record: RunRecord, state: LocalState) -> int:
    for line in describe_summary_of(record):
        print(line)
    if record.results is not None:
        for line in describe_stored_results(record.results):
            print(line)
    print(f"run {record.runId}: {record.status}{': ' + record.message if record.message else ''}")
    print(f"run record: {state.root}/{record.runId}/run.json")
    return exit_status(record)


def exit_status(record: RunRecord) -> int:
    """0 all provisioned (or all accepted, with --no-wait); 1 something not provisioned (rejects, failures
    in the logs, still pending after the wait); 2 the run failed; 3 held."""
    if record.status == "held":
        return EXIT_HELD
    if record.status == "failed":
        return EXIT_ERROR
    results = record.results or {}
    if record.counts.rejected or record.counts.failed or results.get("failed") or results.get("pending"):
        return EXIT_NOT_PROVISIONED
    return EXIT_OK


def describe_summary_of(record: RunRecord) -> list[str]:
    from provisioning.core.plan.pipeline import Summary
    from provisioning.core.plan.reports import describe_summary

    return describe_summary(Summary.from_json(record.summary)) if record.summary else []


def describe_stored_results(results: dict[str, Any], limit: int = 25) -> list[str]:
    """The per-worker table from a stored ``RunResults.as_json()``."""
    from provisioning.core.results.log_summary import RunResults, describe_results

    return describe_results(RunResults.from_json(results), limit=limit)


def _logs(args: argparse.Namespace) -> int:
    from provisioning.core.results.log_query import provisioning_log_params
    from provisioning.core.results.log_summary import describe_results, summarise_everyone
    from provisioning.settings import load_settings

    settings = load_settings()
    if args.run:
        state = _state(settings)
        record = state.load_record(args.run)
        if record.endpoint.get("embedded") and not args.endpoint:
            print(f"run {record.runId} was sent to the embedded Graph emulator, gone with its process: as recorded")
        else:
            with _graph(args, settings, record) as client:
                record = _workflow(args, settings, client, state).refresh_results(args.run)
        for line in describe_stored_results(record.results or {}):
            print(line)
        print(f"run {record.runId}: {record.status}{': ' + record.message if record.message else ''}")
        return exit_status(record)
    since = datetime.fromisoformat(args.since.replace("Z", "+00:00"))
    if since.tzinfo is None:
        print("error: --since needs a time zone, e.g. 2026-11-28T09:00:00Z", file=sys.stderr)
        return EXIT_ERROR
    with _graph(args, settings) as client:
        if client.embedded:
            print("note: the embedded emulator starts empty; point --endpoint at a running emulator or Entra")
        params = provisioning_log_params(client.endpoint.job_id, since=since)
        entries = [entry for page in client.provisioning_logs(params) for entry in page]
    for line in describe_results(summarise_everyone(entries, since=since)):
        print(line)
    return EXIT_OK


def _schema_sync(args: argparse.Namespace) -> int:
    from provisioning.core.mapping.profiles import load_profile, with_upn_domain
    from provisioning.core.schema.sync import plan_schema_sync
    from provisioning.settings import load_settings

    settings = load_settings()
    profile = with_upn_domain(load_profile(args.mapping), settings.hr_upn_domain)
    with _graph(args, settings) as client:
        plan = plan_schema_sync(
            client.get_schema(),
            profile,
            job_id=client.endpoint.job_id,
            overwrite=args.overwrite,
            include_standard=args.include_standard,
        )
        print(plan.diff_text())
        if plan.needs_put and not args.dry_run:
            client.put_schema(plan.schema)
            print("schema updated")
        elif plan.needs_put:
            print("dry run: nothing written")
    return EXIT_OK


__all__ = ["add_commands", "exit_status"]
