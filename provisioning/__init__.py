"""Microsoft Entra API-driven inbound provisioning: HR worker records to SCIM bulk requests.

The pure pipeline (reading, mapping, validation, ordering, chunking) is importable without any
Azure or HTTP dependency; the doors (CLI, Function App) and edges (Graph, storage) build on it.
"""

from .bulk import MAX_OPERATIONS, BulkRequest
from .csv_source import CsvSource
from .errors import ProfileError, ProvisioningError, RowError, SourceError
from .json_source import JsonSource
from .pipeline import Plan, Reject, Summary, plan_run
from .profile import Profile
from .profiles import load_profile, parse_profile

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
