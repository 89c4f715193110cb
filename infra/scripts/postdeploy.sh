#!/usr/bin/env bash
# azd postdeploy hook (azure.yaml), or by hand after `func azure functionapp publish`: creates or updates the
# Event Grid subscription that delivers BlobCreated events of the inbound container to the provision_blob blob
# trigger, then (when GRANT_GRAPH_PERMISSIONS=true) grants the identity its Microsoft Graph permissions.
#
# Why after deploy: the subscription's webhook URL carries the host's blobs_extension system key, which exists only
# once the code with the Event Grid blob trigger runs, and Event Grid validates the webhook when the subscription is
# created. Microsoft's Event Grid blob trigger quickstart does the same in a postdeploy hook (scripts/post-up.sh in
# https://github.com/Azure-Samples/functions-quickstart-python-azd-eventgrid-blob; tutorial:
# https://learn.microsoft.com/azure/azure-functions/functions-event-grid-blob-trigger). It calls
# `az eventgrid system-topic event-subscription create`; this script PUTs the same resource through the documented
# REST API instead (https://learn.microsoft.com/rest/api/eventgrid/controlplane/system-topic-event-subscriptions/create-or-update),
# to keep what the template used to set: dead-lettering with the user-assigned identity (shared keys are off on the
# storage account), 30 deliveries over 24 hours, one event per delivery. A PUT creates or updates: every run gives
# the same subscription, with the current key.
#
# The key is read into a variable and a private temporary file (removed on exit), never printed.
# Environment (azd sets these from the template's outputs; run by hand, they are read with `azd env get-values`):
#   AZURE_RESOURCE_GROUP AZURE_FUNCTION_APP_NAME AZURE_FUNCTION_APP_HOST_NAME AZURE_STORAGE_ACCOUNT_ID
#   AZURE_IDENTITY_RESOURCE_ID AZURE_IDENTITY_PRINCIPAL_ID EVENT_GRID_SYSTEM_TOPIC_NAME HR_INBOUND_CONTAINER
#   EVENT_GRID_DEAD_LETTER_CONTAINER BLOB_TRIGGER_FUNCTION_NAME [AZURE_SUBSCRIPTION_ID]
#   GRANT_GRAPH_PERMISSIONS=true to run grant-graph-permissions.sh for the identity; GRANT_SCHEMA_SYNC=true adds
#   --schema-sync (Synchronization.ReadWrite.All).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
api_version=2025-02-15

# azd runs hooks with the environment's values set; run by hand, read whatever is missing from azd itself.
if command -v azd >/dev/null 2>&1; then
  while IFS= read -r line; do
    name="${line%%=*}"
    [[ "$name" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || continue
    value="${line#*=}"
    value="${value#\"}"
    value="${value%\"}"
    if [ -z "${!name:-}" ]; then
      export "$name=$value"
    fi
  done < <(azd env get-values 2>/dev/null || true)
fi

missing=()
for name in AZURE_RESOURCE_GROUP AZURE_FUNCTION_APP_NAME AZURE_FUNCTION_APP_HOST_NAME AZURE_STORAGE_ACCOUNT_ID \
  AZURE_IDENTITY_RESOURCE_ID EVENT_GRID_SYSTEM_TOPIC_NAME HR_INBOUND_CONTAINER EVENT_GRID_DEAD_LETTER_CONTAINER \
  BLOB_TRIGGER_FUNCTION_NAME; do
  if [ -z "${!name:-}" ]; then
    missing+=("$name")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "postdeploy: missing ${missing[*]} (the outputs of infra/main.bicep: run azd provision first)" >&2
  exit 1
fi
command -v az >/dev/null 2>&1 || { echo "postdeploy: the Azure CLI (az) is required" >&2; exit 1; }

# The name the template used to give it (evgs-<container>), so an existing subscription is updated in place.
subscription_name="evgs-$HR_INBOUND_CONTAINER"
rg="$AZURE_RESOURCE_GROUP"
app="$AZURE_FUNCTION_APP_NAME"
subscription_id="${AZURE_SUBSCRIPTION_ID:-$(az account show --query id --output tsv)}"
arm="$(az cloud show --query endpoints.resourceManager --output tsv)"
arm="${arm%/}"
uri="$arm/subscriptions/$subscription_id/resourceGroups/$rg/providers/Microsoft.EventGrid/systemTopics/$EVENT_GRID_SYSTEM_TOPIC_NAME/eventSubscriptions/$subscription_name?api-version=$api_version"

# The key appears once the host has loaded the blob trigger: the first minutes after a deploy it may not exist yet.
echo "postdeploy: waiting for the blobs_extension key of $app"
key=""
for attempt in $(seq 1 20); do
  key="$(az functionapp keys list --resource-group "$rg" --name "$app" --query systemKeys.blobs_extension --output tsv 2>/dev/null || true)"
  if [ -n "$key" ]; then
    break
  fi
  echo "postdeploy: no key yet (attempt $attempt of 20), retrying in 15 s"
  sleep 15
done
if [ -z "$key" ]; then
  echo "postdeploy: the app has no blobs_extension key: is the code deployed and does the host start? See README 'Troubleshooting'." >&2
  exit 1
fi
if ! [[ "$key" =~ ^[A-Za-z0-9_=+/-]+$ ]]; then
  echo "postdeploy: the blobs_extension key has unexpected characters; not used" >&2
  exit 1
fi
# Percent-encode what a query string would otherwise change.
key="${key//+/%2B}"
key="${key//\//%2F}"
key="${key//=/%3D}"

umask 077
body_file="$(mktemp)"
trap 'rm -f "$body_file"' EXIT
cat >"$body_file" <<JSON
{
  "properties": {
    "destination": {
      "endpointType": "WebHook",
      "properties": {
        "endpointUrl": "https://$AZURE_FUNCTION_APP_HOST_NAME/runtime/webhooks/blobs?functionName=Host.Functions.$BLOB_TRIGGER_FUNCTION_NAME&code=$key",
        "maxEventsPerBatch": 1,
        "preferredBatchSizeInKilobytes": 64
      }
    },
    "eventDeliverySchema": "EventGridSchema",
    "filter": {
      "includedEventTypes": ["Microsoft.Storage.BlobCreated"],
      "subjectBeginsWith": "/blobServices/default/containers/$HR_INBOUND_CONTAINER/",
      "isSubjectCaseSensitive": false
    },
    "retryPolicy": {
      "maxDeliveryAttempts": 30,
      "eventTimeToLiveInMinutes": 1440
    },
    "deadLetterWithResourceIdentity": {
      "identity": {
        "type": "UserAssigned",
        "userAssignedIdentity": "$AZURE_IDENTITY_RESOURCE_ID"
      },
      "deadLetterDestination": {
        "endpointType": "StorageBlob",
        "properties": {
          "resourceId": "$AZURE_STORAGE_ACCOUNT_ID",
          "blobContainerName": "$EVENT_GRID_DEAD_LETTER_CONTAINER"
        }
      }
    }
  }
}
JSON
key=""

echo "postdeploy: creating or updating Event Grid subscription $subscription_name (BlobCreated in $HR_INBOUND_CONTAINER -> $BLOB_TRIGGER_FUNCTION_NAME)"
az rest --method PUT --uri "$uri" --headers "Content-Type=application/json" --body "@$body_file" --output none
rm -f "$body_file"

state=""
for attempt in $(seq 1 40); do
  state="$(az rest --method GET --uri "$uri" --query properties.provisioningState --output tsv)"
  case "$state" in
    Succeeded) break ;;
    Failed | Canceled)
      echo "postdeploy: the subscription's provisioning $state (Event Grid could not validate the webhook: is $BLOB_TRIGGER_FUNCTION_NAME deployed with BLOB_TRIGGER_SOURCE=EventGrid?)" >&2
      exit 1
      ;;
  esac
  echo "postdeploy: subscription $state (attempt $attempt of 40), checking again in 5 s"
  sleep 5
done
if [ "$state" != Succeeded ]; then
  echo "postdeploy: the subscription is still $state; check it in the portal (Event Grid system topic $EVENT_GRID_SYSTEM_TOPIC_NAME)" >&2
  exit 1
fi
echo "postdeploy: Event Grid subscription $subscription_name is ready"

case "${GRANT_GRAPH_PERMISSIONS:-false}" in
  true | TRUE | True | 1 | yes)
    if [ -z "${AZURE_IDENTITY_PRINCIPAL_ID:-}" ]; then
      echo "postdeploy: GRANT_GRAPH_PERMISSIONS is set but AZURE_IDENTITY_PRINCIPAL_ID is not" >&2
      exit 1
    fi
    grant_args=(--principal-id "$AZURE_IDENTITY_PRINCIPAL_ID")
    case "${GRANT_SCHEMA_SYNC:-false}" in
      true | TRUE | True | 1 | yes) grant_args+=(--schema-sync) ;;
    esac
    bash "$here/grant-graph-permissions.sh" "${grant_args[@]}"
    ;;
  *)
    echo "postdeploy: Graph permissions not granted here (azd env set GRANT_GRAPH_PERMISSIONS true, or run:"
    echo "  infra/scripts/grant-graph-permissions.sh --principal-id ${AZURE_IDENTITY_PRINCIPAL_ID:-<AZURE_IDENTITY_PRINCIPAL_ID>})"
    ;;
esac

echo "postdeploy: the mapping page is https://$AZURE_FUNCTION_APP_HOST_NAME/api/ui ; drop files into the $HR_INBOUND_CONTAINER container"
