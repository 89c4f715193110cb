"""What bulkUpload accepts: content type, the SCIM BulkRequest envelope, and each operation.

Everything here answers 400 the way the service does ("Invalid Data Format"), with a message that
names the offending operation so a test failure says what was wrong. Also flattens a SCIM user
into the attribute names the job schema uses (``name.givenName``,
``emails[type eq "work"].value``, ``urn:...:enterprise:2.0:User:department``).
"""

from __future__ import annotations

from typing import Any

import orjson

from emulators.entra_errors import GraphError

BULK_REQUEST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
CORE_USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_USER_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
SCIM_CONTENT_TYPE = "application/scim+json"
MAX_OPERATIONS = 50

# Multi-valued core attributes whose entries are told apart by ``type`` (Microsoft's samples
# send "work"); the schema names their sub-attributes like emails[type eq "work"].value.
_MULTI_VALUED = ("emails", "phoneNumbers", "addresses", "ims", "photos", "entitlements", "roles")


def _bad(message: str) -> GraphError:
    return GraphError(400, f"Invalid Data Format: {message}")


def check_content_type(value: str | None) -> None:
    """application/scim+json, parameters such as charset allowed; anything else is a 400."""
    media_type = (value or "").split(";", 1)[0].strip().lower()
    if media_type != SCIM_CONTENT_TYPE:
        raise _bad(f"Content-Type must be {SCIM_CONTENT_TYPE}, got {value or 'none'!r}")


def parse_bulk_request(body: bytes) -> list[dict[str, Any]]:
    """The operations' ``data`` objects, in request order, once the whole request is valid.

    The check is all-or-nothing, like the service: one bad operation rejects the request.
    """
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise _bad(f"the body is not JSON ({exc})") from exc
    if not isinstance(payload, dict):
        raise _bad("the body must be a SCIM BulkRequest object")
    schemas = payload.get("schemas")
    if not isinstance(schemas, list) or BULK_REQUEST_SCHEMA not in schemas:
        raise _bad(f"schemas must contain {BULK_REQUEST_SCHEMA}")
    operations = payload.get("Operations")
    if not isinstance(operations, list):
        raise _bad("Operations must be a list")
    if not operations:
        raise _bad("Operations is empty")
    if len(operations) > MAX_OPERATIONS:
        raise _bad(f"{len(operations)} operations; at most {MAX_OPERATIONS} are allowed per request")
    return [_check_operation(index, op) for index, op in enumerate(operations)]


def _check_operation(index: int, op: Any) -> dict[str, Any]:
    where = f"Operations[{index}]"
    if not isinstance(op, dict):
        raise _bad(f"{where} is not an object")
    method = op.get("method")
    # Compared case-insensitively: SCIM (RFC 7644) does not fix the case of the method name and
    # clients differ; PUT, PATCH and DELETE are refused whatever their case.
    if not isinstance(method, str) or method.upper() != "POST":
        raise _bad(f"{where}.method is {method!r}; only POST is supported")
    path = op.get("path")
    # Microsoft's own samples send "/users" as well as "/Users".
    if not isinstance(path, str) or path.lower() != "/users":
        raise _bad(f"{where}.path is {path!r}; only /Users is supported")
    data = op.get("data")
    if not isinstance(data, dict):
        raise _bad(f"{where}.data is missing")
    external_id = data.get("externalId")
    if not isinstance(external_id, str) or not external_id.strip():
        raise _bad(f"{where}.data.externalId is missing")
    data_schemas = data.get("schemas")
    if not isinstance(data_schemas, list) or CORE_USER_SCHEMA not in data_schemas:
        raise _bad(f"{where}.data.schemas must contain {CORE_USER_SCHEMA}")
    for key, value in data.items():
        if key.lower().startswith("urn:") and isinstance(value, dict) and key not in data_schemas:
            raise _bad(f"{where}.data carries the extension {key} but schemas does not list it")
    return data


def flatten_user(data: dict[str, Any]) -> dict[str, Any]:
    """A SCIM user as {schema attribute name: value}, the names attribute mappings refer to."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if key in ("schemas", "id", "meta") or value is None:
            continue
        if key.lower().startswith("urn:") and isinstance(value, dict):
            for attribute, inner in value.items():
                if isinstance(inner, dict):  # manager: {"value": externalId, "$ref", "displayName"}
                    inner = inner.get("value")
                if inner is not None and not isinstance(inner, list | dict):
                    flat[f"{key}:{attribute}"] = inner
        elif key in _MULTI_VALUED and isinstance(value, list):
            for entry in value:
                if not isinstance(entry, dict) or not isinstance(entry.get("type"), str):
                    continue
                for sub, inner in entry.items():
                    if sub not in ("type", "primary") and isinstance(inner, str | int | float):
                        flat.setdefault(f'{key}[type eq "{entry["type"]}"].{sub}', inner)
        elif isinstance(value, dict):
            for sub, inner in value.items():
                if inner is not None and not isinstance(inner, list | dict):
                    flat[f"{key}.{sub}"] = inner
        elif not isinstance(value, list):
            flat[key] = value
    return flat


def log_detail_key(attribute_name: str) -> str:
    """How provisioning logs spell a source attribute in step details: ':' and '.' dropped."""
    return attribute_name.replace(":", "").replace(".", "")
