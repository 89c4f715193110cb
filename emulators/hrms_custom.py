"""The custom-rest emulator: one generic people API with every paging style, one per path.

``/offset/people`` (and ``/api/people``): ``offset`` + ``limit``, body ``hasMore``/``total``.
``/page/people``: ``page`` (1-based) + ``pageSize``, body ``totalPages``.
``/odata/people``: ``$skip`` + ``$top``; the end is a short page.
``/nextlink/people``: ``limit``; body ``links: [{"rel": "next", "href"}]`` and ``@odata.nextLink`` (absolute).
``/linkheader/people``: ``limit``; RFC 8288 ``Link: <url>; rel="next"`` header.
``/token/people``: ``pageToken`` + ``limit``; body ``nextPageToken`` (absent at the end).
``/all/people``: everything at once.
``/loop/people``: broken: the same first page and the same next link forever (body and header).
``/evil/people``: a next link to another host (http://127.0.0.2:1/...), which a client must not follow.
Records are under ``items``. Auth per the emulator's ``auth``: none, basic, bearer (the static token or
one from ``POST /oauth/token``), apikey (header ``X-API-Key``), oauth2 (client credentials at
``/oauth/token``, form or basic client auth).
"""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING, Any

from emulators.entra_server import Request, Response
from emulators.hrms_http import HrmsError, client_of, form, int_param, json_response, not_found, unauthorized

if TYPE_CHECKING:
    from emulators.hrms import HrmsEmulator

DEFAULT_PAGE = 25
EVIL_HOST = "http://127.0.0.2:1"
STYLES = ("offset", "page", "odata", "nextlink", "linkheader", "token", "all", "loop", "evil")


def _authorized(emu: HrmsEmulator, request: Request) -> bool:
    from emulators.hrms import API_KEY, PASSWORD, USERNAME
    from emulators.hrms_http import basic_credentials

    if emu.auth == "none":
        return True
    if emu.auth == "basic":
        return basic_credentials(request) == (USERNAME, PASSWORD)
    if emu.auth == "apikey":
        return request.header("x-api-key") == API_KEY
    return emu.bearer_ok(request)


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def _untoken(token: str) -> int:
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        if not text.startswith("o:"):
            raise ValueError(text)
        return int(text[2:])
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise HrmsError(400, {"error": "invalid_page_token", "message": f"unknown pageToken {token!r}"}) from None


def _next_links(url: str) -> tuple[dict[str, Any], dict[str, str]]:
    return {"links": [{"rel": "next", "href": url}], "@odata.nextLink": url}, {"Link": f'<{url}>; rel="next"'}


def route_custom(emu: HrmsEmulator, request: Request) -> Response:
    from emulators.hrms import CLIENT_ID, CLIENT_SECRET

    path = request.path.rstrip("/")
    if path == "/oauth/token" and emu.auth in ("oauth2", "bearer"):
        if request.method != "POST":
            raise HrmsError(405, {"error": "method_not_allowed"}, {"Allow": "POST"})
        fields = form(request)
        if fields.get("grant_type") != "client_credentials":
            raise HrmsError(400, {"error": "unsupported_grant_type"})
        if client_of(request, fields) != (CLIENT_ID, CLIENT_SECRET):
            raise HrmsError(400, {"error": "invalid_client"})
        return json_response(200, emu.issue_token())
    style = "offset" if path == "/api/people" else path.removeprefix("/").removesuffix("/people")
    if not path.endswith("/people") or style not in STYLES:
        raise not_found(request.path)
    if request.method != "GET":
        raise HrmsError(405, {"error": "method_not_allowed"}, {"Allow": "GET"})
    emu.take_fault()
    if not _authorized(emu, request):
        raise unauthorized("Bearer" if emu.auth in ("bearer", "oauth2") else "Basic")
    records, query, total = emu.raw_workers, request.query, len(emu.raw_workers)
    top = emu.max_page_size
    base = f"{emu.base_url}/{style}/people"
    if style == "all":
        return json_response(200, {"items": records})
    if style == "offset":
        limit = int_param(query, "limit", DEFAULT_PAGE, minimum=1, maximum=top)
        offset = int_param(query, "offset", 0)
        body = {"items": records[offset : offset + limit], "offset": offset, "limit": limit, "total": total}
        return json_response(200, {**body, "hasMore": offset + limit < total})
    if style == "page":
        size = int_param(query, "pageSize", DEFAULT_PAGE, minimum=1, maximum=top)
        page = int_param(query, "page", 1, minimum=1)
        items = records[(page - 1) * size : page * size]
        pages = -(-total // size)
        return json_response(200, {"items": items, "page": page, "pageSize": size, "totalPages": pages, "total": total})
    if style == "odata":
        size = int_param(query, "$top", DEFAULT_PAGE, minimum=1, maximum=top)
        skip = int_param(query, "$skip", 0)
        return json_response(200, {"items": records[skip : skip + size]})
    limit = int_param(query, "limit", DEFAULT_PAGE, minimum=1, maximum=top)
    if style == "token":
        offset = _untoken(query["pageToken"]) if query.get("pageToken") else 0
        body = {"items": records[offset : offset + limit]}
        if offset + limit < total:
            body["nextPageToken"] = _token(offset + limit)
        return json_response(200, body)
    if style in ("loop", "evil"):
        host = EVIL_HOST if style == "evil" else emu.base_url
        extra, headers = _next_links(f"{host}/{style}/people?cursor=1&limit={limit}")
        return json_response(200, {"items": records[:limit], **extra}, headers)
    offset = int_param(query, "cursor", 0)
    body = {"items": records[offset : offset + limit]}
    if offset + limit >= total:
        return json_response(200, body)
    extra, headers = _next_links(f"{base}?cursor={offset + limit}&limit={limit}")
    if style == "nextlink":
        return json_response(200, {**body, **extra})
    return json_response(200, body, headers)
