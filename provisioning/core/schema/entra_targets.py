"""The Entra attributes a custom extension attribute can target, grouped as an admin looks for them (the
mapping page's list; any other name can be typed in). Names are the provisioning job's target attribute
names: the Microsoft Graph user properties, and for an on-premises AD job (API2AD) the AD attributes."""

from __future__ import annotations

ENTRA_TARGET_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Identity", ("displayName", "givenName", "surname", "userPrincipalName", "mailNickname", "employeeId",
                  "employeeType", "userType", "preferredLanguage", "usageLocation")),
    ("Job", ("jobTitle", "department", "companyName", "officeLocation", "employeeHireDate",
             "employeeLeaveDateTime", "employeeOrgData.costCenter", "employeeOrgData.division")),
    ("Contact", ("mail", "otherMails", "mobilePhone", "businessPhones", "faxNumber", "streetAddress", "city",
                 "state", "postalCode", "country")),
    ("Extension attributes", tuple(f"extensionAttribute{n}" for n in range(1, 16))),
    ("On-premises Active Directory (API2AD jobs)",
     ("sAMAccountName", "title", "company", "physicalDeliveryOfficeName", "telephoneNumber", "employeeNumber",
      *(f"msDS-cloudExtensionAttribute{n}" for n in range(1, 21)))),
)  # fmt: skip
