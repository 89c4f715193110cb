"""What a run may do, from the settings: batch size, delta, safety stops, the job check, result waiting.

Built once by a door from ``Settings`` (the CLI may override a few values from its flags) and handed to
the workflow, so the engine itself never reads the environment.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from provisioning.settings import Settings


@dataclass(frozen=True)
class RunConfig:
    batch_size: int = 50
    full_sync: bool = False
    """Send every record, changed or not (DELTA_FULL_SYNC or --full-sync)."""
    max_disable_share: float = 0.10
    max_shrink_share: float = 0.10
    approved_runs: frozenset[str] = field(default_factory=frozenset)
    ignore_job_status: bool = False
    concurrency: int = 4
    log_first_poll: float = 30.0
    log_wait: float = 1800.0

    @classmethod
    def from_settings(cls, settings: Settings) -> RunConfig:
        return cls(
            batch_size=settings.entra_batch_size,
            full_sync=settings.delta_full_sync,
            max_disable_share=settings.safety_max_disable_share,
            max_shrink_share=settings.safety_max_shrink_share,
            approved_runs=frozenset(r.strip() for r in settings.safety_approved_runs.split(",") if r.strip()),
            ignore_job_status=settings.entra_ignore_job_status,
            concurrency=settings.entra_upload_concurrency,
            log_first_poll=settings.entra_log_first_poll_seconds,
            log_wait=settings.entra_log_wait_seconds,
        )

    def but(self, **changes: object) -> RunConfig:
        return replace(self, **changes)  # type: ignore[arg-type]

    def for_embedded_emulator(self) -> RunConfig:
        """The embedded Graph emulator (the CLI's and serve's default) writes its logs at once: no need to wait
        minutes for them."""
        return self.but(log_first_poll=0.2, log_wait=5.0)
