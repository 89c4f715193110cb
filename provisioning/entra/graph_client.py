"""All Microsoft Graph I/O in one place: bulkUpload, the job, its schema, and the provisioning logs.

The client takes an endpoint, a ``TokenCredential`` and optionally an httpx transport; it paces
uploads under the job's throttle, retries what is worth retrying (see ``retry``), and reports every
batch's outcome instead of raising, so one bad batch never stops the rest.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx

from provisioning.core.errors import ProvisioningError
from provisioning.core.plan.bulk import BulkRequest
from provisioning.core.retry import Retry, RetryPolicy, parse_retry_after, retry_loop
from provisioning.core.runs import BatchOutcome
from provisioning.entra.graph_auth import CredentialAuth, CredentialFailed, TokenCredentialLike
from provisioning.entra.graph_endpoint import GraphEndpoint
from provisioning.entra.pacing import SlidingWindowPacer, Slot

SCIM_CONTENT_TYPE = "application/scim+json"
USER_AGENT = "entra-inbound-provisioning/0.1"
_MAX_ERROR_TEXT = 2000
NO_ANSWER = 0
"""In ``retried_statuses``: a try that got no answer (a timeout, a dropped connection) and may have been
received: retrying it is a resend, counted as one."""
MAX_LOG_PAGES = 10_000
"""A run's log read stops here (a million entries at 100 a page): past it the links are going round."""
LOG_RATE = (5, 10.0)
"""Provisioning-log reads: Graph throttles identity and access reports at about 5 requests per 10 s per app and
tenant (Microsoft Graph service-specific throttling limits), whichever job or run reads them."""
FATAL_STATUSES = frozenset({401, 403})
"""After the one token refresh, every further request would be refused the same way: stop sending."""
log = logging.getLogger("provisioning.graph")


class GraphError(ProvisioningError):
    """Graph answered an error that retrying did not (or could not) fix."""

    def __init__(self, action: str, status: int | None, code: str, message: str) -> None:
        self.status = status
        self.code = code
        self.message = message
        super().__init__(f"{action}: {status or 'no answer'} {code}: {message}".rstrip(": "))


class GraphClient:
    def __init__(
        self,
        endpoint: GraphEndpoint,
        credential: TokenCredentialLike,
        *,
        transport: httpx.BaseTransport | None = None,
        rate: tuple[int, float] = (40, 5.0),
        log_rate: tuple[int, float] = LOG_RATE,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        timeout: float = 60.0,
        embedded: bool = False,
    ) -> None:
        self.endpoint = endpoint
        self.embedded = embedded
        """The CLI's embedded emulator: its directory and logs end with this process."""
        self.auth = CredentialAuth(credential, endpoint.scope)
        self._http = httpx.Client(
            transport=transport, auth=self.auth, timeout=timeout, headers={"User-Agent": USER_AGENT}
        )
        self.pacer = SlidingWindowPacer(rate[0], rate[1], clock=clock, sleep=sleep)
        self.log_pacer = SlidingWindowPacer(log_rate[0], log_rate[1], clock=clock, sleep=sleep)
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

    def upload(self, request: BulkRequest, *, deadline: float | None = None) -> BatchOutcome:
        """POST one bulk request, paced and retried; the outcome says accepted or failed, and why.

        Nothing raises: a credential that cannot give a token, a transport failure or any other error
        ends as a failed outcome with its reason (``fatal`` when every further request would fail the
        same way). ``deadline`` (a ``clock()`` value) bounds the retrying: no wait ends past it.
        """
        started = self._clock()
        outcome = BatchOutcome(request.number, request.external_ids, "failed", None, 0, 0.0)
        headers = {"Content-Type": SCIM_CONTENT_TYPE, "Accept": "application/json"}

        def attempt() -> httpx.Response:
            outcome.attempts += 1
            asked = self._clock()
            slot = self.pacer.acquire()
            outcome.waited_for_throttle += max(slot.start - asked, 0.0)
            return self._post_paced(slot, request.body, headers)

        last: list[Retry | None] = [None]

        def judge(answer: httpx.Response | Exception) -> Retry | None:
            last[0] = verdict = _judge(answer)
            return verdict

        def _judge(answer: httpx.Response | Exception) -> Retry | None:
            if isinstance(answer, httpx.TransportError):
                outcome.http_status, outcome.error_code, outcome.error = None, "TransportError", type(answer).__name__
                outcome.retried_statuses.append(NO_ANSWER)  # it may have reached Graph: a resend if retried
                return Retry(reason=type(answer).__name__)
            if isinstance(answer, Exception):
                return None
            outcome.http_status = answer.status_code
            if answer.is_success:
                outcome.status, outcome.error_code, outcome.error = "accepted", "", ""
                return None
            outcome.error_code, outcome.error = _graph_error(answer)
            if not self.policy.retryable(answer.status_code):
                return None
            after = parse_retry_after(answer.headers.get("Retry-After"))
            if answer.status_code == 429 and after is not None and after > self.policy.max_retry_after:
                # A wait this long is the tenant's daily quota, not the job's 5-second window: stop now and
                # say when, rather than retry the same answer for hours.
                until = datetime.now(UTC) + timedelta(seconds=after)
                outcome.error_code = "QuotaExhausted"
                outcome.error = (
                    f"daily quota exhausted, retry after {until.isoformat(timespec='seconds').replace('+00:00', 'Z')} "
                    f"(Graph: {outcome.error})"
                )[:_MAX_ERROR_TEXT]
                outcome.fatal = True
                return None
            outcome.retried_statuses.append(answer.status_code)
            return Retry(after=after, reason=f"HTTP {answer.status_code}", shared=answer.status_code == 429)

        try:
            retry_loop(
                attempt,
                judge,
                policy=self.policy,
                sleep=self._sleep,
                clock=self._clock,
                deadline=deadline,
                hold=self.pacer.hold,  # a 429: every sender backs off, not just this one
            )
        except CredentialFailed as exc:
            outcome.http_status, outcome.error_code, outcome.error = None, "CredentialUnavailable", str(exc)
            outcome.fatal = True
        except httpx.TransportError:
            pass  # recorded by the judge: the last try's transport error
        except Exception as exc:  # an unexpected failure is this request's outcome, never a lost request
            outcome.http_status, outcome.error_code = None, type(exc).__name__
            outcome.error = "unexpected error while sending (see the log)"
            log.exception("request %d: unexpected error while sending", request.number)
        if outcome.status == "failed" and outcome.http_status in FATAL_STATUSES:
            outcome.fatal = True
        if outcome.status == "failed" and not outcome.fatal and last[0] is not None and deadline is not None:
            outcome.gave_up_at_deadline = True
        outcome.seconds = round(self._clock() - started, 3)
        return outcome

    def _post_paced(self, slot: Slot, body: bytes, headers: dict[str, str]) -> httpx.Response:
        try:
            return self._http.post(self.endpoint.bulk_upload_url, content=body, headers=headers)
        finally:
            self.pacer.answered(slot)  # whatever happened, the window moves on from here

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
        """Pages of log entries, following ``@odata.nextLink``: only https on the same Graph host (the token
        goes with it), never the same link twice, and at most ``MAX_LOG_PAGES`` pages."""
        url: str | None = self.endpoint.logs_url
        query: dict[str, str] | None = params
        base = urlsplit(self.endpoint.base)
        seen: set[str] = set()
        while url:
            target = urlsplit(url)
            if target.netloc != base.netloc or target.scheme != base.scheme:
                raise GraphError("read provisioning logs", None, "UnexpectedNextLink", "nextLink to another host")
            if url in seen or len(seen) >= MAX_LOG_PAGES:
                raise GraphError(
                    "read provisioning logs",
                    None,
                    "NextLinkLoop",
                    f"the nextLinks go round (or past {MAX_LOG_PAGES} pages)",
                )
            seen.add(url)
            page = self._json("GET", url, "read provisioning logs", params=query, pacer=self.log_pacer)
            yield list(page.get("value") or [])
            next_link = page.get("@odata.nextLink")
            url, query = (next_link if isinstance(next_link, str) else None), None

    # ---- plumbing -------------------------------------------------------------------------------------

    def _json(
        self, method: str, url: str, action: str, *, pacer: SlidingWindowPacer | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        response = self._call(method, url, action, pacer=pacer, **kwargs)
        try:
            body = response.json()
        except ValueError as exc:
            raise GraphError(action, response.status_code, "InvalidResponse", "the answer is not JSON") from exc
        if not isinstance(body, dict):
            raise GraphError(action, response.status_code, "InvalidResponse", "the answer is not a JSON object")
        return body

    def _call(
        self, method: str, url: str, action: str, *, pacer: SlidingWindowPacer | None = None, **kwargs: Any
    ) -> httpx.Response:
        def judge(answer: httpx.Response | Exception) -> Retry | None:
            if isinstance(answer, httpx.TransportError):
                return Retry(reason=type(answer).__name__)
            if isinstance(answer, Exception) or answer.is_success or not self.policy.retryable(answer.status_code):
                return None
            return Retry(
                after=parse_retry_after(answer.headers.get("Retry-After")),
                reason=f"HTTP {answer.status_code}",
                shared=pacer is not None and answer.status_code == 429,
            )

        def attempt() -> httpx.Response:
            if pacer is None:
                return self._http.request(method, url, **kwargs)
            slot = pacer.acquire()
            try:
                return self._http.request(method, url, **kwargs)
            finally:
                pacer.answered(slot)

        try:
            response = retry_loop(
                attempt,
                judge,
                policy=self.policy,
                sleep=self._sleep,
                clock=self._clock,
                hold=pacer.hold if pacer is not None else None,
            )
        except httpx.TransportError as exc:
            raise GraphError(action, None, "TransportError", type(exc).__name__) from exc
        except CredentialFailed as exc:
            raise GraphError(action, None, "CredentialUnavailable", str(exc)) from exc
        if response.is_success:
            return response
        code, message = _graph_error(response)
        raise GraphError(action, response.status_code, code, message)


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
