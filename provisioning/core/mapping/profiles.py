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
_PROFILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def available_profiles(directory: Path = MAPPINGS_DIR) -> list[str]:
    return sorted(p.stem for p in directory.glob("*.json") if not p.name.endswith(".schema.json"))


def resolve_profile_path(name_or_path: str, directory: Path = MAPPINGS_DIR) -> Path:
    path = Path(name_or_path)
    if path.is_file():
        return path
    if _PROFILE_NAME.match(name_or_path):
        candidate = directory / f"{name_or_path.removesuffix('.json')}.json"
        if candidate.is_file():
            return candidate
    known = ", ".join(available_profiles(directory)) or "none"
    raise ProfileError(f"mapping profile {name_or_path!r} not found (profiles in {directory}: {known})")


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
