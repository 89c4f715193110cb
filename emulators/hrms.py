"""HR system look-alikes (Workday, SuccessFactors, BambooHR, ADP, Oracle HCM, a generic REST API) on 127.0.0.1.

Each emulator serves one vendor's worker list the way /work/shared/docs/hrms-apis.md describes it:
its auth, its paging and end-of-data rule, its nesting of fields, with knobs for what tests need to
provoke (throttling faults, expired tokens, rotated refresh tokens). The population is deterministic
given ``seed`` (see hrms_data for which positions are rehires, terminated, pre-hire, managers).

In tests::

    with HrmsEmulator("oracle-hcm", workers=30) as hr:
        httpx.get(hr.base_url + "/hcmRestApi/resources/11.13.18.05/workers", auth=(...))
        hr.worker_ids, hr.raw_workers, hr.requests

From a shell: ``python -m emulators.hrms --vendor workday --port 8780`` prints the base URL and a
working connector configuration as JSON, then serves until Ctrl-C.

Choices where vendors leave room: BambooHR answers XML without ``Accept: application/json``, as its
documentation says; the ``quirks`` keyword picks facts the vendors leave open (BambooHR's empty dates,
ADP's workers on leave); SuccessFactors signs in with a SAML bearer assertion and refuses basic auth,
which SAP removed; custom-rest takes an ``auth`` keyword ("none", "basic", "bearer", "apikey" (header
``X-API-Key``), "oauth2"; default "apikey").
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from types import TracebackType
from typing import Any

from emulators.entra_server import LoopbackServer, Request, Response
from emulators.hrms_data import Person, build_population
from emulators.hrms_http import HrmsError, json_response
from emulators.hrms_shapes import retitled, today_of
from emulators.hrms_tls import TlsFiles, make_tls_files, serve_tls, server_context
from emulators.serve import serve_until_stopped

__all__ = ["CUSTOM_AUTH", "VENDORS", "HrmsEmulator", "HrmsError"]

VENDORS = ("workday", "workday-raas", "successfactors", "bamboohr", "adp", "oracle-hcm", "custom-rest")
CUSTOM_AUTH = ("none", "basic", "bearer", "apikey", "oauth2")
MAX_PAGE = {"workday": 999, "successfactors": 1000, "adp": 100, "oracle-hcm": 500, "custom-rest": 100}
TENANT = "contoso"
USERNAME = "isu_hr_sync"
PASSWORD = "Pa55-w0rd!"
CLIENT_ID = "hr-sync-client"
CLIENT_SECRET = "hr-sync-secret"
API_KEY = "hrms-api-key-0123456789abcdef"
COMPANY = "contoso"
SF_COMPANY = "CONTOSOT1"
REPORT_OWNER = "isu_hr_sync"
REPORT_NAME = "Entra_Workers"


class HrmsEmulator:
    """One vendor's worker API on loopback. ``max_page_size`` overrides the vendor's maximum page size
    (a larger request gets 400); ``token_lifetime`` and ``clock`` govern access-token expiry."""

    def __init__(
        self,
        vendor: str,
        *,
        workers: int = 60,
        seed: int = 0,
        max_page_size: int | None = None,
        token_lifetime: float = 3600.0,
        clock: Callable[[], float] = time.time,
        auth: str = "apikey",
        quirks: dict[str, Any] | None = None,
    ) -> None:
        if vendor not in VENDORS:
            raise ValueError(f"vendor must be one of {', '.join(VENDORS)}, got {vendor!r}")
        if auth not in CUSTOM_AUTH:
            raise ValueError(f"auth must be one of {', '.join(CUSTOM_AUTH)}, got {auth!r}")
        if max_page_size is not None and max_page_size < 1:
            raise ValueError(f"max_page_size must be at least 1, got {max_page_size}")
        self.vendor = vendor
        self.auth = auth
        # Facts the vendor's documentation leaves open, one value or the other, so that tests can run both
        # (each vendor module's QUIRKS lists its names, values and default; it refuses unknown ones).
        self.quirks: dict[str, Any] = dict(quirks or {})
        self.seed = seed
        self.max_page_size = max_page_size if max_page_size is not None else MAX_PAGE.get(vendor, 100)
        self.token_lifetime = token_lifetime
        # oracle-hcm: hasMore stays true on the last non-empty page, a secondary-source quirk (hrms-apis.md);
        # False gives Oracle's documented hasMore, so tests can run the connector against both.
        self.oracle_wrong_has_more = True
        # oracle-hcm: Oracle documents no order for a worker's work relationships; True lists the newest first.
        self.oracle_newest_first = False
        self._clock = clock
        self._rng = random.Random(f"{seed}-tokens")
        self._lock = threading.Lock()
        self._tokens: dict[str, float] = {}  # access token -> expiry on the clock
        self._faults: deque[tuple[int, float | None]] = deque()
        self._server: LoopbackServer | None = None
        self._tls: TlsFiles | None = None
        self.people: list[Person] = build_population(workers, seed, today_of(clock()))
        self.worker_ids: list[str] = [p.worker_id for p in self.people]
        self.requests: list[tuple[str, str, str, int]] = []
        self.job_changed: dict[str, dt.datetime] = {}
        """Worker id -> when ``touch`` last changed its job (SuccessFactors: EmpJob's lastModifiedDateTime)."""
        self.changed_before_touch: dict[str, dt.datetime] = {}
        """Worker id -> its ``last_changed`` before the first ``touch`` (SuccessFactors: PerPerson's, unmoved)."""
        self.refresh_token: str = self._new_secret("rt")
        self.static_token: str = self._new_secret("st")  # bearer for custom-rest "bearer" and Oracle
        self.base_url = "http://127.0.0.1:0"
        self.config: dict[str, str] = {}
        self.raw_workers: list[dict[str, Any]] = []
        self._refresh_shapes()

    # Lifecycle

    def start(self, port: int = 0) -> str:
        """Serve on 127.0.0.1:``port`` (0: a free port); returns the base URL (https for adp)."""
        if self._server is not None:
            raise RuntimeError("the emulator is already running")
        server = LoopbackServer(self._handle, self._crash, port)
        scheme = "http"
        if self.vendor == "adp":
            self._tls = make_tls_files()
            serve_tls(server, server_context(self._tls))
            scheme = "https"
        self._server = server
        self.base_url = f"{scheme}://127.0.0.1:{server.port}"
        self._refresh_shapes()
        server.start()
        return self.base_url

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._tls is not None:
            self._tls.remove()
            self._tls = None

    def __enter__(self) -> HrmsEmulator:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # Knobs

    def inject_faults(self, statuses: list[int], retry_after: float | None = 1.0) -> None:
        """The next len(statuses) data calls (not token calls) answer these statuses, with Retry-After."""
        with self._lock:
            self._faults.extend((status, retry_after) for status in statuses)

    def expire_tokens(self) -> None:
        """Every access token issued so far now gets 401 (refresh tokens stay valid)."""
        with self._lock:
            self._tokens.clear()
            self.static_token = self._new_secret("st")
        self._refresh_config()

    def changed_since(self, since: str) -> list[str]:
        """bamboohr: the ids (BambooHR's internal ``id``) employees/changed reports since an ISO time."""
        from emulators.hrms_vendors import parse_since

        moment = parse_since(since)
        return [p.internal_id for p in self.people if p.last_changed > moment]

    def touch(self, worker_ids: list[str], when: str | None = None) -> None:
        """Mark these workers changed at ``when`` (ISO 8601; default: now on the clock) with a new job title.

        BambooHR's ``employees/changed`` then reports them (``last_changed`` moves); SuccessFactors dates each
        entity on its own, so there only EmpJob's ``lastModifiedDateTime`` moves (``job_changed``), PerPerson's
        keeps ``changed_before_touch``. The title moves to the next one in hrms_data.TITLES, so a delta can be
        told from the old record.
        """
        from emulators.hrms_vendors import parse_since

        moment = parse_since(when) if when is not None else dt.datetime.fromtimestamp(self._clock(), dt.UTC)
        wanted = set(worker_ids)
        unknown = wanted - set(self.worker_ids)
        if unknown:
            raise ValueError(f"unknown worker ids: {', '.join(sorted(unknown))}")
        with self._lock:
            people = []
            for person in self.people:
                if person.worker_id in wanted:
                    self.changed_before_touch.setdefault(person.worker_id, person.last_changed)
                    self.job_changed[person.worker_id] = moment
                    job = replace(person.current, job=retitled(person.current.job))
                    person = replace(person, employments=(*person.employments[:-1], job), last_changed=moment)
                people.append(person)
            self.people = people
        self._refresh_shapes()

    # Helpers for the routes

    def now(self) -> dt.datetime:
        """The emulator's clock as an aware UTC time (SuccessFactors' effective dating reads "today" from it)."""
        return dt.datetime.fromtimestamp(self._clock(), dt.UTC)

    @property
    def tls_files(self) -> TlsFiles | None:
        """adp: the CA and client certificate files while serving (None otherwise)."""
        return self._tls

    def _new_secret(self, prefix: str) -> str:
        return f"{prefix}-{self._rng.getrandbits(96):024x}"

    def issue_token(self) -> dict[str, Any]:
        with self._lock:
            token = self._new_secret("at")
            self._tokens[token] = self._clock() + self.token_lifetime
        return {"access_token": token, "token_type": "Bearer", "expires_in": int(self.token_lifetime)}

    def rotate_refresh_token(self) -> str:
        with self._lock:
            self.refresh_token = self._new_secret("rt")
        self._refresh_config()
        return self.refresh_token

    def bearer_ok(self, request: Request) -> bool:
        scheme, _, token = (request.header("authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return False
        with self._lock:
            expiry = self._tokens.get(token.strip())
            return (expiry is not None and expiry > self._clock()) or token.strip() == self.static_token

    def take_fault(self) -> None:
        """Raise the next injected fault, if any (call once a data path has matched)."""
        with self._lock:
            if not self._faults:
                return
            status, retry_after = self._faults.popleft()
        headers = {}
        if retry_after is not None:
            headers["Retry-After"] = str(int(retry_after)) if float(retry_after).is_integer() else str(retry_after)
        raise HrmsError(status, {"error": "throttled" if status == 429 else "unavailable"}, headers)

    # HTTP

    def _handle(self, request: Request) -> Response:
        from emulators.hrms_vendors import route

        try:
            response = route(self, request)
        except HrmsError as error:
            response = json_response(error.status, error.body, error.headers)
        self._record(request, response.status)
        return response

    def _crash(self, request: Request, exc: BaseException) -> Response:
        self._record(request, 500)
        return json_response(500, {"error": "internal", "message": f"the emulator failed ({type(exc).__name__})"})

    def _record(self, request: Request, status: int) -> None:
        query = "&".join(f"{k}={v}" for k, v in request.query.items())
        with self._lock:
            self.requests.append((request.method, request.path, query, status))

    def _refresh_shapes(self) -> None:
        from emulators.hrms_vendors import raw_records

        self.raw_workers = raw_records(self)
        self._refresh_config()

    def _refresh_config(self) -> None:
        from emulators.hrms_vendors import vendor_config

        config: dict[str, Any] = {"baseUrl": self.base_url}
        own = vendor_config(self)
        if own is not None:
            config |= own
        else:
            config |= {
                "none": {},
                "basic": {"username": USERNAME, "password": PASSWORD},
                "bearer": {"token": self.static_token},
                "apikey": {"apiKey": API_KEY},
                "oauth2": {
                    "clientId": CLIENT_ID,
                    "clientSecret": CLIENT_SECRET,
                    "tokenUrl": f"{self.base_url}/oauth/token",
                },
            }[self.auth]
        self.config = config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m emulators.hrms", description="Serve an HRMS emulator on 127.0.0.1."
    )
    parser.add_argument("--vendor", choices=VENDORS, required=True)
    parser.add_argument("--port", type=int, default=8780, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--workers", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-page-size", type=int, default=None)
    parser.add_argument("--auth", choices=CUSTOM_AUTH, default="apikey", help="custom-rest only")
    args = parser.parse_args(argv)
    emulator = HrmsEmulator(
        args.vendor, workers=args.workers, seed=args.seed, max_page_size=args.max_page_size, auth=args.auth
    )
    # The config on one line after the URL: easy to read from a pipe.
    return serve_until_stopped(emulator, args.port, lambda: [json.dumps(emulator.config)])


if __name__ == "__main__":
    sys.exit(main())
