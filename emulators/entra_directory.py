"""Processing: one accepted request's users applied, in order, to a job's emulated directory.

Users are matched on externalId (the default matching pair externalId -> employeeId). Each
operation becomes a create, an update, a disable, a skip (nothing changed) or a failure, with the
log entries the service would write. Reference attributes (the manager) resolve against users the
job already holds, including ones created earlier in the same request; one created later in the
same request is set by an extra update entry at the end of the cycle (as in the real log sample);
one still unknown then gets a warning entry, and resolves on a later upload of the user.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from emulators.entra_bulk import flatten_user
from emulators.entra_log_entries import UNRESOLVED_REFERENCE, EntryFactory, error_info, unresolved_reason
from emulators.entra_mapping import UserMapping, apply_mapping

Directory = dict[str, dict[str, Any]]  # externalId -> emulated user (target attribute names)


class BatchProcessor:
    """Applies one request to one job's directory; the caller holds the job's lock."""

    def __init__(
        self,
        directory: Directory,
        mapping: UserMapping,
        entries: EntryFactory,
        *,
        to_ad: bool,
        new_object_id: Callable[[], str],
        missing_active_disables: bool,
    ) -> None:
        self.directory = directory
        self.mapping = mapping
        self.entries = entries
        self.to_ad = to_ad
        self.new_object_id = new_object_id
        self.missing_active_disables = missing_active_disables
        # Error codes are target-specific in the service ("AzureActiveDirectory..." for Entra);
        # the names after the prefix are modelled, not confirmed.
        self.prefix = "ActiveDirectory" if to_ad else "AzureActiveDirectory"
        self.written: list[dict[str, Any]] = []
        self._pending: dict[tuple[str, str], str] = {}  # (externalId, attribute) -> referenced externalId
        self._owners: dict[str, str] | None = None

    def run(self, users: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for data in users:
            self._process(data)
        self._resolve_pending()
        return self.written

    def _process(self, data: dict[str, Any]) -> None:
        external_id = data["externalId"]
        source = flatten_user(data)
        if "active" not in source and self.missing_active_disables:
            # Reported behaviour: a record without `active` ends up disabled. Clients must send it.
            source["active"] = False
        existing = self.directory.get(external_id)
        values = apply_mapping(self.mapping, source, creating=existing is None)
        references = {name: str(values.pop(name)) for name in list(values) if self.mapping.kind_of(name) == "Reference"}
        steps = [self.entries.import_add(external_id, source)]
        if existing is None:
            self._create(external_id, source, values, references, steps)
        else:
            self._update(external_id, existing, source, values, references, steps)

    def _create(
        self,
        external_id: str,
        source: Mapping[str, Any],
        values: dict[str, Any],
        references: dict[str, str],
        steps: list[dict[str, Any]],
    ) -> None:
        steps += [self.entries.scoping(source.get("active")), self.entries.will_create(external_id)]
        upn = values.get("userPrincipalName")
        error = self._invalid(external_id, values, creating=True)
        if error:
            steps.append(self.entries.export_add(external_id, str(upn or ""), values, ok=False))
            self._write("create", "failure", external_id, None, upn or source.get("userName"), steps, [], error)
            return
        user: dict[str, Any] = {"id": self.new_object_id(), **values}
        # Graph creates enabled accounts unless told otherwise.
        user.setdefault("accountDisabled" if self.to_ad else "accountEnabled", not self.to_ad)
        modified: list[tuple[str, Any, Any]] = [(name, None, value) for name, value in values.items()]
        for name, reference in references.items():
            manager = self.directory.get(reference)
            if manager is not None:
                user[name] = {"id": manager["id"], "employeeId": reference}
                modified.append((name, None, manager["id"]))
            else:
                self._pending[(external_id, name)] = reference
                steps.append(self.entries.unresolved_reference(name, reference, str(upn)))
        if not self.to_ad:
            # What every real create entry also shows (the service generates the password).
            modified += [("IsSoftDeleted", None, "False"), ("passwordProfile.password", None, "[Redacted]")]
        self.directory[external_id] = user
        self._claim_upn(external_id, user)
        steps.append(self.entries.export_add(external_id, str(upn), values, ok=True))
        self._write("create", "success", external_id, user, upn, steps, modified)

    def _update(
        self,
        external_id: str,
        user: dict[str, Any],
        source: Mapping[str, Any],
        values: dict[str, Any],
        references: dict[str, str],
        steps: list[dict[str, Any]],
    ) -> None:
        steps += [self.entries.import_existing(user), self.entries.scoping(source.get("active"))]
        changes = {name: value for name, value in values.items() if user.get(name) != value}
        upn = values.get("userPrincipalName", user.get("userPrincipalName"))
        error = self._invalid(external_id, changes, creating=False)
        if error:
            steps.append(self.entries.export_update(external_id, str(upn or ""), ok=False))
            self._write("update", "failure", external_id, user, upn, steps, [], error)
            return
        modified: list[tuple[str, Any, Any]] = [(n, user.get(n), v) for n, v in changes.items()]
        reference_changes: dict[str, dict[str, str]] = {}
        for name, reference in references.items():
            self._pending.pop((external_id, name), None)
            current = user.get(name)
            manager = self.directory.get(reference)
            if manager is None:
                self._pending[(external_id, name)] = reference
                steps.append(self.entries.unresolved_reference(name, reference, str(upn)))
            elif not isinstance(current, dict) or current.get("id") != manager["id"]:
                reference_changes[name] = {"id": manager["id"], "employeeId": reference}
                modified.append((name, current.get("id") if isinstance(current, dict) else None, manager["id"]))
        if not modified:
            steps.append(self.entries.redundant(external_id))
            self._write("other", "skipped", external_id, user, upn, steps, [])
            return
        action = "disable" if self._disables(user, changes) else "update"
        user.update(changes)
        user.update(reference_changes)
        self._claim_upn(external_id, user)
        steps.append(self.entries.export_update(external_id, str(upn), ok=True))
        self._write(action, "success", external_id, user, upn, steps, modified)

    def _upn_owners(self) -> dict[str, str]:
        """userPrincipalName (lower case) -> externalId, built once per request: a scan per user would make
        large uploads quadratic."""
        if self._owners is None:
            self._owners = {str(u.get("userPrincipalName", "")).lower(): ext for ext, u in self.directory.items()}
        return self._owners

    def _claim_upn(self, external_id: str, user: Mapping[str, Any]) -> None:
        if self._owners is not None and user.get("userPrincipalName"):
            self._owners[str(user["userPrincipalName"]).lower()] = external_id

    def _disables(self, user: Mapping[str, Any], changes: Mapping[str, Any]) -> bool:
        if self.to_ad:
            return changes.get("accountDisabled") is True and user.get("accountDisabled") is not True
        return changes.get("accountEnabled") is False and user.get("accountEnabled") is not False

    def _invalid(self, external_id: str, values: Mapping[str, Any], *, creating: bool) -> dict[str, Any] | None:
        """The error information of a create/update the target would refuse, or None."""
        upn = values.get("userPrincipalName")
        if creating and not upn:
            return error_info(
                f"{self.prefix}RequiredAttributeMissing",
                f"The user '{external_id}' cannot be created in {self.entries.job.target_directory}: "
                "the required attribute userPrincipalName has no value, because the source attribute "
                "userName was not supplied.",
                "Send userName for every user that does not exist yet in the target.",
            )
        if upn:
            owner = self._upn_owners().get(str(upn).lower())
            if owner is not None and owner != external_id:
                return error_info(
                    f"{self.prefix}ConflictingObjectFound",
                    f"Another object with the same value for property userPrincipalName ({upn}) "
                    f"already exists (the user with externalId '{owner}').",
                    "Generate unique userName values in the client, or use SelectUniqueValue in the mapping.",
                )
        for name, value in values.items():
            if self.mapping.kind_of(name) == "DateTime" and not _is_date_time(value):
                return error_info(
                    f"{self.prefix}InvalidValue",
                    f"The value {value!r} of {name} is not a valid DateTime: a date and a time are "
                    "required, e.g. 2021-05-01T00:00:00-05:00.",
                    "Send DateTime values with a time part and a zone.",
                )
        return None

    def _resolve_pending(self) -> None:
        """End of the cycle: set references to users that arrived later in the same request."""
        for (external_id, name), reference in self._pending.items():
            user, manager = self.directory.get(external_id), self.directory.get(reference)
            if user is None:
                continue
            upn = user.get("userPrincipalName")
            if manager is not None:
                old = user.get(name)
                user[name] = {"id": manager["id"], "employeeId": reference}
                steps = [self.entries.export_update(external_id, str(upn), ok=True)]
                old_id = old.get("id") if isinstance(old, dict) else None
                self._write("update", "success", external_id, user, upn, steps, [(name, old_id, manager["id"])])
            else:
                # Modelled: the service reports the unresolved reference on the user's entries;
                # a separate warning entry makes it filterable. It resolves on a later upload.
                steps = [self.entries.unresolved_reference(name, reference, str(upn))]
                error = error_info(UNRESOLVED_REFERENCE, unresolved_reason(name, reference, str(upn)))
                error["recommendedAction"] = (
                    f"Send {reference} before the users it manages, then send {external_id} again."
                )
                self._write("other", "warning", external_id, user, upn, steps, [], error)

    def _write(
        self,
        action: str,
        status: str,
        external_id: str,
        user: Mapping[str, Any] | None,
        upn: Any,
        steps: list[dict[str, Any]],
        modified: list[tuple[str, Any, Any]],
        error: dict[str, Any] | None = None,
    ) -> None:
        self.written.append(
            self.entries.entry(
                action=action,
                status=status,
                external_id=external_id,
                target=user,
                user_principal_name=str(upn) if upn else None,
                steps=steps,
                modified=modified,
                error=error,
            )
        )


def _is_date_time(value: Any) -> bool:
    """Entra DateTime attributes need a time part: 2021-05-01 alone is refused."""
    if not isinstance(value, str) or "T" not in value.upper():
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return False
    return True
