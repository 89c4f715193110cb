"""Provisioning log entries shaped like the real ones (a page from an API-driven job is the model).

Every entry carries the sample's 19 top-level keys in the sample's order; step names, step types
and descriptions follow the sample's wording so that a client parsing real logs parses these.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from emulators.entra_bulk import ENTERPRISE_USER_SCHEMA, log_detail_key

SOURCE_SYSTEM = "API"
# The identity type real API-driven logs show, whichever schema variant the job uses.
SOURCE_IDENTITY_TYPE = ENTERPRISE_USER_SCHEMA
_SENTENCE_TYPE = SOURCE_IDENTITY_TYPE[0].upper() + SOURCE_IDENTITY_TYPE[1:]


@dataclass(frozen=True)
class JobIdentity:
    """Who the entries are about: the job, its app, and where it provisions to."""

    sp_id: str
    job_id: str
    tenant_id: str
    application_id: str
    app_display_name: str
    target_directory: str


def text(value: Any) -> str | None:
    """Values as the logs print them: strings, booleans as True/False, null stays null."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


def iso_seconds(epoch: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def error_info(code: str, reason: str, recommended: str | None = None) -> dict[str, Any]:
    return {
        "errorCode": code,
        "reason": reason,
        "additionalDetails": None,
        "errorCategory": "nonServiceFailure",
        "recommendedAction": recommended,
    }


class EntryFactory:
    """Builds the entries of one processing cycle (one accepted request)."""

    def __init__(
        self,
        job: JobIdentity,
        cycle_id: str,
        epoch: int,
        new_id: Callable[[], str],
        duration: Callable[[], int],
    ) -> None:
        self.job = job
        self.cycle_id = cycle_id
        self.epoch = epoch
        self._new_id = new_id
        self._duration = duration

    def entry(
        self,
        *,
        action: str,
        status: str,
        external_id: str,
        target: Mapping[str, Any] | None,
        user_principal_name: str | None,
        steps: list[dict[str, Any]],
        modified: list[tuple[str, Any, Any]],
        error: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """action: create | update | disable | other (provisioningAction spelling)."""
        object_id = str(target.get("id", "")) if target else ""
        display_name = text(target.get("displayName")) if target else None
        upn = user_principal_name or ""
        status_info: dict[str, Any] = {"status": status}
        if error:
            status_info = {"@odata.type": "#microsoft.graph.statusDetails", "status": status, **error}
        job = self.job
        return {
            "id": self._new_id(),
            "activityDateTime": iso_seconds(self.epoch),
            "tenantId": job.tenant_id,
            "jobId": job.job_id,
            "cycleId": self.cycle_id,
            "changeId": self._new_id(),
            "action": action.capitalize(),
            "provisioningAction": action,
            "durationInMilliseconds": self._duration(),
            "servicePrincipal": {"id": job.sp_id, "displayName": job.app_display_name},
            "sourceSystem": {"id": self._new_id(), "displayName": SOURCE_SYSTEM, "details": {}},
            "targetSystem": {
                "id": self._new_id(),
                "displayName": job.target_directory,
                "details": {
                    "ApplicationId": job.application_id,
                    "ServicePrincipalId": job.sp_id,
                    "ServicePrincipalDisplayName": job.app_display_name,
                },
            },
            "initiatedBy": {
                "id": "",
                "displayName": "Azure AD Provisioning Service",
                "initiatorType": "system",
            },
            "sourceIdentity": {
                "id": external_id,
                "displayName": "",
                "identityType": SOURCE_IDENTITY_TYPE,
                "details": {},
            },
            "targetIdentity": {
                "id": object_id,
                "displayName": display_name or "",
                "identityType": "User",
                "details": {
                    "id": object_id,
                    "odatatype": "User",
                    "DisplayName": display_name or "",
                    "UserPrincipalName": upn,
                },
            },
            "provisioningStatusInfo": {"status": status, "errorInformation": error},
            "statusInfo": status_info,
            "provisioningSteps": steps,
            "modifiedProperties": [
                {"displayName": name, "oldValue": text(old), "newValue": text(new)} for name, old, new in modified
            ],
        }

    # Steps, in the order the service writes them.

    def import_add(self, external_id: str, source: Mapping[str, Any]) -> dict[str, Any]:
        return _step(
            "EntryImportAdd",
            "import",
            "success",
            f"Received {SOURCE_IDENTITY_TYPE} '{external_id}' change of type (Add) from {SOURCE_SYSTEM}",
            {log_detail_key(name): text(value) for name, value in source.items()},
        )

    def import_existing(self, user: Mapping[str, Any]) -> dict[str, Any]:
        details: dict[str, str | None] = {"objectId": str(user.get("id", ""))}
        details.update({k: text(_plain(v)) for k, v in user.items() if k != "id"})
        return _step(
            "EntryImport",
            "matching",
            "success",
            f"Retrieved  '{user.get('userPrincipalName', '')}' from {self.job.target_directory}",
            details,
        )

    def scoping(self, active: Any) -> dict[str, Any]:
        return _step(
            "EntrySynchronizationScoping",
            "scoping",
            "success",
            f"Determine if {SOURCE_IDENTITY_TYPE} in scope by evaluating against each scoping filter",
            {
                "Active in the source system": text(active is not False),
                "Scoping filter evaluation passed": "True",
                "ScopeEvaluationResult": "{}",
            },
        )

    def will_create(self, external_id: str) -> dict[str, Any]:
        t, target = SOURCE_IDENTITY_TYPE, self.job.target_directory
        return _step(
            "EntrySynchronizationAdd",
            "matching",
            "success",
            f"{t} '{external_id}' will be created in {target} ({t} is active and assigned in "
            f"{SOURCE_SYSTEM}, but no matching {t} was found in {target})",
            {},
        )

    def unresolved_reference(self, attribute: str, reference: str, upn: str) -> dict[str, Any]:
        return _step(
            "EntrySynchronizationSkip",
            "processing",
            "success",
            unresolved_reason(attribute, reference, upn),
            {reference: f"{attribute} Add", "PropertyName": attribute, "SkipReason": UNRESOLVED_REFERENCE},
        )

    def redundant(self, external_id: str) -> dict[str, Any]:
        # Modelled: the service skips an export that would change nothing; the wording and the
        # RedundantExport reason are ours, only the skipped status is documented.
        return _step(
            "EntrySynchronizationSkip",
            "processing",
            "skipped",
            f"{SOURCE_IDENTITY_TYPE} '{external_id}' was skipped: its attribute values in "
            f"{self.job.target_directory} already match the values received from {SOURCE_SYSTEM}",
            {"SkipReason": "RedundantExport"},
        )

    def export_add(self, external_id: str, upn: str, values: Mapping[str, Any], ok: bool) -> dict[str, Any]:
        target = self.job.target_directory
        if not ok:
            return _step(
                "EntryExportAdd",
                "export",
                "failure",
                f"Failed to create {SOURCE_IDENTITY_TYPE} '{upn or external_id}' in {target}",
                {"ReportableIdentifier": external_id},
            )
        details = {log_detail_key(k): text(_plain(v)) for k, v in values.items()}
        details["ReportableIdentifier"] = external_id
        return _step(
            "EntryExportAdd",
            "export",
            "success",
            f"{_SENTENCE_TYPE} '{upn}' was created in {target}",
            details,
        )

    def export_update(self, external_id: str, upn: str, ok: bool) -> dict[str, Any]:
        target = self.job.target_directory
        description = (
            f"{_SENTENCE_TYPE} '{upn or external_id}' was updated in {target}"
            if ok
            else f"Failed to update {SOURCE_IDENTITY_TYPE} '{upn or external_id}' in {target}"
        )
        return _step(
            "EntryExportUpdate",
            "export",
            "success" if ok else "failure",
            description,
            {"ReportableIdentifier": external_id},
        )


UNRESOLVED_REFERENCE = "UnableToResolveReferenceAttributeValue"


def unresolved_reason(attribute: str, reference: str, upn: str) -> str:
    return (
        f"We were unable to assign {reference} as the {attribute} of {upn}. In order to ensure that "
        f"the references are updated properly, ensure that {reference} is in scope for provisioning "
        f"and has been provisioned, then provision {upn} again."
    )


def _plain(value: Any) -> Any:
    """A stored reference ({"id", "employeeId"}) prints as the referenced object's id."""
    return value.get("id") if isinstance(value, dict) else value


def _step(name: str, kind: str, status: str, description: str, details: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "provisioningStepType": kind,
        "status": status,
        "description": description,
        "details": details,
    }
