"""Which mapping profile a dropped file uses: by its folder or a pattern on its name.

The feed of a dropped file (its delta state and safety history) is its profile's.

``HR_PROFILE_ROUTES`` is ``"employees/=employees;contractors/=contractors;*.interns.csv=interns"``:
a route ending in ``/`` matches a folder prefix, anything else is a glob on the blob's path. The
first match wins; no match uses the default profile.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase

from provisioning.core.errors import ProfileError


@dataclass(frozen=True)
class Route:
    pattern: str
    profile: str

    def matches(self, blob_path: str) -> bool:
        if self.pattern.endswith("/"):
            return blob_path.startswith(self.pattern)
        return fnmatchcase(blob_path, self.pattern)


def parse_routes(text: str) -> list[Route]:
    routes = []
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        pattern, separator, profile = part.partition("=")
        if not separator or not pattern.strip() or not profile.strip():
            raise ProfileError(f"HR_PROFILE_ROUTES: {part!r} is not PATTERN=PROFILE")
        routes.append(Route(pattern.strip().lstrip("/"), profile.strip()))
    return routes


def profile_for(blob_path: str, routes: list[Route], default: str) -> str:
    """The profile name for a blob path inside the inbound container (``employees/2026-11-28.csv``)."""
    path = blob_path.lstrip("/")
    return next((route.profile for route in routes if route.matches(path)), default)


def source_key(blob_path: str, routes: list[Route], default: str) -> str:
    """The feed a blob belongs to: its profile's, whatever its folder (a dated folder or a new name is the
    same feed, so its delta state and safety history carry over)."""
    return f"profile:{profile_for(blob_path, routes, default)}"
