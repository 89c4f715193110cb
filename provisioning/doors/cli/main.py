"""``python -m provisioning``: auto-map, validate and preview worker files (and, later, send them)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from provisioning.core.errors import ProfileError, ProvisioningError, SourceError
from provisioning.core.plan.bulk import MAX_OPERATIONS
from provisioning.doors.cli.connectors import add_commands as add_connector_commands
from provisioning.doors.cli.entra import add_commands as add_entra_commands
from provisioning.doors.cli.progress import Progress
from provisioning.doors.log_redaction import install_log_redaction

if TYPE_CHECKING:  # each command imports what it uses: --help and a mistyped command load no pydantic model
    from provisioning.core.plan.pipeline import Plan, Reject
    from provisioning.core.plan.reports import RejectsCsv

EXIT_OK, EXIT_REJECTS, EXIT_SOURCE_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130
_LISTED_REJECTS = 50
_WRITES_AHEAD = 8


def main(argv: Sequence[str] | None = None) -> int:
    install_log_redaction()
    args = _parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except (SourceError, ProfileError, ProvisioningError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_SOURCE_ERROR
    except KeyboardInterrupt:  # outside a send (which says how to resume): nothing was sent, say so once
        print("interrupted: nothing more was sent", file=sys.stderr)
        return EXIT_INTERRUPTED


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m provisioning",
        description="Turn HR worker records into Microsoft Entra inbound provisioning (SCIM bulk) requests.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    automap = commands.add_parser("automap", help="suggest a mapping profile from a file's fields")
    _source_arguments(automap)
    automap.add_argument("--name", default="suggested", help="name of the suggested profile")
    automap.set_defaults(handler=_automap)

    validate = commands.add_parser("validate", help="map and validate; print the summary and rejects")
    _build_arguments(validate)
    validate.set_defaults(handler=_validate)

    preview = commands.add_parser("preview", help="write the exact bulk requests, rejects and summary")
    _build_arguments(preview)
    preview.add_argument("--out", required=True, type=Path, help="folder for bulk-NNNN.json and reports")
    preview.set_defaults(handler=_preview)

    add_entra_commands(commands, _build_arguments)
    add_connector_commands(commands)

    serve = commands.add_parser("serve", help="the HTTP API and the mapping page on 127.0.0.1, until Ctrl-C")
    serve.add_argument("--port", type=int, default=8080, help="port on 127.0.0.1 (0: any free port)")
    serve.set_defaults(handler=_serve)
    return parser


def _serve(args: argparse.Namespace) -> int:
    from provisioning.doors.serve import serve

    if not 0 <= args.port <= 65535:
        print("error: --port must be 0 to 65535", file=sys.stderr)
        return EXIT_SOURCE_ERROR
    return serve(args.port)


def _source_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", metavar="SOURCE", help="CSV file, JSON/JSON lines file, or - for stdin")
    parser.add_argument("--encoding", help="encoding of a CSV without BOM (default UTF-8), e.g. cp1252")
    parser.add_argument("--delimiter", help="CSV delimiter: , ; tab | (detected by default)")
    parser.add_argument(
        "--connector-config", metavar="FILE", help="with SOURCE hrms:ID: the connector's configuration (JSON)"
    )


def _build_arguments(parser: argparse.ArgumentParser) -> None:
    _source_arguments(parser)
    parser.add_argument("--mapping", required=True, metavar="PROFILE", help="profile path or name in mappings/")
    parser.add_argument(
        "--batch-size", type=int, default=MAX_OPERATIONS, help=f"operations per request (1-{MAX_OPERATIONS})"
    )


def _automap(args: argparse.Namespace) -> int:
    from provisioning.core.mapping.automap import suggest_profile
    from provisioning.engine.sources import open_location

    source = open_location(
        args.source, encoding=args.encoding, delimiter=args.delimiter, connector_config=args.connector_config
    )
    suggestion = suggest_profile(source.fields, name=args.name)
    print(json.dumps(suggestion.profile, indent=2, ensure_ascii=False))
    for field, target in suggestion.matched.items():
        print(f"mapped {field} -> {target}", file=sys.stderr)
    if suggestion.unmatched:
        print(f"not mapped: {', '.join(suggestion.unmatched)}", file=sys.stderr)
    for note in suggestion.notes:
        print(f"note: {note}", file=sys.stderr)
    return EXIT_OK


def _plan(args: argparse.Namespace, on_reject: RejectsCsv | None = None) -> tuple[Plan, list[Reject]]:
    from provisioning.core.mapping.profiles import load_profile, with_upn_domain
    from provisioning.core.plan.pipeline import plan_run
    from provisioning.engine.sources import source_from_args
    from provisioning.settings import load_settings

    profile = with_upn_domain(load_profile(args.mapping), load_settings().hr_upn_domain)
    source = source_from_args(args, profile)
    listed: list[Reject] = []

    def collect(reject: Reject) -> None:
        if on_reject is not None:
            on_reject(reject)
        if len(listed) < _LISTED_REJECTS:
            listed.append(reject)

    if args.batch_size < 1 or args.batch_size > MAX_OPERATIONS:
        raise ProfileError(f"--batch-size must be between 1 and {MAX_OPERATIONS}, not {args.batch_size}")
    progress = Progress("reading")
    plan = plan_run(source, profile, on_reject=collect, batch_size=args.batch_size, progress=progress)
    progress.done()
    _print_report(plan, listed, source.line_label)
    return plan, listed


def _print_report(plan: Plan, listed: list[Reject], line_label: str) -> None:
    from provisioning.core.plan.reports import describe_reject, describe_summary

    for line in describe_summary(plan.summary):
        print(line)
    for reject in listed:
        print("  rejected " + describe_reject(reject, line_label))
    if plan.summary.rejected > len(listed):
        print(f"  ... and {plan.summary.rejected - len(listed)} more rejected")


def _validate(args: argparse.Namespace) -> int:
    plan, _ = _plan(args)
    plan.close()
    return EXIT_REJECTS if plan.summary.rejected else EXIT_OK


def _write_requests(plan: Plan, out: Path) -> None:
    """Each request to its file, written by a second thread while this one assembles the next: creating a
    file is the kernel's work (the GIL is let go meanwhile), and 2,000 of them are a good part of a preview.
    At most ``_WRITES_AHEAD`` bodies wait, so memory stays that of a few requests."""
    from concurrent.futures import Future, ThreadPoolExecutor

    progress = Progress("writing")
    written = 0
    waiting: deque[Future[int]] = deque()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="preview-writer") as writer:
        for request in plan.requests():
            waiting.append(writer.submit((out / request.file_name).write_bytes, request.body))
            if len(waiting) > _WRITES_AHEAD:
                waiting.popleft().result()  # a failed write stops the preview with its error
            written += len(request.external_ids)
            if request.number % 200 == 0:
                progress(written)
        while waiting:
            waiting.popleft().result()
    progress.done()


def _preview(args: argparse.Namespace) -> int:
    import orjson

    from provisioning.core.plan.reports import RejectsCsv

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "rejects.csv", "w", newline="", encoding="utf-8") as rejects_file:
        plan, _ = _plan(args, RejectsCsv(rejects_file))
    _write_requests(plan, out)
    # Files of an earlier, longer preview would be mistaken for part of this one. They are removed
    # only now, since overwriting a file is much cheaper than creating it again.
    # os.scandir one entry at a time: Path.glob lists the whole folder first (50,000 names at 2.5M workers).
    with os.scandir(out) as entries:
        for entry in entries:
            if not (entry.name.startswith("bulk-") and entry.name.endswith(".json")):
                continue
            number = entry.name[len("bulk-") : -len(".json")]
            if not number.isdigit() or int(number) > plan.summary.requests:
                os.unlink(entry.path)
    summary = plan.summary.as_json()
    (out / "summary.json").write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2))
    print(f"wrote {plan.summary.requests} requests, rejects.csv and summary.json to {out}")
    return EXIT_REJECTS if plan.summary.rejected else EXIT_OK
