"""The run engine as the CLI composes it (threads), on either state backend, against the Graph emulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from emulators.entra import EntraEmulator
from provisioning.core.mapping.profiles import BundledProfiles
from provisioning.core.read.csv_source import CsvSource
from provisioning.core.read.records import RecordSource
from provisioning.engine.config import RunConfig
from provisioning.engine.sending import ThreadSender
from provisioning.engine.workflow import StartRequest, Workflow
from provisioning.state.interface import StateStore
from provisioning.state.local import LocalState
from tests.entra_support import FakeSleep, client_for
from tests.support import ROOT

SAMPLE = ROOT / "samples" / "workers.csv"
FAST = RunConfig(log_first_poll=0.01, log_wait=1.0)


def local_state(tmp_path: Path) -> LocalState:
    return LocalState(tmp_path / "runs", tmp_path / "state")


def threaded_workflow(
    emulator: EntraEmulator,
    state: StateStore,
    *,
    job: str | None = None,
    max_attempts: int = 6,
    config: RunConfig = FAST,
    profiles: dict[str, Any] | None = None,
    credential: Any = None,
    concurrency: int = 4,
    clock: Any = None,
) -> Workflow:
    client = client_for(
        emulator,
        job=job or emulator.bulk_upload_url().split("/jobs/")[1].split("/")[0],
        max_attempts=max_attempts,
        credential=credential,
        sleep=FakeSleep(),
    )
    sender = ThreadSender(client, concurrency=concurrency, sleep=FakeSleep())
    extra = {"clock": clock} if clock is not None else {}
    return Workflow(
        state, graph=lambda: client, profiles=BundledProfiles(profiles), sender=sender, config=config, **extra
    )


def start(
    workflow: Workflow,
    source: RecordSource | None = None,
    profile: str = "microsoft-sample",
    *,
    feed: str | None = None,
    **fields: Any,
) -> Any:
    return workflow.start(
        StartRequest(
            source=source or CsvSource(SAMPLE),
            profile=profile,
            trigger="cli",
            feed=feed or f"profile:{profile}",
            **fields,
        )
    )
