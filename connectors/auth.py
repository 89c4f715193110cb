"""Authentication of connector requests, as ``httpx.Auth`` flows.

Token grants are yielded from the flow, so they go through the same client and transport as the
data calls: with mutual TLS the client certificate set on the ``httpx.Client`` is presented to the
token endpoint too. Tokens, keys and refresh tokens never appear in ``repr`` or log lines.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable, Generator, Mapping
from typing import Any

import httpx

from provisioning.core.errors import ProvisioningError

from .definition import AuthSpec

Flow = Generator[httpx.Request, httpx.Response, None]
logger = logging.getLogger(__name__)


class TokenError(ProvisioningError):
    """The token endpoint refused or failed; ``status`` is its HTTP status (0: unreadable answer)."""

    def __init__(self, message: str, *, status: int, retry_after: str | None = None) -> None:
        self.status = status
        self.retry_after = retry_after
        super().__init__(message)


class NoAuth(httpx.Auth):
    def auth_flow(self, request: httpx.Request) -> Flow:
        yield request


class BasicAuth(httpx.Auth):
    """HTTP Basic; the user name may be built from a template (``{username}@{companyId}``)."""

    def __init__(self, username: str, password: str) -> None:
        token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        self._header = f"Basic {token}"

    def auth_flow(self, request: httpx.Request) -> Flow:
        request.headers["Authorization"] = self._header
        yield request

    def __repr__(self) -> str:
        return "BasicAuth(***)"


class ApiKeyAsBasicAuth(BasicAuth):
    """BambooHR: the API key as the user name and any password (``x``)."""

    def __init__(self, api_key: str) -> None:
        super().__init__(api_key, "x")


class BearerAuth(httpx.Auth):
    """A static bearer token."""

    def __init__(self, token: str) -> None:
        self._token = token

    def auth_flow(self, request: httpx.Request) -> Flow:
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request

    def __repr__(self) -> str:
        return "BearerAuth(***)"


class ApiKeyHeaderAuth(httpx.Auth):
    """An API key in a named header (``X-API-Key: <key>``, or with a prefix)."""

    def __init__(self, api_key: str, header_name: str = "X-API-Key", prefix: str = "") -> None:
        self._key = api_key
        self._header = header_name
        self._prefix = prefix

    def auth_flow(self, request: httpx.Request) -> Flow:
        request.headers[self._header] = f"{self._prefix}{self._key}"
        yield request

    def __repr__(self) -> str:
        return f"ApiKeyHeaderAuth({self._header}: ***)"


class _OAuth2(httpx.Auth):
    """A token from a grant, cached until shortly before it expires, renewed once on a 401."""

    requires_response_body = True

    def __init__(self, token_url: str, client_id: str, client_secret: str, *, scope: str | None = None,
                 client_auth: str = "basic", skew: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        self.token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._scope = scope
        self._client_auth = client_auth
        self._skew = skew
        self._clock = clock
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()
        self.grants = 0
        """Token calls made (tests and reports)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(token_url={self.token_url!r})"

    def _grant_fields(self) -> dict[str, str]:
        raise NotImplementedError

    def _token_request(self) -> httpx.Request:
        data = self._grant_fields()
        if self._scope:
            data["scope"] = self._scope
        headers = {"Accept": "application/json"}
        if self._client_auth == "basic":
            pair = f"{self._client_id}:{self._client_secret}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        else:
            data.update(client_id=self._client_id, client_secret=self._client_secret)
        return httpx.Request("POST", self.token_url, data=data, headers=headers)

    def _accept_token(self, response: httpx.Response) -> None:
        path = httpx.URL(self.token_url).path
        if response.status_code != 200:
            raise TokenError(
                f"token request to {path} answered HTTP {response.status_code}",
                status=response.status_code,
                retry_after=response.headers.get("Retry-After"),
            )
        try:
            body = response.json()
            token = body["access_token"]
        except (ValueError, KeyError, TypeError):
            raise TokenError(f"token response from {path} holds no access_token", status=0) from None
        if not isinstance(token, str) or not token:
            raise TokenError(f"token response from {path} holds no access_token", status=0)
        try:
            lifetime = float(body.get("expires_in") or 3600)
        except (TypeError, ValueError):
            lifetime = 3600.0
        self._token = token
        self._expires_at = self._clock() + max(lifetime - self._skew, 0.0)
        self.grants += 1
        self._on_grant(body)

    def _on_grant(self, body: Mapping[str, Any]) -> None:
        """Hook for grants that hand back more than an access token."""

    def _valid(self) -> bool:
        return self._token is not None and self._clock() < self._expires_at

    def _authorize(self, request: httpx.Request) -> httpx.Request:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def auth_flow(self, request: httpx.Request) -> Flow:
        if not self._valid():
            self._accept_token((yield self._token_request()))
        response = yield self._authorize(request)
        if response.status_code == 401:
            self._token = None
            self._accept_token((yield self._token_request()))
            yield self._authorize(request)

    def sync_auth_flow(self, request: httpx.Request) -> Flow:
        """The token steps under a lock, the data call outside it: threads sharing one client (concurrent
        pages) get one token between them, and a 401 refreshes it once, not once per thread."""
        with self._lock:
            if not self._valid():
                granted = yield self._token_request()
                granted.read()
                self._accept_token(granted)
            used = self._token
        response = yield self._authorize(request)
        if response.status_code == 401:
            with self._lock:
                if self._token == used:  # nobody has refreshed it since this call used it
                    self._token = None
                    granted = yield self._token_request()
                    granted.read()
                    self._accept_token(granted)
            yield self._authorize(request)


class OAuth2ClientCredentials(_OAuth2):
    """``grant_type=client_credentials`` (ADP, custom REST, SuccessFactors through IAS)."""

    def _grant_fields(self) -> dict[str, str]:
        return {"grant_type": "client_credentials"}


class OAuth2RefreshToken(_OAuth2):
    """Workday's refresh-token grant; a rotated refresh token is kept and handed to ``on_rotate``.

    The caller persists the new refresh token (state store) for the next run; it is never logged.
    """

    def __init__(self, token_url: str, client_id: str, client_secret: str, refresh_token: str, *,
                 on_rotate: Callable[[str], None] | None = None, **kwargs: Any) -> None:  # fmt: skip
        super().__init__(token_url, client_id, client_secret, **kwargs)
        self._refresh_token = refresh_token
        self._on_rotate = on_rotate

    def _grant_fields(self) -> dict[str, str]:
        return {"grant_type": "refresh_token", "refresh_token": self._refresh_token}

    def _on_grant(self, body: Mapping[str, Any]) -> None:
        rotated = body.get("refresh_token")
        if isinstance(rotated, str) and rotated and rotated != self._refresh_token:
            self._refresh_token = rotated
            if self._on_rotate is not None:
                self._on_rotate(rotated)


def build_auth(spec: AuthSpec, config: Mapping[str, Any], *, token_url: str | None,
               on_rotate: Callable[[str], None] | None = None,
               render: Callable[[str], str] | None = None) -> httpx.Auth:  # fmt: skip
    """The ``httpx.Auth`` for a (variant-resolved) auth spec and a config.

    ``render`` fills templates (user name); ``token_url`` is the resolved token endpoint (OAuth2 types).
    """
    fill = render or (lambda template: template.format_map(dict(config)))

    def value(key: str) -> str:
        found = config.get(key)
        return "" if found is None else str(found)

    kind = spec.type
    if spec.warning:
        logger.warning("%s", spec.warning)
    if kind == "none":
        return NoAuth()
    if kind == "basic":
        return BasicAuth(fill(spec.usernameTemplate), fill(spec.passwordTemplate))
    if kind == "bearer":
        return BearerAuth(value(spec.tokenField))
    if kind == "apikey-header":
        return ApiKeyHeaderAuth(value(spec.apiKeyField), spec.headerName, spec.headerPrefix)
    if kind == "apikey-basic":
        return ApiKeyAsBasicAuth(value(spec.apiKeyField))
    if kind == "wss-username-token":
        return NoAuth()  # the user name and password go in the SOAP envelope's header (connectors/soap.py)
    if kind == "oauth2-saml-bearer":
        from .auth_saml import saml_bearer_auth  # here: auth_saml builds on this module's _OAuth2

        return saml_bearer_auth(spec, config, token_url=token_url, render=fill)
    if token_url is None:
        raise ValueError(f"auth type {kind!r} needs a token URL (tokenUrl or the definition's tokenPath)")
    common: dict[str, Any] = {"scope": spec.scope, "client_auth": spec.clientAuth, "skew": spec.expirySkewSeconds}
    if kind == "oauth2-refresh-token":
        return OAuth2RefreshToken(
            token_url, value("clientId"), value("clientSecret"), value("refreshToken"), on_rotate=on_rotate, **common
        )
    return OAuth2ClientCredentials(token_url, value("clientId"), value("clientSecret"), **common)
