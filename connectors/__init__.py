"""HR system connectors: declarative definitions, auth, paging and field extraction, feeding worker records."""

from .auth import (
    ApiKeyAsBasicAuth,
    ApiKeyHeaderAuth,
    BasicAuth,
    BearerAuth,
    NoAuth,
    OAuth2ClientCredentials,
    OAuth2RefreshToken,
    TokenError,
    build_auth,
)
from .context import ConnectorError, FetchReport, resolve_definition
from .definition import AuthSpec, ConfigField, ConnectorDefinition, PagingSpec, RequestSpec
from .extract import compile_expression, evaluate, flatten
from .fetch import FetchStream, fetch_records
from .probe import test_connection
from .registry import BUILTIN_IDS, load_registry, parse_definition, public_view

__all__ = [
    "BUILTIN_IDS",
    "ApiKeyAsBasicAuth",
    "ApiKeyHeaderAuth",
    "AuthSpec",
    "BasicAuth",
    "BearerAuth",
    "ConfigField",
    "ConnectorDefinition",
    "ConnectorError",
    "FetchReport",
    "FetchStream",
    "NoAuth",
    "OAuth2ClientCredentials",
    "OAuth2RefreshToken",
    "PagingSpec",
    "RequestSpec",
    "TokenError",
    "build_auth",
    "compile_expression",
    "evaluate",
    "fetch_records",
    "flatten",
    "load_registry",
    "parse_definition",
    "public_view",
    "resolve_definition",
    "test_connection",
]
