"""Pulling worker records out of an HR system: page by page, flattened, with retries.

``fetch_records`` yields flat dicts (the definition's ``extract`` fields) page by page, so memory
stays at one page. With ``concurrency`` N > 1 and a paging style whose next request is known before
the current page arrives (offset, page, odata), up to N pages are asked for at once from a small
thread pool; records still come out strictly in page order and at most N pages are held. Link and
token styles stay one page at a time. Retries go through ``provisioning.core.retry.retry_loop``;
errors are ``ConnectorError``s (``context``) that name the connector, the URL path (never the query
string) and the status, with every secret config value blanked out. ``probe.test_connection`` makes
one small request.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import httpx

from provisioning.core.retry import Retry, RetryPolicy, parse_retry_after, retry_loop

from .auth import TokenError, build_auth
from .context import FetchReport, PullContext, checked_url, resolve_definition, select_auth, status_hint
from .definition import ConnectorDefinition
from .extract import compile_expression, flatten
from .network import BlockedAddress, GuardedTransport, NetworkPolicy, Resolver, system_resolver
from .paging import NextPage, Page, Pager, PagingError
from .soap import SoapWire

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)


def fetch_records(
    definition: ConnectorDefinition,
    config: Mapping[str, Any],
    *,
    transport: httpx.BaseTransport | None = None,
    policy: RetryPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
    limit: int | None = None,
    on_page: Callable[[FetchReport], None] | None = None,
    on_rotate: Callable[[str], None] | None = None,
    allow_loopback_http: bool = False,
    allow_private_networks: bool = False,
    resolve: Resolver | None = None,
    timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    concurrency: int = 1,
) -> FetchStream:
    """Flat worker records, page by page. Iterate it; ``.report`` tells pages, retries and truncation.

    ``concurrency`` N > 1 asks for up to N pages at once where the paging style allows it (offset,
    page, odata); records still come in page order, and at most N pages are held in memory. Pages
    asked for past the end of data are discarded unread. ``sleep`` may then be called from pool threads.

    Config problems (missing fields, refused URL) raise at once; HTTP problems while iterating. Every
    request goes only to public addresses (``network``): loopback with ``allow_loopback_http``, private
    ranges with ``allow_private_networks``; ``resolve`` replaces DNS (tests).
    """
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, got {concurrency}")
    return FetchStream(Pull(definition, config, transport=transport, policy=policy or RetryPolicy(), sleep=sleep,
                             on_rotate=on_rotate, allow_loopback_http=allow_loopback_http, timeout=timeout,
                             allow_private_networks=allow_private_networks, resolve=resolve),
                       limit=limit, on_page=on_page, concurrency=concurrency)  # fmt: skip


class FetchStream(Iterator[dict[str, Any]]):
    """An iterator of flat records with the pull's ``report``."""

    def __init__(self, pull: Pull, *, limit: int | None, on_page: Callable[[FetchReport], None] | None,
                 concurrency: int = 1) -> None:  # fmt: skip
        self.report = pull.report
        self._records = pull.records(limit=limit, on_page=on_page, concurrency=concurrency)

    def __iter__(self) -> FetchStream:
        return self

    def __next__(self) -> dict[str, Any]:
        return next(self._records)

    def close(self) -> None:
        self._records.close()


class Pull:
    """One pull: the client, the auth, the first request; ``records()`` walks the pages."""

    def __init__(self, definition: ConnectorDefinition, config: Mapping[str, Any], *,
                 transport: httpx.BaseTransport | None, policy: RetryPolicy, sleep: Callable[[float], None],
                 on_rotate: Callable[[str], None] | None, allow_loopback_http: bool,
                 timeout: httpx.Timeout, allow_private_networks: bool = False,
                 resolve: Resolver | None = None) -> None:  # fmt: skip
        self.definition = definition = resolve_definition(definition, config)
        self.ctx = ctx = PullContext(definition, config)
        self.report = FetchReport(connector=definition.id)
        self._report_lock = threading.Lock()  # pool threads count retries
        self.policy = policy
        self.sleep = sleep
        missing = [f.key for f in definition.fields if f.required and not ctx.config.get(f.key)]
        if missing:
            raise ctx.error(f"config fields missing: {', '.join(missing)}")
        self.base = checked_url(str(ctx.config.get("baseUrl", "")), ctx, allow_loopback_http=allow_loopback_http)
        auth_spec = select_auth(definition, ctx)
        # A SOAP definition (Workday's Get_Workers) sends envelopes and reads XML answers: connectors/soap.py.
        soap = definition.request.soap
        self.wire = None if soap is None else SoapWire(soap, ctx, auth_spec, records_path=definition.recordsPath)
        token_url: str | None = None
        if auth_spec.type in ("oauth2-client-credentials", "oauth2-refresh-token", "mtls-client-credentials"):
            raw = ctx.config.get("tokenUrl") or (
                self._join(ctx.render(auth_spec.tokenPath, quote_values=True)) if auth_spec.tokenPath else ""
            )
            if not raw:
                raise ctx.error("config field 'tokenUrl' is required (the definition has no tokenPath)")
            token_url = str(checked_url(str(raw), ctx, allow_loopback_http=allow_loopback_http, what="tokenUrl"))

        def rotated(token: str) -> None:
            ctx.add_secret(token)
            if on_rotate is not None:
                on_rotate(token)

        try:
            self.auth = build_auth(auth_spec, ctx.config, token_url=token_url, on_rotate=rotated,
                                   render=ctx.render)  # fmt: skip
        except ValueError as exc:
            raise ctx.error(str(exc)) from None
        verify: ssl.SSLContext | bool = True
        if auth_spec.type == "mtls-client-credentials" or ctx.config.get("certificatePath"):
            verify = self._tls_context(auth_spec.type == "mtls-client-credentials")
        elif ctx.config.get("caCertificatePath"):
            verify = ssl.create_default_context(cafile=str(ctx.config["caCertificatePath"]))
        # Every request, token calls and next links included, is checked for where it goes (``network``).
        network = NetworkPolicy(allow_loopback=allow_loopback_http, allow_private=allow_private_networks)
        inner = transport or httpx.HTTPTransport(verify=verify)
        guarded = GuardedTransport(inner if self.wire is None else self.wire.transport(inner), network,
                                   resolve=resolve or system_resolver)  # fmt: skip
        self.client = httpx.Client(auth=self.auth, transport=guarded, timeout=timeout,
                                   follow_redirects=False)  # fmt: skip
        request = definition.request
        self.method = request.method
        self.url = httpx.URL(self._join(ctx.render(request.path, quote_values=True)))
        self.query = {k: ctx.render(v) for k, v in request.query.items()}
        self.headers = {k: ctx.render(v) for k, v in request.headers.items()}
        self.body = request.body
        size = ctx.config.get("pageSize")
        try:
            page_size = int(size) if size else None
        except (TypeError, ValueError):
            raise ctx.error("config field 'pageSize' must be a number") from None
        self.pager = Pager(definition.paging, page_size)
        self.records_at = compile_expression(definition.recordsPath) if definition.recordsPath else None
        self.extract = dict(definition.extract)
        if self.wire is not None:
            self.wire.resend = lambda params: self._send(self.url, params)

    def _join(self, path: str) -> str:
        return str(self.base).rstrip("/") + "/" + path.lstrip("/")

    def _tls_context(self, required: bool) -> ssl.SSLContext:
        ctx, config = self.ctx, self.ctx.config
        cert, key = config.get("certificatePath"), config.get("keyPath")
        if not cert and required:
            raise ctx.error("config field 'certificatePath' is required (mutual TLS)")
        ca = config.get("caCertificatePath")
        context = ssl.create_default_context(cafile=str(ca) if ca else None)
        if cert:
            try:
                context.load_cert_chain(str(cert), str(key) if key else None)
            except (OSError, ssl.SSLError) as exc:
                raise ctx.error(f"cannot load the client certificate: {type(exc).__name__}") from None
        return context

    # ---- the walk -------------------------------------------------------------------------------------

    def records(
        self, *, limit: int | None, on_page: Callable[[FetchReport], None] | None, concurrency: int = 1
    ) -> Generator[dict[str, Any], None, None]:
        report = self.report
        pages = self._pages(concurrency, limit)
        try:
            for url, page, step in pages:
                report.pages += 1
                logger.info("connector %s: page %d, %d records from %s", self.definition.id, report.pages,
                            len(page.records), url.path)  # fmt: skip
                if on_page is not None:
                    on_page(report)
                for position, record in enumerate(page.records):
                    if limit is not None and report.records >= limit:
                        report.truncated = position < len(page.records) or step is not None
                        report.complete = True
                        return
                    report.records += 1
                    yield self._flat(record)
                if step is None:
                    report.complete = True
                    return
                if limit is not None and report.records >= limit:
                    report.truncated = report.complete = True
                    return
                del page  # let it go before the next one is waited for: at most N pages held
        finally:
            pages.close()  # stops the pool (if any) before the client closes
            self.client.close()

    def _pages(self, concurrency: int, limit: int | None) -> Generator[_Walked, None, None]:
        """Each page in order with the pager's verdict on it (``None``: the last)."""
        start: tuple[httpx.URL, dict[str, str]] | None = (self.url, {**self.query, **self.pager.first_params()})
        if concurrency > 1 and self.pager.predictable:
            start = yield from self._pages_ahead(concurrency, limit)
        if start is not None:
            yield from self._pages_in_turn(*start)

    def _pages_in_turn(self, url: httpx.URL, params: dict[str, str]) -> Generator[_Walked, None, None]:
        """One request at a time: the next one is made only once the consumer wants the next page."""
        while True:
            page = self._page(self._send(url, params))
            step = self._advance(page, url)
            yield url, page, step
            del page
            if step is None:
                return
            if step.url is not None:
                url, params = self._follow(step.url, url), {}
            else:
                params = {**self.query, **(step.params or {})}

    def _pages_ahead(
        self, workers: int, limit: int | None
    ) -> Generator[_Walked, None, tuple[httpx.URL, dict[str, str]] | None]:
        """Up to ``workers`` pages in flight or held, handed on strictly in order.

        The pager still sees every page in order (end rules, loop guard). Requests are asked ahead on
        the assumption that every page is full; when the pager's next request differs (a short page
        that does not end the data, or a server that caps the page size below ours), what was asked
        ahead is dropped, and only the pager's own next request is made until a page is full again.
        Returns where to go on one page at a time when an odata answer carries a next link, or None.

        Near the end, pages past the last one are requested (we cannot know the end before the page
        that says so arrives); they are harmless reads, and are discarded: never parsed into the
        stream, never yielded, their errors never raised. A limit or a known total stops asking ahead.
        """
        pager, url = self.pager, self.url
        stride, ahead = pager.page_size, workers
        stop = threading.Event()
        pending: deque[tuple[dict[str, str], Future[Page]]] = deque()
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"connector-{self.definition.id}")
        try:
            while True:
                # The consumer has let go of the last page: the pending ones (answered or not) are all that is
                # held, so with the one about to be handed on, never more than ``workers`` pages.
                while len(pending) < ahead:
                    first = pager.seen_records + len(pending) * stride  # of the page to ask for
                    if pending and ((limit is not None and first >= limit) or
                                    (pager.total is not None and first >= pager.total)):  # fmt: skip
                        break
                    params = {**self.query, **pager.params_ahead(len(pending), stride)}
                    pending.append((params, pool.submit(self._fetch_page, url, params, stop)))
                _, future = pending.popleft()
                page = future.result()
                del future
                step = self._advance(page, url)
                count = len(page.records)
                ahead = workers if count == stride else ahead
                yield url, page, step
                del page
                if step is None:
                    return None  # whatever is still pending lies past the end: dropped unread (finally)
                if step.url is not None:
                    return self._follow(step.url, url), {}
                if pending and pending[0][0] != {**self.query, **(step.params or {})}:
                    logger.info("connector %s: a page of %d records, not %d: one page at a time until a full one",
                                self.definition.id, count, stride)  # fmt: skip
                    _drop(pending)
                    stride, ahead = max(count, 1), 1
        finally:
            stop.set()
            _drop(pending)
            pool.shutdown(wait=True, cancel_futures=True)

    def _fetch_page(self, url: httpx.URL, params: Mapping[str, str], stop: threading.Event) -> Page:
        return self._page(self._send(url, params, stop=stop))

    def _advance(self, page: Page, url: httpx.URL) -> NextPage | None:
        try:
            return self.pager.advance(page)
        except PagingError as exc:
            raise self.ctx.error(str(exc), path=url.path) from None

    def _flat(self, record: Any) -> dict[str, Any]:
        if self.extract:
            return flatten(record, self.extract)
        return record if isinstance(record, dict) else {"value": record}

    def _follow(self, link: str, current: httpx.URL) -> httpx.URL:
        try:
            target = current.join(link)
        except (httpx.InvalidURL, TypeError):
            raise self.ctx.error("the next link is not a valid URL", path=current.path) from None
        if (target.scheme, target.host, target.port) != (self.base.scheme, self.base.host, self.base.port):
            raise self.ctx.error(f"the next link points to another host ({target.host or '?'}): refused",
                                 path=current.path)  # fmt: skip
        return target

    def _send(
        self, url: httpx.URL, params: Mapping[str, str], *, stop: threading.Event | None = None
    ) -> httpx.Response:
        ctx, path = self.ctx, url.path
        attempts = [0]
        last = [""]

        def attempt() -> httpx.Response:
            if stop is not None and stop.is_set():
                raise _Discarded(path)
            attempts[0] += 1
            if self.wire is not None:
                return self.wire.send(self.client, self.method, url, params, self.headers)
            return self.client.request(self.method, url, params=dict(params) if params else None,
                                       headers=self.headers,
                                       json=self.body if self.method == "POST" else None)  # fmt: skip

        def judge(answer: httpx.Response | Exception) -> Retry | None:
            if isinstance(answer, TokenError):
                if not RetryPolicy.retryable(answer.status):
                    return None
                last[0] = f"token endpoint HTTP {answer.status}"
                return Retry(after=parse_retry_after(answer.retry_after), reason=last[0])
            if isinstance(answer, BlockedAddress):
                return None  # refused before anything was sent: retrying cannot change where it goes
            if isinstance(answer, httpx.TransportError):
                last[0] = type(answer).__name__
                return Retry(reason=last[0])
            if isinstance(answer, Exception) or 200 <= answer.status_code < 300:
                return None
            if not RetryPolicy.retryable(answer.status_code):
                return None
            last[0] = f"HTTP {answer.status_code}"
            return Retry(after=parse_retry_after(answer.headers.get("Retry-After")), reason=last[0])

        def on_retry(attempt_number: int, delay: float, verdict: Retry) -> None:
            logger.warning("connector %s: %s on %s, retrying in %.1f s", self.definition.id, verdict.reason, path,
                           delay)  # fmt: skip
            with self._report_lock:
                self.report.retries += 1

        try:
            response = retry_loop(attempt, judge, policy=self.policy, sleep=self.sleep, on_retry=on_retry)
        except TokenError as exc:
            if not RetryPolicy.retryable(exc.status):
                raise ctx.error(f"authentication failed: {exc}", path=path, status=exc.status) from None
            raise ctx.error(f"{self.method} failed after {attempts[0]} tries (last: {last[0]})", path=path,
                            status=exc.status or None) from None  # fmt: skip
        except BlockedAddress as exc:
            raise ctx.error(str(exc), path=path) from None
        except httpx.TransportError:
            raise ctx.error(f"{self.method} failed after {attempts[0]} tries (last: {last[0]})", path=path) from None
        status = response.status_code
        if 200 <= status < 300:
            return response
        if not RetryPolicy.retryable(status):
            fault = self.wire.fault_text(response) if self.wire is not None else ""
            raise ctx.error(f"{self.method} answered HTTP {status}{status_hint(status)}{fault}", path=path,
                            status=status)  # fmt: skip
        raise ctx.error(f"{self.method} failed after {attempts[0]} tries (last: {last[0]})", path=path,
                        status=status)  # fmt: skip

    def _page(self, response: httpx.Response) -> Page:
        try:
            return self._parse_page(response)
        finally:
            # httpx binds a response and its stream to each other: a reference cycle that keeps the raw
            # page alive until the garbage collector comes by, so the peak grew with the number of pages.
            # Broken here, the raw page goes as soon as it is parsed.
            response.stream = httpx.ByteStream(b"")

    def _parse_page(self, response: httpx.Response) -> Page:
        if self.wire is not None:
            return self.wire.page(response)
        path = response.request.url.path
        link_next = response.links.get("next", {}).get("url")
        if response.status_code == 204 or not response.content.strip():
            return Page(body=None, records=[], link_next=link_next, no_content=True)
        try:
            body = response.json()
        except ValueError:
            raise self.ctx.error("answered something that is not JSON", path=path,
                                 status=response.status_code) from None  # fmt: skip
        records = body if self.records_at is None else self.records_at(body)
        if not isinstance(records, list):
            where = f"records path {self.definition.recordsPath!r}" if self.records_at else "the answer"
            found = "not found" if records == "" else f"is a {type(records).__name__}, not a list"
            raise self.ctx.error(f"{where} {found}", path=path, status=response.status_code)
        return Page(body=body, records=records, link_next=link_next)


_Walked = tuple[httpx.URL, Page, NextPage | None]
"""A page's URL, the page, and the pager's next step after it (None: the end)."""


class _Discarded(Exception):
    """A page asked ahead is no longer wanted (the pull ended): its retries stop. Never raised to callers."""


def _drop(pending: deque[tuple[dict[str, str], Future[Page]]]) -> None:
    """Forget pages asked ahead: those not started are cancelled, the others finish unread."""
    while pending:
        pending.popleft()[1].cancel()
