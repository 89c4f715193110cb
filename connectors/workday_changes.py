"""Workday deltas: Get_Workers with transaction-log criteria, as Entra's incremental sync queries it.

Microsoft's "How Microsoft Entra provisioning integrates with Workday" ("How incremental sync works") describes
two queries between the last run and now, and both are made here, one after the other:

1. changes **entered** in the window: ``Request_Criteria/Transaction_Log_Criteria_Data/
   Transaction_Date_Range_Data`` with ``Updated_From`` (the last pull) and ``Updated_Through`` (the pull's entry
   moment);
2. changes that **became effective** in the window (``Effective_From`` / ``Effective_Through``): a termination
   or a hire entered weeks ago takes effect today, and only this query sees it. Without it a future-dated
   hire would stay disabled until the next full pull.

A worker found by both comes out once (the first time; both read the worker as it is now). Everything else
(auth, paging, the as-of date, the derived status, future-dated hires read as of their hire date) is the full
pull's. Records come in the order of the two queries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Generator, Mapping
from typing import Any

from .context import FetchReport
from .definition import ConnectorDefinition
from .fetch import FetchStream, fetch_records

WINDOWS = (("Updated_From", "Updated_Through"), ("Effective_From", "Effective_Through"))


def transaction_log_delta(definition: ConnectorDefinition, moment: dt.datetime, window: tuple[str, str]
                          ) -> ConnectorDefinition:  # fmt: skip
    """The definition with ``Transaction_Log_Criteria_Data`` first in its ``Request_Criteria`` (its place in
    the schema sequence), the window from ``moment`` to the pull's entry moment."""
    soap = definition.request.soap
    if soap is None:
        raise ValueError(f"connector {definition.id!r} is not a SOAP connector")
    low, high = window
    since = moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    log = {"Transaction_Date_Range_Data": {low: since, high: "{asOfMoment}"}}
    criteria = soap.body.get("Request_Criteria")
    others = {k: v for k, v in (criteria or {}).items() if k != "Transaction_Log_Criteria_Data"}
    body = {**soap.body, "Request_Criteria": {"Transaction_Log_Criteria_Data": log, **others}}
    request = definition.request.model_copy(update={"soap": soap.model_copy(update={"body": body})})
    return definition.model_copy(update={"request": request})


def workday_changes(definition: ConnectorDefinition, config: Mapping[str, Any], moment: dt.datetime,
                    **fetch_kwargs: Any) -> FetchStream:  # fmt: skip
    """The workers changed (entered or effective) since ``moment``; ``fetch_kwargs`` are ``fetch_records``'.

    The second query starts when the first has ended, with the refresh token the first one was handed if
    Workday rotated it (the one in ``config`` is spent by then)."""
    limit = fetch_kwargs.pop("limit", None)
    hand_over = fetch_kwargs.pop("on_rotate", None)
    current = dict(config)

    def rotated(token: str) -> None:
        current["refreshToken"] = token
        if hand_over is not None:
            hand_over(token)

    def pull(window: tuple[str, str]) -> FetchStream:
        delta = transaction_log_delta(definition, moment, window)
        return fetch_records(delta, dict(current), on_rotate=rotated, **fetch_kwargs)

    first = pull(WINDOWS[0])  # a bad configuration is refused now, not while iterating
    report = FetchReport(connector=definition.id)
    return _Merged(report, _records([first, *(lambda w=w: pull(w) for w in WINDOWS[1:])], report,
                                    definition.idField, limit))  # fmt: skip


def _records(pulls: list[Any], report: FetchReport, id_field: str, limit: int | None
             ) -> Generator[dict[str, Any], None, None]:  # fmt: skip
    """Each pull's records in turn (a pull is a stream, or a function making one when its turn comes)."""
    seen: set[str] = set()
    stream: FetchStream | None = None
    try:
        for item in pulls:
            stream = item if isinstance(item, FetchStream) else item()
            for record in stream:
                key = str(record.get(id_field, ""))
                if key in seen:
                    continue
                if limit is not None and report.records >= limit:
                    report.truncated = report.complete = True
                    return
                seen.add(key)
                report.records += 1
                yield record
            report.pages += stream.report.pages
            report.retries += stream.report.retries
            stream = None
        report.complete = True
    finally:
        if stream is not None:
            stream.close()
        for item in pulls:
            if isinstance(item, FetchStream):
                item.close()


class _Merged(FetchStream):
    """A FetchStream over the records of several pulls."""

    def __init__(self, report: FetchReport, records: Generator[dict[str, Any], None, None]) -> None:
        self.report = report
        self._records = records
