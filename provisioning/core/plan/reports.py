"""What a run leaves for a person to read: the rejects CSV (safe to open in a spreadsheet) and text lines."""

from __future__ import annotations

import csv
from typing import IO, Any

from provisioning.core.plan.pipeline import Reject, Summary

REJECT_COLUMNS = ("line", "externalId", "field", "value", "reason")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    """A cell a spreadsheet would run as a formula, made inert with a leading apostrophe."""
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell


class RejectsCsv:
    """Writes rejects as they come: ``line, externalId, field, value, reason``."""

    def __init__(self, stream: IO[str]) -> None:
        self._writer = csv.writer(stream)
        self._writer.writerow(REJECT_COLUMNS)
        self.count = 0

    def __call__(self, reject: Reject) -> None:
        self.count += 1
        self._writer.writerow(
            [
                reject.line,
                *(neutralise(c) for c in (reject.external_id, reject.field, reject.value, reject.reason)),
            ]
        )


def describe_reject(reject: Reject, line_label: str = "line") -> str:
    who = f" (externalId {reject.external_id})" if reject.external_id else ""
    what = f"{reject.field}: " if reject.field and reject.field not in ("(row)", "(record)", "(line)") else ""
    value = f" [value {reject.value!r}]" if reject.value and reject.field != "externalId" else ""
    return f"{line_label} {reject.line}{who}: {what}{reject.reason}{value}"


def describe_summary(summary: Summary) -> list[str]:
    lines = [
        f"{summary.source} via profile {summary.profile}: {summary.rows} rows -> "
        f"{summary.operations} operations in {summary.requests} requests, {summary.rejected} rejected"
        + (f", {summary.unchanged} unchanged since the last accepted run" if summary.unchanged else "")
    ]
    duplicates = summary.duplicates
    if duplicates.get("externalIds"):
        lines.append(
            f"  duplicate externalIds: {duplicates['externalIds']} ids on {duplicates['rows']} rows, "
            f"{duplicates['notSent']} rows not sent (policy: {duplicates['policy']})"
        )
    managers = summary.managers
    if managers:
        lines.append(
            f"  managers: {managers['inRun']} references within the run (sent first, {managers['levels']} "
            f"levels), {managers['outsideRun']} to workers outside it, {managers['selfManaged']} self-managed"
        )
        for cycle in managers.get("cyclesListed", []):
            lines.append(f"  manager cycle broken at {cycle[0]}: {' -> '.join(cycle)} -> {cycle[0]}")
    if summary.blank_lines:
        lines.append(f"  {summary.blank_lines} blank lines skipped")
    return lines


def describe_lifecycle(lifecycle: dict[str, Any]) -> str:
    """One line on what the profile's lifecycle did in a run (pre-hires, leavers, vanished workers)."""
    parts = [
        f"{lifecycle.get('preHires', 0)} pre-hires sent disabled",
        f"{lifecycle.get('deferred', 0)} pre-hires held back",
        f"{lifecycle.get('leavers', 0)} past their last day sent disabled",
        f"{lifecycle.get('vanished', 0)} missing from the source sent disabled",
    ]
    line = "lifecycle: " + ", ".join(parts)
    if lifecycle.get("nextChange"):
        line += f"; next date-driven change on {lifecycle['nextChange']}"
    return line
