"""Paging state machines: from one page to the parameters or link of the next, and the end of data.

Pure: a ``Pager`` is fed each page (body, records, ``Link`` header) and answers the next request or
``None`` at the end. It refuses to go round in circles: a next link or token seen before, or a page
whose records repeat an earlier page, raises ``PagingError``.

Styles whose next request is known before the current page arrives (``PREDICTABLE``: offset, page,
odata) can be asked ahead: ``params_ahead(n)`` is the request ``n`` pages after the next one, if every
page in between is full. ``advance`` must still see every page, in order: it alone decides the end.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson

from .definition import PagingSpec
from .extract import compile_expression

ODATA_NEXT_LINK = "['@odata.nextLink']"
PREDICTABLE = frozenset({"offset", "page", "odata"})
"""Styles whose later pages' parameters follow from the page size alone (a fetcher may ask ahead)."""


class PagingError(Exception):
    """The server's paging goes round in circles (the fetcher names connector and URL)."""


@dataclass(frozen=True)
class Page:
    """What the pager needs to know about one answered page."""

    body: Any
    records: list[Any]
    link_next: str | None = None
    """The ``Link: <...>; rel="next"`` target, when the server sent one."""
    no_content: bool = False
    """HTTP 204."""


@dataclass(frozen=True)
class NextPage:
    """Either new paging parameters on the first request, or a URL to follow as it is."""

    params: dict[str, str] | None = None
    url: str | None = None


class Pager:
    def __init__(self, spec: PagingSpec, page_size: int | None = None) -> None:
        self.spec = spec
        self.page_size = min(page_size or spec.pageSize, spec.maxPageSize)
        self.offset = spec.startOffset
        self.page = spec.startPage
        self.seen_records = 0
        self.total: int | None = None
        """The record total the server last reported (``totalPath``), if any."""
        self._seen_links: set[str] = set()
        self._seen_hashes: set[bytes] = set()
        style = spec.style
        if style == "odata":
            self._offset_param = spec.offsetParam if spec.offsetParam != "offset" else "$skip"
            self._limit_param = spec.limitParam if spec.limitParam != "limit" else "$top"
        else:
            self._offset_param, self._limit_param = spec.offsetParam, spec.limitParam

    def first_params(self) -> dict[str, str]:
        """Paging parameters of the first request."""
        return self._params()

    @property
    def predictable(self) -> bool:
        """Whether later pages can be asked for before the current one arrives."""
        return self.spec.style in PREDICTABLE

    def params_ahead(self, ahead: int, stride: int | None = None) -> dict[str, str]:
        """The paging parameters ``ahead`` pages after the next request (0: the next request itself),
        assuming full pages of ``stride`` records (default: the page size). Predictable styles only."""
        if not self.predictable:
            raise ValueError(f"paging style {self.spec.style!r} cannot be asked ahead")
        return self._params(self.offset + ahead * (stride or self.page_size), self.page + ahead)

    def _params(self, offset: int | None = None, page: int | None = None) -> dict[str, str]:
        spec, style = self.spec, self.spec.style
        if style in ("offset", "odata"):
            at = self.offset if offset is None else offset
            return {self._offset_param: str(at), self._limit_param: str(self.page_size)}
        if style == "page":
            params = {spec.pageParam: str(self.page if page is None else page)}
            params[spec.pageSizeParam or spec.limitParam] = str(self.page_size)
            return params
        if style in ("next-link-body", "next-link-header", "page-token") and spec.pageSizeParam:
            return {spec.pageSizeParam: str(self.page_size)}
        return {}

    def advance(self, page: Page) -> NextPage | None:
        """The next request after ``page``, or None when the data has ended."""
        spec = self.spec
        count = len(page.records)
        if page.no_content and spec.noContentEnds:
            return None
        if count == 0 or spec.style == "none":
            return None
        digest = hashlib.sha256(orjson.dumps(page.records, option=orjson.OPT_SORT_KEYS)).digest()
        if digest in self._seen_hashes:
            raise PagingError("a page repeats an earlier page (the server ignores the paging parameters)")
        self._seen_hashes.add(digest)
        self.seen_records += count
        if spec.hasMorePath and _falsy(_get(page.body, spec.hasMorePath)):
            return None
        total = _number(_get(page.body, spec.totalPath)) if spec.totalPath else None
        if total is not None:
            self.total = total
        # seen_records, not the offset: the page style does not move the offset.
        if total is not None and spec.style in PREDICTABLE and self.seen_records >= total:
            return None
        if spec.stopOnShortPage:
            applied = _number(_get(page.body, spec.limitPath)) if spec.limitPath else None
            if count < (applied or self.page_size):
                return None
        return self._next(page, count)

    def _next(self, page: Page, count: int) -> NextPage | None:
        spec, style = self.spec, self.spec.style
        if style == "odata":
            link = _text(_get(page.body, spec.nextLinkPath or ODATA_NEXT_LINK))
            if link:
                return self._link(link)
        if style in ("offset", "odata"):
            self.offset += count
            return NextPage(params=self._params())
        if style == "page":
            self.page += 1
            return NextPage(params=self._params())
        if style == "next-link-body":
            link = _text(_get(page.body, spec.nextLinkPath or ""))
            return self._link(link) if link else None
        if style == "next-link-header":
            return self._link(page.link_next) if page.link_next else None
        token = _text(_get(page.body, spec.nextTokenPath or ""))
        if not token:
            return None
        if token in self._seen_links:
            raise PagingError("the next page token repeats an earlier one")
        self._seen_links.add(token)
        params = self._params()
        params[spec.tokenParam] = token
        return NextPage(params=params)

    def _link(self, link: str) -> NextPage:
        if link in self._seen_links:
            raise PagingError("the next link repeats an earlier one")
        self._seen_links.add(link)
        return NextPage(url=link)


def _get(body: Any, path: str | None) -> Any:
    if not path:
        return ""
    return compile_expression(path)(body)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _falsy(value: Any) -> bool:
    if isinstance(value, bool):
        return not value
    return isinstance(value, str) and value.strip().casefold() == "false"


def _number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None
