"""Graph-shaped errors: the one JSON body every failing emulator answer carries.

Microsoft Graph answers every error with
``{"error": {"code", "message", "innerError": {"date", "request-id", "client-request-id"}}}``;
clients parse ``error.code``, so the emulator never answers anything else (not even on a crash).
"""

from __future__ import annotations

import time
from typing import Any

# The code Graph uses for each status when nothing more specific applies. 401 and 429 are
# documented for this API; the 5xx names follow Graph's general error-code list.
DEFAULT_CODES: dict[int, str] = {
    400: "BadRequest",
    401: "InvalidAuthenticationToken",
    403: "Authorization_RequestDenied",
    404: "ResourceNotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    413: "RequestEntityTooLarge",
    429: "TooManyRequests",
    500: "generalException",
    502: "badGateway",
    503: "serviceNotAvailable",
    504: "gatewayTimeout",
}

_DEFAULT_MESSAGES: dict[int, str] = {
    401: "Access token validation failure.",
    403: "Insufficient privileges to complete the operation.",
    429: "Too many requests. Please retry after the time given in Retry-After.",
    500: "An internal server error occurred (injected by the emulator).",
    502: "Bad gateway (injected by the emulator).",
    503: "The service is temporarily unavailable (injected by the emulator).",
    504: "Gateway timeout (injected by the emulator).",
}


class GraphError(Exception):
    """An answer that is a Graph error: raised anywhere in a handler, rendered once by the server."""

    def __init__(
        self,
        status: int,
        message: str | None = None,
        *,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.status = status
        self.code = code or DEFAULT_CODES.get(status, "UnknownError")
        self.message = message or _DEFAULT_MESSAGES.get(status, "The request failed.")
        self.headers = dict(headers or {})
        super().__init__(f"{status} {self.code}: {self.message}")


def graph_date(epoch: float) -> str:
    """innerError.date as Graph writes it: UTC, whole seconds, no zone suffix."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch))


def error_body(code: str, message: str, *, request_id: str, client_request_id: str, epoch: float) -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": graph_date(epoch),
                "request-id": request_id,
                "client-request-id": client_request_id,
            },
        }
    }
