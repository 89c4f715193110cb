"""Joiners and leavers by date: a pre-hire is sent disabled (or held back) until shortly before the first day,
and a worker whose last day has passed is sent disabled, whatever the HR status says.

HR systems report a pre-hire as active (SuccessFactors, ADP, Oracle, BambooHR: docs/hrms-apis.md), and a
delta based on "last changed" moves when a change is entered, not when it takes effect. So each worker's
``active`` is decided against today, and the date it would next change (the pre-hire's activation day, the
day after the last day) is kept: the run with the earliest such date in the feed knows when to look again.

Pure: "today" comes in as an aware datetime; the dates are read in the profile's lifecycle time zone.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from provisioning.core.errors import RowError
from provisioning.core.mapping.profile import Lifecycle
from provisioning.core.mapping.transforms import parse_moment

ValueOf = Callable[[Any], Any]
_NEVER = date(9999, 12, 31)
_DAY_WITH_ZONE = re.compile(r"\d{4}-\d{2}-\d{2}(?:Z|[+-]\d{2}:\d{2})")


class Deferred(Exception):
    """A pre-hire held back (``preHire: hold``): not sent now, not rejected, sent on a run closer to the day."""

    def __init__(self, external_id: str, until: date) -> None:
        self.external_id = external_id
        self.until = until
        super().__init__(f"pre-hire {external_id}: held back until {until.isoformat()}")


class LifecyclePolicy:
    """Decides ``active`` for one run's day; ``hire_date``/``leave_date`` read a record's dates (OMIT: none)."""

    def __init__(self, lifecycle: Lifecycle, hire_date: ValueOf | None, leave_date: ValueOf | None,
                 now: datetime, omit: object) -> None:  # fmt: skip
        self.lifecycle = lifecycle
        self.zone = ZoneInfo(lifecycle.timeZone)
        self.today = now.astimezone(self.zone).date()
        self._hire, self._leave, self._omit = hire_date, leave_date, omit
        self.pre_hires = 0
        """Workers sent disabled because their first day is still ahead."""
        self.leavers = 0
        """Workers sent disabled because their last day has passed (whatever the status said)."""
        self.next_change: date | None = None
        """The earliest day on which some worker's ``active`` would change by date alone."""

    def decide(self, record: Any, external_id: str, active: bool) -> bool:
        """The worker's ``active`` today; raises ``Deferred`` for a pre-hire held back."""
        first = self._date(record, self._hire, "lifecycle.hireDate")
        last = self._date(record, self._leave, "lifecycle.leaveDate")
        if last is not None:
            if last < self.today:
                if active:
                    self.leavers += 1
                return False
            self._changes_on(last + timedelta(days=1) if last < date.max else date.max)
            if self.lifecycle.activeUntilLeaveDate and last < _NEVER:  # a real, scheduled last day, not an open end
                active = True
        if first is not None:
            enabled_from = first - timedelta(days=self.lifecycle.activateDaysBefore)
            if enabled_from > self.today and self.lifecycle.preHire != "send":
                self._changes_on(enabled_from)
                if self.lifecycle.preHire == "hold":
                    raise Deferred(external_id, enabled_from)
                if active:
                    self.pre_hires += 1
                return False
        return active

    def _changes_on(self, day: date) -> None:
        if day >= _NEVER:
            return  # 9999-12-31, SuccessFactors' open end: no change ever comes
        if self.next_change is None or day < self.next_change:
            self.next_change = day

    def _date(self, record: Any, value_of: ValueOf | None, field: str) -> date | None:
        if value_of is None:
            return None
        value = value_of(record)
        if value is self._omit or value in ("", None):
            return None
        text = str(value).strip()
        if _DAY_WITH_ZONE.fullmatch(text):
            return date.fromisoformat(text[:10])  # Workday's 2014-11-27+01:00: the calendar day is what counts
        moment = parse_moment(text, (), self.zone)
        if moment is None:
            raise RowError(f"{text!r} is not a date (ISO 8601 or /Date(ms)/)", field=field, value=text)
        return moment.astimezone(self.zone).date() if "T" in text or text.startswith("/Date(") else moment.date()
