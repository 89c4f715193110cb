"""Pages asked ahead (``fetch_records(..., concurrency=N)``): same records, same order, same end, bounded memory."""

from __future__ import annotations

import functools
import threading
import time
import weakref
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from connectors import ConnectorError, FetchReport, PagingSpec, load_registry
from connectors import fetch as fetch_module
from connectors import fetch_records as _fetch_records
from connectors.paging import Page, Pager
from emulators import hrms
from provisioning.core.retry import RetryPolicy
from tests.support import running

# The HR emulators listen on plain http on loopback: what CONNECTORS_ALLOW_LOOPBACK_HTTP allows.
fetch_records = functools.partial(_fetch_records, allow_loopback_http=True)

HrmsEmulator = hrms.HrmsEmulator


REGISTRY = load_registry()
WORKERS = 23
N = 4
VENDORS = ("workday", "adp", "oracle-hcm")
OAUTH_VENDORS = ("workday", "adp")
CUSTOM_STYLES = {
    "offset": {"pagingStyle": "offset", "totalPath": "total"},
    "page": {"pagingStyle": "page", "pageSizeParam": "pageSize", "totalPath": "total"},
    "odata": {"pagingStyle": "odata"},
}


@pytest.fixture(scope="module")
def emulators() -> Iterator[dict[str, Any]]:
    with running({v: HrmsEmulator(v, workers=WORKERS, max_page_size=5) for v in VENDORS}) as started:
        yield started


@pytest.fixture(scope="module")
def custom() -> Iterator[Any]:
    with HrmsEmulator("custom-rest", workers=WORKERS, max_page_size=6) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def custom_oauth() -> Iterator[Any]:
    with HrmsEmulator("custom-rest", workers=WORKERS, max_page_size=6, auth="oauth2") as emulator:
        yield emulator


def _fetch(vendor: str, config: dict[str, Any], **kwargs: Any) -> tuple[list[dict[str, Any]], FetchReport]:
    kwargs.setdefault("concurrency", N)
    stream = fetch_records(REGISTRY[vendor], config, sleep=kwargs.pop("sleep", lambda _: None), **kwargs)
    return list(stream), stream.report


def _vendor_config(emulator: Any) -> dict[str, Any]:
    return {**emulator.config, "pageSize": "5"}


def _custom_config(emulator: Any, style: str, **extra: Any) -> dict[str, Any]:
    auth = "oauth2-client-credentials" if emulator.auth == "oauth2" else "apikey-header"
    return {**emulator.config, "path": f"/{style}/people", "authType": auth, "pageSize": "6",
            **CUSTOM_STYLES[style], **extra}  # fmt: skip


def _data_calls(emulator: Any) -> list[tuple[str, str, str, int]]:
    return [r for r in emulator.requests if not _is_token_call(r)]


def _is_token_call(request: tuple[str, str, str, int]) -> bool:
    return request[1].rstrip("/").endswith("/token")


# ---- every offset-like vendor and style: exactly the workers, in order ----------------------------------------


@pytest.mark.parametrize("vendor", VENDORS)
def test_vendors_in_order_with_pages_asked_ahead(vendor: str, emulators: dict[str, Any]) -> None:
    emulator = emulators[vendor]
    emulator.requests.clear()
    records, report = _fetch(vendor, _vendor_config(emulator))
    assert [r["workerId"] for r in records] == emulator.worker_ids
    assert report.complete and not report.truncated and report.records == WORKERS and report.retries == 0
    assert report.pages == len(records) // 5 + 1 + (vendor == "adp")  # ADP ends on a 204
    assert len(_data_calls(emulator)) >= report.pages


@pytest.mark.parametrize("style", CUSTOM_STYLES)
def test_custom_rest_styles_in_order_with_pages_asked_ahead(style: str, custom: Any) -> None:
    sequential, _ = _fetch("custom-rest", _custom_config(custom, style), concurrency=1)
    records, report = _fetch("custom-rest", _custom_config(custom, style))
    assert [r["workerId"] for r in records] == custom.worker_ids == [r["workerId"] for r in sequential]
    assert report.complete and report.pages >= 4


def test_total_known_stops_asking_past_it(emulators: dict[str, Any]) -> None:
    emulator = emulators["workday"]  # total in every page: nothing is asked past record 23
    emulator.requests.clear()
    _, report = _fetch("workday", _vendor_config(emulator))
    # besides the pages, one call per future-dated hire: read again as of the hire date (connectors/soap.py)
    future_hires = sum(r["status"] == "Pre-Hire" for r in emulator.raw_workers)
    assert report.pages == 5 and len(_data_calls(emulator)) == report.pages + future_hires


def test_pages_past_the_end_are_requested_but_never_yielded(emulators: dict[str, Any]) -> None:
    emulator = emulators["oracle-hcm"]  # no total: the short fifth page ends it, the ones after are discarded
    emulator.requests.clear()
    records, report = _fetch("oracle-hcm", _vendor_config(emulator))
    assert len(records) == WORKERS and report.pages == 5
    offsets = sorted(int(q.split("offset=")[1].split("&")[0]) for _, _, q, _ in _data_calls(emulator))
    assert offsets[:5] == [0, 5, 10, 15, 20] and max(offsets) <= 20 + 5 * (N - 1)


def test_next_link_and_token_styles_stay_sequential(custom: Any) -> None:
    styles = {
        "nextlink": {"pagingStyle": "next-link-body", "nextLinkPath": "links[?rel=='next'].href",
                     "pageSizeParam": "limit"},
        "token": {"pagingStyle": "page-token", "nextTokenPath": "nextPageToken", "pageSizeParam": "limit"},
    }  # fmt: skip
    for style, extra in styles.items():
        custom.requests.clear()
        config = {**custom.config, "path": f"/{style}/people", "authType": "apikey-header", "pageSize": "6", **extra}
        records, report = _fetch("custom-rest", config)
        assert [r["workerId"] for r in records] == custom.worker_ids
        assert len(_data_calls(custom)) == report.pages == 4  # nothing asked ahead


# ---- retries and auth -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("vendor", VENDORS)
def test_fault_storm(vendor: str, emulators: dict[str, Any]) -> None:
    emulator = emulators[vendor]
    emulator.inject_faults([429, 503] * 4, retry_after=0)
    slept: list[float] = []
    records, report = _fetch(vendor, _vendor_config(emulator), sleep=slept.append, policy=RetryPolicy(max_attempts=10))
    assert [r["workerId"] for r in records] == emulator.worker_ids
    assert report.retries == 8 and slept == [0.0] * 8


def test_fault_storm_custom_rest(custom: Any) -> None:
    custom.inject_faults([503, 429, 503, 429, 502, 504], retry_after=0)
    records, report = _fetch("custom-rest", _custom_config(custom, "offset"), policy=RetryPolicy(max_attempts=10))
    assert [r["workerId"] for r in records] == custom.worker_ids and report.retries == 6


@pytest.mark.parametrize("vendor", OAUTH_VENDORS)
def test_tokens_expire_mid_pull(vendor: str, emulators: dict[str, Any]) -> None:
    emulator = emulators[vendor]
    emulator.requests.clear()

    def on_page(report: FetchReport) -> None:
        if report.pages == 2:  # once only: a second expiry could land between a thread's refresh and its retry
            emulator.expire_tokens()

    # pages of 2: at page 2, pages 3 to 5 may be fetched already, page 6 is not asked yet
    records, _ = _fetch(vendor, {**_vendor_config(emulator), "pageSize": "2"}, on_page=on_page)
    assert [r["workerId"] for r in records] == emulator.worker_ids
    statuses = [status for _, _, _, status in _data_calls(emulator)]
    tokens = [r for r in emulator.requests if _is_token_call(r)]
    # Workday's Get_Workers may refuse a token with its authentication fault (HTTP 500), read as a 401
    refused = 500 if vendor == "workday" else 401
    assert refused in statuses and len(tokens) >= 2  # refreshed once, and nobody failed for it


def test_tokens_expire_mid_pull_custom_rest_oauth2(custom_oauth: Any) -> None:
    for style in CUSTOM_STYLES:
        custom_oauth.requests.clear()

        def on_page(report: FetchReport) -> None:
            if report.pages == 2:
                custom_oauth.expire_tokens()

        records, _ = _fetch("custom-rest", _custom_config(custom_oauth, style, pageSize="2"), on_page=on_page)
        assert [r["workerId"] for r in records] == custom_oauth.worker_ids
        assert 401 in [status for _, _, _, status in _data_calls(custom_oauth)]


def test_a_page_that_fails_raises_in_order_after_the_pages_before_it() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params["offset"])
        if offset == 4:
            return httpx.Response(403)
        return httpx.Response(200, json={"items": [{"id": str(i)} for i in range(offset, offset + 2)]})

    stream = fetch_records(REGISTRY["custom-rest"], _mock_config(), transport=httpx.MockTransport(handler),
                           concurrency=N)  # fmt: skip
    seen = []
    with pytest.raises(ConnectorError, match=r"HTTP 403"):
        for record in stream:
            seen.append(record["workerId"])
    assert seen == ["0", "1", "2", "3"] and stream.report.pages == 2


# ---- limit, loop guard, memory --------------------------------------------------------------------------------


def test_limit_truncates_and_says_so(emulators: dict[str, Any]) -> None:
    emulator = emulators["oracle-hcm"]
    emulator.requests.clear()
    records, report = _fetch("oracle-hcm", _vendor_config(emulator), limit=7)
    assert len(records) == 7 and report.truncated and report.complete and report.pages == 2
    assert len(_data_calls(emulator)) == 2  # nothing asked past the limit
    records, report = _fetch("oracle-hcm", _vendor_config(emulator), limit=10)
    assert len(records) == 10 and report.truncated and report.pages == 2


def test_loop_guard_still_holds_when_the_server_ignores_paging() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"items": [{"id": "1"}, {"id": "2"}]})

    stream = fetch_records(REGISTRY["custom-rest"], _mock_config(), transport=httpx.MockTransport(handler),
                           concurrency=N)  # fmt: skip
    with pytest.raises(ConnectorError, match="repeats an earlier page"):
        list(stream)


def test_a_server_capping_the_page_size_is_followed_by_its_counts() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params["offset"])  # asked for 4, answers 3 at most
        return httpx.Response(200, json={"items": [{"id": str(i)} for i in range(offset, min(offset + 3, 20))]})

    stream = fetch_records(REGISTRY["custom-rest"], _mock_config(pageSize="4"), transport=httpx.MockTransport(handler),
                           concurrency=N)  # fmt: skip
    assert [r["workerId"] for r in stream] == [str(i) for i in range(20)]


def _mock_config(**extra: Any) -> dict[str, Any]:
    return {"baseUrl": "https://hr.example", "path": "/people", "authType": "apikey-header", "apiKey": "k",
            "pagingStyle": "offset", "pageSize": "2", **extra}  # fmt: skip


@pytest.mark.parametrize("concurrency", [2, N])
def test_pages_in_memory_never_exceed_n(concurrency: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages held (asked for and not yet consumed, plus the one being consumed) stay at most N."""
    total, size = 60, 3
    lock = threading.Lock()
    asked: set[int] = set()
    in_flight = peak_in_flight = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak_in_flight
        offset = int(request.url.params["offset"])
        with lock:
            asked.add(offset)
            in_flight += 1
            peak_in_flight = max(peak_in_flight, in_flight)
        time.sleep(0.002)
        with lock:
            in_flight -= 1
        return httpx.Response(200, json={"items": [{"id": str(i)} for i in range(offset, min(offset + size, total))]})

    live = [0]  # Page objects alive (made and not yet freed)
    page_of = fetch_module.Pull._page

    def freed() -> None:
        with lock:
            live[0] -= 1

    def counted(self: Any, response: httpx.Response) -> Page:
        page = page_of(self, response)
        with lock:
            live[0] += 1
        weakref.finalize(page, freed)
        return page

    monkeypatch.setattr(fetch_module.Pull, "_page", counted)
    ahead: list[int] = []
    held: list[int] = []

    def on_page(report: FetchReport) -> None:
        with lock:
            ahead.append(len(asked) - report.pages)

    stream = fetch_records(REGISTRY["custom-rest"], _mock_config(pageSize=str(size)), on_page=on_page,
                           transport=httpx.MockTransport(handler), concurrency=concurrency)  # fmt: skip
    ids = []
    for record in stream:
        ids.append(record["workerId"])
        held.append(live[0])
    assert ids == [str(i) for i in range(total)]
    assert max(ahead) == concurrency - 1  # asked ahead, as far as allowed and no further
    assert max(held) <= concurrency and peak_in_flight <= concurrency
    assert live[0] == 0  # nothing left behind once the stream ended


def test_sequential_asks_one_page_at_a_time() -> None:
    asked: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params["offset"])
        asked.append(offset)
        return httpx.Response(200, json={"items": [{"id": str(i)} for i in range(offset, min(offset + 2, 7))]})

    gaps: list[int] = []
    stream = fetch_records(REGISTRY["custom-rest"], _mock_config(), transport=httpx.MockTransport(handler),
                           on_page=lambda report: gaps.append(len(asked) - report.pages))  # fmt: skip
    assert len(list(stream)) == 7 and set(gaps) == {0}


def test_concurrency_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        fetch_records(REGISTRY["custom-rest"], _mock_config(), concurrency=0)


def test_pager_params_ahead() -> None:
    offset = Pager(PagingSpec(style="offset", pageSize=10, startOffset=1))
    assert offset.predictable and offset.params_ahead(0) == offset.first_params() == {"offset": "1", "limit": "10"}
    assert offset.params_ahead(3) == {"offset": "31", "limit": "10"}
    assert offset.params_ahead(2, stride=4) == {"offset": "9", "limit": "10"}
    page = Pager(PagingSpec(style="page", pageSize=5, pageSizeParam="size"))
    assert page.params_ahead(2) == {"page": "3", "size": "5"}
    odata = Pager(PagingSpec(style="odata", pageSize=5))
    assert odata.params_ahead(1) == {"$skip": "5", "$top": "5"}
    tokens = Pager(PagingSpec(style="page-token", nextTokenPath="next"))
    assert not tokens.predictable
    with pytest.raises(ValueError, match="cannot be asked ahead"):
        tokens.params_ahead(1)


def test_page_style_total_ends_without_an_empty_page() -> None:
    pager = Pager(PagingSpec(style="page", pageSize=2, totalPath="total"))
    assert pager.advance(Page({"total": 3}, [{"id": 1}, {"id": 2}])) is not None
    assert pager.advance(Page({"total": 3}, [{"id": 3}])) is None and pager.total == 3
