"""Schema sync over HTTP against the Graph emulator, on a job schema written the way Microsoft documents
schemas: lowercase types, enum values we do not list, a mapping without a source, properties nobody lists.
What was there goes back exactly as it came; only what the sync adds is ours to check."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from emulators.entra import DEFAULT_JOB, EntraEmulator
from emulators.entra_errors import GraphError
from emulators.entra_schema import UNKNOWN_ENUM_VALUE, default_schema
from emulators.entra_schema_check import check_schema
from provisioning.core.mapping.profile import Profile
from provisioning.core.mapping.profiles import load_profile
from provisioning.core.schema.sync import SchemaSyncError
from provisioning.engine.workflow import sync_job_schema
from provisioning.entra.graph_client import GraphClient
from tests.entra_support import client_for
from tests.support import minimal_profile

CONTOSO = "urn:ietf:params:scim:schemas:extension:contoso:1.0:User"
HIRE_DATE = f"{CONTOSO}:HireDate"
JOB_CODE = f"{CONTOSO}:JobCode"


class SchemaPuts(httpx.HTTPTransport):
    """Sends everything on, keeping the parsed body of each PUT .../schema."""

    def __init__(self) -> None:
        super().__init__()
        self.bodies: list[dict[str, Any]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PUT" and request.url.path.endswith("/schema"):
            self.bodies.append(orjson.loads(request.read()))
        return super().handle_request(request)


@pytest.fixture
def docs_graph() -> Iterator[EntraEmulator]:
    with EntraEmulator(schema_variant="docs", rate_limit=(1000, 1.0)) as emulator:
        yield emulator


def source_object(schema: dict[str, Any]) -> dict[str, Any]:
    return schema["directories"][0]["objects"][0]


def user_mapping(schema: dict[str, Any]) -> dict[str, Any]:
    return schema["synchronizationRules"][0]["objectMappings"][0]


def mappings_of(schema: dict[str, Any]) -> list[dict[str, Any]]:
    return user_mapping(schema)["attributeMappings"]


def by_name(items: list[dict[str, Any]], key: str, name: str) -> dict[str, Any]:
    [item] = [i for i in items if i.get(key) == name]
    return item


def without(schema: dict[str, Any], attributes: set[str], targets: set[str]) -> dict[str, Any]:
    """``schema`` less the named source attributes and the mappings into ``targets``."""
    rest = copy.deepcopy(schema)
    source = source_object(rest)
    source["attributes"] = [a for a in source["attributes"] if a["name"] not in attributes]
    mapping = user_mapping(rest)
    mapping["attributeMappings"] = [m for m in mapping["attributeMappings"] if m["targetAttributeName"] not in targets]
    return rest


def sync(client: GraphClient, profile: Profile) -> dict[str, Any] | None:
    record, _ = sync_job_schema(client, profile, dry_run=False)
    return record


def test_the_put_keeps_what_the_sync_does_not_know_and_a_second_sync_puts_nothing(docs_graph: EntraEmulator) -> None:
    puts = SchemaPuts()
    with client_for(docs_graph, transport=puts) as client:
        read = client.get_schema()
        # What the seeded schema holds, so the comparison below is known to cover it.
        lowercase = [a["name"] for a in source_object(read)["attributes"] if a["type"] == "string"]
        assert len(lowercase) > 20
        timezone = by_name(source_object(read)["attributes"], "name", "timezone")
        assert timezone["mutability"] == UNKNOWN_ENUM_VALUE and "futureProperty" in timezone
        mappings = mappings_of(read)
        assert by_name(mappings, "targetAttributeName", "displayName")["flowType"] == UNKNOWN_ENUM_VALUE
        given_name = by_name(mappings, "targetAttributeName", "givenName")
        assert given_name["flowBehavior"] == UNKNOWN_ENUM_VALUE and "futureSourceProperty" in given_name["source"]
        assert by_name(mappings, "targetAttributeName", "extensionAttribute15")["source"] is None
        assert "futureSchemaProperty" in read and "futureObjectMappingProperty" in user_mapping(read)

        first = sync(client, load_profile("microsoft-sample"))
        assert first is not None and first["written"] is True
        assert docs_graph.schema_put_count() == 1, "the emulator took the PUT (204)"
        [body] = puts.bodies
        # Everything that was there, exactly as it came; plus our two attributes and their mappings.
        assert without(body, {HIRE_DATE, JOB_CODE}, {"employeeHireDate", "extensionAttribute1"}) == read
        added = source_object(body)["attributes"][-2:]
        assert [(a["name"], a["type"], a["mutability"]) for a in added] == [
            (HIRE_DATE, "DateTime", "ReadWrite"),
            (JOB_CODE, "String", "ReadWrite"),
        ]
        assert [(m["targetAttributeName"], m["flowType"], m["flowBehavior"]) for m in mappings_of(body)[-2:]] == [
            ("employeeHireDate", "Always", "FlowWhenChanged"),
            ("extensionAttribute1", "Always", "FlowWhenChanged"),
        ]

        second = sync(client, load_profile("microsoft-sample"))
    assert second == {"changes": [], "written": False}
    assert len(puts.bodies) == 1 and docs_graph.schema_put_count() == 1


@pytest.mark.parametrize("kind", ["String", "DateTime"])
def test_a_date_attribute_is_written_with_the_type_the_profile_declares(docs_graph: EntraEmulator, kind: str) -> None:
    # Which of the two API-driven provisioning takes for dates is unconfirmed: a profile may say either.
    as_date = {"op": "date", "output": "dateTime" if kind == "DateTime" else "date"}
    hire_date = {"source": "hired", "type": kind, "target": "employeeHireDate", "transforms": [as_date]}
    profile = minimal_profile(extensions=[{"namespace": CONTOSO, "attributes": {"HireDate": hire_date}}])
    with client_for(docs_graph) as client:
        record = sync(client, profile)
        assert record is not None and record["written"] is True
        assert record["changes"][0] == f"+ attribute {HIRE_DATE} ({kind})"
        stored = docs_graph.schema()
        # As documented ("String", "DateTime"), even among the schema's lowercase "string" types.
        assert by_name(source_object(stored)["attributes"], "name", HIRE_DATE)["type"] == kind
        assert by_name(mappings_of(stored), "targetAttributeName", "employeeHireDate")["source"]["name"] == HIRE_DATE
        assert sync(client, profile) == {"changes": [], "written": False}
    assert docs_graph.schema_put_count() == 1


@pytest.mark.parametrize("undiscovered", ["no objects", "objects left out", "another object"])
def test_a_source_directory_without_the_rules_object_names_the_discover_call(
    graph: EntraEmulator, undiscovered: str
) -> None:
    with client_for(graph) as client:
        schema = client.get_schema()
        directory = schema["directories"][0]
        if undiscovered == "no objects":
            directory["objects"] = []
        elif undiscovered == "objects left out":
            del directory["objects"]
        else:
            directory["objects"][0]["name"] = "Worker"
        client.put_schema(schema)  # a schema the service holds: the emulator takes it
        with pytest.raises(SchemaSyncError) as caught:
            sync(client, load_profile("microsoft-sample"))
    message = str(caught.value)
    assert f"directory {directory['name']!r} has no object of that name" in message
    jobs = "/servicePrincipals/{id}/synchronization/jobs/{jobId}"
    assert f"POST {jobs}/schema/directories/{directory['id']}/discover" in message
    assert "directoryDefinition: discover" in message and "run the schema sync again" in message
    assert graph.schema_put_count() == 1, "only the PUT that removed the object"


# ---- the emulator's PUT check: lenient with what its templates hold, strict with the rest -------------------


def put_check_error(schema: dict[str, Any]) -> str:
    with pytest.raises(GraphError) as caught:
        check_schema(schema)
    assert caught.value.status == 400
    return str(caught.value)


@pytest.mark.parametrize("job", [DEFAULT_JOB, "API2AD.0f7e5b9c1d2e4f3a8b6c7d9e0a1b2c3d.6a4f2e1b"])
def test_the_put_check_takes_the_documented_style_schema_back(job: str) -> None:
    schema = default_schema("docs", job)
    assert check_schema(copy.deepcopy(schema)) == schema


def test_the_put_check_takes_custom_string_and_datetime_attributes() -> None:
    schema = default_schema("docs", DEFAULT_JOB)
    for name, kind in (("HireDate", "DateTime"), ("StartDate", "String")):
        source_object(schema)["attributes"].append({"name": f"{CONTOSO}:{name}", "type": kind})
    check_schema(schema)


def test_the_put_check_holds_what_a_client_adds_or_changes_to_the_documented_values() -> None:
    new_attribute = default_schema("docs", DEFAULT_JOB)
    source_object(new_attribute)["attributes"].append({"name": HIRE_DATE, "type": "string"})
    assert "Invalid value 'string' for attributeDefinition.type" in put_check_error(new_attribute)

    changed = default_schema("docs", DEFAULT_JOB)
    display_name = by_name(mappings_of(changed), "targetAttributeName", "displayName")
    display_name["defaultValue"] = "changed"  # no longer as the service holds it: its values are checked
    assert f"Invalid value {UNKNOWN_ENUM_VALUE!r} for attributeMapping.flowType" in put_check_error(changed)

    elsewhere = default_schema("api", DEFAULT_JOB)  # an oddity of the docs schema is not excused in another
    by_name(source_object(elsewhere)["attributes"], "name", "timezone")["mutability"] = UNKNOWN_ENUM_VALUE
    assert "attributeDefinition.mutability" in put_check_error(elsewhere)
