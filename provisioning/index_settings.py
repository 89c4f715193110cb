"""The one setting read when the Functions host indexes the app, without the settings model.

The blob trigger's decorator needs ``BLOB_TRIGGER_SOURCE`` at import time; reading it through
``provisioning.settings`` would load pydantic (about 0.1 s) into every cold start, including those of the
queue and timer functions that never build the full settings. ``Settings.blob_trigger_source`` is the same
field with the same values, checked again when the settings load.
"""

from __future__ import annotations

import os
from typing import Literal, get_args

BlobTriggerSource = Literal["EventGrid", "LogsAndContainerScan"]
BLOB_TRIGGER_SOURCES: tuple[str, ...] = get_args(BlobTriggerSource)
DEFAULT_BLOB_TRIGGER_SOURCE: BlobTriggerSource = "EventGrid"
"""Required on the Flex Consumption plan; polling (LogsAndContainerScan) works on the other plans."""


class IndexSettingError(ValueError):
    """A setting the host needs to index the functions is wrong; indexing stops with this message."""


def blob_trigger_source() -> BlobTriggerSource:
    """BLOB_TRIGGER_SOURCE, or an error naming the setting and its allowed values (never a guess)."""
    value = os.environ.get("BLOB_TRIGGER_SOURCE", DEFAULT_BLOB_TRIGGER_SOURCE)
    if value not in BLOB_TRIGGER_SOURCES:
        raise IndexSettingError(f"BLOB_TRIGGER_SOURCE must be {' or '.join(BLOB_TRIGGER_SOURCES)}, not {value!r}")
    return value  # type: ignore[return-value]
