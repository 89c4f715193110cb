"""All Microsoft Graph I/O in one place: bulkUpload, the job, its schema, and the provisioning logs.

The client takes an endpoint, a ``TokenCredential`` and optionally an httpx transport; it paces
uploads under the job's throttle, retries what is worth retrying (see ``retry``), and reports every
batch's outcome instead of raising, so one bad batch never stops the rest.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx

from provisioning.core.errors import ProvisioningError
from provisioning.core.plan.bulk import BulkRequest
from provisioning.core.retry import RetryPolicy, parse_retry_after
from provisioning.entra.graph_auth import CredentialAuth, TokenCredentialLike
from provisioning.entra.graph_endpoint import GraphEndpoint
from provisioning.entra.pacing import SlidingWindowPacer, Slot

SCIM_CONTENT_TYPE = "application/scim+json"
USER_AGENT = "entra-inbound-provisioning/0.1"
_MAX_ERROR_TEXT = 2000


class GraphError(ProvisioningError):
    """Graph answered an error that retrying did not (or could not) fix."""

    def __init__(self, action: str, status: int | None, code: str, message: str) -> None:
        self.status = status
        self.code = code
        self.message = message
        super().__init__(f"{action}: {status or 'no answer'} {code}: {message}".rstrip(": "))


@dataclass
class BatchOutcome:
    """What happened to one bulk request: what a run report and retry-failed need."""

    number: int
    external_ids: list[str]
    status: Literal["accepted", "failed"]
    http_status: int | None
    attempts: int
    seconds: float
    error_code: str = ""
    error: str = ""
    waited_for_throttle: float = 0.0
    retried_statuses: list[int] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class GraphClient:
    def __init__(
        self,
        endpoint: GraphEndpoint,
        credential: TokenCredentialLike,
        *,
        transport: httpx.BaseTransport | None = None,
        rate: tuple[int, float] = (40, 5.0),
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        timeout: float = 60.0,
    ) -> None:
        self.endpoint = endpoint
        self.auth = CredentialAuth(credential, endpoint.scope)
        self._http = httpx.Client(
            transport=transport, auth=self.auth, timeout=timeout, headers={"User-Agent": USER_AGENT}
        )
        self.pacer = SlidingWindowPacer(rate[0], rate[1], clock=clock, sleep=sleep)
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self._clock = clock

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> GraphClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- bulkUpload ------------------------------------------------------------------------------------

    def upload(self, request: BulkRequest) -> BatchOutcome:
        """POST one bulk request, paced and retried; the outcome says accepted or failed, and why."""
        started = self._clock()
        outcome = BatchOutcome(request.number, request.external_ids, "failed", None, 0, 0.0)
        headers = {"Content-Type": SCIM_CONTENT_TYPE, "Accept": "application/json"}
        while True:
            outcome.attempts += 1
            asked = self._clock()
            slot = self.pacer.acquire()
            outcome.waited_for_throttle += max(slot.start - asked, 0.0)
            try:
                response = self._post_paced(slot, request.body, headers)
            except httpx.TransportError as exc:
                outcome.http_status, outcome.error_code, outcome.error = None, "TransportError", type(exc).__name__
                retry_after = None
            else:
                outcome.http_status = response.status_code
                if response.is_success:
                    outcome.status, outcome.error_code, outcome.error = "accepted", "", ""
                    break
                outcome.error_code, outcome.error = _graph_error(response)
                if not self.policy.retryable(response.status_code):
                    break
                outcome.retried_statuses.append(response.status_code)
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
            delay = self.policy.delay(outcome.attempts, retry_after)
            if delay is None:
                break
            if outcome.http_status == 429:
                self.pacer.hold(delay)  # every sender backs off, not just this one
            else:
                self._sleep(delay)
        outcome.seconds = round(self._clock() - started, 3)
        return outcome

    def _post_paced(self, slot: Slot, body: bytes, headers: dict[str, str]) -> httpx.Response:
        try:
            return self._http.post(self.endpoint.bulk_upload_url, content=body, headers=headers)
        finally:
            self.pacer.answered(slot)  # whatever happened, the window moves on from here

    def upload_all(
        self,
        requests: Iterable[BulkRequest],
        *,
        concurrency: int = 4,
        on_outcome: Callable[[BatchOutcome], None] | None = None,
    ) -> list[BatchOutcome]:
        """Uploads with at most ``concurrency`` requests in flight, reading ``requests`` lazily.

        A request that starts a new manager level waits until every earlier request has been
        answered, so that reports are never accepted before their managers.
        """
        outcomes: list[BatchOutcome] = []
        lock = threading.Lock()

        def record(future: Future[BatchOutcome]) -> None:
            outcome = future.result()
            with lock:
                outcomes.append(outcome)
            if on_outcome is not None:
                on_outcome(outcome)

        in_flight: dict[Future[BatchOutcome], int] = {}  # future -> first manager level of its request
        with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="bulkUpload") as pool:
            for request in requests:
                # Records of this request may report to records of any lower level still in flight.
                earlier = [f for f, first_level in in_flight.items() if first_level < request.last_level]
                if earlier:
                    wait(earlier)
                while len(in_flight) >= concurrency or any(f.done() for f in in_flight):
                    done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                    for finished in done:
                        in_flight.pop(finished, None)
                future = pool.submit(self.upload, request)
                future.add_done_callback(record)
                in_flight[future] = request.first_level
            wait(in_flight)
        return sorted(outcomes, key=lambda o: o.number)

    # ---- the job and its schema -----------------------------------------------------------------------

    def job(self) -> dict[str, Any]:
        return self._json("GET", self.endpoint.job_url, "read the provisioning job")

    def job_status(self) -> str:
        """``Active``, ``Paused``, ``Quarantine``, ``NotRun`` or ``NotConfigured``."""
        status = self.job().get("status") or {}
        return str(status.get("code") or "Unknown")

    def get_schema(self) -> dict[str, Any]:
        return self._json("GET", self.endpoint.schema_url, "read the job schema")

    def put_schema(self, schema: dict[str, Any]) -> None:
        self._call("PUT", self.endpoint.schema_url, "update the job schema", json=schema)

    # ---- provisioning logs ----------------------------------------------------------------------------

    def provisioning_logs(self, params: dict[str, str]) -> Iterator[list[dict[str, Any]]]:
        """Pages of log entries, following ``@odata.nextLink`` (only on the same Graph host)."""
        url: str | None = self.endpoint.logs_url
        query: dict[str, str] | None = params
        base_host = urlsplit(self.endpoint.base).netloc
        while url:
            if urlsplit(url).netloc != base_host:
                raise GraphError("read provisioning logs", None, "UnexpectedNextLink", "nextLink to another host")
            page = self._json("GET", url, "read provisioning logs", params=query)
            yield list(page.get("value") or [])
            url, query = page.get("@odata.nextLink"), None

    # ---- plumbing -------------------------------------------------------------------------------------

    def _json(self, method: str, url: str, action: str, **kwargs: Any) -> dict[str, Any]:
        response = self._call(method, url, action, **kwargs)
        try:
            body = response.json()
        except ValueError as exc:
            raise GraphError(action, response.status_code, "InvalidResponse", "the answer is not JSON") from exc
        if not isinstance(body, dict):
            raise GraphError(action, response.status_code, "InvalidResponse", "the answer is not a JSON object")
        return body

    def _call(self, method: str, url: str, action: str, **kwargs: Any) -> httpx.Response:
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._http.request(method, url, **kwargs)
            except httpx.TransportError as exc:
                delay = self.policy.delay(attempt)
                if delay is None:
                    raise GraphError(action, None, "TransportError", type(exc).__name__) from exc
                self._sleep(delay)
                continue
            if response.is_success:
                return response
            code, message = _graph_error(response)
            delay = (
                self.policy.delay(attempt, parse_retry_after(response.headers.get("Retry-After")))
                if self.policy.retryable(response.status_code)
                else None
            )
            if delay is None:
                raise GraphError(action, response.status_code, code, message)
            self._sleep(delay)


def _graph_error(response: httpx.Response) -> tuple[str, str]:
    """Graph's error code and message from its JSON body (or the status text when there is none)."""
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase or str(response.status_code), response.text[:_MAX_ERROR_TEXT]
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("code") or response.status_code), str(error.get("message") or "")[:_MAX_ERROR_TEXT]
    return response.reason_phrase or str(response.status_code), str(body)[:_MAX_ERROR_TEXT]
