# azd postdeploy hook on Windows (azure.yaml): the twin of postdeploy.sh, which explains every step. Creates or
# updates the Event Grid subscription of the provision_blob blob trigger (the webhook needs the deployed host's
# blobs_extension key), then, when GRANT_GRAPH_PERMISSIONS=true, runs grant-graph-permissions.ps1 for the identity.
# Pattern: Microsoft's Event Grid blob trigger quickstart (scripts/post-up.ps1 in
# https://github.com/Azure-Samples/functions-quickstart-python-azd-eventgrid-blob); REST body:
# https://learn.microsoft.com/rest/api/eventgrid/controlplane/system-topic-event-subscriptions/create-or-update
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$apiVersion = '2025-02-15'

# azd runs hooks with the environment's values set; run by hand, read whatever is missing from azd itself.
if (Get-Command azd -ErrorAction SilentlyContinue) {
    foreach ($line in (azd env get-values 2>$null)) {
        if ($line -match '^(?<name>[A-Za-z_][A-Za-z0-9_]*)=(?<value>.*)$') {
            $value = $Matches.value
            if ($value.Length -ge 2 -and $value.StartsWith('"') -and $value.EndsWith('"')) {
                $value = $value.Substring(1, $value.Length - 2)
            }
            if (-not [Environment]::GetEnvironmentVariable($Matches.name)) {
                [Environment]::SetEnvironmentVariable($Matches.name, $value)
            }
        }
    }
}

$required = 'AZURE_RESOURCE_GROUP', 'AZURE_FUNCTION_APP_NAME', 'AZURE_FUNCTION_APP_HOST_NAME', 'AZURE_STORAGE_ACCOUNT_ID',
    'AZURE_IDENTITY_RESOURCE_ID', 'EVENT_GRID_SYSTEM_TOPIC_NAME', 'HR_INBOUND_CONTAINER', 'EVENT_GRID_DEAD_LETTER_CONTAINER',
    'BLOB_TRIGGER_FUNCTION_NAME'
$missing = @($required | Where-Object { -not [Environment]::GetEnvironmentVariable($_) })
if ($missing.Count -gt 0) {
    throw "postdeploy: missing $($missing -join ' ') (the outputs of infra/main.bicep: run azd provision first)"
}
if (-not (Get-Command az -ErrorAction SilentlyContinue)) {
    throw 'postdeploy: the Azure CLI (az) is required'
}

$rg = $env:AZURE_RESOURCE_GROUP
$app = $env:AZURE_FUNCTION_APP_NAME
$subscriptionName = "evgs-$($env:HR_INBOUND_CONTAINER)"
$subscriptionId = if ($env:AZURE_SUBSCRIPTION_ID) { $env:AZURE_SUBSCRIPTION_ID } else { az account show --query id --output tsv }
$arm = (az cloud show --query endpoints.resourceManager --output tsv).TrimEnd('/')
$uri = "$arm/subscriptions/$subscriptionId/resourceGroups/$rg/providers/Microsoft.EventGrid/systemTopics/$($env:EVENT_GRID_SYSTEM_TOPIC_NAME)/eventSubscriptions/$($subscriptionName)?api-version=$apiVersion"

Write-Host "postdeploy: waiting for the blobs_extension key of $app"
$key = ''
foreach ($attempt in 1..20) {
    $key = az functionapp keys list --resource-group $rg --name $app --query systemKeys.blobs_extension --output tsv 2>$null
    if ($key) { break }
    Write-Host "postdeploy: no key yet (attempt $attempt of 20), retrying in 15 s"
    Start-Sleep -Seconds 15
}
if (-not $key) {
    throw "postdeploy: the app has no blobs_extension key: is the code deployed and does the host start? See README 'Troubleshooting'."
}
$key = [Uri]::EscapeDataString($key)

$body = @{
    properties = @{
        destination               = @{
            endpointType = 'WebHook'
            properties   = @{
                endpointUrl                   = "https://$($env:AZURE_FUNCTION_APP_HOST_NAME)/runtime/webhooks/blobs?functionName=Host.Functions.$($env:BLOB_TRIGGER_FUNCTION_NAME)&code=$key"
                maxEventsPerBatch             = 1
                preferredBatchSizeInKilobytes = 64
            }
        }
        eventDeliverySchema       = 'EventGridSchema'
        filter                    = @{
            includedEventTypes     = @('Microsoft.Storage.BlobCreated')
            subjectBeginsWith      = "/blobServices/default/containers/$($env:HR_INBOUND_CONTAINER)/"
            isSubjectCaseSensitive = $false
        }
        retryPolicy               = @{
            maxDeliveryAttempts      = 30
            eventTimeToLiveInMinutes = 1440
        }
        deadLetterWithResourceIdentity = @{
            identity              = @{
                type                 = 'UserAssigned'
                userAssignedIdentity = $env:AZURE_IDENTITY_RESOURCE_ID
            }
            deadLetterDestination = @{
                endpointType = 'StorageBlob'
                properties   = @{
                    resourceId        = $env:AZURE_STORAGE_ACCOUNT_ID
                    blobContainerName = $env:EVENT_GRID_DEAD_LETTER_CONTAINER
                }
            }
        }
    }
}
# The key goes through a private temporary file, never the command line or the console.
$bodyFile = New-TemporaryFile
try {
    $body | ConvertTo-Json -Depth 10 | Set-Content -LiteralPath $bodyFile -Encoding utf8NoBOM
    $key = ''
    Write-Host "postdeploy: creating or updating Event Grid subscription $subscriptionName (BlobCreated in $($env:HR_INBOUND_CONTAINER) -> $($env:BLOB_TRIGGER_FUNCTION_NAME))"
    az rest --method PUT --uri $uri --headers 'Content-Type=application/json' --body "@$bodyFile" --output none
    if ($LASTEXITCODE -ne 0) { throw 'postdeploy: creating the Event Grid subscription failed' }
}
finally {
    Remove-Item -LiteralPath $bodyFile -Force -ErrorAction SilentlyContinue
}

$state = ''
foreach ($attempt in 1..40) {
    $state = az rest --method GET --uri $uri --query properties.provisioningState --output tsv
    if ($state -eq 'Succeeded') { break }
    if ($state -in 'Failed', 'Canceled') {
        throw "postdeploy: the subscription's provisioning $state (Event Grid could not validate the webhook: is $($env:BLOB_TRIGGER_FUNCTION_NAME) deployed with BLOB_TRIGGER_SOURCE=EventGrid?)"
    }
    Write-Host "postdeploy: subscription $state (attempt $attempt of 40), checking again in 5 s"
    Start-Sleep -Seconds 5
}
if ($state -ne 'Succeeded') {
    throw "postdeploy: the subscription is still $state; check it in the portal (Event Grid system topic $($env:EVENT_GRID_SYSTEM_TOPIC_NAME))"
}
Write-Host "postdeploy: Event Grid subscription $subscriptionName is ready"

if ($env:GRANT_GRAPH_PERMISSIONS -in 'true', '1', 'yes') {
    if (-not $env:AZURE_IDENTITY_PRINCIPAL_ID) {
        throw 'postdeploy: GRANT_GRAPH_PERMISSIONS is set but AZURE_IDENTITY_PRINCIPAL_ID is not'
    }
    $grant = Join-Path $PSScriptRoot 'grant-graph-permissions.ps1'
    if ($env:GRANT_SCHEMA_SYNC -in 'true', '1', 'yes') {
        & $grant -PrincipalId $env:AZURE_IDENTITY_PRINCIPAL_ID -SchemaSync
    }
    else {
        & $grant -PrincipalId $env:AZURE_IDENTITY_PRINCIPAL_ID
    }
}
else {
    Write-Host 'postdeploy: Graph permissions not granted here (azd env set GRANT_GRAPH_PERMISSIONS true, or run:'
    Write-Host "  ./infra/scripts/grant-graph-permissions.ps1 -PrincipalId $($env:AZURE_IDENTITY_PRINCIPAL_ID))"
}

Write-Host "postdeploy: the mapping page is https://$($env:AZURE_FUNCTION_APP_HOST_NAME)/api/ui ; drop files into the $($env:HR_INBOUND_CONTAINER) container"
