"""Helpers shared by the tests: where Microsoft's fixtures are, and running the pipeline on text."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest

from provisioning import CsvSource, Plan, Reject, plan_run
from provisioning.core.mapping.profile import Profile
from provisioning.core.mapping.profiles import load_profile

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = Path(__file__).resolve().parent / "samples"
SHARED = ROOT.parent / "shared"
MICROSOFT = SHARED / "fixtures" / "microsoft"


def microsoft_fixture(relative: str) -> Path:
    """A file of Microsoft's samples in ../shared, or a skip that says why (absent in a user's clone)."""
    path = MICROSOFT / relative
    if not path.is_file():
        pytest.skip(f"Microsoft's sample {relative} is not here: ../shared/fixtures is only in the dev workspace")
    return path


@contextmanager
def running(emulators: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Starts every emulator of the dict, yields it, and stops them all whatever happens."""
    for emulator in emulators.values():
        emulator.start()
    try:
        yield emulators
    finally:
        for emulator in emulators.values():
            emulator.stop()


def minimal_profile(**attributes: Any) -> Profile:
    """A valid profile mapping externalId/userName/active from columns id/user/status, plus extras; a userName
    without a domain gets @contoso.com."""
    base: dict[str, Any] = {
        "externalId": "id",
        "userName": "user",
        "active": {"source": "status", "transforms": [{"op": "equals", "value": "Active"}]},
    }
    base.update(attributes)
    return Profile.model_validate({"name": "test", "upnDomain": "contoso.com", "attributes": base})


def run_plan(
    data: bytes | str | Path | CsvSource, profile: Profile | str, **options: Any
) -> tuple[Plan, list[Reject], list[dict[str, Any]]]:
    """Pass one and two over CSV data; returns the plan, the rejects and the parsed request bodies."""
    if isinstance(profile, str):
        profile = load_profile(profile)
    source = data if isinstance(data, CsvSource) else CsvSource(data.encode() if isinstance(data, str) else data)
    rejects: list[Reject] = []
    plan = plan_run(source, profile, on_reject=rejects.append, **options)
    bodies = [orjson.loads(request.body) for request in plan.requests()]
    return plan, rejects, bodies


def operations(bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [op for body in bodies for op in body["Operations"]]


def sent_ids(bodies: list[dict[str, Any]]) -> list[str]:
    return [op["data"]["externalId"] for op in operations(bodies)]
