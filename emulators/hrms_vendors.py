"""Which module serves which vendor: each one's worker records, routes and working connector configuration.

Paths are relative to the emulator's base URL. Data calls take injected faults once their path has
matched; token calls never do. Unknown paths get 404, a known path with another method 405.
"""

from __future__ import annotations

import datetime as dt
from types import ModuleType
from typing import TYPE_CHECKING, Any

from emulators import hrms_adp, hrms_bamboohr, hrms_oracle, hrms_successfactors, hrms_workday
from emulators.entra_server import Request, Response
from emulators.hrms_custom import route_custom
from emulators.hrms_http import HrmsError
from emulators.hrms_shapes import custom

if TYPE_CHECKING:
    from emulators.hrms import HrmsEmulator

MODULES: dict[str, ModuleType] = {
    "workday": hrms_workday,
    "workday-raas": hrms_workday,
    "successfactors": hrms_successfactors,
    "bamboohr": hrms_bamboohr,
    "adp": hrms_adp,
    "oracle-hcm": hrms_oracle,
}


def raw_records(emu: HrmsEmulator) -> list[dict[str, Any]]:
    """The records as served: SuccessFactors fully expanded, Oracle with the documented expand."""
    module = MODULES.get(emu.vendor)
    if module is None:
        return [custom(p, emu.people) for p in emu.people]
    records: list[dict[str, Any]] = module.records(emu)
    return records


def vendor_config(emu: HrmsEmulator) -> dict[str, Any] | None:
    """The vendor's connector configuration (None: custom-rest, configured by its auth keyword)."""
    module = MODULES.get(emu.vendor)
    return None if module is None else dict(module.config(emu))


def parse_since(since: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(since.strip().replace("Z", "+00:00"))
    except ValueError:
        raise HrmsError(
            400, {"error": "invalid_parameter", "message": f"since must be ISO 8601, got {since!r}"}
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def route(emu: HrmsEmulator, request: Request) -> Response:
    module = MODULES.get(emu.vendor)
    if module is None:
        return route_custom(emu, request)
    response: Response = module.route(emu, request)
    return response
