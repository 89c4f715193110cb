#!/usr/bin/env bash
# Grants the Microsoft Graph application permissions the app needs to its managed identity, or to an app
# registration, as app role assignments: there is no portal screen for a managed identity's API permissions.
#
#   infra/scripts/grant-graph-permissions.sh --principal-id <service principal object id> [--schema-sync]
#   infra/scripts/grant-graph-permissions.sh --app-id <application (client) id> [--schema-sync]
#
# Granted (each role looked up by its value on Graph's service principal at run time, never a hard-coded id):
#   SynchronizationData-User.Upload  bulkUpload (required)
#   ProvisioningLog.Read.All         per-worker results from the provisioning logs
#   Synchronization.Read.All         the job's state before sending
#   Synchronization.ReadWrite.All    only with --schema-sync: profiles with custom attributes
#
# Idempotent: a permission already granted is left alone and reported as such; a second run changes nothing and
# says so. Needs the Azure CLI signed in (`az login`) as Privileged Role Administrator (or Global Administrator).
# In a national cloud, `az cloud set` first: Graph's host is read from the CLI's cloud.
#
# Graph API: https://learn.microsoft.com/graph/api/serviceprincipal-post-approleassignedto
# Permissions: https://learn.microsoft.com/entra/identity/app-provisioning/inbound-provisioning-api-grant-access
set -euo pipefail

GRAPH_APP_ID=00000003-0000-0000-c000-000000000000
REQUIRED_PERMISSIONS=(SynchronizationData-User.Upload ProvisioningLog.Read.All Synchronization.Read.All)
SCHEMA_SYNC_PERMISSION=Synchronization.ReadWrite.All

usage() {
  cat <<'USAGE'
Usage: grant-graph-permissions.sh (--principal-id OBJECT_ID | --app-id APP_ID) [--schema-sync]

  --principal-id ID  the service principal object id of the managed identity (azd env: AZURE_IDENTITY_PRINCIPAL_ID)
                     or of an app registration's enterprise application
  --app-id ID        an app registration's application (client) id; its service principal is looked up
  --schema-sync      also grant Synchronization.ReadWrite.All (profiles with custom attributes)
USAGE
}

principal_id=""
app_id=""
schema_sync=false
while [ "$#" -gt 0 ]; do
  case "$1" in
    --principal-id)
      [ "$#" -ge 2 ] || { usage >&2; exit 2; }
      principal_id="$2"
      shift 2
      ;;
    --app-id)
      [ "$#" -ge 2 ] || { usage >&2; exit 2; }
      app_id="$2"
      shift 2
      ;;
    --schema-sync)
      schema_sync=true
      shift
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      echo "unknown argument: $1" >&2
      usage >&2
      exit 2
      ;;
  esac
done

if [ -z "$principal_id" ] && [ -z "$app_id" ]; then
  echo "refusing to run: name the principal to grant, with --principal-id or --app-id" >&2
  usage >&2
  exit 2
fi
if [ -n "$principal_id" ] && [ -n "$app_id" ]; then
  echo "refusing to run: give --principal-id or --app-id, not both" >&2
  exit 2
fi
guid='^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'
for value in "$principal_id" "$app_id"; do
  if [ -n "$value" ] && ! [[ "$value" =~ $guid ]]; then
    echo "refusing to run: '$value' is not a GUID" >&2
    exit 2
  fi
done

command -v az >/dev/null 2>&1 || { echo "the Azure CLI (az) is required: https://learn.microsoft.com/cli/azure/install-azure-cli" >&2; exit 1; }

# Graph's host in the CLI's cloud (https://graph.microsoft.com/ in the global cloud); GRAPH_URL overrides it.
graph="${GRAPH_URL:-$(az cloud show --query endpoints.microsoftGraphResourceId --output tsv)}"
graph="${graph%/}/v1.0"

if [ -n "$app_id" ]; then
  principal_id="$(az rest --method GET --uri "$graph/servicePrincipals(appId='$app_id')?\$select=id" --query id --output tsv)"
  [ -n "$principal_id" ] || { echo "no service principal for app id $app_id in this tenant" >&2; exit 1; }
fi
principal_name="$(az rest --method GET --uri "$graph/servicePrincipals/$principal_id?\$select=id,displayName" --query displayName --output tsv)"
graph_sp_id="$(az rest --method GET --uri "$graph/servicePrincipals(appId='$GRAPH_APP_ID')?\$select=id" --query id --output tsv)"
echo "principal: $principal_name ($principal_id)"

permissions=("${REQUIRED_PERMISSIONS[@]}")
if [ "$schema_sync" = true ]; then
  permissions+=("$SCHEMA_SYNC_PERMISSION")
fi

# The Graph app roles the principal holds already (ids, one a line).
held="$(az rest --method GET --uri "$graph/servicePrincipals/$principal_id/appRoleAssignments?\$top=999" \
  --query "value[?resourceId=='$graph_sp_id'].appRoleId" --output tsv)"

granted=0
for permission in "${permissions[@]}"; do
  role_id="$(az rest --method GET --uri "$graph/servicePrincipals/$graph_sp_id?\$select=appRoles" \
    --query "appRoles[?value=='$permission' && contains(allowedMemberTypes, 'Application')].id | [0]" --output tsv)"
  if [ -z "$role_id" ]; then
    echo "Microsoft Graph has no application permission $permission in this cloud" >&2
    exit 1
  fi
  if printf '%s\n' "$held" | grep -qix -- "$role_id"; then
    echo "already granted: $permission"
    continue
  fi
  az rest --method POST --uri "$graph/servicePrincipals/$graph_sp_id/appRoleAssignedTo" \
    --headers "Content-Type=application/json" \
    --body "{\"principalId\": \"$principal_id\", \"resourceId\": \"$graph_sp_id\", \"appRoleId\": \"$role_id\"}" \
    --output none
  echo "granted: $permission"
  granted=$((granted + 1))
done

if [ "$granted" -eq 0 ]; then
  echo "nothing changed: $principal_name already holds every permission asked for"
else
  echo "$granted permission(s) granted to $principal_name. Tokens are cached for up to 24 hours: restart the app to use them now."
fi
if [ "$schema_sync" = false ]; then
  echo "Synchronization.ReadWrite.All not granted (only profiles with custom attributes need it: rerun with --schema-sync)"
fi
