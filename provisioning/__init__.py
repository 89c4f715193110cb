"""Microsoft Entra API-driven inbound provisioning: HR worker records to SCIM bulk requests.

The pure pipeline (reading, mapping, validation, ordering, chunking) is importable without any
Azure or HTTP dependency; the doors (CLI, Function App) and edges (Graph, storage) build on it.
"""

from provisioning.core.errors import ProfileError, ProvisioningError, RowError, SourceError
from provisioning.core.mapping.profile import Profile
from provisioning.core.mapping.profiles import load_profile, parse_profile
from provisioning.core.plan.bulk import MAX_OPERATIONS, BulkRequest
from provisioning.core.plan.pipeline import Plan, Reject, Summary, plan_run
from provisioning.core.read.csv_source import CsvSource
from provisioning.core.read.json_source import JsonSource

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
