#!/usr/bin/env bash
# azd preprovision hook (azure.yaml): stops `azd up` / `azd provision` before anything is created when the job's
# endpoint is missing or is not a bulkUpload URL, saying how to set it. The app checks it again when it runs.
set -euo pipefail

url="${ENTRA_BULK_UPLOAD_URL:-}"
if [ -z "$url" ] && command -v azd >/dev/null 2>&1; then
  url="$(azd env get-value ENTRA_BULK_UPLOAD_URL 2>/dev/null || true)"
fi
pattern='^https://[A-Za-z0-9.-]+/(v1\.0|beta)/servicePrincipals/[^/?#]+/synchronization/jobs/[^/?#]+/bulkUpload/?$'
if [ -z "$url" ]; then
  echo "ENTRA_BULK_UPLOAD_URL is not set. Copy the provisioning app's Provisioning API Endpoint (Entra admin center >" >&2
  echo "Enterprise applications > your API-driven provisioning app > Provisioning > View technical information), then:" >&2
  echo "  azd env set ENTRA_BULK_UPLOAD_URL 'https://graph.microsoft.com/v1.0/servicePrincipals/<id>/synchronization/jobs/<jobId>/bulkUpload'" >&2
  exit 1
fi
shopt -s nocasematch  # as the app: provisioning/entra/graph_endpoint.py matches the path case-insensitively
if ! [[ "$url" =~ $pattern ]]; then
  echo "ENTRA_BULK_UPLOAD_URL is not a Provisioning API Endpoint (https://<graph host>/v1.0/servicePrincipals/<id>/synchronization/jobs/<jobId>/bulkUpload)" >&2
  exit 1
fi
echo "preprovision: endpoint $url"
