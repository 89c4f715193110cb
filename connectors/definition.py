"""Connector definitions: how one HR system's worker list is reached, paged and flattened.

A definition is declarative JSON (the built-ins live in ``connectors/builtin/``); a connector
*config* (base URL, tenant, credentials) fills its ``{placeholders}``. Definitions hold no secrets.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .extract import compile_expression

AuthType = Literal[
    "none",
    "basic",
    "bearer",
    "apikey-header",
    "apikey-basic",
    "oauth2-client-credentials",
    "oauth2-refresh-token",
    "mtls-client-credentials",
    "wss-username-token",
    "oauth2-saml-bearer",
]
PagingStyle = Literal["offset", "page", "odata", "next-link-body", "next-link-header", "page-token", "none"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, use_attribute_docstrings=True)


class AuthSpec(_Model):
    """How requests are authenticated; ``{field}`` placeholders are filled from the config."""

    type: AuthType = "none"
    """The scheme; see ``connectors.auth`` for each one."""
    selectBy: str | None = None
    """A config field whose value picks one of ``variants`` (e.g. SuccessFactors ``authMode``)."""
    variants: dict[str, AuthSpec] = Field(default_factory=dict)
    """Alternative schemes by the value of the ``selectBy`` field; absent field -> this spec itself."""
    usernameTemplate: str = "{username}"
    """Basic auth user name, e.g. ``{username}@{companyId}``."""
    passwordTemplate: str = "{password}"
    tokenField: str = "token"
    """Config field holding a static bearer token."""
    apiKeyField: str = "apiKey"
    """Config field holding the API key."""
    headerName: str = "X-API-Key"
    """Header carrying the API key (apikey-header)."""
    headerPrefix: str = ""
    """Text put before the key in that header, e.g. ``"Token "``."""
    tokenPath: str | None = None
    """Token endpoint path template relative to the base URL (``/ccx/oauth2/{tenant}/token``);
    a ``tokenUrl`` config value wins."""
    scope: str | None = None
    clientAuth: Literal["basic", "body"] = "basic"
    """How the client id and secret reach the token endpoint: a Basic header or form fields."""
    expirySkewSeconds: float = 60.0
    """A token is renewed this long before it expires."""
    warning: str | None = None
    """Logged each time a pull signs in this way: a scheme the vendor has retired (SuccessFactors' basic)."""

    @model_validator(mode="after")
    def _variants_need_selector(self) -> AuthSpec:
        if self.variants and not self.selectBy:
            raise ValueError("'variants' needs 'selectBy' (the config field that picks one)")
        return self


class ConfigField(_Model):
    """One value the user supplies when configuring a connector."""

    key: str
    label: str = ""
    required: bool = False
    secret: bool = False
    """Never logged, never shown, never put in an error message."""
    default: str | None = None
    description: str = ""


class SoapSpec(_Model):
    """A SOAP 1.1 call in place of a JSON one (``connectors/soap.py``): Workday's Get_Workers.

    The envelope is built from ``body``; the pager's page and size parameters go into ``pagingElement``;
    the answer is read into nested objects (``@attribute``, ``#text``) that ``recordsPath`` and the
    ``extract`` expressions address."""

    operation: str
    """The request element, e.g. ``Get_Workers_Request``; the answer is the element named ``...Response``."""
    namespace: str = "urn:com.workday/bsvc"
    version: str | None = None
    """The request's ``version`` attribute (template), e.g. ``{version}``."""
    body: dict[str, Any] = Field(default_factory=dict)
    """The request's children in schema order: a string (template) is an element's text, an object its
    children (``@name`` keys are attributes), a list repeats the element. ``{asOfDate}`` and ``{asOfMoment}``
    are the pull's effective date and entry moment, fixed once per pull so every page reads the same data."""
    pagingElement: str = "Response_Filter"
    """The child of ``body`` that gets the pager's parameters (Workday: ``Page`` and ``Count``)."""
    repeated: list[str] = Field(default_factory=list)
    """Answer elements always read as lists (``Worker``; ``Parent/Child`` for one parent only), so an index
    such as ``[-1]`` means the same for one element as for several."""
    keyedBy: dict[str, str] = Field(default_factory=dict)
    """Answer elements read as one object keyed by an attribute: ``{"ID": "type"}`` makes Workday's
    ``<ID type="Employee_ID">21001</ID>`` readable as ``ID.Employee_ID``."""
    workerStatusKey: str | None = None
    """Workday: the record key that gets the worker's status (Active, On Leave, Terminated, Pre-Hire,
    Inactive) derived from ``Worker_Status_Data`` (``connectors/workday.py``)."""
    futureHireLookup: bool = False
    """Workday: read each future-dated hire again as of the hire date, as Entra's connector does."""


class RequestSpec(_Model):
    """The request that lists workers (first page)."""

    method: Literal["GET", "POST"] = "GET"
    path: str
    """Path template under the base URL, e.g. ``/ccx/api/v1/{tenant}/workers``."""
    query: dict[str, str] = Field(default_factory=dict)
    """Query parameters; values are templates."""
    body: Any = None
    """JSON body (POST), sent as is."""
    headers: dict[str, str] = Field(default_factory=lambda: {"Accept": "application/json"})
    soap: SoapSpec | None = None
    """A SOAP envelope instead of JSON (``connectors/soap.py``); the method must be POST."""

    @model_validator(mode="after")
    def _soap_posts(self) -> RequestSpec:
        if self.soap is not None and self.method != "POST":
            raise ValueError("a SOAP request ('soap') is sent with method POST")
        return self


class PagingSpec(_Model):
    """How the next page is asked for and how the end of data is recognised."""

    style: PagingStyle = "none"
    offsetParam: str = "offset"
    limitParam: str = "limit"
    pageParam: str = "page"
    pageSizeParam: str | None = None
    """Page-size parameter of ``page`` and ``next-link``/``page-token`` styles (e.g. ``customPageSize``)."""
    tokenParam: str = "pageToken"
    pageSize: int = Field(default=100, ge=1)
    maxPageSize: int = Field(default=1000, ge=1)
    startOffset: int = 0
    startPage: int = 1
    hasMorePath: str | None = None
    totalPath: str | None = None
    limitPath: str | None = None
    """Where the server reports the page size it applied (short-page detection uses it)."""
    nextLinkPath: str | None = None
    nextTokenPath: str | None = None
    stopOnShortPage: bool = False
    """Stop when a page holds fewer records than asked for, whatever hasMore says (Oracle)."""
    noContentEnds: bool = True
    """HTTP 204 means the end of data (ADP)."""

    @model_validator(mode="after")
    def _paths_for_style(self) -> PagingSpec:
        if self.pageSize > self.maxPageSize:
            raise ValueError(f"pageSize {self.pageSize} exceeds maxPageSize {self.maxPageSize}")
        if self.style == "next-link-body" and not self.nextLinkPath:
            raise ValueError("style 'next-link-body' needs 'nextLinkPath'")
        if self.style == "page-token" and not self.nextTokenPath:
            raise ValueError("style 'page-token' needs 'nextTokenPath'")
        for name in ("hasMorePath", "totalPath", "limitPath", "nextLinkPath", "nextTokenPath"):
            value = getattr(self, name)
            if value:
                _check_expression(value, name)
        return self


class ConnectorDefinition(_Model):
    """One HR system: where its workers are, how to sign in, page and flatten them."""

    schema_: str | None = Field(default=None, alias="$schema")
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    """Stable identifier (``workday``); user definitions may not reuse a built-in's."""
    name: str
    description: str = ""
    category: Literal["hris", "custom"] = "hris"
    auth: AuthSpec = Field(default_factory=AuthSpec)
    fields: list[ConfigField] = Field(default_factory=list)
    """The config values this connector needs (``baseUrl`` always)."""
    request: RequestSpec
    recordsPath: str = ""
    """Dotted path to the record array in each page (``d.results``); "" means the body is the array."""
    paging: PagingSpec = Field(default_factory=PagingSpec)
    extract: dict[str, str] = Field(default_factory=dict)
    """Flat field -> expression into the vendor's record; a config ``extract`` object overrides entries."""
    fieldHints: dict[str, str] = Field(default_factory=dict)
    """Flat field -> SCIM attribute it most likely feeds, for auto-map."""
    defaultProfile: str | None = None
    """The mapping profile in ``mappings/`` written for this connector."""
    idField: str = "workerId"
    """The flat field holding the worker id."""
    overrides: dict[str, str] = Field(default_factory=dict)
    """Config field -> definition path it replaces (``pagingStyle`` -> ``paging.style``): custom connectors."""

    @field_validator("extract")
    @classmethod
    def _expressions_compile(cls, extract: dict[str, str]) -> dict[str, str]:
        for key, expression in extract.items():
            _check_expression(expression, f"extract.{key}")
        return extract

    @model_validator(mode="after")
    def _consistent(self) -> ConnectorDefinition:
        keys = [f.key for f in self.fields]
        if len(set(keys)) != len(keys):
            raise ValueError("field keys must be unique")
        if "baseUrl" not in keys:
            raise ValueError("fields must include 'baseUrl'")
        if self.extract and self.idField not in self.extract:
            raise ValueError(f"idField {self.idField!r} is not one of the extract fields")
        if self.recordsPath:
            _check_expression(self.recordsPath, "recordsPath")
        return self

    def secret_keys(self) -> set[str]:
        """Config fields whose values must never be shown."""
        return {f.key for f in self.fields if f.secret}


def _check_expression(expression: str, where: str) -> None:
    try:
        compile_expression(expression)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
