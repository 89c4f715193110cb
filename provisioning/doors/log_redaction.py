"""No credential in a URL reaches a log line: every log record's message is cleaned as it is made.

httpx logs each request's URL at INFO, and a URL can carry ``user:password@`` (a mistyped setting, a
connector configuration). Installed by each door (the Function App at import, the CLI at start), the
record factory replaces any user information in a URL of the message, whichever logger made it.
"""

from __future__ import annotations

import logging
from typing import Any

from provisioning.core.redact import redact_url

_installed = False


def install_log_redaction() -> None:
    """Wraps the logging record factory once per process."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a bad format string is the handler's to report
            return record
        cleaned = redact_url(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
