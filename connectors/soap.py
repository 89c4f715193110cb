"""SOAP 1.1 for connectors: the envelope of a request, the answer as nested objects, faults.

A definition whose ``request.soap`` is set (``SoapSpec``) is pulled by the same machinery as a JSON one
(``fetch.Pull``: retries, auth, network guard, paging, flattening); ``SoapWire`` is the part that differs:

* **The request** is ``<env:Envelope>`` with an optional WS-Security header and, in the body, the operation's
  element in the service namespace, built from ``SoapSpec.body`` with the pager's parameters appended to
  ``pagingElement`` (Workday: ``Response_Filter`` ends with ``Page`` and ``Count`` in its schema sequence).
  Auth type ``wss-username-token`` puts a ``wsse:UsernameToken`` with a ``PasswordText`` password in the
  header, as Workday Web Services expect (OASIS WSS UsernameToken Profile 1.0; Workday's user name is
  ``user@tenant``). With an OAuth bearer the header carries no credentials: the token goes in
  ``Authorization``, as for any other call.
* **The answer** is parsed with the standard library's expat, refusing any document type declaration
  (SOAP 1.1 section 3: a SOAP message must not contain one), so no entity can be defined, let alone
  expanded or fetched. Each element becomes a string (text only) or an object: ``@name`` for attributes,
  ``#text`` for text beside attributes or children, one key per child; a child seen twice becomes a list,
  and so does one named in ``repeated``. ``keyedBy`` reads repeated elements as one object keyed by an
  attribute (Workday's ``ID`` by ``type``). Namespace prefixes are dropped.
* **Faults**: Workday answers refused credentials with HTTP 500 and the fault
  ``SOAP-ENV:Client.authenticationError`` / "invalid username or password" (seen in NetIQ's Workday driver
  documentation and ServiceNow KB2597914). ``FaultTransport`` turns that answer into a 401, so the retry
  policy does not repeat a refusal five times and the OAuth flow renews its token once, as for any 401.
  Other ``Client`` faults become 400 (the request is wrong: retrying cannot help); ``Server`` faults stay
  500 and are retried. ``fault_text`` gives the fault's string for the error message.

Workday specifics (the derived worker status, the look-up of future-dated hires as of their hire date) are
switched on by the spec and live in ``connectors/workday.py``.
"""

from __future__ import annotations

import datetime as dt
import string
from collections.abc import Callable, Mapping
from typing import Any
from xml.parsers import expat
from xml.sax.saxutils import escape, quoteattr

import httpx

from . import workday
from .context import PullContext
from .definition import AuthSpec, SoapSpec
from .extract import compile_expression
from .paging import Page

ENVELOPE_NS = "http://schemas.xmlsoap.org/soap/envelope/"
WSSE_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
PASSWORD_TEXT = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText"
CONTENT_TYPE = "text/xml; charset=utf-8"
LOOKUP_WID = "\x00wid"
"""Internal paging parameters: read one worker (by WID) as of a date instead of a page."""
LOOKUP_AS_OF = "\x00asOf"


class SoapError(ValueError):
    """The answer is not a SOAP envelope we can read (the wire names connector and path)."""


# ---- the answer as nested objects -------------------------------------------------------------------------


class _Builder:
    """expat callbacks building nested objects; refuses DTDs and entity declarations."""

    def __init__(self, repeated: frozenset[str], keyed: Mapping[str, str]) -> None:
        self._repeated = repeated
        self._keyed = keyed
        self._stack: list[tuple[str, dict[str, Any], list[str]]] = []
        self.root: tuple[str, Any] | None = None

    def start(self, name: str, attributes: dict[str, str]) -> None:
        node: dict[str, Any] = {f"@{_local(key)}": value for key, value in attributes.items()}
        self._stack.append((_local(name), node, []))

    def text(self, data: str) -> None:
        if self._stack:
            self._stack[-1][2].append(data)

    def end(self, _name: str) -> None:
        name, node, texts = self._stack.pop()
        text = "".join(texts)
        value: Any
        if len(node) == 0:
            value = text.strip()
        else:
            if text.strip():
                node["#text"] = text.strip()
            value = node
        if not self._stack:
            self.root = (name, value)
            return
        parent_name, parent, _ = self._stack[-1]
        key_attribute = self._keyed.get(name)
        if key_attribute is not None and isinstance(value, dict) and f"@{key_attribute}" in value:
            keyed = parent.setdefault(name, {})
            if isinstance(keyed, dict):
                keyed.setdefault(value[f"@{key_attribute}"], value.get("#text", ""))
                return
        existing = parent.get(name)
        if existing is None:
            forced = name in self._repeated or f"{parent_name}/{name}" in self._repeated
            parent[name] = [value] if forced else value
        elif isinstance(existing, list):
            existing.append(value)
        else:
            parent[name] = [existing, value]


def _local(name: str) -> str:
    return name.rsplit(" ", 1)[-1]


def _refuse(*_args: Any) -> None:
    raise SoapError("the answer declares a document type or entities, which a SOAP message may not do")


def parse_xml(content: bytes, *, repeated: frozenset[str] = frozenset(),
              keyed: Mapping[str, str] | None = None) -> tuple[str, Any]:  # fmt: skip
    """(root element's local name, its value) of an XML document, by the rules in the module docstring."""
    builder = _Builder(repeated, keyed or {})
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.text
    parser.buffer_text = True
    try:
        parser.Parse(content, True)
    except expat.ExpatError as exc:
        raise SoapError(
            f"the answer is not well-formed XML ({expat.ErrorString(exc.code)}, line {exc.lineno})"
        ) from None
    if builder.root is None:
        raise SoapError("the answer holds no XML element")
    return builder.root


def soap_body(content: bytes, **options: Any) -> dict[str, Any]:
    """The children of ``Envelope/Body`` (an operation's answer, or ``Fault``)."""
    name, envelope = parse_xml(content, **options)
    body = envelope.get("Body") if isinstance(envelope, dict) and name == "Envelope" else None
    if not isinstance(body, dict):
        raise SoapError("the answer is not a SOAP envelope with a body")
    return body


def fault_of(content: bytes) -> tuple[str, str] | None:
    """(faultcode, faultstring) of a SOAP fault answer, or None when it is none."""
    try:
        fault = soap_body(content).get("Fault")
    except SoapError:
        return None
    if not isinstance(fault, dict):
        return None
    code, text = fault.get("faultcode", ""), fault.get("faultstring", "")
    return (code if isinstance(code, str) else "", text if isinstance(text, str) else "")


def fault_status(code: str) -> int | None:
    """The HTTP status a fault stands for: 401 refused credentials, 400 other client faults, None: leave it."""
    local = code.rsplit(":", 1)[-1]  # "SOAP-ENV:Client.authenticationError" -> "Client.authenticationError"
    if local.startswith("Client.authentication"):
        return 401
    if local == "Client" or local.startswith("Client."):
        return 400
    return None


class FaultTransport(httpx.BaseTransport):
    """Gives a SOAP fault answered with HTTP 500 the status it stands for (``fault_status``)."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self._inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        if response.status_code != 500:
            return response
        content = response.read()
        response.close()
        fault = fault_of(content)
        status = fault_status(fault[0]) if fault else None
        headers = [(k, v) for k, v in response.headers.multi_items()
                   if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")]  # fmt: skip
        return httpx.Response(status or 500, headers=headers, content=content, request=request)

    def close(self) -> None:
        self._inner.close()


# ---- the request ------------------------------------------------------------------------------------------


def _xml(name: str, value: Any, prefix: str, render: Callable[[str], str]) -> str:
    """One element (or a repeated one, for a list) in the service namespace's prefix."""
    if isinstance(value, list):
        return "".join(_xml(name, item, prefix, render) for item in value)
    tag = f"{prefix}:{name}"
    if isinstance(value, Mapping):
        attributes = "".join(f" {prefix}:{key[1:]}={quoteattr(render(str(item)))}"
                             for key, item in value.items() if key.startswith("@"))  # fmt: skip
        text = escape(render(str(value["#text"]))) if "#text" in value else ""
        children = "".join(_xml(key, item, prefix, render) for key, item in value.items()
                           if not key.startswith("@") and key != "#text")  # fmt: skip
        return f"<{tag}{attributes}>{text}{children}</{tag}>"
    if isinstance(value, bool):
        value = "true" if value else "false"
    return f"<{tag}>{escape(render(str(value)))}</{tag}>"


def envelope(operation: str, namespace: str, body: Mapping[str, Any], *, version: str | None = None,
             username: str | None = None, password: str | None = None,
             render: Callable[[str], str] = lambda text: text) -> bytes:  # fmt: skip
    """A SOAP 1.1 envelope: the WS-Security UsernameToken header when a user name is given, then the body."""
    header = ""
    if username is not None:
        header = (
            f'<env:Header><wsse:Security xmlns:wsse="{WSSE_NS}" env:mustUnderstand="1"><wsse:UsernameToken>'
            f"<wsse:Username>{escape(username)}</wsse:Username>"
            f'<wsse:Password Type="{PASSWORD_TEXT}">{escape(password or "")}</wsse:Password>'
            "</wsse:UsernameToken></wsse:Security></env:Header>"
        )
    version_attribute = f" bsvc:version={quoteattr(render(version))}" if version else ""
    children = "".join(_xml(name, value, "bsvc", render) for name, value in body.items())
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><env:Envelope xmlns:env="{ENVELOPE_NS}">{header}<env:Body>'
        f"<bsvc:{operation} xmlns:bsvc={quoteattr(namespace)}{version_attribute}>{children}</bsvc:{operation}>"
        "</env:Body></env:Envelope>"
    ).encode()


# ---- the wire ---------------------------------------------------------------------------------------------


class SoapWire:
    """What ``fetch.Pull`` does differently for a SOAP definition: send an envelope, read the answer.

    The effective date (``asOfDate``: the config's, or today in UTC) and the entry moment (now) are fixed when
    the pull starts: Workday's Response_Filter documentation asks for a fixed ``As_Of_Entry_DateTime`` when
    paging, so that every page reads the same result set.
    """

    def __init__(self, spec: SoapSpec, ctx: PullContext, auth: AuthSpec, *, records_path: str,
                 now: dt.datetime | None = None) -> None:  # fmt: skip
        self.spec = spec
        self.ctx = ctx
        moment = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
        # Microseconds kept: as the end of a delta's window, a moment cut to the second would leave out what was
        # entered in that second, while the next window (from the last pull, cut downwards) starts after it.
        self.as_of_moment = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        chosen = ctx.config.get("asOfDate")
        try:
            self.as_of_date = dt.date.fromisoformat(str(chosen)) if chosen else moment.date()
        except ValueError:
            raise ctx.error("config field 'asOfDate' must be a date (YYYY-MM-DD)") from None
        self.response_name = spec.operation.removesuffix("_Request") + "_Response"
        self.records_at = compile_expression(records_path) if records_path else None
        self._repeated = frozenset(spec.repeated)
        self.username: str | None = None
        self.password: str | None = None
        if auth.type == "wss-username-token":
            missing = [key for key in ("username", "password") if not ctx.config.get(key)]
            if missing:
                raise ctx.error(f"config fields missing: {', '.join(missing)} (WS-Security user name and password)")
            user = ctx.render(auth.usernameTemplate)
            tenant = ctx.config.get("tenant")
            # Workday signs integration users in as user@tenant; a bare user name gets the configured tenant.
            self.username = user if "@" in user or not tenant else f"{user}@{tenant}"
            self.password = ctx.render(auth.passwordTemplate)
        elif auth.type == "oauth2-refresh-token":
            missing = [key for key in ("clientId", "clientSecret", "refreshToken") if not ctx.config.get(key)]
            if missing:
                raise ctx.error(f"config fields missing: {', '.join(missing)} (OAuth refresh-token grant)")
        self.resend: Callable[[Mapping[str, str]], httpx.Response] | None = None
        """Set by the pull: sends another request through its retries (the look-up of future-dated hires)."""

    def transport(self, inner: httpx.BaseTransport) -> httpx.BaseTransport:
        return FaultTransport(inner)

    def render(self, template: str) -> str:
        values = {**self.ctx.config, "asOfDate": self.as_of_date.isoformat(), "asOfMoment": self.as_of_moment}
        parts: list[str] = []
        for literal, field, spec, conversion in string.Formatter().parse(template):
            parts.append(literal)
            if field is None:
                continue
            value = values.get(field)
            if spec or conversion or value is None or value == "":
                raise self.ctx.error(f"template {template!r}: config field {field!r} is required")
            parts.append(str(value))
        return "".join(parts)

    def request_body(self, params: Mapping[str, str]) -> bytes:
        spec = self.spec
        body: dict[str, Any] = dict(spec.body)
        if LOOKUP_WID in params:
            # One worker as of a date (Microsoft's "Query for future-dated hires"): a reference, no criteria.
            body.pop("Request_Criteria", None)
            lookup_filter = {"As_Of_Effective_Date": params[LOOKUP_AS_OF], "As_Of_Entry_DateTime": "{asOfMoment}"}
            reference = {"Worker_Reference": {"ID": {"@type": "WID", "#text": params[LOOKUP_WID]}}}
            body = {"Request_References": reference, **body, "Response_Filter": lookup_filter}
        elif params:
            paging = body.get(spec.pagingElement)
            body[spec.pagingElement] = {**(paging if isinstance(paging, Mapping) else {}), **params}
        return envelope(spec.operation, spec.namespace, body, version=spec.version, username=self.username,
                        password=self.password, render=self.render)  # fmt: skip

    def send(self, client: httpx.Client, method: str, url: httpx.URL, params: Mapping[str, str],
             headers: Mapping[str, str]) -> httpx.Response:  # fmt: skip
        wanted = {k: v for k, v in headers.items() if k.lower() not in ("content-type", "accept")}
        wanted |= {"Content-Type": CONTENT_TYPE, "Accept": "text/xml", "SOAPAction": wanted.get("SOAPAction", '""')}
        return client.request(method, url, content=self.request_body(params), headers=wanted)

    def fault_text(self, response: httpx.Response) -> str:
        fault = fault_of(response.content)
        return f": {fault[0]}: {fault[1]}" if fault else ""

    def answer(self, response: httpx.Response) -> dict[str, Any]:
        path = response.request.url.path
        try:
            body = soap_body(response.content, repeated=self._repeated, keyed=self.spec.keyedBy)
        except SoapError as exc:
            raise self.ctx.error(str(exc), path=path, status=response.status_code) from None
        found = body.get(self.response_name)
        if not isinstance(found, dict):
            raise self.ctx.error(f"the SOAP body holds no {self.response_name}", path=path,
                                 status=response.status_code)  # fmt: skip
        return found

    def records(self, answer: Mapping[str, Any]) -> list[Any]:
        found = self.records_at(answer) if self.records_at is not None else answer
        if found == "":
            return []  # no Response_Data: no worker on this page
        return found if isinstance(found, list) else [found]

    def page(self, response: httpx.Response) -> Page:
        answer = self.answer(response)
        records = self.records(answer)
        for position, record in enumerate(records):
            if isinstance(record, dict):
                records[position] = self._worker(record)
        return Page(body=answer, records=records)

    def _worker(self, record: dict[str, Any]) -> dict[str, Any]:
        spec = self.spec
        if spec.workerStatusKey is None and not spec.futureHireLookup:
            return record
        status = workday.worker_status(record, self.as_of_date)
        if spec.futureHireLookup and status == workday.PRE_HIRE and self.resend is not None:
            record = self._as_of_hire(record)
        if spec.workerStatusKey is not None:
            # The status as of the pull's date, also for a record read as of the hire date.
            record[spec.workerStatusKey] = status
        return record

    def _as_of_hire(self, record: dict[str, Any]) -> dict[str, Any]:
        """The future-dated hire read again as of the hire date: the job, organisation and manager the worker
        will have on the first day (Microsoft: "Query for future-dated hires")."""
        worker_id, hired = workday.wid(record), workday.hire_date(record)
        if not worker_id or hired is None or self.resend is None:
            return record
        response = self.resend({LOOKUP_WID: worker_id, LOOKUP_AS_OF: hired.isoformat()})
        found = [r for r in self.records(self.answer(response)) if isinstance(r, dict) and workday.wid(r) == worker_id]
        return found[0] if found else record
