"""``python -m emulators.entra``: serve the Graph emulator on 127.0.0.1 until Ctrl-C (or SIGTERM)."""

from __future__ import annotations

import argparse
import sys

from emulators.entra import VERIFIED_DOMAINS, EntraEmulator
from emulators.entra_schema import SCHEMA_VARIANTS
from emulators.serve import serve_until_stopped


def parse_rate_limit(text: str) -> tuple[int, float]:
    """CALLS/SECONDS: "40/5" gives (40, 5.0), "40/0.5" gives (40, 0.5)."""
    calls, _, seconds = text.partition("/")
    try:
        parsed = (int(calls), float(seconds))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected CALLS/SECONDS such as 40/5, got {text!r}") from None
    if parsed[0] < 1 or parsed[1] <= 0:
        raise argparse.ArgumentTypeError(f"expected CALLS >= 1 and SECONDS > 0, got {text!r}")
    return parsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m emulators.entra", description="Serve the Microsoft Graph emulator on 127.0.0.1."
    )
    parser.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--rate-limit", type=parse_rate_limit, default=(40, 5.0), help="CALLS/SECONDS per job")
    parser.add_argument("--daily-quota", type=int, default=None, help="bulkUpload calls per tenant per 24 h")
    parser.add_argument(
        "--log-rate-limit", type=parse_rate_limit, default=(5, 10.0), help="provisioning-log reads, CALLS/SECONDS"
    )
    parser.add_argument(
        "--verified-domain", action="append", default=None, help="a verified domain of the tenant (repeatable)"
    )
    parser.add_argument("--fail-rate", type=float, default=0.0, help="share of bulkUpload calls that fail")
    parser.add_argument("--fail-status", type=int, default=503, help="status of those failures")
    parser.add_argument("--processing-delay", type=float, default=0.0, help="seconds before uploads are processed")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--token", default=None, help="the only bearer token accepted (default: any)")
    parser.add_argument("--job", default=None, help="the only job id served (default: any)")
    parser.add_argument("--schema-variant", choices=sorted(SCHEMA_VARIANTS), default="api")
    args = parser.parse_args(argv)
    emulator = EntraEmulator(
        rate_limit=args.rate_limit,
        daily_quota=args.daily_quota,
        fail_rate=args.fail_rate,
        fail_status=args.fail_status,
        processing_delay=args.processing_delay,
        token=args.token,
        job=args.job,
        seed=args.seed,
        schema_variant=args.schema_variant,
        log_rate_limit=args.log_rate_limit,
        verified_domains=args.verified_domain or VERIFIED_DOMAINS,
    )
    return serve_until_stopped(emulator, args.port)


if __name__ == "__main__":
    sys.exit(main())
