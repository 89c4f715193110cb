"""The CLI commands that talk to Entra: run, logs, schema-sync, retry-failed, and their composition root.

With no endpoint configured, ``run`` starts the Graph emulator in-process and uses it (the embedded
default); with ``ENTRA_BULK_UPLOAD_URL`` (or ``--endpoint``) and credentials it talks to Entra.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from provisioning.core.mapping.profiles import load_profile
from provisioning.core.plan.reports import describe_summary
from provisioning.doors.cli.progress import Progress
from provisioning.engine.sources import source_from_args
from provisioning.settings import load_settings

if TYPE_CHECKING:  # the Graph and Azure SDK modules load only for the commands that use them
    from provisioning.core.runs import RunRecord
    from provisioning.engine.runner import RunOptions
    from provisioning.entra.graph_client import GraphClient
    from provisioning.settings import Settings

EXIT_OK, EXIT_NOT_PROVISIONED, EXIT_ERROR, EXIT_HELD = 0, 1, 2, 3
EMBEDDED_FIRST_POLL = 0.2
EMBEDDED_LOG_WAIT = 5.0


def add_commands(commands: Any, build_arguments: Any) -> None:
    run = commands.add_parser("run", help="build, schema-sync, send, and show per-worker results")
    build_arguments(run)
    _endpoint_argument(run)
    run.add_argument("--dry-run", action="store_true", help="build and show the schema change; send nothing")
    run.add_argument("--no-wait", action="store_true", help="do not wait for the provisioning logs")
    run.add_argument("--ignore-job-status", action="store_true", help="send even if the job is paused")
    run.set_defaults(handler=_run)

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

    retry = commands.add_parser("retry-failed", help="send again the failed records of a run")
    retry.add_argument("--run", required=True, help="the run id")
    _endpoint_argument(retry)
    retry.add_argument("--no-wait", action="store_true")
    retry.set_defaults(handler=_retry_failed)


def _endpoint_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--endpoint", help="bulkUpload URL (default: ENTRA_BULK_UPLOAD_URL, else the emulator)")


@contextmanager
def _client(args: argparse.Namespace, settings: Settings) -> Iterator[tuple[GraphClient, bool]]:
    """The Graph client of this invocation, and whether it is the embedded emulator."""
    from provisioning.core.retry import RetryPolicy
    from provisioning.engine.services import build_graph_client
    from provisioning.entra.credentials import EmulatorCredential
    from provisioning.entra.graph_client import GraphClient
    from provisioning.entra.graph_endpoint import parse_bulk_upload_url

    url = getattr(args, "endpoint", None) or settings.entra_bulk_upload_url
    policy = RetryPolicy(max_attempts=settings.entra_max_attempts)
    if not url:
        from emulators.entra import EntraEmulator  # the embedded default only

        with EntraEmulator(processing_delay=0.0) as emulator:
            print(f"no ENTRA_BULK_UPLOAD_URL set: using the embedded Graph emulator at {emulator.base_url}")
            endpoint = parse_bulk_upload_url(emulator.bulk_upload_url(), allow_loopback=True)
            with GraphClient(endpoint, EmulatorCredential(), rate=settings.rate, policy=policy) as client:
                yield client, True
        return
    with build_graph_client(settings.model_copy(update={"entra_bulk_upload_url": url})) as client:
        yield client, False


def _options(args: argparse.Namespace, settings: Settings, embedded: bool) -> RunOptions:
    from provisioning.engine.runner import RunOptions

    return RunOptions(
        dry_run=getattr(args, "dry_run", False),
        wait=not getattr(args, "no_wait", False),
        concurrency=settings.entra_upload_concurrency,
        batch_size=min(getattr(args, "batch_size", None) or settings.entra_batch_size, settings.entra_batch_size),
        log_wait_seconds=EMBEDDED_LOG_WAIT if embedded else settings.entra_log_wait_seconds,
        first_poll_seconds=EMBEDDED_FIRST_POLL if embedded else settings.entra_log_first_poll_seconds,
        ignore_job_status=getattr(args, "ignore_job_status", False),
    )


def _run(args: argparse.Namespace) -> int:
    from provisioning.engine.runner import Runner
    from provisioning.state.local import LocalRunStore

    settings = load_settings()
    profile = load_profile(args.mapping)
    source = source_from_args(args, profile)
    store = LocalRunStore(settings.runs_dir)
    progress = Progress("reading")
    with _client(args, settings) as (client, embedded):
        runner = Runner(client, store, echo=print, progress=progress)
        record = runner.run(source, profile, _options(args, settings, embedded))
    return _report(record, store.root)


def _report(record: RunRecord, root: Any) -> int:
    for line in describe_summary_of(record):
        print(line)
    if record.results is not None:
        for line in describe_stored_results(record.results):
            print(line)
    print(f"run {record.runId}: {record.status}{': ' + record.message if record.message else ''}")
    print(f"run record: {root}/{record.runId}/run.json")
    if record.status == "held":
        return EXIT_HELD
    if record.status == "failed":
        return EXIT_ERROR
    failed = (record.results or {}).get("failed") or []
    if record.counts.rejected or record.counts.failed or failed:
        return EXIT_NOT_PROVISIONED
    return EXIT_OK


def describe_summary_of(record: RunRecord) -> list[str]:
    from provisioning.core.plan.pipeline import Summary

    return describe_summary(Summary.from_json(record.summary)) if record.summary else []


def describe_stored_results(results: dict[str, Any], limit: int = 25) -> list[str]:
    """The per-worker table from a stored ``RunResults.as_json()``."""
    from provisioning.core.results.log_summary import RunResults, describe_results

    return describe_results(RunResults.from_json(results), limit=limit)


def _logs(args: argparse.Namespace) -> int:
    from provisioning.core.results.log_query import provisioning_log_params
    from provisioning.core.results.log_summary import describe_results, summarise_everyone
    from provisioning.engine.runner import Runner, RunOptions
    from provisioning.state.local import LocalRunStore

    settings = load_settings()
    store = LocalRunStore(settings.runs_dir)
    with _client(args, settings) as (client, embedded):
        if embedded:
            print("note: the embedded emulator starts empty; point --endpoint at a running emulator or Entra")
        if args.run:
            record = store.load_record(args.run)
            runner = Runner(client, store, echo=print)
            runner.wait_for_results(record, RunOptions(log_wait_seconds=0.0))
            for line in describe_stored_results(record.results or {}):
                print(line)
            return EXIT_NOT_PROVISIONED if (record.results or {}).get("failed") else EXIT_OK
        since = datetime.fromisoformat(args.since.replace("Z", "+00:00"))
        if since.tzinfo is None:
            print("error: --since needs a time zone, e.g. 2026-11-28T09:00:00Z", file=sys.stderr)
            return EXIT_ERROR
        params = provisioning_log_params(client.endpoint.job_id, since=since)
        entries = [entry for page in client.provisioning_logs(params) for entry in page]
        for line in describe_results(summarise_everyone(entries, since=since)):
            print(line)
        return EXIT_OK


def _schema_sync(args: argparse.Namespace) -> int:
    from provisioning.core.schema.sync import plan_schema_sync

    settings = load_settings()
    profile = load_profile(args.mapping)
    with _client(args, settings) as (client, _):
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


def _retry_failed(args: argparse.Namespace) -> int:
    from provisioning.engine.runner import Runner
    from provisioning.state.local import LocalRunStore

    settings = load_settings()
    store = LocalRunStore(settings.runs_dir)
    with _client(args, settings) as (client, embedded):
        runner = Runner(client, store, echo=print)
        record = runner.retry_failed(args.run, _options(args, settings, embedded))
    return _report(record, store.root)


__all__ = ["add_commands"]
