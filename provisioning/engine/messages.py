"""The queue messages of the fan-out: one model each, shared by the producer and the consumer."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from provisioning.core.errors import ProvisioningError
from provisioning.core.runs import RUN_ID


class MalformedMessage(ProvisioningError):
    """A message no sender of ours wrote: recorded and dropped, never retried into the poison queue."""


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    runId: str = Field(pattern=RUN_ID.pattern)

    def text(self) -> str:
        return self.model_dump_json()

    @classmethod
    def parse(cls, text: str | bytes) -> _Message:
        try:
            return cls.model_validate_json(text)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'message'}: {e['msg']}" for e in exc.errors(include_url=False)
            )
            raise MalformedMessage(f"{cls.__name__}: {problems}") from None


class UploadMessage(_Message):
    """Send request ``batch`` of run ``runId`` (the upload queue)."""

    batch: int = Field(ge=1)


class CoordinateMessage(_Message):
    """Move run ``runId`` on (the coordination queue): release the next group, finalise, or read the logs."""

    attempt: int = Field(default=0, ge=0)
    phase: Literal["sending", "results"] = "sending"
