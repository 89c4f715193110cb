"""``python -m provisioning serve``: the Function App's HTTP API and the mapping page on 127.0.0.1, in uvicorn.

The routes are the Function App's own HTTP functions (read from ``function_app.app``), called with real
``azure.functions`` requests: nothing is served here that the Function App does not serve, and nothing is
re-implemented. ``/`` is the page (the Function App's ``/api/ui``), ``/ui/<file>`` its files, ``/api/...``
the API. Without storage settings the app composes itself on local folders, threads and, with no endpoint,
the embedded Graph emulator (``provisioning.doors.local_services``).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import azure.functions as func

LOOPBACK = "127.0.0.1"
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


@dataclass(frozen=True)
class Route:
    pattern: re.Pattern[str]
    methods: frozenset[str]
    handler: Callable[[func.HttpRequest], func.HttpResponse]


def routes_of(app: func.FunctionApp) -> list[Route]:
    """The HTTP functions of ``app``, most specific first (``mappings/suggest`` before ``mappings/{name}``)."""
    found: list[tuple[int, Route]] = []
    for function in app.get_functions():
        trigger = function.get_trigger()
        if not isinstance(trigger, func.decorators.http.HttpTrigger):
            continue
        route = str(trigger.route)
        pattern = re.escape(route)
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", pattern)
        methods = frozenset(str(getattr(m, "value", m)).upper() for m in (trigger.methods or ())) or frozenset({"GET"})
        literal = len(re.sub(r"\{\w+\}", "", route))
        found.append((-literal, Route(re.compile(f"/api/{pattern}"), methods, function.get_user_function())))
    return [route for _, route in sorted(found, key=lambda item: item[0])]


class FunctionsAsgi:
    """An ASGI app over the Function App's HTTP functions (and the page at ``/``)."""

    def __init__(self, app: func.FunctionApp, *, max_body: int) -> None:
        self.routes = routes_of(app)
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        path = scope["path"]
        if path in ("/", "/index.html", "/api/ui/"):
            path = "/api/ui"
        elif path.startswith("/ui/"):
            path = "/api" + path
        body, too_large = await self._body(receive)
        response = self._dispatch(scope, path, body, too_large)
        headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response.headers.items()]
        if not any(name == b"content-type" for name, _ in headers):
            headers.append((b"content-type", (response.mimetype or "application/json").encode("latin-1")))
        await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
        await send({"type": "http.response.body", "body": response.get_body() or b""})

    async def _body(self, receive: Receive) -> tuple[bytes, bool]:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size <= self.max_body + 1:  # one byte over is enough for the handler to answer 413
                chunks.append(chunk)
            if not message.get("more_body"):
                return b"".join(chunks), size > self.max_body + 1

    def _dispatch(self, scope: Scope, path: str, body: bytes, too_large: bool) -> func.HttpResponse:
        method = scope["method"].upper()
        allowed: set[str] = set()
        for route in self.routes:
            match = route.pattern.fullmatch(path)
            if match is None:
                continue
            if method not in route.methods:
                allowed |= route.methods
                continue
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
            if too_large:
                headers["content-length"] = str(self.max_body + 1)
            query = scope.get("query_string", b"").decode("latin-1")
            request = func.HttpRequest(
                method=method,
                url=f"http://{LOOPBACK}{path}" + (f"?{query}" if query else ""),
                headers=headers,
                params=dict(parse_qsl(query, keep_blank_values=True)),
                route_params=match.groupdict(),
                body=body,
            )
            return route.handler(request)
        if allowed:
            return _error(
                405, "MethodNotAllowed", f"{method} is not allowed here", {"Allow": ", ".join(sorted(allowed))}
            )
        return _error(404, "NotFound", f"no such route: {path}")


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> func.HttpResponse:
    import orjson

    body = orjson.dumps({"error": {"code": code, "message": message}})
    return func.HttpResponse(body, status_code=status, headers=headers or {}, mimetype="application/json")


def serve(port: int, *, echo: Callable[[str], None] = print) -> int:
    """Serves until Ctrl-C or SIGTERM; port 0 takes a free one. Loopback only, whatever the settings say."""
    import socket

    import uvicorn

    import function_app
    from provisioning.settings import load_settings

    settings = load_settings()
    app = FunctionsAsgi(function_app.app, max_body=settings.http_max_body_bytes)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((LOOPBACK, port))
    services = function_app.services()
    where = getattr(services, "describe", lambda: {"storage": "the configured storage account"})()
    echo(f"serving the mapping page on http://{LOOPBACK}:{sock.getsockname()[1]}/ (the API under /api)")
    echo("  " + ", ".join(f"{k}: {v}" for k, v in where.items()))
    echo("  Ctrl-C stops it")
    sys.stdout.flush()
    config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    finally:
        close = getattr(services, "close", None)
        if close is not None:
            close()
    return 0
