"""``python -m provisioning connectors list|test|fetch``: HR systems from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import orjson

EXIT_OK, EXIT_FAILED = 0, 1


def add_commands(commands: Any) -> None:
    connectors = commands.add_parser("connectors", help="HR system connectors: list, test, fetch")
    actions = connectors.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="the connectors: built-in and user-defined")
    listing.set_defaults(handler=_list)
    test = actions.add_parser("test", help="one small request: says what worked and what did not")
    test.add_argument("connector", metavar="ID")
    test.add_argument("--connector-config", required=True, type=Path, metavar="FILE")
    test.add_argument(
        "--mapping", metavar="PROFILE", help="the profile whose required fields are checked (default: the connector's)"
    )
    test.set_defaults(handler=_test)
    fetch = actions.add_parser("fetch", help="the flattened records, one JSON object a line")
    fetch.add_argument("connector", metavar="ID")
    fetch.add_argument("--connector-config", required=True, type=Path, metavar="FILE")
    fetch.add_argument("--out", required=True, type=Path, metavar="FILE.jsonl")
    fetch.add_argument("--limit", type=int, help="stop after N records (the output says it was truncated)")
    fetch.set_defaults(handler=_fetch)


def _settings() -> Any:
    from provisioning.settings import load_settings  # pydantic: loaded by the commands, not by --help

    return load_settings()


def _registry() -> dict[str, Any]:
    """The built-ins and CONNECTORS_FOLDER's definitions; one that is not valid is named and left out."""
    from provisioning.engine.connector_registry import connector_registry

    registry = connector_registry(_settings())
    for problem in registry.problems:
        print(f"warning: connector definition left out: {problem}", file=sys.stderr)
    return registry.definitions


def _list(args: argparse.Namespace) -> int:
    for connector_id, definition in sorted(_registry().items()):
        summary = definition.description.splitlines()[0] if definition.description else ""
        print(f"{connector_id:16} {definition.name}: {summary}")
    return EXIT_OK


def _test(args: argparse.Namespace) -> int:
    from provisioning.core.errors import ProfileError
    from provisioning.core.mapping.profiles import load_named_profile
    from provisioning.hr.connector_source import probe_connector
    from provisioning.hr.jobs import load_config_file
    from provisioning.state.tokens import LocalTokenStore

    settings = _settings()
    registry = _registry()
    if args.connector not in registry:
        print(
            f"error: connector {args.connector!r} not found (connectors: {', '.join(sorted(registry))})",
            file=sys.stderr,
        )
        return 2
    default_profile = registry[args.connector].defaultProfile
    try:
        profile = load_named_profile(args.mapping or default_profile) if (args.mapping or default_profile) else None
    except ProfileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report = probe_connector(
        args.connector,
        load_config_file(args.connector_config),
        registry=registry,
        tokens=LocalTokenStore(Path(settings.state_dir)),  # where `fetch` and `run` look for the rotated token
        profile=profile,
        allow_loopback_http=settings.connectors_allow_loopback_http,
        allow_private_networks=settings.connectors_allow_private_networks,
    )
    for line in report.lines:
        print(line)
    return EXIT_OK if report.ok else EXIT_FAILED


def _fetch(args: argparse.Namespace) -> int:
    from provisioning.hr.connector_source import connector_source
    from provisioning.hr.jobs import load_config_file
    from provisioning.state.tokens import LocalTokenStore

    settings = _settings()
    config = load_config_file(args.connector_config)
    tokens = LocalTokenStore(Path(settings.state_dir))
    source = connector_source(
        args.connector,
        config,
        registry=_registry(),
        tokens=tokens,
        limit=args.limit,
        allow_loopback_http=settings.connectors_allow_loopback_http,
        allow_private_networks=settings.connectors_allow_private_networks,
    )
    count = 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "wb") as out:
        for _, record in source.records():
            out.write(orjson.dumps(record) + b"\n")
            count += 1
    truncated = args.limit is not None and count >= args.limit
    print(json.dumps({"connector": args.connector, "records": count, "out": str(args.out), "truncated": truncated}))
    return EXIT_OK
