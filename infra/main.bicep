// Entra ID API-driven inbound provisioning: the Function App and everything it needs, in one resource group.
//
// Flex Consumption (FC1, Linux, Python 3.11) with ONE user-assigned managed identity used for everything:
// host storage, the app's HR_STORAGE connection, Application Insights ingestion, Key Vault references,
// Event Grid dead-lettering and the Microsoft Graph calls (granted as Graph app roles after deployment,
// see infra/README.md). No keys or connection strings with secrets: shared-key access is off on the storage
// account and local auth is off on Application Insights. The only key read here is the blobs_extension
// system key, inside the Event Grid subscription, to build the blob trigger's webhook URL.
//
// Two phases (the blob trigger's webhook only answers Event Grid's validation once the code is deployed):
//   1. deploy with deployEventSubscription=false (default), then `func azure functionapp publish <app>`;
//   2. deploy again with deployEventSubscription=true to create the BlobCreated subscription.

targetScope = 'resourceGroup'

// ---------------------------------------------------------------------------------------------------------
// Parameters
// ---------------------------------------------------------------------------------------------------------

@minLength(1)
@maxLength(20)
@description('Short environment name (e.g. hrprov-dev): part of every resource name and of the unique token.')
param environmentName string

@description('Region of every resource. Must offer the Flex Consumption plan.')
param location string = resourceGroup().location

@description('Function App name; empty: func-<environmentName>-<token>.')
param functionAppName string = ''

@maxLength(24)
@description('Storage account name (3-24 lowercase letters and digits); empty: st<token>.')
param storageAccountName string = ''

@description('Extra tags for every resource.')
param extraTags object = {}

@description('The provisioning app\'s "Provisioning API Endpoint" (.../synchronization/jobs/<jobId>/bulkUpload), v1.0 or beta, any national cloud.')
param entraBulkUploadUrl string

@allowed([
  'managed-identity'
  'secret'
])
@description('How the app gets Graph tokens: the managed identity (default, no secret at all) or an app registration\'s client secret read through a Key Vault reference.')
param entraAuth string = 'managed-identity'

@description('Only with entraAuth=secret: the app registration\'s client (application) id. Ignored for managed-identity.')
param graphAppClientId string = ''

@description('Only with entraAuth=secret: the Key Vault secret URI holding the client secret (https://<vault>.vault.azure.net/secrets/<name>). Becomes AZURE_CLIENT_SECRET=@Microsoft.KeyVault(SecretUri=...). Never a secret value.')
param azureClientSecretUri string = ''

@description('Create a Key Vault (RBAC authorization) and give the identity Key Vault Secrets User on it.')
param deployKeyVault bool = false

@description('ENTRA_RATE_LIMIT: bulkUpload calls per seconds for the job (Entra documents 40 per 5 s).')
param entraRateLimit string = '40/5'

@description('ENTRA_LOG_RATE_LIMIT: provisioning-log reads per seconds (Graph throttles them at about 5 per 10 s per app and tenant).')
param entraLogRateLimit string = '5/10'

@description('HR_UPN_DOMAIN: the verified domain given to a userName without one (e.g. contoso.com); empty: the profile\'s upnDomain.')
param hrUpnDomain string = ''

@minValue(1)
@maxValue(16)
@description('ENTRA_UPLOAD_CONCURRENCY: bulkUpload requests in flight at once.')
param entraUploadConcurrency int = 4

@minValue(1)
@maxValue(20)
@description('ENTRA_MAX_ATTEMPTS: attempts per Graph call (429, 5xx, transport errors).')
param entraMaxAttempts int = 6

@minValue(1)
@maxValue(50)
@description('ENTRA_BATCH_SIZE: operations per bulk request (Entra accepts at most 50).')
param entraBatchSize int = 50

@minValue(0)
@description('ENTRA_LOG_WAIT_SECONDS: how long a run waits for per-record results in the provisioning logs.')
param entraLogWaitSeconds int = 1800

@minValue(0)
@description('ENTRA_LOG_FIRST_POLL_SECONDS: delay before the first provisioning-log query.')
param entraLogFirstPollSeconds int = 30

@description('HR_DEFAULT_PROFILE: mapping profile of a dropped blob no route matches.')
param hrDefaultProfile string = 'microsoft-sample'

@description('HR_PROFILE_ROUTES: "employees/=employees;*.interns.csv=interns" (folder prefix or glob on the blob name).')
param hrProfileRoutes string = ''

@description('SAFETY_MAX_DISABLE_SHARE: hold a run that would disable more than this share (0-1) of the active workers.')
param safetyMaxDisableShare string = '0.10'

@description('SAFETY_MAX_SHRINK_SHARE: hold a run whose source shrank by more than this share (0-1) since the last run.')
param safetyMaxShrinkShare string = '0.10'

@description('SAFETY_APPROVED_RUNS: run ids (comma separated) approved past a safety stop. A redeploy resets it to this value.')
param safetyApprovedRuns string = ''

@description('DELTA_FULL_SYNC: send every record, changed or not.')
param deltaFullSync bool = false

@description('HR_SWEEP_SCHEDULE: NCRONTAB of the periodic check for runs that stopped making progress.')
param hrSweepSchedule string = '0 */15 * * * *'

@minValue(1)
@description('HR_STUCK_MINUTES: a run with no progress for this long is resumed (twice at most), then ended with the reason.')
param hrStuckMinutes int = 30

@description('CONNECTORS_ALLOW_PRIVATE_NETWORKS: let HR connectors reach private addresses (an HR system behind a virtual network). Loopback, link-local and metadata addresses stay refused.')
param connectorsAllowPrivateNetworks bool = false

@description('ENTRA_IGNORE_JOB_STATUS: send even when the provisioning job is paused or quarantined (its uploads then wait unprocessed).')
param entraIgnoreJobStatus bool = false

@minValue(1024)
@description('HTTP_MAX_BODY_BYTES: largest body the HTTP routes accept.')
param httpMaxBodyBytes int = 52428800

@minValue(0)
@maxValue(60)
@description('HR_COORDINATE_SECONDS: first wait of a run\'s coordinator between looks at its requests (then doubling).')
param hrCoordinateSeconds int = 2

@description('HRMS_SYNC_SCHEDULE: NCRONTAB (six fields, UTC) of the scheduled HR system pulls.')
param hrmsSyncSchedule string = '0 0 2 * * *'

@minValue(1)
@maxValue(365)
@description('HRMS_FULL_SYNC_EVERY: every Nth scheduled pull of a connector sends every record, changed or not.')
param hrmsFullSyncEvery int = 7

@minValue(1)
@maxValue(1000)
@description('Flex Consumption: most instances the app scales out to. Keeps the Graph rate limit meaningful.')
param maximumInstanceCount int = 10

@allowed([
  2048
  4096
])
@description('Flex Consumption: memory of each instance.')
param instanceMemoryMB int = 2048

@description('Phase 2: create the Event Grid BlobCreated subscription. Only after the code is published (see header).')
param deployEventSubscription bool = false

@description('The mapping page and the API behind Entra sign-in (App Service authentication): the client id of an app registration for the sign-in (its redirect URI https://<app>.azurewebsites.net/.auth/login/aad/callback). Empty: no sign-in, and the page asks for a function key instead.')
param pageSignInClientId string = ''

@description('Optional: object id of a person or group who drops HR files and reads run records (Storage Blob Data Contributor). Shared keys are off, so portal/CLI access needs a data role.')
param operatorPrincipalId string = ''

@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param operatorPrincipalType string = 'User'

// ---------------------------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------------------------

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName))
var envName = toLower(environmentName)
var tags = union(extraTags, {
  'azd-env-name': environmentName
  application: 'entra-inbound-provisioning'
})

var appName = !empty(functionAppName) ? functionAppName : '${abbrs.functionApp}${envName}-${resourceToken}'
var storageName = !empty(storageAccountName) ? storageAccountName : '${abbrs.storageAccount}${resourceToken}'
var keyVaultName = '${abbrs.keyVault}${resourceToken}'

// The app's containers and queues: the defaults of provisioning/settings.py (tests/test_infra.py checks them).
var inboundContainerName = 'hr-inbound'
var configContainerName = 'hr-config'
var runsContainerName = 'hr-runs'
var stateContainerName = 'hr-state'
var quarantineContainerName = 'hr-quarantine'
var uploadQueueName = 'hr-upload'
var resultsQueueName = 'hr-results'
// Infrastructure-only containers: the Flex deployment package and Event Grid's undeliverable events.
var deploymentContainerName = 'app-package'
var deadLetterContainerName = 'hr-eventgrid-deadletter'

var blobContainerNames = [
  inboundContainerName
  configContainerName
  runsContainerName
  stateContainerName
  quarantineContainerName
  deploymentContainerName
  deadLetterContainerName
]
// The Functions runtime creates <queue>-poison on demand; creating them here makes them visible and monitorable.
var queueNames = [
  uploadQueueName
  resultsQueueName
  '${uploadQueueName}-poison'
  '${resultsQueueName}-poison'
]

// The blob trigger's function name in function_app.py (Event Grid calls Host.Functions.<name>).
var blobTriggerFunctionName = 'provision_blob'

// Built-in role definition ids (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles).
var roleIds = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
}
// Blob Data Owner: host storage, deployment package, blob trigger receipts, the app's containers, dead-letters.
// Queue Data Contributor: queue triggers and outputs, poison queues, the blob trigger's host queues
//   (a superset of Queue Data Message Processor / Message Sender / Reader).
// Table Data Contributor: host diagnostic events (AzureWebJobsStorage__tableServiceUri).
var storageRoleIds = [
  roleIds.storageBlobDataOwner
  roleIds.storageQueueDataContributor
  roleIds.storageTableDataContributor
]

// ---------------------------------------------------------------------------------------------------------
// Identity
// ---------------------------------------------------------------------------------------------------------

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${abbrs.managedIdentity}${envName}-${resourceToken}'
  location: location
  tags: tags
}

// ---------------------------------------------------------------------------------------------------------
// Storage: host storage, the app's containers and queues, the Flex deployment container
// ---------------------------------------------------------------------------------------------------------

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: storageName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowCrossTenantReplication: false
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource blobContainers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [
  for containerName in blobContainerNames: {
    parent: blobService
    name: containerName
    properties: {
      publicAccess: 'None'
    }
  }
]

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource storageQueues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [
  for queueName in queueNames: {
    parent: queueService
    name: queueName
  }
]

resource storageRoleAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for roleId in storageRoleIds: {
    name: guid(storage.id, identity.id, roleId)
    scope: storage
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
      principalId: identity.properties.principalId
      principalType: 'ServicePrincipal'
    }
  }
]

resource operatorBlobRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(operatorPrincipalId)) {
  name: guid(storage.id, operatorPrincipalId, roleIds.storageBlobDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.storageBlobDataContributor)
    principalId: operatorPrincipalId
    principalType: operatorPrincipalType
  }
}

// ---------------------------------------------------------------------------------------------------------
// Monitoring: Log Analytics + Application Insights with Entra-only ingestion
// ---------------------------------------------------------------------------------------------------------

resource logAnalytics 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: '${abbrs.logAnalyticsWorkspace}${envName}-${resourceToken}'
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: 30
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: '${abbrs.applicationInsights}${envName}-${resourceToken}'
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logAnalytics.id
    DisableLocalAuth: true
  }
}

resource monitoringRoleAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, identity.id, roleIds.monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.monitoringMetricsPublisher)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// ---------------------------------------------------------------------------------------------------------
// Optional Key Vault (RBAC authorization), for an app registration's client secret
// ---------------------------------------------------------------------------------------------------------

resource keyVault 'Microsoft.KeyVault/vaults@2023-07-01' = if (deployKeyVault) {
  name: keyVaultName
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
  }
}

resource keyVaultRoleAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (deployKeyVault) {
  name: guid(resourceId('Microsoft.KeyVault/vaults', keyVaultName), identity.id, roleIds.keyVaultSecretsUser)
  scope: keyVault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.keyVaultSecretsUser)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// ---------------------------------------------------------------------------------------------------------
// App settings: every name is a Functions host setting or an alias in provisioning/settings.py
// ---------------------------------------------------------------------------------------------------------

var appSettings = [
  // Host storage, identity-based (service URIs: right in every cloud, no account key).
  { name: 'AzureWebJobsStorage__blobServiceUri', value: storage.properties.primaryEndpoints.blob }
  { name: 'AzureWebJobsStorage__queueServiceUri', value: storage.properties.primaryEndpoints.queue }
  { name: 'AzureWebJobsStorage__tableServiceUri', value: storage.properties.primaryEndpoints.table }
  { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
  { name: 'AzureWebJobsStorage__clientId', value: identity.properties.clientId }
  // Application Insights with Entra ID authentication (local auth is disabled on the component).
  { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: appInsights.properties.ConnectionString }
  { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'ClientId=${identity.properties.clientId};Authorization=AAD' }
  // The app's own storage connection (blob trigger, queue triggers, run records), identity-based.
  { name: 'HR_STORAGE__blobServiceUri', value: storage.properties.primaryEndpoints.blob }
  { name: 'HR_STORAGE__queueServiceUri', value: storage.properties.primaryEndpoints.queue }
  { name: 'HR_STORAGE__credential', value: 'managedidentity' }
  { name: 'HR_STORAGE__clientId', value: identity.properties.clientId }
  { name: 'HR_INBOUND_CONTAINER', value: inboundContainerName }
  { name: 'HR_CONFIG_CONTAINER', value: configContainerName }
  { name: 'HR_RUNS_CONTAINER', value: runsContainerName }
  { name: 'HR_STATE_CONTAINER', value: stateContainerName }
  { name: 'HR_QUARANTINE_CONTAINER', value: quarantineContainerName }
  { name: 'HR_UPLOAD_QUEUE', value: uploadQueueName }
  { name: 'HR_RESULTS_QUEUE', value: resultsQueueName }
  { name: 'HR_DEFAULT_PROFILE', value: hrDefaultProfile }
  { name: 'HR_PROFILE_ROUTES', value: hrProfileRoutes }
  // Microsoft Graph: endpoint, credential, pacing.
  { name: 'ENTRA_BULK_UPLOAD_URL', value: entraBulkUploadUrl }
  { name: 'ENTRA_AUTH', value: entraAuth }
  { name: 'AZURE_TENANT_ID', value: tenant().tenantId }
  { name: 'AZURE_CLIENT_ID', value: entraAuth == 'secret' ? graphAppClientId : identity.properties.clientId }
  { name: 'ENTRA_RATE_LIMIT', value: entraRateLimit }
  { name: 'ENTRA_LOG_RATE_LIMIT', value: entraLogRateLimit }
  { name: 'HR_UPN_DOMAIN', value: hrUpnDomain }
  { name: 'ENTRA_UPLOAD_CONCURRENCY', value: string(entraUploadConcurrency) }
  { name: 'ENTRA_MAX_ATTEMPTS', value: string(entraMaxAttempts) }
  { name: 'ENTRA_BATCH_SIZE', value: string(entraBatchSize) }
  { name: 'ENTRA_LOG_WAIT_SECONDS', value: string(entraLogWaitSeconds) }
  { name: 'ENTRA_LOG_FIRST_POLL_SECONDS', value: string(entraLogFirstPollSeconds) }
  { name: 'ENTRA_IGNORE_JOB_STATUS', value: entraIgnoreJobStatus ? 'true' : 'false' }
  // Safety stops, delta, HTTP limits, triggers.
  { name: 'SAFETY_MAX_DISABLE_SHARE', value: safetyMaxDisableShare }
  { name: 'SAFETY_MAX_SHRINK_SHARE', value: safetyMaxShrinkShare }
  { name: 'SAFETY_APPROVED_RUNS', value: safetyApprovedRuns }
  { name: 'DELTA_FULL_SYNC', value: deltaFullSync ? 'true' : 'false' }
  { name: 'HTTP_MAX_BODY_BYTES', value: string(httpMaxBodyBytes) }
  { name: 'HR_COORDINATE_SECONDS', value: string(hrCoordinateSeconds) }
  { name: 'BLOB_TRIGGER_SOURCE', value: 'EventGrid' }
  { name: 'HRMS_SYNC_SCHEDULE', value: hrmsSyncSchedule }
  { name: 'HRMS_FULL_SYNC_EVERY', value: string(hrmsFullSyncEvery) }
  { name: 'HR_SWEEP_SCHEDULE', value: hrSweepSchedule }
  { name: 'HR_STUCK_MINUTES', value: string(hrStuckMinutes) }
  { name: 'CONNECTORS_ALLOW_PRIVATE_NETWORKS', value: connectorsAllowPrivateNetworks ? 'true' : 'false' }
]

// A Key Vault reference, resolved by the platform with keyVaultReferenceIdentity; never a literal secret.
var secretSettings = empty(azureClientSecretUri) ? [] : [{ name: 'AZURE_CLIENT_SECRET', value: '@Microsoft.KeyVault(SecretUri=${azureClientSecretUri})' }]

// ---------------------------------------------------------------------------------------------------------
// Flex Consumption plan and Function App
// ---------------------------------------------------------------------------------------------------------

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: '${abbrs.appServicePlan}${envName}-${resourceToken}'
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
  name: appName
  location: location
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    keyVaultReferenceIdentity: identity.id
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      appSettings: concat(appSettings, secretSettings)
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identity.id
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
  // The identity's data roles and the containers exist before the host first starts.
  dependsOn: [
    storageRoleAssignments
    monitoringRoleAssignment
    blobContainers
    storageQueues
  ]
}

// ---------------------------------------------------------------------------------------------------------
// Event Grid: BlobCreated in hr-inbound -> the provision_blob blob trigger (source EventGrid)
// ---------------------------------------------------------------------------------------------------------

resource systemTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' = {
  name: '${abbrs.eventGridSystemTopic}${envName}-${resourceToken}'
  location: location
  tags: tags
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    source: storage.id
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

// The page and the API behind Entra sign-in. Unauthenticated browsers are sent to sign in; the health probe
// and the blob webhook (Event Grid, with its system key) stay reachable. App Service strips the
// X-MS-CLIENT-PRINCIPAL-* headers from callers and sets them itself, so approvals and retries can record who.
resource pageSignIn 'Microsoft.Web/sites/config@2024-04-01' = if (!empty(pageSignInClientId)) {
  parent: functionApp
  name: 'authsettingsV2'
  properties: {
    platform: {
      enabled: true
    }
    globalValidation: {
      requireAuthentication: true
      unauthenticatedClientAction: 'RedirectToLoginPage'
      redirectToProvider: 'azureactivedirectory'
      excludedPaths: [
        '/api/health'
        '/runtime/webhooks/blobs'
      ]
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: pageSignInClientId
          openIdIssuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
        }
        validation: {
          allowedAudiences: [
            'api://${pageSignInClientId}'
          ]
        }
      }
    }
    login: {
      tokenStore: {
        enabled: false
      }
    }
  }
}

resource functionAppHost 'Microsoft.Web/sites/host@2024-04-01' existing = {
  parent: functionApp
  name: 'default'
}

// Phase 2 only: the blobs_extension system key exists once the code with the Event Grid blob trigger runs,
// and Event Grid validates the webhook when the subscription is created.
resource inboundSubscription 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = if (deployEventSubscription) {
  parent: systemTopic
  name: '${abbrs.eventGridSubscription}${inboundContainerName}'
  properties: {
    destination: {
      endpointType: 'WebHook'
      properties: {
        endpointUrl: deployEventSubscription ? 'https://${functionApp.properties.defaultHostName}/runtime/webhooks/blobs?functionName=Host.Functions.${blobTriggerFunctionName}&code=${functionAppHost.listKeys().systemKeys.blobs_extension}' : ''
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
      }
    }
    eventDeliverySchema: 'EventGridSchema'
    filter: {
      includedEventTypes: [
        'Microsoft.Storage.BlobCreated'
      ]
      subjectBeginsWith: '/blobServices/default/containers/${inboundContainerName}/'
      isSubjectCaseSensitive: false
    }
    retryPolicy: {
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: 1440
    }
    // Undeliverable events land in a container (written with the identity: shared keys are off), not nowhere.
    deadLetterWithResourceIdentity: {
      identity: {
        type: 'UserAssigned'
        userAssignedIdentity: identity.id
      }
      deadLetterDestination: {
        endpointType: 'StorageBlob'
        properties: {
          resourceId: storage.id
          blobContainerName: deadLetterContainerName
        }
      }
    }
  }
  dependsOn: [
    storageRoleAssignments
    blobContainers
  ]
}

// ---------------------------------------------------------------------------------------------------------
// Outputs (no secrets)
// ---------------------------------------------------------------------------------------------------------

output functionAppName string = functionApp.name
output functionAppHostName string = functionApp.properties.defaultHostName
output identityPrincipalId string = identity.properties.principalId
output identityClientId string = identity.properties.clientId
output storageAccountName string = storage.name
output inboundContainerName string = inboundContainerName
output eventGridSystemTopicName string = systemTopic.name
output keyVaultName string = deployKeyVault ? keyVaultName : ''
