"""Bearer tokens for Microsoft Graph as an ``httpx.Auth``, from any azure-core ``TokenCredential``.

Tokens are cached until shortly before they expire and refreshed once when Graph answers 401 (a token
revoked or expired early). The token never appears in logs or errors.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator

import httpx
from azure.core.credentials import TokenCredential

from provisioning.core.errors import ProvisioningError


class CredentialFailed(ProvisioningError):
    """The credential could not give a token (revoked, expired secret, no identity): no request can go out.

    The message is the credential's own (azure-identity never puts a secret in it), cut to one line.
    """


REFRESH_MARGIN = 300.0
"""Seconds before expiry at which a cached token is replaced."""


TokenCredentialLike = TokenCredential
"""azure-core's credential protocol: ManagedIdentityCredential, CertificateCredential, ..."""


class CredentialAuth(httpx.Auth):
    def __init__(self, credential: TokenCredentialLike, scope: str, *, clock: Callable[[], float] = time.time) -> None:
        self._credential = credential
        self._scope = scope
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_on = 0.0
        self.tokens_fetched = 0

    def _current(self, *, stale: str | None = None) -> str:
        with self._lock:
            fresh_enough = self._token is not None and self._clock() < self._expires_on - REFRESH_MARGIN
            if fresh_enough and self._token != stale:
                assert self._token is not None
                return self._token
            try:
                access = self._credential.get_token(self._scope)
            except Exception as exc:  # azure-identity raises several types; all of them mean no token
                first_line = (str(exc).strip().splitlines() or [""])[0][:300]
                raise CredentialFailed(f"no token from {type(self._credential).__name__}: {first_line}") from exc
            self._token, self._expires_on = access.token, float(access.expires_on)
            self.tokens_fetched += 1
            return access.token

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self._current()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            request.headers["Authorization"] = f"Bearer {self._current(stale=token)}"
            yield request
