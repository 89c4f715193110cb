"""The project's error hierarchy: every message names where the problem is and what to do about it."""

from __future__ import annotations


class ProvisioningError(Exception):
    """Base class of every error this package raises on purpose."""


class SourceError(ProvisioningError):
    """The whole source is unusable (encoding, header, not CSV): nothing from it is sent.

    ``source`` names the file (or "request body"), ``line`` the physical line when known.
    """

    def __init__(self, source: str, message: str, *, line: int | None = None) -> None:
        self.source = source
        self.line = line
        self.reason = message
        where = f"{source}, line {line}" if line is not None else source
        super().__init__(f"{where}: {message}")


class ProfileError(ProvisioningError):
    """A mapping profile is invalid, cannot be found, or does not fit the source."""


class RowError(ProvisioningError):
    """One record cannot become a SCIM user; the rest of the source goes on.

    ``field`` is the SCIM attribute (or source column) at fault and ``value`` the offending value.
    """

    def __init__(self, reason: str, *, field: str = "", value: str = "") -> None:
        self.reason = reason
        self.field = field
        self.value = value
        self.record: object = None
        """The malformed record itself when there is one (a row cut short), for reports."""
        super().__init__(f"{field}: {reason}" if field else reason)
