"""The HTTP API's wire: a request in plain terms, a JSON answer, and every failure as a 4xx with a reason.

A door (the Function App's HTTP triggers, the local server) turns its framework's request into an
``ApiRequest`` and the ``ApiResponse`` back; ``handle`` makes sure no exception leaves as a stack trace.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from provisioning.core.errors import ProfileError, ProvisioningError, SourceError
from provisioning.engine.sources import UnsupportedFormat
from provisioning.entra.graph_client import GraphError
from provisioning.settings import SettingsError
from provisioning.state.interface import RunNotFound

log = logging.getLogger("provisioning.http")


@dataclass
class ApiRequest:
    method: str
    params: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    """Lower-case names."""
    body: bytes = b""
    route: dict[str, str] = field(default_factory=dict)


@dataclass
class ApiResponse:
    status: int
    body: Any
    """JSON-ready data, or bytes sent as they are (the page's files) with ``content_type``."""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"

    def json_bytes(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        return orjson.dumps(self.body, option=orjson.OPT_NON_STR_KEYS)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        self.status = status
        self.code = code
        self.message = message
        super().__init__(message)


def error(status: int, code: str, message: str) -> ApiResponse:
    return ApiResponse(status, {"error": {"code": code, "message": message}})


def handle(endpoint: Callable[[ApiRequest], ApiResponse], request: ApiRequest) -> ApiResponse:
    """Runs an endpoint, turning every failure into an answer with a JSON reason."""
    try:
        return endpoint(request)
    except ApiError as exc:
        return error(exc.status, exc.code, exc.message)
    except UnsupportedFormat as exc:
        return error(415, "UnsupportedMediaType", exc.reason)
    except SourceError as exc:
        return error(400, "InvalidSource", str(exc))
    except ProfileError as exc:
        status = 404 if "not found" in str(exc) else 400
        return error(status, "UnknownProfile" if status == 404 else "InvalidProfile", str(exc))
    except RunNotFound as exc:
        return error(404, "RunNotFound", str(exc))
    except SettingsError as exc:
        return error(503, "NotConfigured", str(exc))
    except GraphError as exc:
        return error(502, "GraphError", str(exc))
    except ProvisioningError as exc:
        return error(409, "Conflict", str(exc))
    except Exception:  # the caller gets an id to quote, the log gets the trace
        incident = uuid.uuid4().hex[:12]
        log.exception("unexpected error in the HTTP API (incident %s)", incident)
        return error(500, "InternalError", f"an unexpected error occurred; quote incident {incident}")


def required(request: ApiRequest, name: str) -> str:
    value = request.params.get(name, "").strip()
    if not value:
        raise ApiError(400, "MissingParameter", f"the query parameter {name!r} is required")
    return value


def flag(request: ApiRequest, name: str) -> bool:
    value = request.params.get(name, "false").strip().lower()
    if value not in ("true", "false", "1", "0", ""):
        raise ApiError(400, "InvalidParameter", f"{name} must be true or false")
    return value in ("true", "1")


def int_param(request: ApiRequest, name: str, default: int, low: int, high: int) -> int:
    text = request.params.get(name, "")
    if not text:
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        raise ApiError(400, "InvalidParameter", f"{name} must be a whole number from {low} to {high}")
    return int(text)
