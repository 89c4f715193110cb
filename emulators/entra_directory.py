"""Processing: one accepted request's users applied, in order, to a job's emulated directory.

Users are matched on externalId (the default matching pair externalId -> employeeId). Each
operation becomes a create, an update, a disable, a skip (nothing changed) or a failure, with the
log entries the service would write. Reference attributes (the manager) resolve against users the
job already holds, including ones created earlier in the same request; one created later in the
same request is set by an extra update entry at the end of the cycle (as in the real log sample).
One still unknown leaves only the skipped step (UnableToResolveReferenceAttributeValue) inside the
user's successful create or update, as on the real log page: no separate entry. It resolves when
the user is sent again after the manager exists.

Error codes come from Microsoft's documentation or from what real tenants report, never invented:
- MandatoryFieldsMissing: "required values are missing" (Provisioning logs, error codes table);
- AzureActiveDirectoryInvalidUserPrincipalName: a UPN Entra refuses, and "domain does not exist"
  for an unverified domain (Troubleshoot inbound provisioning API issues: "User creation - Invalid
  UPN", "User creation failed - Invalid domain"; that page names no code for the domain case, so the
  UPN code is used with the documented message);
- AzureActiveDirectoryDuplicateUserPrincipalName: a UPN another user holds (reported by real tenants);
- Request_BadRequest: a DateTime without a time part. Entra refuses it (docs/entra-api.md) but no page
  names the provisioning log code; Graph's own code for an invalid property value stands in.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from emulators.entra_bulk import flatten_user
from emulators.entra_log_entries import EntryFactory, error_info
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
        verified_domains: frozenset[str] | None = None,
    ) -> None:
        """``verified_domains``: the tenant's domains (lower case) a UPN may use; None accepts any (an AD
        target, where the forest's UPN suffixes are not known to the service)."""
        self.directory = directory
        self.verified_domains = verified_domains
        self.mapping = mapping
        self.entries = entries
        self.to_ad = to_ad
        self.new_object_id = new_object_id
        self.missing_active_disables = missing_active_disables
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
                "MandatoryFieldsMissing",
                f"The user '{external_id}' cannot be created in {self.entries.job.target_directory}: "
                "the required attribute userPrincipalName has no value, because the source attribute "
                "userName was not supplied.",
                "Send userName for every user that does not exist yet in the target.",
            )
        if upn:
            problem = upn_problem(str(upn), self.verified_domains)
            if problem:
                return error_info(
                    "AzureActiveDirectoryInvalidUserPrincipalName",
                    f"The userPrincipalName '{upn}' is not valid: {problem}.",
                    "Fix the userName in the source, or use a UserPrincipalName mapping with RandomString and "
                    "DefaultDomain() in the provisioning app.",
                )
            owner = self._upn_owners().get(str(upn).lower())
            if owner is not None and owner != external_id:
                return error_info(
                    "AzureActiveDirectoryDuplicateUserPrincipalName",
                    f"Another object with the same value for property userPrincipalName ({upn}) "
                    f"already exists (the user with externalId '{owner}').",
                    "Generate unique userName values in the client, or use SelectUniqueValue in the mapping.",
                )
        for name, value in values.items():
            if self.mapping.kind_of(name) == "DateTime" and not _is_date_time(value):
                return error_info(
                    "Request_BadRequest",
                    f"Invalid value specified for property '{name}' of resource 'User': {value!r} is not a "
                    "DateTime (a date and a time are required, e.g. 2021-05-01T00:00:00-05:00).",
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
            # Still unknown: the skipped step in the user's entry is all the service writes (the real
            # log page); the reference resolves when the user is sent again after its manager.

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


# Microsoft Entra "Password policies and account restrictions": UserPrincipalName policies.
_UPN_LOCAL = re.compile(r"^[A-Za-z0-9'.\-_!#^~]+$")
_DOMAIN = re.compile(r"^(?=.{1,48}$)([A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}$")


def upn_problem(upn: str, verified_domains: frozenset[str] | None) -> str | None:
    """Why Entra would refuse ``upn`` as a userPrincipalName, or None."""
    local, at, domain = upn.rpartition("@")
    if not at:
        return "it has no @domain"
    if not local or "@" in local:
        return "the part before @ is empty or holds another @"
    if not _UPN_LOCAL.fullmatch(local):
        return "only A-Z a-z 0-9 ' . - _ ! # ^ ~ are allowed before @"
    if local.endswith("."):
        return "a period cannot precede @"
    if len(local) > 64 or len(upn) > 113:
        return "up to 64 characters before @ and 113 in all"
    if not _DOMAIN.fullmatch(domain):
        return f"'{domain}' is not a domain name of up to 48 characters"
    if verified_domains is not None and domain.lower() not in verified_domains:
        return f"the domain does not exist in the tenant ('{domain}' is not one of its verified domains)"
    return None


def _is_date_time(value: Any) -> bool:
    """Entra DateTime attributes need a time part: 2021-05-01 alone is refused."""
    if not isinstance(value, str) or "T" not in value.upper():
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return False
    return True
