"""A Microsoft Graph look-alike for API-driven inbound provisioning, served on 127.0.0.1 only.

It answers the calls this project makes (bulkUpload, provisioning logs, the job and its schema)
the way docs/entra-api.md describes the real service, with knobs for what tests need to provoke:
throttling, daily quotas, injected faults, revoked tokens, per-token permissions, job states
(paused, never run, disabled schedule, quarantined, no status), processing delays.
Everything is in memory and deterministic given ``seed``.

In tests::

    with EntraEmulator(rate_limit=(3, 0.5)) as graph:
        httpx.post(graph.bulk_upload_url(), ...)
        graph.directory(DEFAULT_SP, DEFAULT_JOB)

From a shell: ``python -m emulators.entra --port 8765`` prints the base URL and serves until Ctrl-C.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import math
import random
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from emulators.entra_directory import BatchProcessor
from emulators.entra_errors import GraphError, error_body
from emulators.entra_jobs import (
    DEFAULT_TENANT,
    JOB_STATUSES,
    SCHEDULE_STATES,
    JobState,
    execution_record,
    new_job,
    tenant_of,
)
from emulators.entra_log_entries import EntryFactory
from emulators.entra_log_query import LogStore
from emulators.entra_routes import JSON_TYPE, json_response, route
from emulators.entra_schema import SCHEMA_VARIANTS
from emulators.entra_server import LoopbackServer, Request, Response
from emulators.entra_throttle import DAY_SECONDS, SlidingWindow

__all__ = ["DEFAULT_JOB", "DEFAULT_SP", "DEFAULT_TENANT", "EntraEmulator", "RecordedRequest"]

DEFAULT_SP = "6c1d4a38-2f9e-4d3b-9a57-0e8b2c7f5d14"
VERIFIED_DOMAINS = ("contoso.com", "contoso.onmicrosoft.com")
"""The emulated tenant's verified domains (Contoso, the company of Microsoft's samples)."""
LOG_RATE_LIMIT = (5, 10.0)
DEFAULT_JOB = f"API2AAD.{DEFAULT_TENANT.replace('-', '')}.e4b7a2c9-3d1f-4a8e-b6c5-9f0e1d2c3b4a"
_WWW_AUTHENTICATE = (
    'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
    'client_id="00000003-0000-0000-c000-000000000000"'
)
log = logging.getLogger("emulators.entra")


def max_in_window(times: list[float], seconds: float) -> int:
    """The most of ``times`` (sorted) within any ``seconds``-long window."""
    best, start = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= seconds:
            start += 1
        best = max(best, end - start + 1)
    return best


@dataclass(frozen=True)
class RecordedRequest:
    """One answered call: what tests and benchmarks check pacing and retries against."""

    method: str
    path: str
    status: int
    time: float  # the emulator's clock when the answer was sent
    query: str = ""
    body_digest: str = ""
    """SHA-256 of the body: tells a request sent twice from two requests (tests count resends by it)."""


@dataclass
class _Batch:
    job: JobState
    users: list[dict[str, Any]]


class EntraEmulator:
    """Graph on loopback for one tenant: any service principal and job id (unless ``job`` pins
    one), each job with its own status, schema, directory, logs and throttle windows.

    ``processing_delay`` 0 processes an upload before its 202 is sent, so tests need no waiting;
    above 0 a timer processes it later (``process_pending()`` forces it); ``math.inf`` holds every
    upload until ``process_oldest()`` or ``process_pending()`` (a simulation on a virtual clock decides
    when the service gets to each one). ``clock`` dates log
    entries and drives the throttle windows, so tests move time instead of sleeping.
    """

    def __init__(
        self,
        *,
        rate_limit: tuple[int, float] = (40, 5.0),
        daily_quota: int | None = None,
        fail_rate: float = 0.0,
        fail_status: int = 503,
        processing_delay: float = 0.0,
        token: str | None = None,
        job: str | None = None,
        seed: int = 0,
        schema_variant: str = "api",
        clock: Callable[[], float] = time.time,
        missing_active_disables: bool = True,
        quota_retry_after: bool = True,
        verified_domains: Iterable[str] | None = VERIFIED_DOMAINS,
        log_rate_limit: tuple[int, float] | None = LOG_RATE_LIMIT,
        permissions: dict[str, set[str]] | None = None,
    ) -> None:
        """``missing_active_disables``: a user uploaded without ``active`` is disabled, as has been
        reported of the real service (docs/entra-api.md: "always send it").

        ``permissions``: token -> the application permissions its app was granted; each call then needs
        one its Graph page documents (emulators.entra_routes), else 403. A token not listed has every
        permission. ``grant()`` changes it later."""
        if schema_variant not in SCHEMA_VARIANTS:
            raise ValueError(f"schema_variant must be one of {sorted(SCHEMA_VARIANTS)}, got {schema_variant!r}")
        if not 0.0 <= fail_rate <= 1.0:
            raise ValueError(f"fail_rate must be between 0 and 1, got {fail_rate}")
        if rate_limit[0] < 1 or rate_limit[1] <= 0:
            raise ValueError(f"rate_limit must be (calls >= 1, seconds > 0), got {rate_limit}")
        self.rate_limit = (int(rate_limit[0]), float(rate_limit[1]))
        # A UPN's domain must be one of the tenant's verified domains (Graph user resource, userPrincipalName);
        # None accepts any. AD-target jobs never check it: the forest's UPN suffixes are the agent's business.
        self.verified_domains = None if verified_domains is None else frozenset(d.lower() for d in verified_domains)
        # Reads of the provisioning logs: about 5 requests per 10 seconds per app per tenant (Microsoft Graph
        # throttling limits, identity and access reports). One emulator is one tenant and one app. None: no limit.
        self.log_window = SlidingWindow(*log_rate_limit) if log_rate_limit else None
        self.daily_quota = daily_quota
        # How Graph signals the tenant's daily quota is not documented (docs/entra-api.md: "Retry-After on
        # 429 is not documented for this endpoint"); the emulator can answer with or without Retry-After.
        self.quota_retry_after = quota_retry_after
        self.fail_rate = fail_rate
        self.fail_status = fail_status
        self.processing_delay = processing_delay
        self.seed = seed
        self.schema_variant = schema_variant
        self._clock = clock
        self._token = token
        self._pinned_job = job
        self._missing_active_disables = missing_active_disables
        self._grants = {token: frozenset(granted) for token, granted in (permissions or {}).items()}
        self._lock = threading.RLock()  # registry, counters, fault queue, pending batches
        self._id_lock = threading.Lock()
        self._processing = threading.Lock()  # keeps delayed batches in acceptance order
        self._server: LoopbackServer | None = None
        self._base_url: str | None = None
        self.reset()

    # Lifecycle

    def start(self, port: int = 0) -> str:
        """Serve on 127.0.0.1:``port`` (0: a free port); returns the base URL."""
        if self._server is not None:
            raise RuntimeError("the emulator is already running")
        self._server = LoopbackServer(self._handle, self._crash, port)
        self._base_url = f"http://127.0.0.1:{self._server.port}"
        self._server.start()
        return self._base_url

    def stop(self) -> None:
        """Stop serving. Uploads not processed yet stay pending: process_pending() still works."""
        with self._lock:
            for timer in self._timers:
                timer.cancel()
            self._timers.clear()
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> EntraEmulator:
        if self._server is None:
            self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget every job, log, counter, fault and revoked token; ids restart from the seed."""
        with self._lock:
            for timer in getattr(self, "_timers", []):
                timer.cancel()
            self._jobs: dict[tuple[str, str], JobState] = {}
            self._quotas: dict[str, SlidingWindow] = {}
            self._logs = LogStore()
            self._ids = random.Random(self.seed)
            self._fault_rng = random.Random(f"{self.seed}:faults")
            self._request_ids = random.Random(f"{self.seed}:requests")
            self._injected: deque[tuple[int, float | None]] = deque()
            self._revoked: set[str] = set()
            self._pending: list[_Batch] = []
            self._timers: list[threading.Timer] = []
            self.requests: list[RecordedRequest] = []
            self.upload_count = 0  # bulkUpload calls received, whatever the answer
            self.accepted_upload_count = 0  # bulkUpload calls answered 202

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise RuntimeError("the emulator is not started: call start() or use it as a context manager")
        return self._base_url

    # Test controls

    def bulk_upload_url(self, sp: str = DEFAULT_SP, job: str | None = None, version: str = "v1.0") -> str:
        """The "Provisioning API Endpoint" an admin would copy; ``job`` defaults to the pinned one."""
        job_id = job or self._pinned_job or DEFAULT_JOB
        return f"{self.base_url}/{version}/servicePrincipals/{sp}/synchronization/jobs/{job_id}/bulkUpload"

    def set_job_status(self, sp: str, job: str, code: str) -> None:
        if code not in JOB_STATUSES:
            raise ValueError(f"job status must be one of {JOB_STATUSES}, got {code!r}")
        self._set_status(self._job(sp, job), code, purge=False)

    def set_schedule_state(self, sp: str, job: str, state: str) -> None:
        """The job resource's ``schedule.state`` (Active, Disabled, Paused), whatever its status, until the
        status changes. A job whose schedule is not Active processes nothing (accepted, not processed)."""
        if state not in SCHEDULE_STATES:
            raise ValueError(f"schedule state must be one of {SCHEDULE_STATES}, got {state!r}")
        state_of = self._job(sp, job)
        with state_of.lock:
            state_of.schedule_state = state

    def drop_job_status(self, sp: str, job: str, *, code_only: bool = False) -> None:
        """The job resource comes without ``status`` (``code_only``: with a status that has no ``code``)
        until the status changes. Processing still follows the job's actual status."""
        state = self._job(sp, job)
        with state.lock:
            state.status_shape = "no code" if code_only else "absent"

    def retry_quarantine(self, sp: str = DEFAULT_SP, job: str | None = None) -> None:
        """The service's reduced-frequency retry of a quarantined job succeeds: the job is Active again and
        the uploads it accepted while quarantined are processed now, late."""
        self._set_status(self._job(sp, job or self._pinned_job or DEFAULT_JOB), "Active", purge=False)

    def grant(self, token: str, permissions: Iterable[str] | None) -> None:
        """From now on ``token`` has exactly these application permissions (None: every permission, the
        default of a token the emulator was not told about)."""
        with self._lock:
            if permissions is None:
                self._grants.pop(token, None)
            else:
                self._grants[token] = frozenset(permissions)

    def inject_faults(self, statuses: list[int], retry_after: float | None = None) -> None:
        """The next len(statuses) bulkUpload calls get these statuses, in order, before throttling
        and validation (only authentication and the job lookup come first); ``retry_after`` adds a
        Retry-After header, written as given, to each."""
        with self._lock:
            self._injected.extend((status, retry_after) for status in statuses)

    def revoke_token(self, token: str) -> None:
        """Every call with ``token`` is answered 401 from now on (a revoked grant, a disabled client)."""
        with self._lock:
            self._revoked.add(token)

    def restore_token(self, token: str) -> None:
        """The grant is back (an admin fixed it): ``token`` works again."""
        with self._lock:
            self._revoked.discard(token)

    def directory(self, sp: str = DEFAULT_SP, job: str | None = None) -> dict[str, dict[str, Any]]:
        """externalId -> the emulated user (target attribute names; ``manager`` is
        ``{"id": <manager object id>, "employeeId": <manager externalId>}``). A copy."""
        state = self._job(sp, job or self._pinned_job or DEFAULT_JOB)
        with state.lock:
            return copy.deepcopy(state.directory)

    def schema(self, sp: str = DEFAULT_SP, job: str | None = None) -> dict[str, Any]:
        state = self._job(sp, job or self._pinned_job or DEFAULT_JOB)
        with state.lock:
            return copy.deepcopy(state.schema)

    def schema_put_count(self, sp: str = DEFAULT_SP, job: str | None = None) -> int:
        """PUT .../schema calls received for the job, accepted or not."""
        state = self._job(sp, job or self._pinned_job or DEFAULT_JOB)
        with state.lock:
            return state.schema_puts

    def log_entries(self, sp: str | None = None, job: str | None = None) -> list[dict[str, Any]]:
        """Provisioning log entries in the order they were written (oldest first). Copies."""
        return [
            copy.deepcopy(entry)
            for entry in self._logs.written()
            if (sp is None or entry["servicePrincipal"]["id"].lower() == sp.lower())
            and (job is None or entry["jobId"] == job)
        ]

    def process_pending(self) -> None:
        """Process every accepted request now, whatever processing_delay says."""
        with self._processing:
            with self._lock:
                batches, self._pending = self._pending, []
                for timer in self._timers:
                    timer.cancel()
                self._timers.clear()
            for batch in batches:
                self._process(batch)

    def pending_count(self) -> int:
        """Accepted uploads not processed yet."""
        with self._lock:
            return len(self._pending)

    def process_oldest(self, count: int = 1) -> int:
        """Process the ``count`` oldest accepted uploads now, in acceptance order (the order the service works
        through its queue); returns how many were processed."""
        done = 0
        while done < count and self.process_held(0):
            done += 1
        return done

    def process_held(self, position: int = 0, *, dated: float | None = None) -> bool:
        """Process the accepted upload at ``position`` among those not processed yet (0: the oldest), its
        entries dated ``dated`` (epoch seconds) instead of now; False when there is none there.

        An earlier date than now makes an entry that becomes visible after newer ones, the case a poller's
        re-read guards against. Microsoft documents that entries appear minutes after the upload (docs/entra-
        api.md, "typically 5 to 10 minutes later") but not whether they appear in the order of their dates:
        unconfirmed, so the emulator can serve them either way (tests/test_entra_fidelity.py runs both)."""
        with self._processing:
            with self._lock:
                if not 0 <= position < len(self._pending):
                    return False
                batch = self._pending.pop(position)
            self._process(batch, dated)
        return True

    def uploads(self) -> list[RecordedRequest]:
        """The bulkUpload calls received, in order."""
        with self._lock:
            return [r for r in self.requests if r.path.lower().endswith("/bulkupload")]

    def max_uploads_in_window(self, seconds: float) -> int:
        """The most bulkUpload calls received within any ``seconds``-long window (pacing checks)."""
        return max_in_window(sorted(r.time for r in self.uploads()), seconds)

    # Used by emulators.entra_routes

    def _authenticate(self, header: str | None) -> str:
        """The caller's token, once it is accepted."""
        challenge = {"WWW-Authenticate": _WWW_AUTHENTICATE}
        if not header:
            raise GraphError(401, "Access token is empty.", headers=challenge)
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise GraphError(401, "Access token validation failure: expected 'Bearer <token>'.", headers=challenge)
        with self._lock:
            revoked = token in self._revoked
        if revoked:
            raise GraphError(401, "Access token has expired or is not yet valid.", headers=challenge)
        if self._token is not None and token != self._token:
            raise GraphError(401, "Access token validation failure. Invalid signature.", headers=challenge)
        return token

    def _authorize(self, token: str, accepted: tuple[str, ...]) -> None:
        """403 unless the token's app holds one of ``accepted`` (a token with no permission set holds all)."""
        with self._lock:
            granted = self._grants.get(token)
        if granted is not None and granted.isdisjoint(accepted):
            raise GraphError(403)  # Authorization_RequestDenied, "Insufficient privileges to complete the operation."

    def _job(self, sp: str, job_id: str) -> JobState:
        if self._pinned_job is not None and job_id != self._pinned_job:
            raise GraphError(404, f"The synchronization job '{job_id}' was not found for service principal '{sp}'.")
        key = (sp.lower(), job_id)
        with self._lock:
            if key not in self._jobs:
                self._jobs[key] = new_job(
                    sp,
                    job_id,
                    variant=self.schema_variant,
                    rate_limit=self.rate_limit,
                    daily=self._tenant_quota(tenant_of(job_id)),
                )
            return self._jobs[key]

    def _tenant_quota(self, tenant: str) -> SlidingWindow | None:
        """The tenant's daily quota (about 2,000 calls a day with P1/P2, 6,000 with Governance: "Troubleshoot
        inbound provisioning API issues"), shared by every job and app of the tenant. Caller holds _lock."""
        if not self.daily_quota:
            return None
        if tenant not in self._quotas:
            self._quotas[tenant] = SlidingWindow(self.daily_quota, DAY_SECONDS)
        return self._quotas[tenant]

    def _jobs_of(self, sp: str) -> list[JobState]:
        """The jobs of a service principal; one that has none gets its default (or pinned) job."""
        with self._lock:
            jobs = [job for (owner, _), job in self._jobs.items() if owner == sp.lower()]
        return jobs or [self._job(sp, self._pinned_job or DEFAULT_JOB)]

    def _count_upload(self) -> None:
        with self._lock:
            self.upload_count += 1

    def _take_fault(self) -> tuple[int, float | None] | None:
        with self._lock:
            return self._injected.popleft() if self._injected else None

    def _draw_failure(self) -> bool:
        if self.fail_rate <= 0:
            return False
        with self._lock:
            return self._fault_rng.random() < self.fail_rate

    def _set_status(self, job: JobState, code: str, *, purge: bool) -> None:
        with job.lock:
            due = job.change_status(code, purge=purge)
        if purge:  # restart purges uploaded data that was not processed yet
            with self._lock:
                self._pending = [batch for batch in self._pending if batch.job is not job]
        with self._processing:  # out of quarantine: what it accepted is processed now, late
            for users in due:
                self._process(_Batch(job, users))

    def _accept(self, job: JobState, users: list[dict[str, Any]]) -> None:
        with job.lock:
            job.accepted_operations += len(users)
        batch = _Batch(job, users)
        with self._lock:
            self.accepted_upload_count += 1
            if self.processing_delay > 0:
                self._pending.append(batch)
                if math.isinf(self.processing_delay):
                    return  # held until process_oldest() or process_pending()
                timer = threading.Timer(self.processing_delay, self._process_due, args=(batch,))
                timer.daemon = True
                self._timers.append(timer)
                timer.start()
                return
        self._process(batch)

    # Processing

    def _process_due(self, due: _Batch) -> None:
        """A timer fired: process every batch accepted up to ``due``, oldest first."""
        with self._processing:
            with self._lock:
                if due not in self._pending:
                    return
                index = self._pending.index(due)
                batches, self._pending = self._pending[: index + 1], self._pending[index + 1 :]
            for batch in batches:
                self._process(batch)

    def _process(self, batch: _Batch, dated: float | None = None) -> None:
        job = batch.job
        with job.lock:
            if not job.runs:  # accepted, not processed now (JobState.set_aside: late or not at all)
                job.set_aside(batch.users)
                return
            epoch = math.ceil(self._clock() if dated is None else dated)  # whole seconds, as the logs show
            cycle_id = self._new_id()
            entries = BatchProcessor(
                job.directory,
                job.mapping,
                EntryFactory(job.identity, cycle_id, epoch, self._new_id, self._duration),
                to_ad=job.to_ad,
                new_object_id=self._new_id,
                missing_active_disables=self._missing_active_disables,
                verified_domains=None if job.to_ad else self.verified_domains,
            ).run(batch.users)
            exported = sum(1 for e in entries if e["provisioningStatusInfo"]["status"] == "success")
            job.last_execution = execution_record(cycle_id, epoch, epoch, len(batch.users), exported)
            self._logs.add(entries, epoch)

    def _new_id(self) -> str:
        with self._id_lock:
            return str(uuid.UUID(int=self._ids.getrandbits(128), version=4))

    def _duration(self) -> int:
        with self._id_lock:
            return self._ids.randint(150, 7000)

    # HTTP

    def _handle(self, request: Request) -> Response:
        request_id = self._request_id()
        client_request_id = request.header("client-request-id") or request_id
        try:
            response = route(self, request)
        except GraphError as error:
            body = error_body(
                error.code,
                error.message,
                request_id=request_id,
                client_request_id=client_request_id,
                epoch=self._clock(),
            )
            response = json_response(error.status, body, error.headers)
        response.headers.update({"request-id": request_id, "client-request-id": client_request_id})
        self._record(request, response.status)
        return response

    def _crash(self, request: Request, exc: BaseException) -> Response:
        request_id = self._request_id()
        body = error_body(
            "generalException",
            f"The emulator failed on this request ({type(exc).__name__}); see its log.",
            request_id=request_id,
            client_request_id=request_id,
            epoch=time.time(),
        )
        self._record(request, 500)
        return Response(500, {"Content-Type": JSON_TYPE, "request-id": request_id}, orjson.dumps(body))

    def _request_id(self) -> str:
        with self._lock:
            return str(uuid.UUID(int=self._request_ids.getrandbits(128), version=4))

    def _record(self, request: Request, status: int) -> None:
        query = "&".join(f"{k}={v}" for k, v in request.query.items())
        with self._lock:
            digest = hashlib.sha256(request.body).hexdigest() if request.body else ""
            self.requests.append(RecordedRequest(request.method, request.path, status, self._clock(), query, digest))


if __name__ == "__main__":
    from emulators.entra_cli import main

    sys.exit(main())
