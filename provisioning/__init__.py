"""Microsoft Entra API-driven inbound provisioning: HR worker records to SCIM bulk requests.

The pure pipeline (reading, mapping, validation, ordering, chunking) is importable without any
Azure or HTTP dependency; the doors (CLI, Function App) and edges (Graph, storage) build on it.

The names below are loaded on first use (PEP 562): importing any ``provisioning.*`` module imports
this package first, and the profile's pydantic models cost about 0.15 s that a Function App cold start
or ``python -m provisioning --help`` should not pay when it does not need them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from provisioning.core.errors import ProfileError, ProvisioningError, RowError, SourceError
    from provisioning.core.mapping.profile import Profile
    from provisioning.core.mapping.profiles import load_profile, parse_profile
    from provisioning.core.plan.bulk import MAX_OPERATIONS, BulkRequest
    from provisioning.core.plan.pipeline import Plan, Reject, Summary, plan_run
    from provisioning.core.read.csv_source import CsvSource
    from provisioning.core.read.json_source import JsonSource

_HOMES = {
    "MAX_OPERATIONS": "provisioning.core.plan.bulk",
    "BulkRequest": "provisioning.core.plan.bulk",
    "CsvSource": "provisioning.core.read.csv_source",
    "JsonSource": "provisioning.core.read.json_source",
    "Plan": "provisioning.core.plan.pipeline",
    "Profile": "provisioning.core.mapping.profile",
    "ProfileError": "provisioning.core.errors",
    "ProvisioningError": "provisioning.core.errors",
    "Reject": "provisioning.core.plan.pipeline",
    "RowError": "provisioning.core.errors",
    "SourceError": "provisioning.core.errors",
    "Summary": "provisioning.core.plan.pipeline",
    "load_profile": "provisioning.core.mapping.profiles",
    "parse_profile": "provisioning.core.mapping.profiles",
    "plan_run": "provisioning.core.plan.pipeline",
}

__all__ = [
    "MAX_OPERATIONS",
    "BulkRequest",
    "CsvSource",
    "JsonSource",
    "Plan",
    "Profile",
    "ProfileError",
    "ProvisioningError",
    "Reject",
    "RowError",
    "SourceError",
    "Summary",
    "load_profile",
    "parse_profile",
    "plan_run",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'provisioning' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # the next look-up is a plain module attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOMES))
