"""Finding and loading mapping profiles: a path, or the name of a profile in ``mappings/``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from provisioning.core.errors import ProfileError
from provisioning.core.mapping.flat_mapping import is_flat_mapping, profile_from_flat
from provisioning.core.mapping.profile import Profile

MAPPINGS_DIR = Path(__file__).resolve().parents[3] / "mappings"
PROFILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
"""A profile's name: what the HTTP API and dropped-file routes accept (never a path)."""


def available_profiles(directory: Path = MAPPINGS_DIR) -> list[str]:
    return sorted(p.stem for p in directory.glob("*.json") if not p.name.endswith(".schema.json"))


def resolve_profile_path(name_or_path: str, directory: Path = MAPPINGS_DIR) -> Path:
    try:
        path = Path(name_or_path)
        if path.is_file():
            return path
    except (OSError, ValueError):  # a name too long for a path, a NUL: not a file, just not found
        pass
    if PROFILE_NAME.fullmatch(name_or_path.removesuffix(".json")):
        candidate = directory / f"{name_or_path.removesuffix('.json')}.json"
        if candidate.is_file():
            return candidate
    known = ", ".join(available_profiles(directory)) or "none"
    raise ProfileError(f"mapping profile {name_or_path!r} not found (profiles in {directory}: {known})")


class BundledProfiles:
    """The workflow's profile source for the CLI: a name in ``mappings/`` or a path; ``extra`` names
    profiles held in memory (tests, benchmarks)."""

    def __init__(self, extra: dict[str, Profile] | None = None, *, upn_domain: str | None = None) -> None:
        self.extra = extra or {}
        self.upn_domain = upn_domain

    def load(self, name: str) -> Profile:
        return with_upn_domain(self.extra[name] if name in self.extra else load_profile(name), self.upn_domain)


def with_upn_domain(profile: Profile, domain: str | None) -> Profile:
    """The profile with the deployment's domain (HR_UPN_DOMAIN) in place of its own ``upnDomain``; None: as is.
    Every loader of the doors applies it, so a preview and a run build the same userNames."""
    return profile.model_copy(update={"upnDomain": domain}) if domain else profile


def bundled_profile_names(directory: Path = MAPPINGS_DIR) -> list[str]:
    """The profiles shipped in ``mappings/``."""
    return sorted(p.stem for p in directory.glob("*.json") if p.name != "profile.schema.json")


def load_named_profile(name: str, directory: Path = MAPPINGS_DIR) -> Profile:
    """A bundled profile by name only (never a path): what a caller over HTTP may ask for."""
    check_profile_name(name)
    return load_profile(name, directory)


def check_profile_name(name: str) -> str:
    """A profile name (not a path), or ``ProfileError`` saying what a name is."""
    if not isinstance(name, str) or not PROFILE_NAME.fullmatch(name) or name.endswith(".json"):
        raise ProfileError(f"mapping profile {str(name)[:80]!r} not found: name a profile, not a file")
    return name


def load_profile(name_or_path: str, directory: Path = MAPPINGS_DIR) -> Profile:
    path = resolve_profile_path(name_or_path, directory)
    return parse_profile(path.read_bytes(), origin=str(path), default_name=path.stem)


def parse_profile(data: bytes | str | dict[str, Any], *, origin: str = "profile",
                  default_name: str = "") -> Profile:  # fmt: skip
    """A profile from JSON (ours, or the reference web client's flat form), with errors that name fields."""
    try:
        document = orjson.loads(data) if isinstance(data, bytes | str) else data
    except orjson.JSONDecodeError as exc:
        raise ProfileError(f"{origin}: not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise ProfileError(f"{origin}: a mapping profile is a JSON object")
    if is_flat_mapping(document):
        return profile_from_flat(document, name=default_name)
    try:
        profile = Profile.model_validate(document)
    except ValidationError as exc:
        raise ProfileError(f"{origin}: {describe_validation_error(exc)}") from None
    if not profile.name:
        profile.name = default_name
    return profile


def describe_validation_error(exc: ValidationError) -> str:
    """Pydantic's errors as "attributes.activ: Extra inputs are not permitted; ..."."""
    parts = []
    for error in exc.errors(include_url=False):
        location = ".".join(str(p) for p in error["loc"] if not str(p).startswith("function-"))
        parts.append(f"{location}: {error['msg']}" if location else error["msg"])
    return "; ".join(parts)
