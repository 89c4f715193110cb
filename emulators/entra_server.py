"""The HTTP side: a stdlib ThreadingHTTPServer on 127.0.0.1 that hands each request to a router.

Keeps HTTP/1.1 keep-alive (clients such as httpx reuse connections, which matters for the
benchmarks' pacing), always sends Content-Length, and turns any exception into a Graph-shaped 500:
a client never sees a Python traceback.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlsplit

LOOPBACK = "127.0.0.1"
log = logging.getLogger("emulators.entra")


@dataclass
class Request:
    method: str
    path: str  # percent-decoded, without the query
    query: dict[str, str]  # keys as sent, values decoded; the first value of a repeated key
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class Response:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


Router = Callable[[Request], Response]
CrashHandler = Callable[[Request, BaseException], Response]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, keep-alive clients stall ~40 ms
    # on delayed ACKs at every call, which would distort the benchmarks' pacing.
    disable_nagle_algorithm = True
    server_version = "EntraEmulator/1.0"
    router: Router
    on_crash: CrashHandler

    def _serve(self) -> None:
        request: Request | None = None
        try:
            request = self._read_request()
            response = self.router(request)
        except Exception as exc:  # the contract: never a traceback on the wire
            log.exception("emulator crashed on %s %s", self.command, self.path)
            fallback = request or Request(self.command, self.path, {}, {}, b"")
            response = self.on_crash(fallback, exc)
        self._write(response)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

    def _read_request(self) -> Request:
        parts = urlsplit(self.path)
        headers = {name.lower(): value for name, value in self.headers.items()}
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = self._read_chunked()
        else:
            body = self.rfile.read(int(headers.get("content-length") or 0))
        query: dict[str, str] = {}
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            query.setdefault(key, value)
        return Request(self.command, unquote(parts.path), query, headers, body)

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        while True:
            size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def _write(self, response: Response) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if response.status not in (204, 304):
            self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if response.body and self.command != "HEAD" and response.status not in (204, 304):
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s " + format, self.address_string(), *args)


class LoopbackServer:
    """Serves ``router`` on 127.0.0.1:``port`` (0: any free port) from a daemon thread."""

    def __init__(self, router: Router, on_crash: CrashHandler, port: int = 0) -> None:
        handler = type(
            "EntraHandler", (_Handler,), {"router": staticmethod(router), "on_crash": staticmethod(on_crash)}
        )
        self._server = ThreadingHTTPServer((LOOPBACK, port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._serve, name="entra-emulator", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def _serve(self) -> None:
        self._server.serve_forever(poll_interval=0.5)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        # serve_forever only notices shutdown() between polls; a connection wakes it at once,
        # so that tests starting one emulator each do not wait half a second per test.
        stopper = threading.Thread(target=self._server.shutdown, daemon=True)
        stopper.start()
        while stopper.is_alive():
            with contextlib.suppress(OSError):
                socket.create_connection((LOOPBACK, self.port), timeout=0.1).close()
            stopper.join(0.005)
        self._server.server_close()
        self._thread.join(timeout=5)
