"""SAP SuccessFactors end to end: the emulator over real HTTP (SAML bearer sign-in, effective dating, managers,
per-entity change times), the connector against it, and a pull through the pipeline into ``preview``.

Expected values are written out by hand from the emulator's documented population (emulators/hrms_data.py,
seed 0) and SAP's rules, never computed by the code under test.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from lxml import etree

from connectors import ConnectorError, load_registry
from connectors import fetch_records as _fetch_records
from connectors.auth_saml import (
    SAML_BEARER_GRANT,
    SamlBearerAuth,
    build_assertion,
    load_private_key,
    saml_bearer_auth,
    sign_assertion,
)
from connectors.changes import fetch_changes as _fetch_changes
from emulators.hrms import USERNAME, HrmsEmulator
from emulators.hrms_successfactors import (
    NO_MANAGER,
    SF_API_KEY,
    SF_API_USER_ID,
    make_signing_pair,
    signing_pair,
)
from provisioning.core.mapping.profiles import load_profile
from provisioning.core.plan.pipeline import Reject, plan_run
from provisioning.core.read.json_source import JsonSource
from tests.support import ROOT

fetch_records = functools.partial(_fetch_records, allow_loopback_http=True)
fetch_changes = functools.partial(_fetch_changes, allow_loopback_http=True)

REGISTRY = load_registry()
DEFINITION = REGISTRY["successfactors"]
PERSON = "/odata/v2/PerPerson"
EXPAND = (
    "personalInfoNav,emailNav,employmentNav/jobInfoNav/emplStatusNav,employmentNav/jobInfoNav/departmentNav,"
    "employmentNav/jobInfoNav/managerUserNav/empInfo"
)
CUSTOM = "urn:ietf:params:scim:schemas:extension:contoso:1.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PREHIRE = "100006"  # position 5: i % 11 == 5 (hrms_data), hired 47 days from today
WHEN = "2031-03-04T05:06:07Z"
BEFORE = "2031-03-04T05:00:00Z"


@pytest.fixture
def hr() -> Iterator[HrmsEmulator]:
    with HrmsEmulator("successfactors", workers=12) as emulator:
        yield emulator


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _assertion(hr: HrmsEmulator, *, key_pem: str | None = None, now: dt.datetime | None = None,
               **overrides: Any) -> str:  # fmt: skip
    """A signed assertion (base64) as the connector builds it, with some part changed."""
    parts: dict[str, Any] = {
        "issuer": SF_API_KEY,
        "name_id": SF_API_USER_ID,
        "name_id_is_username": False,
        "api_key": SF_API_KEY,
        "recipient": f"{hr.base_url}/oauth/token",
        "now": now or _now(),
    }
    parts.update(overrides)
    element = build_assertion(**parts)
    signed = sign_assertion(element, load_private_key(key_pem or signing_pair().private_key_pem), None)
    return base64.b64encode(signed).decode()


def _token_call(hr: HrmsEmulator, assertion: str, **fields: str) -> httpx.Response:
    form = {"grant_type": SAML_BEARER_GRANT, "company_id": "CONTOSOT1", "client_id": SF_API_KEY,
            "assertion": assertion, **fields}  # fmt: skip
    return httpx.post(f"{hr.base_url}/oauth/token", data=form, timeout=10)


def _token(hr: HrmsEmulator) -> dict[str, str]:
    answer = _token_call(hr, _assertion(hr))
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _people(hr: HrmsEmulator, **params: Any) -> list[dict[str, Any]]:
    query = {"$format": "json", "$expand": EXPAND, "customPageSize": 100, **params}
    answer = httpx.get(hr.base_url + PERSON, params=query, headers=_token(hr), timeout=10)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["d"]["results"])


# ---- sign-in -------------------------------------------------------------------------------------------------


def test_basic_authentication_is_refused_as_sap_removed_it(hr: HrmsEmulator) -> None:
    url = hr.base_url + PERSON
    assert httpx.get(url).status_code == 401
    basic = httpx.get(url, auth=(f"{USERNAME}@CONTOSOT1", "Pa55-w0rd!"))
    assert basic.status_code == 401
    error = basic.json()["error"]
    assert error["code"] == "LGN0010" and "2026-11-20" in error["message"]["value"]


def test_token_endpoint_takes_only_the_saml_bearer_grant(hr: HrmsEmulator) -> None:
    client_credentials = {"grant_type": "client_credentials", "client_id": SF_API_KEY, "client_secret": "x"}
    credentials = httpx.post(f"{hr.base_url}/oauth/token", data=client_credentials, timeout=10)
    assert credentials.status_code == 400
    assert credentials.json()["errorHttpCode"] == "400" and "saml2-bearer" in credentials.json()["errorMessage"]
    missing = httpx.post(f"{hr.base_url}/oauth/token", data={"grant_type": SAML_BEARER_GRANT}, timeout=10)
    assert missing.status_code == 400 and "company_id" in missing.json()["errorMessage"]
    granted = _token_call(hr, _assertion(hr))
    assert granted.status_code == 200
    assert granted.json()["token_type"] == "Bearer" and granted.json()["expires_in"] == 3600


def _tampered(hr: HrmsEmulator) -> str:
    """A correctly signed assertion whose NameID is changed afterwards: the digest no longer matches."""
    signed = base64.b64decode(_assertion(hr))
    return base64.b64encode(signed.replace(SF_API_USER_ID.encode(), b"sfadmin")).decode()


def _unsigned(hr: HrmsEmulator) -> str:
    element = build_assertion(issuer=SF_API_KEY, name_id=SF_API_USER_ID, name_id_is_username=False,
                              api_key=SF_API_KEY, recipient=f"{hr.base_url}/oauth/token", now=_now())  # fmt: skip
    for placeholder in element.iter("{http://www.w3.org/2000/09/xmldsig#}Signature"):
        element.remove(placeholder)
    return base64.b64encode(etree.tostring(element)).decode()


BAD_ASSERTIONS = {
    "signed with another key": (lambda hr: _assertion(hr, key_pem=make_signing_pair("x").private_key_pem), 401,
                                "Unable to verify the signature"),
    "changed after signing": (_tampered, 401, "Unable to verify the signature"),
    "not signed": (_unsigned, 401, "Unable to verify the signature"),
    "expired": (lambda hr: _assertion(hr, now=_now() - dt.timedelta(minutes=11)), 401, "expired"),
    "not yet valid": (lambda hr: _assertion(hr, now=_now() + dt.timedelta(minutes=11)), 401, "not yet valid"),
    "another api_key": (lambda hr: _assertion(hr, api_key="someone-else"), 401, "api_key"),
    "another audience": (lambda hr: _assertion(hr, audience="www.example.com"), 401, "audience"),
    "an unknown user": (lambda hr: _assertion(hr, name_id="sfadmin"), 401, "Login failed - invalid user"),
    "a user name without use_username": (lambda hr: _assertion(hr, name_id=USERNAME), 401, "invalid user"),
    "no base64": (lambda hr: "%%%not-base64%%%", 400, "base64"),
}  # fmt: skip


@pytest.mark.parametrize("case", BAD_ASSERTIONS)
def test_a_bad_assertion_gets_sap_error(hr: HrmsEmulator, case: str) -> None:
    make, status, reason = BAD_ASSERTIONS[case]
    answer = _token_call(hr, make(hr))
    assert answer.status_code == status, answer.text
    assert answer.json()["errorHttpCode"] == str(status) and reason in answer.json()["errorMessage"]


def test_client_and_company_must_match(hr: HrmsEmulator) -> None:
    wrong_client = _token_call(hr, _assertion(hr), client_id="another-key")
    assert wrong_client.status_code == 401 and "API key" in wrong_client.json()["errorMessage"]
    wrong_company = _token_call(hr, _assertion(hr), company_id="OTHERCO")
    assert wrong_company.status_code == 401 and "company" in wrong_company.json()["errorMessage"]


def test_a_user_name_works_with_use_username(hr: HrmsEmulator) -> None:
    answer = _token_call(hr, _assertion(hr, name_id=USERNAME, name_id_is_username=True))
    assert answer.status_code == 200, answer.text


ISSUERS = {"the API key": SF_API_KEY, "SAP's tool's": "www.successfactors.com"}
RECIPIENTS = {"the token URL": "{base}/oauth/token", "the OData root": "{base}/odata/v2"}


@pytest.mark.parametrize("strict", ["any", "api_key"])
@pytest.mark.parametrize("issuer", ISSUERS)
def test_issuer_checked_or_not(strict: str, issuer: str) -> None:
    with HrmsEmulator("successfactors", workers=2, quirks={"saml_issuer": strict}) as hr:
        answer = _token_call(hr, _assertion(hr, issuer=ISSUERS[issuer]))
        accepted = strict == "any" or ISSUERS[issuer] == SF_API_KEY
        assert answer.status_code == (200 if accepted else 401), answer.text


@pytest.mark.parametrize("strict", ["any", "token_url"])
@pytest.mark.parametrize("recipient", RECIPIENTS)
def test_recipient_checked_or_not(strict: str, recipient: str) -> None:
    with HrmsEmulator("successfactors", workers=2, quirks={"saml_recipient": strict}) as hr:
        answer = _token_call(hr, _assertion(hr, recipient=RECIPIENTS[recipient].format(base=hr.base_url)))
        accepted = strict == "any" or recipient == "the token URL"
        assert answer.status_code == (200 if accepted else 401), answer.text


@pytest.mark.parametrize("quirks", [{}, {"saml_issuer": "api_key", "saml_recipient": "token_url"}])
def test_the_connector_signs_in_whatever_the_server_checks(quirks: dict[str, str]) -> None:
    with HrmsEmulator("successfactors", workers=4, quirks=quirks) as hr:
        assert [r["workerId"] for r in fetch_records(DEFINITION, hr.config)] == hr.worker_ids


def test_the_same_assertion_gets_the_same_token_unless_new_token(hr: HrmsEmulator) -> None:
    assertion = _assertion(hr)
    first = _token_call(hr, assertion).json()["access_token"]
    assert _token_call(hr, assertion).json()["access_token"] == first
    fresh = _token_call(hr, assertion, new_token="true").json()["access_token"]
    assert fresh != first


def test_a_refused_token_gets_lgn0022(hr: HrmsEmulator) -> None:
    headers = _token(hr)
    hr.expire_tokens()
    answer = httpx.get(hr.base_url + PERSON, headers=headers, timeout=10)
    assert answer.status_code == 401 and "LGN0022" in answer.json()["error"]["message"]["value"]


# ---- paging, managers, effective dating, dates -----------------------------------------------------------------


def test_server_side_paging_follows_next() -> None:
    with HrmsEmulator("successfactors", workers=23) as hr:
        headers = _token(hr)
        url: str | None = hr.base_url + PERSON
        params: dict[str, Any] | None = {"$format": "json", "$expand": EXPAND, "customPageSize": 7}
        ids: list[str] = []
        pages = 0
        with httpx.Client(headers=headers, timeout=10) as client:
            while url:
                d = client.get(url, params=params).json()["d"]
                ids += [r["personIdExternal"] for r in d["results"]]
                url, params, pages = d.get("__next"), None, pages + 1
                assert url is None or ("$skiptoken" in url and url.startswith(hr.base_url))
            assert ids == hr.worker_ids and pages == 4
            assert client.get(hr.base_url + PERSON, params={"customPageSize": 1001}).status_code == 400
            sliced = client.get(hr.base_url + PERSON, params={"$format": "json", "$top": 5, "$skip": 20}).json()["d"]
        assert [r["personIdExternal"] for r in sliced["results"]] == hr.worker_ids[20:]
        assert "__next" not in sliced and "__deferred" in sliced["results"][0]["emailNav"]


def test_manager_ids_are_user_ids_and_the_top_has_no_manager(hr: HrmsEmulator) -> None:
    people = {p["personIdExternal"]: p for p in _people(hr)}

    def job(worker: str) -> dict[str, Any]:
        return dict(people[worker]["employmentNav"]["results"][-1]["jobInfoNav"]["results"][0])

    top = job("100001")
    assert top["managerId"] == NO_MANAGER and top["managerUserNav"] is None
    assert top["userId"] == "ktanaka1" != "100001"  # userIds are not person ids
    report = job("100002")
    assert report["managerId"] == "ktanaka1"  # the manager's userId, not its personIdExternal
    assert report["managerUserNav"]["userId"] == "ktanaka1"
    assert report["managerUserNav"]["empInfo"]["personIdExternal"] == "100001"
    assert job("100012")["managerUserNav"]["empInfo"]["personIdExternal"] == "100011"
    assert job("100012")["managerId"] == "qastrom11"
    not_expanded = _people(hr, **{"$expand": "employmentNav/jobInfoNav"})[1]
    assert "__deferred" in not_expanded["employmentNav"]["results"][0]["jobInfoNav"]["results"][0]["managerUserNav"]


def test_a_prehire_has_no_personal_or_job_record_as_of_today(hr: HrmsEmulator) -> None:
    def prehire(**params: Any) -> dict[str, Any]:
        return next(p for p in _people(hr, **params) if p["personIdExternal"] == PREHIRE)

    today = prehire()
    assert today["personalInfoNav"]["results"] == []
    assert today["employmentNav"]["results"][0]["jobInfoNav"]["results"] == []
    assert today["employmentNav"]["results"][0]["startDate"].startswith("/Date(")  # EmpEmployment is not dated
    # fromDate/toDate filter only the top entity, PerPerson, which is not effective-dated
    ranged = prehire(fromDate="1900-01-01", toDate="9999-12-31")
    assert ranged["personalInfoNav"]["results"] == []
    ahead = prehire(asOfDate="9999-12-31")
    assert [(p["firstName"], p["lastName"]) for p in ahead["personalInfoNav"]["results"]] == [("Jürgen", "Tanaka")]
    assert ahead["employmentNav"]["results"][0]["jobInfoNav"]["results"][0]["emplStatusNav"]["externalCode"] == "A"
    headers = _token(hr)
    both = httpx.get(hr.base_url + PERSON, params={"asOfDate": "9999-12-31", "fromDate": "1900-01-01"},
                     headers=headers, timeout=10)  # fmt: skip
    assert both.status_code == 400
    assert httpx.get(hr.base_url + PERSON, params={"asOfDate": "soon"}, headers=headers, timeout=10).status_code == 400


def test_a_termination_is_a_job_slice_of_its_own(hr: HrmsEmulator) -> None:
    leaver = next(p for p in _people(hr, asOfDate="2016-01-01") if p["personIdExternal"] == "100005")
    employment = leaver["employmentNav"]["results"][0]
    assert employment["endDate"] == "/Date(1501286400000)/"  # 2017-07-29, the last day
    assert employment["jobInfoNav"]["results"][0]["emplStatusNav"]["externalCode"] == "A"  # before it
    after = next(p for p in _people(hr) if p["personIdExternal"] == "100005")
    job = after["employmentNav"]["results"][0]["jobInfoNav"]["results"][0]
    assert job["emplStatusNav"]["externalCode"] == "T" and job["startDate"] == "/Date(1501372800000)/"  # 07-30


def test_dates_and_times_come_in_both_odata_forms(hr: HrmsEmulator) -> None:
    person = _people(hr)[0]
    assert person["lastModifiedDateTime"].endswith("+0000)/")  # Edm.DateTimeOffset
    assert person["employmentNav"]["results"][0]["startDate"] == "/Date(1417046400000)/"  # 2014-11-27, Edm.DateTime


def test_every_status_code_but_discarded_is_served() -> None:
    with HrmsEmulator("successfactors", workers=60) as hr:
        statuses = {
            p["employmentNav"]["results"][-1]["jobInfoNav"]["results"][0]["emplStatusNav"]["externalCode"]
            for p in _people(hr, asOfDate="9999-12-31")
        }
    assert statuses == {"A", "D", "U", "P", "S", "F", "R", "T"}


# ---- deltas ------------------------------------------------------------------------------------------------


def test_a_job_change_moves_only_empjob_time(hr: HrmsEmulator) -> None:
    before = {p["personIdExternal"]: p for p in _people(hr)}
    hr.touch(["100003"], when=WHEN)
    after = {p["personIdExternal"]: p for p in _people(hr)}
    assert after["100003"]["lastModifiedDateTime"] == before["100003"]["lastModifiedDateTime"]
    job = after["100003"]["employmentNav"]["results"][0]["jobInfoNav"]["results"][0]
    assert job["lastModifiedDateTime"] == "/Date(1930367167000+0000)/"  # 2031-03-04T05:06:07Z (date -u -d ... +%s)
    since = "datetimeoffset'2031-03-04T05:00:00Z'"
    assert _people(hr, **{"$filter": f"lastModifiedDateTime gt {since}"}) == []  # what the old connector asked
    found = _people(hr, **{"$filter": f"lastModifiedDateTime gt {since} or "
                                      f"employmentNav/jobInfoNav/lastModifiedDateTime gt {since}"})  # fmt: skip
    assert [p["personIdExternal"] for p in found] == ["100003"]
    headers = _token(hr)
    unknown = httpx.get(hr.base_url + PERSON, params={"$filter": "jobTitle eq 'Counsel'"}, headers=headers, timeout=10)
    assert unknown.status_code == 400


def test_the_delta_pull_sees_a_job_change_the_person_time_misses(hr: HrmsEmulator) -> None:
    hr.touch(["100003", "100008"], when=WHEN)
    records = list(fetch_changes(DEFINITION, hr.config, since=BEFORE))
    assert [(r["workerId"], r["jobTitle"]) for r in records] == [("100003", "Account Executive"),
                                                                 ("100008", "Accountant")]  # fmt: skip
    assert list(fetch_changes(DEFINITION, hr.config, since="2031-03-04T05:06:08Z")) == []


# ---- the connector's sign-in ---------------------------------------------------------------------------------


def _sap_downloaded_key() -> str:
    """The private key as SuccessFactors hands it out with a generated certificate: base64 of
    ``<PKCS#8 in base64>###<certificate in base64>`` (what SAP KBA 3031657's tool reads)."""
    key = serialization.load_pem_private_key(signing_pair().private_key_pem.encode(), password=None)
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())  # fmt: skip
    certificate = "".join(signing_pair().certificate_pem.splitlines()[1:-1])
    return base64.b64encode(base64.b64encode(der) + b"###" + certificate.encode()).decode()


@pytest.mark.parametrize("form", ["pem", "path", "sap"])
def test_the_private_key_in_each_accepted_form(hr: HrmsEmulator, tmp_path: Path, form: str) -> None:
    pem = hr.config["privateKey"]
    if form == "path":
        (tmp_path / "sf.pem").write_text(pem)
        key = str(tmp_path / "sf.pem")
    else:
        key = pem if form == "pem" else _sap_downloaded_key()
    config = {k: v for k, v in hr.config.items() if k != "certificate"} | {"privateKey": key}
    assert len(list(fetch_records(DEFINITION, config))) == 12


def test_only_a_user_name_is_sent_with_use_username(hr: HrmsEmulator) -> None:
    config = {k: v for k, v in hr.config.items() if k != "userId"}
    assert len(list(fetch_records(DEFINITION, config))) == 12


def test_config_problems_are_named_at_once_without_the_key(hr: HrmsEmulator) -> None:
    secret = "-----BEGIN PRIVATE KEY-----\nnot-a-key-but-secret\n-----END PRIVATE KEY-----"
    with pytest.raises(ConnectorError, match="'privateKey' is not an unencrypted RSA private key") as bad:
        fetch_records(DEFINITION, {**hr.config, "privateKey": secret})
    assert "not-a-key-but-secret" not in str(bad.value)
    other = make_signing_pair("someone else").private_key_pem
    with pytest.raises(ConnectorError, match="'certificate' and 'privateKey' are not a pair") as mismatch:
        fetch_records(DEFINITION, {**hr.config, "privateKey": other})
    assert other not in str(mismatch.value)
    with pytest.raises(ConnectorError, match="needs config fields: clientId, privateKey"):
        fetch_records(DEFINITION, {"baseUrl": hr.base_url, "companyId": "CONTOSOT1", "userId": SF_API_USER_ID})


def test_a_refused_assertion_says_why_and_shows_no_secret(hr: HrmsEmulator, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    other = make_signing_pair("someone else").private_key_pem
    config = {k: v for k, v in hr.config.items() if k != "certificate"} | {"privateKey": other}
    with pytest.raises(ConnectorError, match=r"token request to /oauth/token answered HTTP 401: Unable to verify "
                                             "the signature of the SAML assertion") as refused:  # fmt: skip
        list(fetch_records(DEFINITION, config, sleep=lambda _: None))
    assert other not in str(refused.value) and other not in caplog.text


def test_renewal_signs_a_new_assertion_and_asks_for_a_new_token(hr: HrmsEmulator) -> None:
    auth = saml_bearer_auth(DEFINITION.auth.variants["saml"], hr.config, token_url=None,
                            render=lambda template: template)  # fmt: skip
    assert isinstance(auth, SamlBearerAuth) and auth.token_url == f"{hr.base_url}/oauth/token"
    first = dict(parse_qsl(auth._token_request().content.decode()))
    assert first["grant_type"] == SAML_BEARER_GRANT and first["client_id"] == SF_API_KEY
    assert first["company_id"] == "CONTOSOT1" and "new_token" not in first
    auth.grants = 1  # a token was granted: the next request renews it
    renewal = dict(parse_qsl(auth._token_request().content.decode()))
    assert renewal["new_token"] == "true" and renewal["assertion"] != first["assertion"]


def test_a_pull_renews_refused_tokens_and_logs_no_secret(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with HrmsEmulator("successfactors", workers=12, max_page_size=5) as hr:
        config = {**hr.config, "pageSize": "5"}
        records = list(fetch_records(DEFINITION, config, on_page=lambda _: hr.expire_tokens()))
        assert [r["workerId"] for r in records] == hr.worker_ids
        token_calls = [status for method, path, _, status in hr.requests if path == "/oauth/token"]
        assert token_calls == [200, 200, 200]  # one a page: each page's token was revoked after it
    assert hr.config["privateKey"] not in caplog.text and "BEGIN" not in caplog.text
    assert "at-" not in caplog.text and "assertion=" not in caplog.text  # access tokens, assertions


def test_basic_is_a_legacy_mode_that_warns(hr: HrmsEmulator, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    config = {**hr.config, "authMode": "basic", "password": "old-secret-pw"}
    with pytest.raises(ConnectorError, match="HTTP 401"):
        list(fetch_records(DEFINITION, config))
    assert "SAP removed basic authentication for its APIs on 2026-11-20" in caplog.text
    assert "old-secret-pw" not in caplog.text
    with pytest.raises(ConnectorError, match="must be one of: saml, bearer, basic"):
        fetch_records(DEFINITION, {**hr.config, "authMode": "oauth2"})  # client credentials: not SAP's


# ---- the profile -------------------------------------------------------------------------------------------

STATUSES = {"A": True, "U": True, "P": True, "D": False, "S": False, "F": False, "O": False, "R": False, "T": False}


def _mapped(records: list[dict[str, Any]]) -> tuple[dict[str, dict[str, Any]], list[Reject]]:
    rejects: list[Reject] = []
    plan = plan_run(JsonSource(records), load_profile("successfactors"), on_reject=rejects.append)
    try:
        users = {
            operation["data"]["externalId"]: operation["data"]
            for request in plan.requests()
            for operation in orjson.loads(request.body)["Operations"]
        }
    finally:
        plan.close()
    return users, rejects


def test_the_profile_maps_every_status_code_and_both_date_forms() -> None:
    base = {"firstName": "Ada", "lastName": "Byron", "department": "", "jobTitle": "", "managerId": ""}
    records = [
        {**base, "workerId": f"9{n}", "email": f"ada{n}@contoso.com", "status": code,
         "hireDate": "/Date(1514764800000)/", "terminationDate": "/Date(253402214400000)/"}
        for n, code in enumerate([*STATUSES, "X"])
    ]  # fmt: skip
    users, rejects = _mapped(records)
    assert {code: users[f"9{n}"]["active"] for n, code in enumerate(STATUSES)} == STATUSES
    assert [r.external_id for r in rejects] == [f"9{len(STATUSES)}"]  # an unknown code is not guessed
    # The open end of an employment (9999-12-31) is no last day: the status decides.
    assert users["90"][CUSTOM] == {"HireDate": "2018-01-01T00:00:00Z", "TerminationDate": "9999-12-31T00:00:00Z"}


# ---- through the pipeline into preview ---------------------------------------------------------------------


def _day(text: str) -> str:
    return f"{text}T00:00:00Z"


def _expected(today: dt.date) -> dict[str, dict[str, Any]]:
    """The twelve workers as Entra should receive them (seed 0; see emulators/hrms_data.py for the patterns)."""
    prehire_day = (today + dt.timedelta(days=47)).isoformat()
    rows = [
        # id, given, family, email, active, manager, hire, leave
        ("100001", "Kenji", "Tanaka", "kenji.tanaka1", True, None, "2014-11-27", None),
        ("100002", "Kenji", "Yılmaz", "kenji.ylmaz2", True, "100001", "2016-01-07", None),
        ("100003", "Oskar", "Kowalski", "oskar.kowalski3", True, "100001", "2013-07-27", None),  # home email first
        ("100004", "Grace", "Brontë", "grace.bronte4", True, "100001", "2015-04-18", None),  # rehired 2021
        ("100005", "Václav", "Nguyen", "vaclav.nguyen5", False, "100001", "2015-09-15", "2017-07-29"),  # T
        # A pre-hire: status A, sent disabled until the first day (the profile's lifecycle)
        ("100006", "Jürgen", "Tanaka", "jurgen.tanaka6", False, "100001", prehire_day, None),
        ("100007", "Noémie", "Lindqvist", "noemie.lindqvist7", True, "100001", "2014-12-03", None),  # P leave
        ("100008", "Priya", "Müller", "priya.muller8", False, "100001", "2020-01-27", None),  # S suspended
        ("100009", "Tomás", "Müller", "tomas.muller9", False, "100001", "2017-07-15", None),  # F furlough
        ("100010", "Václav", "Novák", "vaclav.novak10", False, "100001", "2021-10-06", None),  # D dormant
        ("100011", "Quentin", "Åström", "quentin.astrom11", True, "100001", "2021-01-04", None),  # a manager
        ("100012", "Priya", "Lindqvist", "priya.lindqvist12", True, "100011", "2007-11-26", None),  # rehired 2012
    ]
    expected = {}
    for worker, given, family, local, active, manager, hire, leave in rows:
        dates = {"HireDate": _day(hire)} | ({"TerminationDate": _day(leave)} if leave else {})
        expected[worker] = {
            "userName": f"{local}@contoso.com",
            "givenName": given,
            "familyName": family,
            "active": active,
            "manager": manager,
            "dates": dates,
        }
    return expected


def test_a_preview_of_twelve_workers_gives_the_expected_users(tmp_path: Path) -> None:
    with HrmsEmulator("successfactors", workers=12) as hr:
        today = hr.now().date()
        config = tmp_path / "successfactors.json"
        config.write_text(json.dumps(hr.config))
        out = tmp_path / "preview"
        env = {**os.environ, "CONNECTORS_ALLOW_LOOPBACK_HTTP": "true", "RUNS_DIR": str(tmp_path / "runs"),
               "STATE_DIR": str(tmp_path / "state")}  # fmt: skip
        preview = subprocess.run(
            [sys.executable, "-m", "provisioning", "preview", "hrms:successfactors", "--connector-config", str(config),
             "--mapping", "successfactors", "--out", str(out)],
            cwd=ROOT, capture_output=True, text=True, timeout=120, env=env,
        )  # fmt: skip
    assert preview.returncode == 0, preview.stdout + preview.stderr
    assert hr.config["privateKey"] not in preview.stdout + preview.stderr
    users = {}
    for bulk in sorted(out.glob("bulk-*.json")):
        for operation in json.loads(bulk.read_text())["Operations"]:
            users[operation["data"]["externalId"]] = operation["data"]
    got = {
        worker: {
            "userName": user["userName"],
            "givenName": user["name"]["givenName"],
            "familyName": user["name"]["familyName"],
            "active": user["active"],
            "manager": user.get(ENTERPRISE, {}).get("manager", {}).get("value"),
            "dates": user[CUSTOM],
        }
        for worker, user in users.items()
    }
    assert got == _expected(today)
    assert json.loads((out / "summary.json").read_text())["rejected"] == 0
