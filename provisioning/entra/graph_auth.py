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
            access = self._credential.get_token(self._scope)
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
