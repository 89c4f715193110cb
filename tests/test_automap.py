"""Auto-map: suggestions from Microsoft's real headers and from HR systems' usual field names."""

from __future__ import annotations

from provisioning import CsvSource, parse_profile
from provisioning.core.mapping.automap import normalise, suggest_profile
from tests.support import microsoft_fixture


def test_microsoft_header_is_mapped_and_the_rest_listed() -> None:
    header = CsvSource(microsoft_fixture("csv2scim/csv-with-2-records.csv")).fields
    suggestion = suggest_profile(header)
    matched = suggestion.matched
    assert matched["WorkerID"] == "externalId"
    assert matched["UserID"] == "userName"
    assert matched["FirstName"] == "name.givenName" and matched["LastName"] == "name.familyName"
    assert matched["FullName"] == "displayName" and matched["JobTitle"] == "title"
    assert matched["WorkerType"] == "userType" and matched["WorkerStatus"] == "active"
    assert matched["ManagerID"] == "enterprise.manager" and matched["CostCenter"] == "enterprise.costCenter"
    assert matched["Company"] == "enterprise.organization" and matched["Division"] == "enterprise.division"
    assert matched["City"] == "addresses.locality" and matched["ZipCode"] == "addresses.postalCode"
    assert matched["OfficePhone"] == "phoneNumbers:work" and matched["HireDate"] == "custom.HireDate"
    assert sorted(suggestion.unmatched) == ["Custom01", "Custom02", "GenderPronoun", "Location", "OnLeave"]
    profile = parse_profile(suggestion.profile)
    assert profile.attributes.enterprise is not None
    assert profile.attributes.enterprise.employeeNumber.source == "WorkerID"  # type: ignore[union-attr]


def test_the_reference_clients_patterns_after_normalising() -> None:
    fields = [
        "Employee ID",
        "first_name",
        "Last-Name",
        "Middle Name",
        "Display_Name",
        "Job Title",
        "Employee Type",
        "Employment Status",
        "DEPARTMENT",
        "division",
        "cost-center",
        "Organization",
        "Employee Number",
        "Manager Id",
        "Street Address",
        "city",
        "State",
        "Postal Code",
        "Country",
        "Phone",
        "Email",
        "Preferred Language",
        "Time Zone",
    ]
    suggestion = suggest_profile(fields)
    assert suggestion.unmatched == []
    assert set(suggestion.matched.values()) >= {
        "externalId",
        "name.givenName",
        "name.familyName",
        "name.middleName",
        "displayName",
        "title",
        "userType",
        "active",
        "enterprise.department",
        "enterprise.division",
        "enterprise.costCenter",
        "enterprise.organization",
        "enterprise.employeeNumber",
        "enterprise.manager",
        "addresses.streetAddress",
        "addresses.locality",
        "addresses.region",
        "addresses.postalCode",
        "addresses.country",
        "phoneNumbers:work",
        "emails",
        "preferredLanguage",
        "timezone",
    }
    assert suggestion.profile["attributes"]["userName"] == "Email"


def test_hr_system_field_names() -> None:
    workday = suggest_profile(
        [
            "Employee_ID",
            "Legal_Name_First_Name",
            "Legal_Name_Last_Name",
            "Email_Address",
            "Manager_ID",
            "Hire_Date",
            "Termination_Date",
        ]
    )
    assert workday.matched["Employee_ID"] == "externalId" and workday.matched["Manager_ID"] == "enterprise.manager"
    assert workday.matched["Termination_Date"] == "custom.TerminationDate"
    sap = suggest_profile(
        ["personIdExternal", "personalInfoNav.results[0].firstName", "personalInfoNav.results[0].lastName"]
    )
    assert sap.matched["personIdExternal"] == "externalId"
    assert sap.matched["personalInfoNav.results[0].firstName"] == "name.givenName"
    bamboo = suggest_profile(["id", "employeeNumber", "firstName", "lastName", "workEmail", "supervisorEId", "status"])
    assert bamboo.matched["employeeNumber"] == "enterprise.employeeNumber"
    assert bamboo.profile["attributes"]["externalId"] == "employeeNumber"
    assert "id" in bamboo.unmatched
    adp = suggest_profile(
        [
            "workerID.idValue",
            "person.legalName.givenName",
            "person.legalName.familyName1",
            "workerStatus.statusCode.codeValue",
        ]
    )
    assert adp.matched["workerID.idValue"] == "externalId"
    assert adp.matched["person.legalName.familyName1"] == "name.familyName"
    assert adp.matched["workerStatus.statusCode.codeValue"] == "active"
    oracle = suggest_profile(["PersonNumber", "names[0].FirstName", "names[0].LastName"])
    assert oracle.matched["PersonNumber"] == "externalId"


def test_nothing_is_guessed_and_user_name_falls_back_visibly() -> None:
    suggestion = suggest_profile(["PersonId", "GivenName", "Surname", "ShoeSize", "FavouriteColour"])
    assert suggestion.unmatched == ["ShoeSize", "FavouriteColour"]
    assert suggestion.profile["attributes"]["userName"]["template"] == "{GivenName}.{Surname}@example.com"
    assert any("example.com" in note for note in suggestion.notes)
    assert any("no status field" in note for note in suggestion.notes)


def test_a_second_match_for_the_same_target_is_listed_not_used() -> None:
    suggestion = suggest_profile(["WorkerID", "EmployeeID"])
    assert suggestion.matched == {"WorkerID": "externalId"} or "EmployeeID" in suggestion.unmatched
    assert "EmployeeID" in suggestion.unmatched


def test_normalise() -> None:
    assert normalise("Employee_ID") == normalise("employee-id") == normalise("Employee ID") == "employeeid"
    assert normalise("names[0].FirstName") == "namesfirstname"
