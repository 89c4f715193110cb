// The Flex Consumption (FC1, Linux) plan and the Python 3.11 Function App, with every app setting.
// https://learn.microsoft.com/azure/azure-functions/flex-consumption-how-to
// https://learn.microsoft.com/azure/templates/microsoft.web/sites (functionAppConfig: 2023-12-01 and later)

param name string
param planName string
param location string
param tags object
param identityId string
param identityClientId string
param storageBlobEndpoint string
param storageQueueEndpoint string
param storageTableEndpoint string
param applicationInsightsConnectionString string
param deploymentContainerName string
param maximumInstanceCount int
param instanceMemoryMB int
param extraAppSettings object

param inboundContainerName string
param configContainerName string
param runsContainerName string
param stateContainerName string
param quarantineContainerName string
param uploadQueueName string
param resultsQueueName string

param entraBulkUploadUrl string
param entraAuth string
param graphAppClientId string
param azureClientSecretUri string
param entraRateLimit string
param entraLogRateLimit string
param hrUpnDomain string
param entraUploadConcurrency int
param entraMaxAttempts int
param entraBatchSize int
param entraLogWaitSeconds int
param entraLogFirstPollSeconds int
param entraIgnoreJobStatus bool
param hrDefaultProfile string
param hrProfileRoutes string
param safetyMaxDisableShare string
param safetyMaxShrinkShare string
param safetyApprovedRuns string
param deltaFullSync bool
param httpMaxBodyBytes int
param hrCoordinateSeconds int
param hrmsSyncSchedule string
param hrmsFullSyncEvery int
param hrSweepSchedule string
param hrStuckMinutes int
param connectorsAllowPrivateNetworks bool

// ---------------------------------------------------------------------------------------------------------
// App settings: every name is a Functions host setting or an alias in provisioning/settings.py
// (tests/test_infra.py checks both ways). Flex Consumption takes no FUNCTIONS_WORKER_RUNTIME,
// FUNCTIONS_EXTENSION_VERSION or WEBSITE_RUN_FROM_PACKAGE: functionAppConfig replaces them.
// https://learn.microsoft.com/azure/azure-functions/functions-app-settings#flex-consumption-plan-deprecations
// ---------------------------------------------------------------------------------------------------------

var templateSettings = {
  // Host storage, identity-based (service URIs: right in every cloud, no account key).
  // https://learn.microsoft.com/azure/azure-functions/functions-reference#connecting-to-host-storage-with-an-identity
  AzureWebJobsStorage__blobServiceUri: storageBlobEndpoint
  AzureWebJobsStorage__queueServiceUri: storageQueueEndpoint
  AzureWebJobsStorage__tableServiceUri: storageTableEndpoint
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  // Application Insights with Entra ID authentication (local auth is disabled on the component).
  // https://learn.microsoft.com/azure/azure-functions/configure-monitoring#enable-microsoft-entra-authentication
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  // The app's own storage connection (blob trigger, queue triggers, run records), identity-based.
  HR_STORAGE__blobServiceUri: storageBlobEndpoint
  HR_STORAGE__queueServiceUri: storageQueueEndpoint
  HR_STORAGE__credential: 'managedidentity'
  HR_STORAGE__clientId: identityClientId
  HR_INBOUND_CONTAINER: inboundContainerName
  HR_CONFIG_CONTAINER: configContainerName
  HR_RUNS_CONTAINER: runsContainerName
  HR_STATE_CONTAINER: stateContainerName
  HR_QUARANTINE_CONTAINER: quarantineContainerName
  HR_UPLOAD_QUEUE: uploadQueueName
  HR_RESULTS_QUEUE: resultsQueueName
  HR_DEFAULT_PROFILE: hrDefaultProfile
  HR_PROFILE_ROUTES: hrProfileRoutes
  // Microsoft Graph: endpoint, credential, pacing.
  ENTRA_BULK_UPLOAD_URL: entraBulkUploadUrl
  ENTRA_AUTH: entraAuth
  AZURE_TENANT_ID: tenant().tenantId
  AZURE_CLIENT_ID: entraAuth == 'secret' ? graphAppClientId : identityClientId
  ENTRA_RATE_LIMIT: entraRateLimit
  ENTRA_LOG_RATE_LIMIT: entraLogRateLimit
  HR_UPN_DOMAIN: hrUpnDomain
  ENTRA_UPLOAD_CONCURRENCY: string(entraUploadConcurrency)
  ENTRA_MAX_ATTEMPTS: string(entraMaxAttempts)
  ENTRA_BATCH_SIZE: string(entraBatchSize)
  ENTRA_LOG_WAIT_SECONDS: string(entraLogWaitSeconds)
  ENTRA_LOG_FIRST_POLL_SECONDS: string(entraLogFirstPollSeconds)
  ENTRA_IGNORE_JOB_STATUS: entraIgnoreJobStatus ? 'true' : 'false'
  // Safety stops, delta, HTTP limits, triggers.
  SAFETY_MAX_DISABLE_SHARE: safetyMaxDisableShare
  SAFETY_MAX_SHRINK_SHARE: safetyMaxShrinkShare
  SAFETY_APPROVED_RUNS: safetyApprovedRuns
  DELTA_FULL_SYNC: deltaFullSync ? 'true' : 'false'
  HTTP_MAX_BODY_BYTES: string(httpMaxBodyBytes)
  HR_COORDINATE_SECONDS: string(hrCoordinateSeconds)
  // Flex Consumption supports only the Event Grid source of the blob trigger.
  // https://learn.microsoft.com/azure/azure-functions/functions-event-grid-blob-trigger
  BLOB_TRIGGER_SOURCE: 'EventGrid'
  HRMS_SYNC_SCHEDULE: hrmsSyncSchedule
  HRMS_FULL_SYNC_EVERY: string(hrmsFullSyncEvery)
  HR_SWEEP_SCHEDULE: hrSweepSchedule
  HR_STUCK_MINUTES: string(hrStuckMinutes)
  CONNECTORS_ALLOW_PRIVATE_NETWORKS: connectorsAllowPrivateNetworks ? 'true' : 'false'
}

// A Key Vault reference, resolved by the platform with keyVaultReferenceIdentity; never a literal secret.
var secretSettings = empty(azureClientSecretUri) ? {} : {
  AZURE_CLIENT_SECRET: '@Microsoft.KeyVault(SecretUri=${azureClientSecretUri})'
}

// The template's own settings last: union() keeps the last value of a name, so extraAppSettings adds settings
// (connector jobs' %SETTING% values and their Key Vault references) but never replaces one of these.
var appSettings = union(extraAppSettings, templateSettings, secretSettings)

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  // azd finds the app of service `api` (azure.yaml) by this tag.
  // https://learn.microsoft.com/azure/developer/azure-developer-cli/make-azd-compatible#update-bicep-files
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Key Vault references resolve with this user-assigned identity (the default would be a system identity).
    // https://learn.microsoft.com/azure/app-service/app-service-key-vault-references#access-vaults-with-a-user-assigned-identity
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      // The whole list is replaced on each deploy: extraAppSettings is how a setting added later survives.
      appSettings: map(items(appSettings), setting => { name: setting.key, value: setting.value })
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageBlobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      // Python 3.11, as requirements.txt (azure-functions 1.26) and the Dockerfile.
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
}

output name string = functionApp.name
output defaultHostName string = functionApp.properties.defaultHostName
