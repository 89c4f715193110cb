"""Connectors without a network: definitions, auth flows stepped as generators, paging, extraction, registry."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from connectors import (
    ApiKeyAsBasicAuth,
    ApiKeyHeaderAuth,
    BasicAuth,
    BearerAuth,
    ConnectorDefinition,
    ConnectorError,
    OAuth2ClientCredentials,
    OAuth2RefreshToken,
    PagingSpec,
    build_auth,
    evaluate,
    fetch_records,
    flatten,
    load_registry,
    parse_definition,
    public_view,
    test_connection,
)
from connectors.auth import TokenError
from connectors.extract import compile_expression
from connectors.paging import Page, Pager, PagingError
from connectors.registry import BUILTIN_IDS
from provisioning.core.mapping.profiles import load_profile
from provisioning.core.retry import RetryPolicy

# ---- definitions and registry -------------------------------------------------------------------------


def _minimal(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "id": "acme-hr",
        "name": "Acme HR",
        "fields": [{"key": "baseUrl", "required": True}, {"key": "apiKey", "secret": True}],
        "request": {"path": "/workers"},
        "recordsPath": "items",
        "extract": {"workerId": "id"},
    }
    document.update(changes)
    return document


def test_builtins_load_with_their_ids_and_profiles() -> None:
    registry = load_registry()
    assert sorted(registry) == sorted(BUILTIN_IDS)
    for definition in registry.values():
        assert definition.defaultProfile == definition.id
        assert definition.idField in definition.extract
        load_profile(definition.defaultProfile)


def test_builtin_key_choices() -> None:
    registry = load_registry()
    assert registry["successfactors"].extract["email"] == "emailNav.results[?isPrimary].emailAddress"
    assert registry["successfactors"].auth.selectBy == "authMode"
    assert set(registry["successfactors"].auth.variants) == {"saml", "bearer", "basic"}
    assert registry["successfactors"].auth.type == "oauth2-saml-bearer"  # basic is legacy: SAP removed it
    assert "2026-11-20" in registry["successfactors"].description
    assert registry["bamboohr"].request.query["onlyCurrent"] == "false"
    assert registry["bamboohr"].request.path.endswith("/reports/custom")
    assert registry["oracle-hcm"].paging.stopOnShortPage
    assert registry["adp"].auth.type == "mtls-client-credentials"
    assert registry["workday"].auth.type == "oauth2-refresh-token"


def test_definition_typo_names_the_field() -> None:
    with pytest.raises(ConnectorError, match=r"user\.json: paging\.pagesize: Extra inputs"):
        parse_definition(json.dumps(_minimal(paging={"pagesize": 5})), "user.json")


def test_definition_bad_expression_and_paging() -> None:
    with pytest.raises(ConnectorError, match=r"extract\.workerId"):
        parse_definition(json.dumps(_minimal(extract={"workerId": "a[?"})), "x.json")
    with pytest.raises(ValidationError, match="exceeds maxPageSize"):
        PagingSpec(pageSize=200, maxPageSize=100)
    with pytest.raises(ValidationError, match="nextTokenPath"):
        PagingSpec(style="page-token")
    with pytest.raises(ConnectorError, match="not valid JSON"):
        parse_definition(b"{", "broken.json")


def test_registry_loads_user_folder_and_refuses_clashes(tmp_path: Path) -> None:
    (tmp_path / "acme.json").write_text(json.dumps(_minimal()))
    registry = load_registry(tmp_path)
    assert "acme-hr" in registry and "workday" in registry
    (tmp_path / "clash.json").write_text(json.dumps(_minimal(id="workday")))
    with pytest.raises(ConnectorError, match=r"clash\.json: id: 'workday' is a built-in"):
        load_registry(tmp_path)


def test_public_view_never_shows_config_values() -> None:
    definition = load_registry()["bamboohr"]
    view = public_view(definition, {"baseUrl": "https://x", "apiKey": "sekrit-key-123", "companyId": "c"})
    text = json.dumps(view)
    assert "sekrit-key-123" not in text
    assert {f["key"]: f["configured"] for f in view["fields"]}["apiKey"] is True


# ---- extraction ---------------------------------------------------------------------------------------------

SF = {
    "emailNav": {
        "results": [{"emailAddress": "home@x", "isPrimary": False}, {"emailAddress": "w@x", "isPrimary": True}]
    },
    "employmentNav": {"results": [{"startDate": "/Date(1514764800000)/"}, {"startDate": "/Date(1600000000000)/"}]},
}
ADP = {
    "workAssignments": [
        {"primaryIndicator": False, "homeOrganizationalUnits": []},
        {
            "primaryIndicator": True,
            "homeOrganizationalUnits": [
                {"typeCode": {"codeValue": "Business Unit"}, "nameCode": {"shortName": "BU"}},
                {"typeCode": {"codeValue": "Department"}, "nameCode": {"shortName": "Eng"}},
            ],
        },
    ]
}


@pytest.mark.parametrize(
    ("record", "expression", "expected"),
    [
        (SF, "emailNav.results[?isPrimary].emailAddress", "w@x"),
        (SF, "employmentNav.results[-1].startDate", "/Date(1600000000000)/"),
        (SF, "employmentNav.results[0].startDate", "/Date(1514764800000)/"),
        (SF, "employmentNav.results[5].startDate", ""),
        (
            ADP,
            "workAssignments[?primaryIndicator].homeOrganizationalUnits[?typeCode.codeValue=='Department']"
            ".nameCode.shortName",
            "Eng",
        ),
        (
            ADP,
            "workAssignments[?primaryIndicator].homeOrganizationalUnits[?typeCode.codeValue!='Department']"
            ".nameCode.shortName",
            "BU",
        ),
        (
            {"emails": [{"EmailType": "H1", "EmailAddress": "h"}, {"EmailType": "W1", "EmailAddress": "w"}]},
            "emails[?EmailType=='W1'].EmailAddress",
            "w",
        ),
        ({"@odata.nextLink": "u"}, "['@odata.nextLink']", "u"),
        ({"a": {"b": None}}, "a.b", ""),
        ({"a": 5}, "a.b.c", ""),
        ({"flag": "true", "v": 1}, "[?flag].v", 1),
        ({"n": [{"k": 1, "v": "one"}]}, "n[?k=='1'].v", "one"),
        # alternatives: the first that is not empty (missing, null, blank, [] or {}); else the last one's value
        ({"c": {"shortName": "", "longName": "Engineering"}}, "c.shortName || c.longName", "Engineering"),
        ({"c": {"longName": "Engineering"}}, "c.shortName||c.longName", "Engineering"),
        ({"c": {"shortName": "Eng", "longName": "Engineering"}}, "c.shortName || c.longName", "Eng"),
        ({"c": {"shortName": "  ", "longName": None}}, "c.shortName || c.longName", ""),
        ({"c": {"shortName": "  "}}, "c.shortName || c.missing || c.shortName", "  "),
        ({"a": [], "b": {}, "c": "x"}, "a || b || c", "x"),
        ({"a": False, "b": "x"}, "a || b", False),
        ({"a": 0, "b": "x"}, "a || b", 0),
        ({"k||v": "text", "v": "alt"}, "['k||v'] || v", "text"),
        (
            ADP,
            "workAssignments[?primaryIndicator].jobTitle || workAssignments[-1].homeOrganizationalUnits[-1]"
            ".nameCode.shortName",
            "Eng",
        ),
        # @ is the value itself: a filter on @ also tests a plain value
        ({"d": "0000-00-00"}, "d[?@!='0000-00-00']", ""),
        ({"d": "2024-05-01"}, "d[?@!='0000-00-00']", "2024-05-01"),
        ({"d": None}, "d[?@!='0000-00-00']", ""),
        ({"d": "0000-00-00", "e": "2020-01-02"}, "d[?@!='0000-00-00'] || e", "2020-01-02"),
        ({"tags": ["a", "b"]}, "tags[?@=='b']", "b"),
        ({"n": [{"k": 1}, {"k": 2}]}, "n[?@.k=='2'].k", 2),
        ({"s": "text"}, "s[?k!='1']", ""),  # a path into a plain value finds nothing
        ({"s": "yes"}, "s[?@]", "yes"),
        ({"a": 1}, "@.a", 1),
    ],
)
def test_expressions(record: Any, expression: str, expected: Any) -> None:
    assert evaluate(record, expression) == expected


BAD = ["", "a..b", "a.", "a[", "a[x]", "a]b", "a[?]", "a[?b==]", "a['b]"]
BAD_ALTERNATIVES = ["a ||", "|| a", "a || || b", "a | b", "a|b", "a.@", "a || b.", "a || [?]"]


@pytest.mark.parametrize("bad", BAD + BAD_ALTERNATIVES)
def test_bad_expressions_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        compile_expression(bad)


def test_flatten_gives_every_field() -> None:
    assert flatten(SF, {"email": "emailNav.results[?isPrimary].emailAddress", "x": "nope"}) == {"email": "w@x", "x": ""}


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.sampled_from("abk"), children, max_size=3),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(_json)
def test_flatten_never_raises_on_any_json(record: Any) -> None:
    expressions = {
        "a": "a.b[0].k",
        "b": "a[-1].b",
        "c": "a[?k].b",
        "d": "b[?a.b=='x'].k",
        "e": "k[?a!='1'][-1]",
        "f": "[?a].b",
        "g": "a.b || k[?@=='x'] || b[-1]",
        "h": "a[?@!='1'] || [?@.k].a",
    }
    flat = flatten(record, expressions)
    assert set(flat) == set(expressions)
    assert all(v is not None for v in flat.values())


# ---- auth, stepped as generators -----------------------------------------------------------------------------


def _request() -> httpx.Request:
    return httpx.Request("GET", "https://hr.example/workers")


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_static_auth_flows() -> None:
    flow = BasicAuth("u@co", "p").sync_auth_flow(_request())
    assert next(flow).headers["Authorization"] == _basic("u@co", "p")
    assert next(ApiKeyAsBasicAuth("KEY").sync_auth_flow(_request())).headers["Authorization"] == _basic("KEY", "x")
    assert next(BearerAuth("T").sync_auth_flow(_request())).headers["Authorization"] == "Bearer T"
    request = next(ApiKeyHeaderAuth("K", "X-Key", "Token ").sync_auth_flow(_request()))
    assert request.headers["X-Key"] == "Token K"
    assert "K-secret" not in repr(ApiKeyHeaderAuth("K-secret"))
    assert "pw-secret" not in repr(BasicAuth("u", "pw-secret")) and "T-secret" not in repr(BearerAuth("T-secret"))


def test_build_auth_templated_username() -> None:
    definition = load_registry()["successfactors"]
    legacy = definition.auth.variants["basic"]
    auth = build_auth(legacy, {"username": "api", "companyId": "CO", "password": "pw"}, token_url=None)
    assert next(auth.sync_auth_flow(_request())).headers["Authorization"] == _basic("api@CO", "pw")


def _token_response(request: httpx.Request, token: str, expires: int = 3600, **extra: Any) -> httpx.Response:
    return httpx.Response(200, json={"access_token": token, "expires_in": expires, **extra}, request=request)


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_client_credentials_caches_refreshes_on_expiry_and_on_401() -> None:
    clock = _Clock()
    auth = OAuth2ClientCredentials("https://login.example/token", "id", "sec", clock=clock, skew=60)
    flow = auth.sync_auth_flow(_request())
    token_request = next(flow)
    assert token_request.url.path == "/token" and b"grant_type=client_credentials" in token_request.read()
    assert token_request.headers["Authorization"] == _basic("id", "sec")
    data_request = flow.send(_token_response(token_request, "T1", 600))
    assert data_request.headers["Authorization"] == "Bearer T1"
    with pytest.raises(StopIteration):
        flow.send(httpx.Response(200, request=data_request))
    # cached: no token call
    flow = auth.sync_auth_flow(_request())
    assert next(flow).headers["Authorization"] == "Bearer T1"
    # 401: one refresh, then the request again
    token_request = flow.send(httpx.Response(401, request=_request()))
    assert token_request.url.path == "/token"
    retried = flow.send(_token_response(token_request, "T2"))
    assert retried.headers["Authorization"] == "Bearer T2"
    with pytest.raises(StopIteration):
        flow.send(httpx.Response(401, request=retried))  # a second 401 is the caller's
    # expiry (minus skew) renews before the call
    clock.now += 3600 - 59
    flow = auth.sync_auth_flow(_request())
    assert next(flow).url.path == "/token"
    assert auth.grants == 2  # the third grant is under way


def test_token_endpoint_failure_raises_token_error() -> None:
    auth = OAuth2ClientCredentials("https://login.example/token", "id", "sec", client_auth="body")
    flow = auth.sync_auth_flow(_request())
    token_request = next(flow)
    assert b"client_secret=sec" in token_request.read() and "Authorization" not in token_request.headers
    with pytest.raises(TokenError, match="HTTP 503") as caught:
        flow.send(httpx.Response(503, headers={"Retry-After": "2"}, request=token_request))
    assert caught.value.retry_after == "2"


def test_refresh_token_grant_hands_rotated_token_to_on_rotate() -> None:
    rotated: list[str] = []
    auth = OAuth2RefreshToken("https://wd/ccx/oauth2/t/token", "id", "sec", "RT1", on_rotate=rotated.append)
    flow = auth.sync_auth_flow(_request())
    token_request = next(flow)
    assert b"grant_type=refresh_token" in token_request.read() and b"refresh_token=RT1" in token_request.read()
    flow.send(_token_response(token_request, "AT", refresh_token="RT2"))
    assert rotated == ["RT2"]
    assert "RT2" not in repr(auth) and "RT1" not in repr(auth)
    flow = auth.sync_auth_flow(_request())
    next(flow)
    token_request = flow.send(httpx.Response(401, request=_request()))
    assert b"refresh_token=RT2" in token_request.read()
    flow.send(_token_response(token_request, "AT2", refresh_token="RT2"))  # unchanged: no callback
    assert rotated == ["RT2"]


# ---- paging state machines ------------------------------------------------------------------------------------


def _records(n: int, start: int = 0) -> list[dict[str, int]]:
    return [{"id": i} for i in range(start, start + n)]


def test_offset_paging_with_total() -> None:
    pager = Pager(PagingSpec(style="offset", pageSize=2, totalPath="total"))
    assert pager.first_params() == {"offset": "0", "limit": "2"}
    step = pager.advance(Page({"total": 5}, _records(2)))
    assert step is not None and step.params == {"offset": "2", "limit": "2"}
    step = pager.advance(Page({"total": 5}, _records(2, 2)))
    assert step is not None and step.params == {"offset": "4", "limit": "2"}
    assert pager.advance(Page({"total": 5}, _records(1, 4))) is None


def test_short_page_stops_despite_has_more() -> None:
    pager = Pager(PagingSpec(style="offset", pageSize=3, hasMorePath="hasMore", stopOnShortPage=True))
    assert pager.advance(Page({"hasMore": True}, _records(3))) is not None
    assert pager.advance(Page({"hasMore": True}, _records(2, 3))) is None
    ended = Pager(PagingSpec(style="offset", hasMorePath="hasMore"))
    assert ended.advance(Page({"hasMore": False}, _records(3))) is None


def test_odata_page_and_no_content() -> None:
    pager = Pager(PagingSpec(style="odata", pageSize=2))
    assert pager.first_params() == {"$skip": "0", "$top": "2"}
    step = pager.advance(Page({}, _records(2)))
    assert step is not None and step.params == {"$skip": "2", "$top": "2"}
    assert pager.advance(Page(None, [], no_content=True)) is None
    page = Pager(PagingSpec(style="page", pageSize=2, pageSizeParam="pageSize"))
    assert page.first_params() == {"page": "1", "pageSize": "2"}
    step = page.advance(Page({}, _records(2)))
    assert step is not None and step.params == {"page": "2", "pageSize": "2"}


def test_links_and_tokens_and_loop_guard() -> None:
    pager = Pager(PagingSpec(style="next-link-body", nextLinkPath="d.__next"))
    step = pager.advance(Page({"d": {"__next": "/next?x=1"}}, _records(2)))
    assert step is not None and step.url == "/next?x=1"
    with pytest.raises(PagingError, match="next link repeats"):
        pager.advance(Page({"d": {"__next": "/next?x=1"}}, _records(2, 2)))
    tokens = Pager(PagingSpec(style="page-token", nextTokenPath="next"))
    step = tokens.advance(Page({"next": "A"}, _records(1)))
    assert step is not None and step.params == {"pageToken": "A"}
    with pytest.raises(PagingError, match="token repeats"):
        tokens.advance(Page({"next": "A"}, _records(1, 1)))
    same = Pager(PagingSpec(style="offset"))
    same.advance(Page({}, _records(2)))
    with pytest.raises(PagingError, match="repeats an earlier page"):
        same.advance(Page({}, _records(2)))
    header = Pager(PagingSpec(style="next-link-header"))
    assert header.advance(Page({}, _records(1), link_next=None)) is None


# ---- fetch through MockTransport ----------------------------------------------------------------------------

SECRET = "s3cr3t-api-key-value"


def _custom(**config: Any) -> dict[str, Any]:
    return {"baseUrl": "https://hr.example", "path": "/people", "authType": "apikey-header", "apiKey": SECRET,
            **config}  # fmt: skip


def _pages(handler: Any) -> httpx.MockTransport:
    return httpx.MockTransport(handler)


def test_fetch_retries_with_retry_after_and_reports() -> None:
    answers = [429, 503, 200]
    slept: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["X-API-Key"] == SECRET
        status = answers.pop(0)
        if status != 200:
            return httpx.Response(status, headers={"Retry-After": "7"})
        return httpx.Response(200, json={"items": [{"id": "1"}, {"id": "2"}]})

    definition = load_registry()["custom-rest"]
    stream = fetch_records(definition, _custom(), transport=_pages(handler), sleep=slept.append)
    assert [r["workerId"] for r in stream] == ["1", "2"]
    assert slept == [7.0, 7.0] and stream.report.retries == 2 and stream.report.complete


def test_fetch_gives_up_naming_connector_path_status_without_secrets() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503)

    definition = load_registry()["custom-rest"]
    config = _custom(path=f"/people/{SECRET}", authType="none")
    with pytest.raises(ConnectorError) as caught:
        list(fetch_records(definition, config, transport=_pages(handler), sleep=lambda _: None,
                           policy=RetryPolicy(max_attempts=2)))  # fmt: skip
    message = str(caught.value)
    assert "custom-rest" in message and "HTTP 503" in message and "after 2 tries" in message
    assert SECRET not in message and "***" in message


def test_fetch_401_names_status_and_hides_query() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401)

    definition = load_registry()["custom-rest"]
    with pytest.raises(ConnectorError, match=r"'custom-rest' /people: GET answered HTTP 401") as caught:
        list(fetch_records(definition, _custom(pagingStyle="page-token", nextTokenPath="n"),
                           transport=_pages(handler)))  # fmt: skip
    assert caught.value.status == 401 and "?" not in str(caught.value)


def test_fetch_refuses_plain_http_and_missing_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONNECTORS_ALLOW_LOOPBACK_HTTP", raising=False)
    definition = load_registry()["custom-rest"]
    with pytest.raises(ConnectorError, match="must use https"):
        fetch_records(definition, _custom(baseUrl="http://127.0.0.1:9"))
    with pytest.raises(ConnectorError, match="must use https"):
        fetch_records(definition, _custom(baseUrl="http://hr.example"), allow_loopback_http=True)
    with pytest.raises(ConnectorError, match="config fields missing: tenant"):
        fetch_records(load_registry()["workday"], {"baseUrl": "https://wd", "clientId": "i", "clientSecret": "s",
                                                   "refreshToken": "r"})  # fmt: skip
    with pytest.raises(ConnectorError, match="authMode' must be one of"):
        fetch_records(load_registry()["successfactors"], {"baseUrl": "https://sf", "companyId": "c", "authMode": "x"})


def test_fetch_limit_truncates_explicitly() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params["offset"])
        return httpx.Response(200, json={"items": [{"id": str(i)} for i in range(offset, min(offset + 2, 5))]})

    definition = load_registry()["custom-rest"]
    config = _custom(pagingStyle="offset", pageSize="2")
    stream = fetch_records(definition, config, transport=_pages(handler), limit=3)
    assert [r["workerId"] for r in stream] == ["0", "1", "2"]
    assert stream.report.truncated and stream.report.records == 3
    full = fetch_records(definition, config, transport=_pages(handler))
    assert len(list(full)) == 5 and not full.report.truncated and full.report.pages == 4


def test_fetch_refuses_next_link_to_another_host() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"items": [{"id": "1"}], "next": "https://evil.example/people?key=1"})

    definition = load_registry()["custom-rest"]
    config = _custom(pagingStyle="next-link-body", nextLinkPath="next")
    with pytest.raises(ConnectorError, match=r"another host \(evil\.example\): refused"):
        list(fetch_records(definition, config, transport=_pages(handler)))


def test_records_path_missing_is_an_error_and_test_connection_reports() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"data": []})

    definition = load_registry()["custom-rest"]
    with pytest.raises(ConnectorError, match="records path 'items' not found"):
        list(fetch_records(definition, _custom(), transport=_pages(handler)))
    report = test_connection(definition, _custom(), transport=_pages(handler))
    lines = report.lines
    assert lines[0].startswith("base URL: ok") and lines[1].startswith("auth: ok")
    assert "FAILED" in lines[-1] and SECRET not in "\n".join(lines)
    assert not report.ok


def test_resolved_definition_validation_error_names_field() -> None:
    definition = load_registry()["custom-rest"]
    with pytest.raises(ConnectorError, match=r"paging\.style"):
        fetch_records(definition, _custom(pagingStyle="sideways"))


def test_definition_model_is_strict() -> None:
    with pytest.raises(ValidationError):
        ConnectorDefinition.model_validate(_minimal(unknown=1))
