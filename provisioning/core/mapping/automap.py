"""Auto-map: from source field names (a CSV header, JSON keys) to a suggested mapping profile.

Names are compared after normalising case, spaces, underscores, dashes, dots and array indexes; a
nested path is also tried by its last segment (``person.legalName.givenName`` -> ``givenname``).
A field that matches nothing is listed, never guessed at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from provisioning.core.mapping.profile import Profile

CUSTOM_NAMESPACE = "urn:ietf:params:scim:schemas:extension:hr:1.0:User"
STATUS_TABLE: dict[str, bool] = {
    "Active": True, "A": True, "Leave": True, "On Leave": True, "U": True, "P": True, "Hired": True,
    "true": True, "yes": True, "1": True,
    "Inactive": False, "Terminated": False, "T": False, "Retired": False, "Deceased": False,
    "Suspended": False, "S": False, "false": False, "no": False, "0": False,
}  # fmt: skip
"""HR status codes seen across systems (SuccessFactors: A active, U/P leave, S suspended, T terminated)."""

# target -> normalised names, best first. Targets: core "userName", "name.givenName",
# "enterprise.department", multi-valued "emails", "phoneNumbers:work", "addresses.locality", and
# custom "custom.HireDate".
_PATTERNS: dict[str, tuple[str, ...]] = {
    "externalId": ("workerid", "employeeid", "empid", "personid", "personidexternal", "personnumber",
                   "workerididvalue", "externalid", "staffid"),
    "userName": ("userid", "username", "upn", "userprincipalname", "loginname", "login", "networkid"),
    "name.givenName": ("firstname", "givenname", "legalnamefirstname", "preferredfirstname", "fname"),
    "name.familyName": ("lastname", "familyname", "surname", "legalnamelastname", "familyname1", "lname"),
    "name.middleName": ("middlename", "legalnamemiddlename", "middleinitial"),
    "displayName": ("fullname", "displayname", "preferredname", "name", "legalnameformattedname",
                    "formattedname", "legalname"),
    "nickName": ("nickname",),
    "title": ("jobtitle", "title", "businesstitle", "positiontitle", "position", "jobname"),
    "userType": ("workertype", "employeetype", "employmenttype", "usertype", "workertypecode",
                 "workercategory"),
    "active": ("workerstatus", "status", "employmentstatus", "employeestatus", "active", "isactive",
               "emplstatus", "emplstatusnavexternalcode", "assignmentstatustype",
               "workerstatusstatuscodecodevalue", "statuscode"),
    "enterprise.department": ("department", "departmentname", "dept", "departmentnavname",
                              "homedepartment", "organizationalunit"),
    "enterprise.division": ("division", "divisionname", "businessunit"),
    "enterprise.costCenter": ("costcenter", "costcentre", "costcentername"),
    "enterprise.organization": ("company", "organization", "organisation", "companyname",
                                "legalentity", "legalemployer"),
    "enterprise.employeeNumber": ("employeenumber", "employeeno", "empno", "badgenumber"),
    "enterprise.manager": ("managerid", "managerworkerid", "manageremployeeid", "supervisorid",
                           "supervisoreid", "reportstoid", "managerpersonnumber", "reportsto", "manager"),
    "addresses.streetAddress": ("streetaddress", "street", "address", "address1", "addressline1",
                                "workaddress"),
    "addresses.locality": ("city", "locality", "town", "workcity"),
    "addresses.region": ("state", "region", "province", "stateprovince", "county"),
    "addresses.postalCode": ("zipcode", "postalcode", "zip", "postcode"),
    "addresses.country": ("countrycode", "country", "twolettercountrycode", "workcountry"),
    "phoneNumbers:work": ("officephone", "workphone", "phone", "phonenumber", "telephone",
                          "businessphone", "telephonenumber"),
    "phoneNumbers:mobile": ("mobile", "mobilephone", "cellphone", "mobilenumber"),
    "emails": ("email", "workemail", "emailaddress", "mail", "businessemail", "emailuri", "workemailaddress"),
    "preferredLanguage": ("preferredlanguage", "language"),
    "locale": ("locale",),
    "timezone": ("timezone", "tz"),
    "custom.HireDate": ("hiredate", "originalhiredate", "startdate", "firstdayofwork", "dateofhire"),
    "custom.TerminationDate": ("terminationdate", "enddate", "lastdayofwork", "leavedate"),
}  # fmt: skip
_CUSTOM_TARGETS = {"HireDate": "employeeHireDate", "TerminationDate": "employeeLeaveDateTime"}
_INDEX = re.compile(r"\[[^\]]*\]")
_NOISE = re.compile(r"[\s_\-.]+")


def normalise(name: str) -> str:
    return _NOISE.sub("", _INDEX.sub("", name)).lower()


def _candidates(name: str) -> list[str]:
    """The whole normalised name, then its last one and last two path segments."""
    segments = [s for s in _INDEX.sub("", name).split(".") if s]
    forms = [normalise(name)]
    if len(segments) > 1:
        forms += [normalise(".".join(segments[-2:])), normalise(segments[-1])]
    return forms


_LOOKUP = {pattern: (target, rank) for target, patterns in _PATTERNS.items()
           for rank, pattern in enumerate(patterns)}  # fmt: skip


@dataclass
class Suggestion:
    profile: dict[str, Any]
    matched: dict[str, str] = field(default_factory=dict)
    """source field -> target it was mapped to"""
    unmatched: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def suggest_profile(fields: list[str], *, name: str = "suggested") -> Suggestion:
    """A profile (as a JSON-ready dict, validated) mapping every recognised field."""
    chosen: dict[str, tuple[int, int, str]] = {}  # target -> (form rank, pattern rank, field)
    unmatched: list[str] = []
    for source_field in fields:
        best = None
        for form_rank, form in enumerate(_candidates(source_field)):
            if form in _LOOKUP:
                target, rank = _LOOKUP[form]
                best = (target, (form_rank, rank, source_field))
                break
        if best is None:
            unmatched.append(source_field)
            continue
        target, key = best
        if target not in chosen or key < chosen[target]:
            if target in chosen:
                unmatched.append(chosen[target][2])
            chosen[target] = key
        else:
            unmatched.append(source_field)
    picked = {target: key[2] for target, key in chosen.items()}
    suggestion = Suggestion(profile={}, unmatched=unmatched)
    suggestion.matched = {source_field: target for target, source_field in picked.items()}
    if "externalId" not in picked and "enterprise.employeeNumber" in picked:
        picked["externalId"] = picked["enterprise.employeeNumber"]
        suggestion.notes.append(f"externalId taken from the employee number field {picked['externalId']!r}")
    suggestion.profile = _profile_document(picked, name, suggestion.notes)
    Profile.model_validate(suggestion.profile)
    return suggestion


def _profile_document(picked: dict[str, str], name: str, notes: list[str]) -> dict[str, Any]:
    attributes: dict[str, Any] = {}
    if "externalId" not in picked:
        notes.append("no worker id field recognised: set attributes.externalId by hand")
        attributes["externalId"] = "WorkerID"
    if "enterprise.employeeNumber" not in picked and "externalId" in picked:
        picked["enterprise.employeeNumber"] = picked["externalId"]
    for target in ("externalId", "userName", "displayName", "nickName", "title", "userType",
                   "preferredLanguage", "locale", "timezone"):  # fmt: skip
        if target in picked:
            attributes[target] = picked[target]
    if "userName" not in picked:
        _user_name_fallback(picked, attributes, notes)
    attributes["active"] = status_rule(picked["active"]) if "active" in picked else {"constant": True}
    if "active" not in picked:
        notes.append("no status field recognised: every worker is sent as active")
    name_rules = {k.split(".")[1]: v for k, v in picked.items() if k.startswith("name.")}
    if name_rules:
        attributes["name"] = name_rules
    if "emails" in picked:
        attributes["emails"] = [{"value": picked["emails"], "type": {"constant": "work"},
                                 "primary": {"constant": True}}]  # fmt: skip
    phones = [{"value": picked[f"phoneNumbers:{kind}"], "type": {"constant": kind}}
              for kind in ("work", "mobile") if f"phoneNumbers:{kind}" in picked]  # fmt: skip
    if phones:
        attributes["phoneNumbers"] = phones
    address = {k.split(".")[1]: v for k, v in picked.items() if k.startswith("addresses.")}
    if address:
        attributes["addresses"] = [{"type": {"constant": "work"}, **address}]
    enterprise = {k.split(".")[1]: v for k, v in picked.items() if k.startswith("enterprise.")}
    if enterprise:
        attributes["enterprise"] = enterprise
    custom = {
        k.split(".")[1]: {"source": v, "type": "DateTime", "target": _CUSTOM_TARGETS[k.split(".")[1]],
                          "transforms": [{"op": "date", "timeZone": "UTC"}]}
        for k, v in picked.items()
        if k.startswith("custom.")
    }  # fmt: skip
    if custom:
        attributes["extensions"] = [{"namespace": CUSTOM_NAMESPACE, "attributes": custom}]
    return {
        "name": name,
        "description": "Suggested by auto-map: review before use.",
        "attributes": attributes,
    }


def _user_name_fallback(picked: dict[str, str], attributes: dict[str, Any], notes: list[str]) -> None:
    if "emails" in picked:
        attributes["userName"] = picked["emails"]
        notes.append(f"userName taken from the email field {picked['emails']!r}")
    elif "name.givenName" in picked and "name.familyName" in picked:
        attributes["userName"] = {
            "template": f"{{{picked['name.givenName']}}}.{{{picked['name.familyName']}}}@example.com",
            "transforms": [{"op": "foldDiacritics"}, {"op": "lower"},
                           {"op": "replace", "pattern": "[^a-z0-9.@_-]", "replacement": ""}],
        }  # fmt: skip
        notes.append("userName built from first and last name with the placeholder domain example.com")
    else:
        attributes["userName"] = picked.get("externalId", "WorkerID")
        notes.append("no user name, email or name fields recognised: userName is the worker id")


def status_rule(field_name: str) -> dict[str, Any]:
    """``active`` from an HR status field through the table of common status codes."""
    return {"source": field_name, "transforms": [{"op": "lookup", "table": dict(STATUS_TABLE)}]}
