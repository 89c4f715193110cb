"""SAP SuccessFactors: OData v2 PerPerson with effective dating, server-side paging, the SAML bearer token endpoint.

Sources (SAP's documentation and knowledge base articles, and Microsoft's guide to its own SuccessFactors
connector, unless said otherwise):

* Sign-in. Basic authentication for SAP's APIs was removed on 2026-11-20 (/work/shared/docs/hrms-apis.md,
  Corrections): every basic request gets 401 with the LGN0010 message of SAP KBA 3108814 ("Basic
  Authentication is disabled..."). ``/oauth/token`` takes only ``grant_type=urn:ietf:params:oauth:grant-type:
  saml2-bearer`` with ``company_id``, ``client_id`` (the API key) and ``assertion`` (base64 of a signed SAML 2.0
  assertion), as in SAP's "Requesting an OAuth Access Token with a SAML Assertion" and SAP KBA 3462403; a
  client-credentials request is refused (400). Token errors have SAP's ``errorHttpCode``/``errorMessage`` keys
  (SAP KBA 2668018). The assertion is checked as SAP's generator builds it (SAP KBA 3031657's offline tool,
  connectors/auth_saml.py lists its parts): the enveloped signature against the registered certificate (SAP KBA
  3336571: "Unable to verify the signature of the SAML assertion", 401), the ``api_key`` attribute = the
  ``client_id``, the audience ``www.successfactors.com``, ``NotBefore``/``NotOnOrAfter`` and the confirmation's
  ``NotOnOrAfter``, the NameID = the API user's userId, or its user name with ``use_username=true`` (SAP KBA
  2668018: "Unable to authenticate the client (Login failed - invalid user)", 401). The validity window is
  compared with the wall clock, as the signer's clock is one: the emulator's ``clock`` is for token lifetimes
  and the population's today. Whether the Issuer must be the API key and whether the Recipient must be the
  token URL is not documented (published generators send ``www.successfactors.com`` or the API key as Issuer,
  the token URL or ``/odata/v2`` as Recipient, and all work): the quirks ``saml_issuer`` and
  ``saml_recipient`` check either way. Asked again with the same assertion, a still valid token comes back
  unchanged unless ``new_token=true`` (SAP KBA 2872019). A refused bearer token gets 401 with
  "[LGN0022]The access token is either rejected or expired" (same KBA).
* Users and managers. EmpJob's ``managerId`` is the manager's **userId**, and the top of the hierarchy has
  ``NO_MANAGER`` (hrms-apis.md, Corrections); userIds here differ from personIdExternal (as in SAP's demo
  tenants, userIds such as ``rlam1``: SAP KBA 2638422) so that the two cannot be confused. The manager's
  personIdExternal is reached through EmpJob's ``managerUserNav`` (the manager's User) and the User's
  ``empInfo`` (its EmpEmployment): Microsoft Learn, "How Microsoft Entra provisioning integrates with SAP
  SuccessFactors", which expands ``employmentNav/jobInfoNav/managerUserNav`` and
  ``employmentNav/userNav/manager/empInfo``. With ``NO_MANAGER``, ``managerUserNav`` is null.
* Status codes (``emplStatusNav.externalCode``): A, D (dormant), U (unpaid leave), P (paid leave), S (suspended),
  F (furlough), O (discarded), R (retired), T (terminated), as Microsoft's guide lists them from SAP note
  2505526. This population has A, D, U, P, S, F, R and T (``sf_status``).
* Effective dating (SAP KBA 2853045): PerPersonal and EmpJob are effective-dated, PerPerson and EmpEmployment
  are not. A navigation below a non-effective-dated entity is read as of TODAY, so a pre-hire's personal and
  job information, which start on the hire date, is empty in a plain PerPerson query; ``asOfDate`` applies to
  every level; ``fromDate``/``toDate`` filter only the top entity (PerPerson: no effect); asking both is an
  error. OData returns the slice effective on that date, one per employment (SAP KBA 2148752, 2638422). A
  termination adds an EmpJob slice from the day after the last day, with T (or R); EmpEmployment.endDate
  is the last day.
* Dates: Edm.DateTime as ``/Date(ms)/`` (midnight UTC for a date), Edm.DateTimeOffset (``lastModifiedDateTime``)
  as ``/Date(ms+0000)/``; open-ended slices end on 9999-12-31 (``/Date(253402214400000)/``).
* Deltas. Each entity has its own ``lastModifiedDateTime``; a job change moves EmpJob's only (hrms-apis.md,
  Corrections). ``$filter`` takes ``<navigation>/lastModifiedDateTime gt|ge datetime'...'|datetimeoffset'...'``
  conditions joined by ``or``, as Microsoft's incremental query writes them; on an effective-dated entity
  a condition holds when any slice matches (SAP KBA 2920680).
* Paging: ``customPageSize`` and ``d.__next`` with a ``$skiptoken`` (hrms-apis.md); ``$top``/``$skip`` slice.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import re
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import orjson
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml import SignatureConfiguration, XMLVerifier
from signxml.exceptions import InvalidInput, InvalidSignature

from emulators.entra_server import Request, Response
from emulators.hrms_data import Employment, Person, ascii_fold, odata_date
from emulators.hrms_http import (
    HrmsError,
    basic_credentials,
    chosen_quirk,
    form,
    int_param,
    json_response,
    not_found,
    require_method,
)
from emulators.hrms_shapes import Record, manager_of, odata_datetime, ordered_emails

if TYPE_CHECKING:
    from emulators.hrms import HrmsEmulator

SF_DEFAULT_PAGE = 50
SF_API_KEY = "NjFmNzAzYTItZW50cmEtaHItc3luYw"
"""The API key SuccessFactors shows for the registered OAuth2 client application (its client_id)."""
SF_API_USER_ID = "sfapi_hrsync"
"""The API user's userId: what the assertion's NameID must name."""
SAML_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:saml2-bearer"
SF_AUDIENCE = "www.successfactors.com"
NO_MANAGER = "NO_MANAGER"
END_OF_TIME = dt.date(9999, 12, 31)
LEAVE_STATUS_AFTER = dt.timedelta(days=100)
"""A status other than A (leave, suspension...) starts this long after the employment: a slice of its own."""
SAML_NS = {"saml2": "urn:oasis:names:tc:SAML:2.0:assertion"}
NAVIGATIONS_NOT_NAMED_NAV = frozenset({"empInfo"})
"""Navigation properties whose names do not end in Nav (User.empInfo)."""
QUIRKS: dict[str, tuple[Any, ...]] = {
    # name: (default, other values)
    "saml_issuer": ("any", "api_key"),  # any Issuer, or only the API key
    "saml_recipient": ("any", "token_url"),  # any Recipient, or only {baseUrl}/oauth/token
}
DELTA_ENTITIES = ("", "personalInfoNav", "emailNav", "phoneNav", "employmentNav", "employmentNav/jobInfoNav",
                  "employmentNav/userNav")  # fmt: skip


def quirk(emu: HrmsEmulator, name: str) -> Any:
    return chosen_quirk("successfactors", QUIRKS, emu.quirks, name)


# ---- the registered client's key pair ----------------------------------------------------------------------


@dataclass(frozen=True)
class SigningPair:
    private_key_pem: str
    certificate_pem: str


@functools.cache
def signing_pair() -> SigningPair:
    """The key pair of the emulated OAuth2 client application: SuccessFactors keeps the certificate, the
    connector configuration gets the private key. Made once per process (RSA key generation is slow)."""
    return make_signing_pair("Contoso HR sync")


def make_signing_pair(common_name: str) -> SigningPair:
    """A 2048-bit RSA key and a self-signed certificate for it (tests make a second one: the wrong key)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())  # fmt: skip
    return SigningPair(key_pem.decode(), certificate.public_bytes(serialization.Encoding.PEM).decode())


# ---- the population as SuccessFactors holds it ---------------------------------------------------------------


def sf_status(person: Person) -> str:
    """The emplStatus of the current employment: every code a connector must map shows up somewhere."""
    if person.status == "terminated":
        return "R" if person.index % 2 else "T"
    if person.status == "leave":
        return "P" if person.index % 2 == 0 else "U"
    if person.status == "prehire":
        return "A"  # pre-hires are active in SuccessFactors (hrms-apis.md, Corrections)
    return {7: "S", 8: "F", 9: "D"}.get(person.index % 12, "A")


def user_id(person: Person, employment: int | None = None) -> str:
    """The userId of an employment (the current one by default): initial, last name, position, like ``rlam1``."""
    base = f"{ascii_fold(person.first)[:1]}{ascii_fold(person.last)}{person.index + 1}"
    last = len(person.employments) - 1
    position = last if employment is None else employment
    return base if position == last else f"{base}-{position + 1}"


@dataclass(frozen=True)
class JobSlice:
    start: dt.date
    end: dt.date
    status: str


def job_slices(person: Person, position: int) -> list[JobSlice]:
    """The EmpJob time slices of one employment, oldest first."""
    employment = person.employments[position]
    if employment.end is not None:
        leaver = sf_status(person) if employment.current else "T"
        return [JobSlice(employment.start, employment.end, "A"),
                JobSlice(employment.end + dt.timedelta(days=1), END_OF_TIME, leaver)]  # fmt: skip
    status = sf_status(person) if employment.current else "A"
    if status != "A":
        change = employment.start + LEAVE_STATUS_AFTER
        return [JobSlice(employment.start, change - dt.timedelta(days=1), "A"), JobSlice(change, END_OF_TIME, status)]
    return [JobSlice(employment.start, END_OF_TIME, "A")]


def effective(start: dt.date, end: dt.date, as_of: dt.date) -> bool:
    return start <= as_of <= end


def entity_times(emu: HrmsEmulator, person: Person) -> dict[str, dt.datetime]:
    """Each entity's lastModifiedDateTime: the worker's own time, EmpJob's moved by ``touch``."""
    base = emu.changed_before_touch.get(person.worker_id, person.last_changed)
    times = dict.fromkeys(DELTA_ENTITIES, base)
    times["employmentNav/jobInfoNav"] = emu.job_changed.get(person.worker_id, base)
    return times


class _Builder:
    """PerPerson records of one request, as of one date, every navigation expanded (``sf_prune`` defers)."""

    def __init__(self, people: Sequence[Person], base_url: str, as_of: dt.date, times: dict[str, dict[str, Any]]):
        self.people = people
        self.root = f"{base_url}/odata/v2"
        self.as_of = as_of
        self.times = times

    def meta(self, entity: str, key: str) -> Record:
        return {"uri": f"{self.root}/{entity}({key})", "type": f"SFOData.{entity}"}

    def person(self, person: Person) -> Record:
        pid = person.worker_id
        times = self.times[pid]
        changed = odata_datetime(times[""])
        email_time = odata_datetime(times["emailNav"])
        work = {"personIdExternal": pid, "emailType": "8448", "emailAddress": person.work_email, "isPrimary": True,
                "lastModifiedDateTime": email_time}  # fmt: skip
        home = {"personIdExternal": pid, "emailType": "8449", "emailAddress": person.home_email, "isPrimary": False,
                "lastModifiedDateTime": email_time}  # fmt: skip
        personal = []
        start_key = f"datetime'{person.hire_date}T00:00:00'"
        if effective(person.hire_date, END_OF_TIME, self.as_of):
            personal.append(
                {
                    "__metadata": self.meta("PerPersonal", f"personIdExternal='{pid}',startDate={start_key}"),
                    "personIdExternal": pid,
                    "startDate": odata_date(person.hire_date),
                    "endDate": odata_date(END_OF_TIME),
                    "firstName": person.first,
                    "lastName": person.last,
                    "lastModifiedDateTime": odata_datetime(times["personalInfoNav"]),
                }
            )
        phone_time = odata_datetime(times["phoneNav"])

        def phone(kind: str, number: str, primary: bool) -> Record:
            return {"personIdExternal": pid, "phoneType": kind, "phoneNumber": number, "isPrimary": primary,
                    "lastModifiedDateTime": phone_time}  # fmt: skip

        return {
            "__metadata": self.meta("PerPerson", f"'{pid}'"),
            "personIdExternal": pid,
            "personId": person.internal_id,
            "dateOfBirth": odata_date(person.birth_date),
            "lastModifiedDateTime": changed,
            "personalInfoNav": {"results": personal},
            "emailNav": {"results": ordered_emails(person, work, home)},
            "phoneNav": {
                "results": [phone("10605", person.work_phone, True), phone("10606", person.mobile_phone, False)]
            },
            "employmentNav": {"results": [self.employment(person, n) for n in range(len(person.employments))]},
        }

    def employment(self, person: Person, position: int, *, with_navigations: bool = True) -> Record:
        emp = person.employments[position]
        uid = user_id(person, position)
        record: Record = {
            "__metadata": self.meta("EmpEmployment", f"personIdExternal='{person.worker_id}',userId='{uid}'"),
            "personIdExternal": person.worker_id,
            "userId": uid,
            "startDate": odata_date(emp.start),
            "endDate": odata_date(emp.end),
            "isPrimary": emp.current,
            "lastModifiedDateTime": odata_datetime(self.times[person.worker_id]["employmentNav"]),
        }
        if with_navigations:
            record["jobInfoNav"] = {"results": self.jobs(person, position)}
            record["userNav"] = self.user(person, position)
        return record

    def jobs(self, person: Person, position: int) -> list[Record]:
        """The EmpJob slice effective on the as-of date (none before the employment starts)."""
        emp = person.employments[position]
        uid = user_id(person, position)
        slices = job_slices(person, position)
        times = self.times[person.worker_id]
        found = []
        for number, piece in enumerate(slices):
            if not effective(piece.start, piece.end, self.as_of):
                continue
            latest = emp.current and number == len(slices) - 1
            # ``touch`` moves the time of the record it changed: the current employment's latest slice.
            moved = times["employmentNav/jobInfoNav"] if latest else times[""]
            found.append(self.job(person, emp, uid, piece, moved))
        return found

    def job(self, person: Person, emp: Employment, uid: str, piece: JobSlice, changed: dt.datetime) -> Record:
        manager = manager_of(person, self.people) if emp.manager_index is not None else None
        return {
            "__metadata": self.meta(
                "EmpJob", f"seqNumber=1L,startDate=datetime'{piece.start}T00:00:00',userId='{uid}'"
            ),
            "userId": uid,
            "seqNumber": "1",
            "startDate": odata_date(piece.start),
            "endDate": odata_date(piece.end),
            "managerId": NO_MANAGER if manager is None else user_id(manager),
            "jobTitle": emp.job[1],
            "jobCode": emp.job[0],
            "department": emp.department[0],
            "departmentNav": {
                "__metadata": self.meta("FODepartment", f"externalCode='{emp.department[0]}'"),
                "externalCode": emp.department[0],
                "name": emp.department[1],
            },
            "emplStatus": piece.status,
            "emplStatusNav": {"__metadata": self.meta("PicklistOption", piece.status), "externalCode": piece.status},
            "managerUserNav": None if manager is None else self.user(manager),
            "lastModifiedDateTime": odata_datetime(changed),
        }

    def user(self, person: Person, position: int | None = None) -> Record:
        """The User of an employment (the current one by default), with ``empInfo``: that employment."""
        at = len(person.employments) - 1 if position is None else position
        uid = user_id(person, at)
        ended = person.employments[at].end
        return {
            "__metadata": self.meta("User", f"'{uid}'"),
            "userId": uid,
            "username": person.work_email.split("@")[0],
            "firstName": person.first,
            "lastName": person.last,
            "email": person.work_email,
            "status": "inactive" if ended is not None and ended < self.as_of else "active",
            "lastModifiedDateTime": odata_datetime(self.times[person.worker_id]["employmentNav/userNav"]),
            "empInfo": self.employment(person, at, with_navigations=False),
        }


def _is_navigation(key: str) -> bool:
    return key.endswith("Nav") or key in NAVIGATIONS_NOT_NAMED_NAV


def sf_prune(record: Record, expanded: set[str], prefix: str = "") -> Record:
    """Replace every navigation not named in ``$expand`` (paths like employmentNav/jobInfoNav) by __deferred."""
    out: Record = {}
    uri = record.get("__metadata", {}).get("uri", "")
    for key, value in record.items():
        if not _is_navigation(key):
            out[key] = value
            continue
        path = f"{prefix}{key}"
        if path not in expanded:
            out[key] = {"__deferred": {"uri": f"{uri}/{key}"}}
        elif value is None:
            out[key] = None  # an expanded navigation to nothing: NO_MANAGER's managerUserNav
        elif isinstance(value, dict) and "results" in value:
            out[key] = {"results": [sf_prune(item, expanded, f"{path}/") for item in value["results"]]}
        else:
            out[key] = sf_prune(value, expanded, f"{path}/")
    return out


def _times(emu: HrmsEmulator) -> dict[str, dict[str, Any]]:
    return {p.worker_id: entity_times(emu, p) for p in emu.people}


def records(emu: HrmsEmulator) -> list[Record]:
    """What a PerPerson query expanding everything, without a date option, returns: as of today."""
    builder = _Builder(emu.people, emu.base_url, emu.now().date(), _times(emu))
    return [builder.person(p) for p in emu.people]


# ---- HTTP --------------------------------------------------------------------------------------------------


def _odata_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> HrmsError:
    return HrmsError(status, {"error": {"code": code, "message": {"lang": "en-US", "value": message}}}, headers)


def _bad_request(message: str) -> HrmsError:
    return _odata_error(400, "COE_BAD_REQUEST", message)


def _token_error(status: int, message: str) -> HrmsError:
    """SuccessFactors' token endpoint error shape (SAP KBA 2668018)."""
    return HrmsError(status, {"errorHttpCode": str(status), "errorMessage": message})


def _encode_skiptoken(start: int) -> str:
    return base64.urlsafe_b64encode(orjson.dumps({"startRow": start})).decode().rstrip("=")


def _decode_skiptoken(token: str) -> int:
    try:
        start = orjson.loads(base64.urlsafe_b64decode(token.strip("'") + "=" * (-len(token.strip("'")) % 4)))
        return int(start["startRow"])
    except (binascii.Error, ValueError, KeyError, TypeError, orjson.JSONDecodeError):
        raise _bad_request("bad $skiptoken") from None


def route(emu: HrmsEmulator, request: Request) -> Response:
    path = request.path.rstrip("/")
    if path == "/oauth/token":
        return _token(emu, request)
    if path != "/odata/v2/PerPerson":
        raise not_found(request.path)
    require_method(request, "GET")
    emu.take_fault()
    if basic_credentials(request) is not None:
        raise _odata_error(
            401,
            "LGN0010",
            f"[LGN0010]Basic Authentication is disabled for company {_company()}: SAP removed basic "
            "authentication for its APIs on 2026-11-20. Use OAuth 2.0 with a SAML assertion.",
            {"WWW-Authenticate": 'Bearer realm="SuccessFactors"'},
        )
    if not emu.bearer_ok(request):
        raise _odata_error(401, "LGN0022", "[LGN0022]The access token is either rejected or expired",
                           {"WWW-Authenticate": 'Bearer realm="SuccessFactors"'})  # fmt: skip
    query = request.query
    as_of = _as_of(emu, query)
    times = _times(emu)
    people = _sf_filtered(emu.people, times, query.get("$filter", ""))
    expanded: set[str] = set()
    for item in query.get("$expand", "").split(","):
        parts = [p.strip() for p in item.split("/") if p.strip()]
        expanded.update("/".join(parts[: n + 1]) for n in range(len(parts)))
    total = len(people)
    if "$top" in query or "$skip" in query:  # client-side paging: the slice asked for, no __next
        top = int_param(query, "$top", emu.max_page_size, minimum=0, maximum=emu.max_page_size)
        start = int_param(query, "$skip", 0)
        end, next_url = start + top, None
    else:
        size = int_param(query, "customPageSize", min(SF_DEFAULT_PAGE, emu.max_page_size), minimum=1)
        if size > emu.max_page_size:
            raise _bad_request("customPageSize too big")
        start = _decode_skiptoken(query["$skiptoken"]) if "$skiptoken" in query else 0
        end = start + size
        kept = {k: v for k, v in query.items() if k != "$skiptoken"}
        next_query = urlencode({**kept, "$skiptoken": _encode_skiptoken(end)}, safe="$,/")
        next_url = f"{emu.base_url}{path}?{next_query}"
    builder = _Builder(emu.people, emu.base_url, as_of, times)
    page: dict[str, Any] = {"results": [sf_prune(builder.person(p), expanded) for p in people[start:end]]}
    if query.get("$inlinecount") == "allpages":
        page["__count"] = str(total)
    if next_url is not None and end < total:
        page["__next"] = next_url
    return json_response(200, {"d": page})


def _company() -> str:
    from emulators.hrms import SF_COMPANY  # here: emulators.hrms imports this module

    return SF_COMPANY


def _as_of(emu: HrmsEmulator, query: dict[str, str]) -> dt.date:
    """The date effective-dated navigations are read at: ``asOfDate``, else today (SAP KBA 2853045).

    ``fromDate``/``toDate`` filter the top entity only, and PerPerson is not effective-dated: accepted, no effect.
    """
    dates = {}
    for name in ("asOfDate", "fromDate", "toDate"):
        if query.get(name):
            try:
                dates[name] = dt.date.fromisoformat(query[name])
            except ValueError:
                raise _bad_request(f"{name} must be a date (yyyy-MM-dd), got {query[name]!r}") from None
    if "asOfDate" in dates and ("fromDate" in dates or "toDate" in dates):
        raise _bad_request("asOfDate cannot be used with fromDate or toDate")
    return dates.get("asOfDate", emu.now().date())


_SF_CONDITION = re.compile(
    r"^\s*(?:(?P<path>[A-Za-z]+(?:/[A-Za-z]+)*)/)?lastModifiedDateTime\s+(?P<op>gt|ge)\s+"
    r"(?:datetime|datetimeoffset)'(?P<moment>[0-9T:.+\-Z]+)'\s*$",
    re.IGNORECASE,
)


def _sf_filtered(people: Sequence[Person], times: dict[str, dict[str, Any]], expression: str) -> list[Person]:
    """The workers a ``$filter`` keeps: none, or ``[<navigation>/]lastModifiedDateTime gt|ge <literal>``
    conditions joined by ``or`` (in parentheses or not). ``datetime'...'`` literals without offset are UTC;
    anything else answers 400."""
    text = expression.strip()
    if not text:
        return list(people)
    while text.startswith("(") and text.endswith(")") and _balanced(text[1:-1]):
        text = text[1:-1].strip()
    conditions = []
    for part in re.split(r"\s+or\s+", text, flags=re.IGNORECASE):
        part = part.strip()
        while part.startswith("(") and part.endswith(")"):
            part = part[1:-1].strip()
        match = _SF_CONDITION.match(part)
        if match is None or (match.group("path") or "") not in DELTA_ENTITIES:
            raise _bad_request(
                "this emulator filters on [<navigation>/]lastModifiedDateTime gt|ge datetimeoffset'...' conditions "
                f"joined by or, for {', '.join(e or 'PerPerson' for e in DELTA_ENTITIES)}; got {part!r}"
            )
        try:
            moment = dt.datetime.fromisoformat(match.group("moment").replace("Z", "+00:00"))
        except ValueError:
            raise _bad_request(f"bad datetime literal {match.group('moment')!r}") from None
        moment = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
        conditions.append((match.group("path") or "", match.group("op").lower(), moment))

    def kept(person: Person) -> bool:
        own = times[person.worker_id]
        return any(own[path] > moment or (op == "ge" and own[path] == moment) for path, op, moment in conditions)

    return [person for person in people if kept(person)]


def _balanced(text: str) -> bool:
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


# ---- /oauth/token ------------------------------------------------------------------------------------------

_ISSUED: weakref.WeakKeyDictionary[Any, dict[str, tuple[str, dt.datetime]]] = weakref.WeakKeyDictionary()
"""Per emulator: assertion ID -> (the token issued for it, when): the same assertion gets the same token."""
_ISSUED_LOCK = threading.Lock()


def _token(emu: HrmsEmulator, request: Request) -> Response:
    require_method(request, "POST")
    fields = form(request)
    grant = fields.get("grant_type", "")
    if grant != SAML_BEARER_GRANT:
        raise _token_error(400, f"Unsupported grant type {grant!r}: this endpoint takes {SAML_BEARER_GRANT}")
    missing = [name for name in ("company_id", "client_id", "assertion") if not fields.get(name)]
    if missing:
        raise _token_error(400, f"Missing parameters: {', '.join(missing)}")
    if fields["company_id"] != _company():
        raise _token_error(401, "Unable to authenticate the client (invalid company ID)")
    if fields["client_id"] != SF_API_KEY:
        raise _token_error(401, "Unable to authenticate the client (no OAuth client application has this API key)")
    assertion = _verified_assertion(fields["assertion"])
    _check_assertion(emu, assertion, fields["client_id"])
    assertion_id = assertion.get("ID") or ""
    now = emu.now()
    with _ISSUED_LOCK:
        issued = _ISSUED.setdefault(emu, {})
        previous = issued.get(assertion_id)
    if previous is not None and fields.get("new_token", "").lower() != "true" and _still_valid(emu, previous[0]):
        token, when = previous
        remaining = emu.token_lifetime - (now - when).total_seconds()
        return json_response(200, {"access_token": token, "token_type": "Bearer", "expires_in": int(remaining)})
    answer = emu.issue_token()
    with _ISSUED_LOCK:
        _ISSUED.setdefault(emu, {})[assertion_id] = (answer["access_token"], now)
    return json_response(200, answer)


def _still_valid(emu: HrmsEmulator, token: str) -> bool:
    probe = Request("GET", "/odata/v2/PerPerson", {}, {"authorization": f"Bearer {token}"}, b"")
    return emu.bearer_ok(probe)


def _verified_assertion(encoded: str) -> etree._Element:
    """The signed Assertion element, once its signature checks out against the registered certificate."""
    text = encoded.strip()
    try:
        if "-" in text or "_" in text:  # RFC 7522 says base64url; SAP's own tool sends standard base64
            xml = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        else:
            xml = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise _token_error(400, "The assertion is not base64") from None
    config = SignatureConfiguration(location="./")  # the signature must be the Assertion's own child
    try:
        result = XMLVerifier().verify(xml, x509_cert=signing_pair().certificate_pem, id_attribute="ID",
                                      expect_config=config)  # fmt: skip
    except (InvalidSignature, InvalidInput, etree.XMLSyntaxError, ValueError):
        raise _token_error(
            401,
            "Unable to verify the signature of the SAML assertion. Please ensure that the assertion has a "
            "signature and the key pairs match the client ID",
        ) from None
    results = result if isinstance(result, list) else [result]
    signed = results[0].signed_xml
    if signed is None or signed.tag != f"{{{SAML_NS['saml2']}}}Assertion":
        raise _token_error(401, "The signed element is not a SAML 2.0 Assertion")
    return signed


def _one(assertion: etree._Element, path: str) -> etree._Element | None:
    found = assertion.find(path, SAML_NS)
    return found


def _instant(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _check_assertion(emu: HrmsEmulator, assertion: etree._Element, client_id: str) -> None:
    """What SuccessFactors checks in a verified assertion; 401 with the reason otherwise."""
    attributes = {
        item.get("Name"): (item.findtext("saml2:AttributeValue", default="", namespaces=SAML_NS) or "").strip()
        for item in assertion.iterfind("saml2:AttributeStatement/saml2:Attribute", SAML_NS)
    }
    if attributes.get("api_key") != client_id:
        raise _token_error(401, "Unable to authenticate the client (the assertion's api_key is not the client ID)")
    issuer = (assertion.findtext("saml2:Issuer", default="", namespaces=SAML_NS) or "").strip()
    if not issuer or (quirk(emu, "saml_issuer") == "api_key" and issuer != client_id):
        raise _token_error(401, "Unable to authenticate the client (the assertion's Issuer is not accepted)")
    audiences = {
        (item.text or "").strip()
        for item in assertion.iterfind("saml2:Conditions/saml2:AudienceRestriction/saml2:Audience", SAML_NS)
    }
    if SF_AUDIENCE not in audiences:
        raise _token_error(401, f"Unable to authenticate the client (the assertion's audience is not {SF_AUDIENCE})")
    confirmation = _one(assertion, "saml2:Subject/saml2:SubjectConfirmation/saml2:SubjectConfirmationData")
    recipient = "" if confirmation is None else (confirmation.get("Recipient") or "")
    if quirk(emu, "saml_recipient") == "token_url" and recipient != f"{emu.base_url}/oauth/token":
        raise _token_error(401, "Unable to authenticate the client (the assertion's Recipient is not the token URL)")
    now = dt.datetime.now(dt.UTC)  # the wall clock: the signer's clock is one (see the module's docstring)
    conditions = _one(assertion, "saml2:Conditions")
    not_before = _instant(None if conditions is None else conditions.get("NotBefore"))
    ends = [
        _instant(None if conditions is None else conditions.get("NotOnOrAfter")),
        _instant(None if confirmation is None else confirmation.get("NotOnOrAfter")),
    ]
    if (not_before is not None and now < not_before) or any(end is None or now >= end for end in ends):
        raise _token_error(401, "Unable to authenticate the client (the SAML assertion is expired or not yet valid)")
    name_id = (assertion.findtext("saml2:Subject/saml2:NameID", default="", namespaces=SAML_NS) or "").strip()
    from emulators.hrms import USERNAME

    expected = USERNAME if attributes.get("use_username", "").lower() == "true" else SF_API_USER_ID
    if name_id != expected:
        raise _token_error(401, "Unable to authenticate the client (Login failed - invalid user)")


def config(emu: HrmsEmulator) -> dict[str, str]:
    """A working connector configuration for this emulator (besides ``baseUrl``): the SAML bearer sign-in."""
    from emulators.hrms import USERNAME

    pair = signing_pair()
    return {
        "companyId": _company(),
        "clientId": SF_API_KEY,
        "userId": SF_API_USER_ID,
        "username": USERNAME,
        "privateKey": pair.private_key_pem,
        "certificate": pair.certificate_pem,
    }
