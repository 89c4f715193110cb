# azd preprovision hook on Windows (azure.yaml): the twin of preprovision.sh. Stops before anything is created
# when the job's endpoint is missing or is not a bulkUpload URL, saying how to set it.
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$url = $env:ENTRA_BULK_UPLOAD_URL
if (-not $url -and (Get-Command azd -ErrorAction SilentlyContinue)) {
    $url = (azd env get-value ENTRA_BULK_UPLOAD_URL 2>$null)
}
$pattern = '^https://[A-Za-z0-9.-]+/(v1\.0|beta)/servicePrincipals/[^/?#]+/synchronization/jobs/[^/?#]+/bulkUpload/?$'
if (-not $url) {
    $Host.UI.WriteErrorLine("ENTRA_BULK_UPLOAD_URL is not set. Copy the provisioning app's Provisioning API Endpoint (Entra admin center > Enterprise applications > your API-driven provisioning app > Provisioning > View technical information), then:")
    $Host.UI.WriteErrorLine("  azd env set ENTRA_BULK_UPLOAD_URL 'https://graph.microsoft.com/v1.0/servicePrincipals/<id>/synchronization/jobs/<jobId>/bulkUpload'")
    exit 1
}
if ($url -notmatch $pattern) {
    $Host.UI.WriteErrorLine('ENTRA_BULK_UPLOAD_URL is not a Provisioning API Endpoint (https://<graph host>/v1.0/servicePrincipals/<id>/synchronization/jobs/<jobId>/bulkUpload)')
    exit 1
}
Write-Host "preprovision: endpoint $url"
