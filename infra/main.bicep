// Entra ID API-driven inbound provisioning: the Function App and everything it needs, in one resource group.
//
// `azd up` (azure.yaml) provisions this template, deploys the code, then its postdeploy hook creates the Event
// Grid subscription of the blob trigger (infra/scripts/postdeploy.sh): the subscription's webhook needs the
// deployed host's blobs_extension key, which exists only once the code runs. The template reads no key at all.
//
// One user-assigned managed identity is used for everything: host storage, the app's HR_STORAGE connection,
// Application Insights ingestion, Key Vault references, Event Grid dead-lettering and the Microsoft Graph calls
// (granted as Graph app roles by infra/scripts/grant-graph-permissions.sh). No keys and no connection strings
// with secrets: shared-key access is off on the storage account, local auth is off on Application Insights,
// HR-system secrets live in Key Vault (RBAC mode) and reach the app only as Key Vault references.
//
// Composed of local modules under infra/app/ rather than Azure Verified Modules (br/public:avm/...): AVM
// modules are fetched from the public Bicep registry when the template is compiled, so their properties cannot
// be read (or checked by tests/test_infra.py) from this repository; local modules keep every property in view.
// AVM: https://azure.github.io/Azure-Verified-Modules/ ; modules: https://learn.microsoft.com/azure/azure-resource-manager/bicep/modules
//
// The Bicep compiler is not run in this project's CI: check a change with `az bicep build --file infra/main.bicep`
// or `azd provision --preview` before deploying it.

targetScope = 'resourceGroup'

// ---------------------------------------------------------------------------------------------------------
// Parameters
// ---------------------------------------------------------------------------------------------------------

@minLength(1)
@maxLength(20)
@description('Short environment name (e.g. hrprov-dev): part of every resource name and of the unique token. azd passes AZURE_ENV_NAME.')
param environmentName string

@description('Region of every resource. Must offer the Flex Consumption plan (az functionapp list-flexconsumption-locations).')
param location string = resourceGroup().location

@description('Function App name; empty: func-<environmentName>-<token>.')
param functionAppName string = ''

@maxLength(24)
@description('Storage account name (3-24 lowercase letters and digits); empty: st<token>.')
param storageAccountName string = ''

@description('Extra tags for every resource.')
param extraTags object = {}

@description('The provisioning app\'s "Provisioning API Endpoint" (.../synchronization/jobs/<jobId>/bulkUpload), v1.0 or beta, any national cloud. azd passes ENTRA_BULK_UPLOAD_URL.')
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

@description('Create a Key Vault (RBAC authorization) for HR-system secrets; the identity reads secrets (Key Vault Secrets User), the operator manages them (Key Vault Secrets Officer). False: bring your own vault and grant those roles yourself.')
param deployKeyVault bool = true

@description('Key Vault purge protection (irreversible once on). Keep it on for real HR secrets; turn it off only for throwaway test environments, which then can be purged by `azd down --purge`.')
param keyVaultPurgeProtection bool = true

@description('ENTRA_RATE_LIMIT as CALLS/SECONDS per instance. Empty (default): computed from maximumInstanceCount so that all instances together stay within the job\'s 40 calls per 5 s (see pacedRateLimit below).')
param entraRateLimit string = ''

@description('ENTRA_LOG_RATE_LIMIT: provisioning-log reads per seconds (Graph throttles them at about 5 per 10 s per app and tenant).')
param entraLogRateLimit string = '5/10'

@description('HR_UPN_DOMAIN: the verified domain given to a userName without one (e.g. contoso.com); empty: the profile\'s upnDomain.')
param hrUpnDomain string = ''

@minValue(1)
@maxValue(16)
@description('ENTRA_UPLOAD_CONCURRENCY: bulkUpload requests in flight at once in the CLI and serve. In the Function App each request is one queue message, and host.json\'s queues.batchSize (4) is the per-instance concurrency.')
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

// The platform allows 1 to 1000 and applies the cap to each per-function scale group: upload_batch (the only
// function that calls bulkUpload) is a queue trigger with a group of its own, so at most this many instances
// send. https://learn.microsoft.com/azure/azure-functions/event-driven-scaling#limit-scale-out
@minValue(1)
@maxValue(1000)
@description('Flex Consumption: most instances each function group scales out to. ENTRA_RATE_LIMIT is derived from it (pacing).')
param maximumInstanceCount int = 10

// https://learn.microsoft.com/azure/azure-functions/flex-consumption-plan#instance-memory
@allowed([
  512
  2048
  4096
])
@description('Flex Consumption: memory of each instance (MB). 2048 fits a 1,000,000-row file (about 231 MB peak in the benchmarks) with room to spare.')
param instanceMemoryMB int = 2048

@description('The mapping page and the API behind Entra sign-in (App Service authentication): the client id of an app registration the operator creates for the sign-in (redirect URI https://<app>.azurewebsites.net/.auth/login/aad/callback, Application ID URI api://<client id>). Empty: no sign-in, and the page asks for a function key instead.')
param pageSignInClientId string = ''

@description('Optional: object id of a person or group who drops HR files, reads run records (Storage Blob Data Contributor) and manages HR secrets (Key Vault Secrets Officer). Shared keys are off, so portal/CLI access needs a data role. azd passes AZURE_PRINCIPAL_ID, the signed-in user.')
param operatorPrincipalId string = ''

@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param operatorPrincipalType string = 'User'

// Precedence: union() gives the LAST object the last word, and the template's own settings come last, so an
// extra setting can add connector settings but cannot replace a setting the template sets (storage identity,
// the paced ENTRA_RATE_LIMIT...): those have parameters of their own. A deploy replaces the whole list of app
// settings, so settings added by hand in the portal are wiped: put them here instead.
// https://learn.microsoft.com/azure/azure-resource-manager/bicep/bicep-functions-object#union
@description('Extra app settings, NAME: value, e.g. the connector jobs\' settings and their Key Vault references ("@Microsoft.KeyVault(VaultName=<vault>;SecretName=<name>)"). Never a secret value. Names the template sets itself are ignored here.')
param extraAppSettings object = {}

@description('Create the alert rule on runs that end failed or held (a scheduled query rule on the app\'s logs).')
param deployAlerts bool = true

@description('Optional: an email address the run alerts go to (an action group is created for it). Empty: the alerts show in Azure Monitor only.')
param alertEmailAddress string = ''

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

// ---------------------------------------------------------------------------------------------------------
// Pacing: the job accepts 40 bulkUpload calls per 5 s
// (https://learn.microsoft.com/entra/identity/app-provisioning/inbound-provisioning-api-issues), and each
// instance paces only its own calls. So each of the maximumInstanceCount instances gets its share:
// CALLS per SECONDS with CALLS = max(1, 40 / N) (integer division) and SECONDS = 5 * CALLS * N / 40 rounded UP
// to a tenth of a second (Bicep has integers only, so the decimal is written out). N instances at that rate make
// at most 40 calls per 5 s together: 10 -> 4/5, 7 -> 5/4.4, 21 -> 1/2.7, 100 -> 1/12.5 (tests/test_infra.py).
// Always-ready instances do not count toward maximumInstanceCount: none is configured here.
// ---------------------------------------------------------------------------------------------------------

var jobCallsPerWindow = 40
var jobWindowSeconds = 5
var pacedCalls = max(1, jobCallsPerWindow / maximumInstanceCount)
var pacedTenths = (10 * jobWindowSeconds * pacedCalls * maximumInstanceCount + jobCallsPerWindow - 1) / jobCallsPerWindow
var pacedRateLimit = pacedTenths % 10 == 0 ? '${pacedCalls}/${pacedTenths / 10}' : '${pacedCalls}/${pacedTenths / 10}.${pacedTenths % 10}'
var effectiveRateLimit = empty(entraRateLimit) ? pacedRateLimit : entraRateLimit

// ---------------------------------------------------------------------------------------------------------
// Modules
// ---------------------------------------------------------------------------------------------------------

module identity 'app/identity.bicep' = {
  name: 'identity'
  params: {
    name: '${abbrs.managedIdentity}${envName}-${resourceToken}'
    location: location
    tags: tags
  }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  params: {
    name: storageName
    location: location
    tags: tags
    blobContainerNames: blobContainerNames
    queueNames: queueNames
    identityId: identity.outputs.id
    identityPrincipalId: identity.outputs.principalId
    operatorPrincipalId: operatorPrincipalId
    operatorPrincipalType: operatorPrincipalType
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    logAnalyticsName: '${abbrs.logAnalyticsWorkspace}${envName}-${resourceToken}'
    applicationInsightsName: '${abbrs.applicationInsights}${envName}-${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityPrincipalId: identity.outputs.principalId
  }
}

module keyVault 'app/keyvault.bicep' = if (deployKeyVault) {
  name: 'keyvault'
  params: {
    name: keyVaultName
    location: location
    tags: tags
    purgeProtection: keyVaultPurgeProtection
    identityId: identity.outputs.id
    identityPrincipalId: identity.outputs.principalId
    operatorPrincipalId: operatorPrincipalId
    operatorPrincipalType: operatorPrincipalType
  }
}

module functionApp 'app/function-app.bicep' = {
  name: 'function-app'
  params: {
    name: appName
    planName: '${abbrs.appServicePlan}${envName}-${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageBlobEndpoint: storage.outputs.blobEndpoint
    storageQueueEndpoint: storage.outputs.queueEndpoint
    storageTableEndpoint: storage.outputs.tableEndpoint
    applicationInsightsConnectionString: monitoring.outputs.applicationInsightsConnectionString
    deploymentContainerName: deploymentContainerName
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    extraAppSettings: extraAppSettings
    inboundContainerName: inboundContainerName
    configContainerName: configContainerName
    runsContainerName: runsContainerName
    stateContainerName: stateContainerName
    quarantineContainerName: quarantineContainerName
    uploadQueueName: uploadQueueName
    resultsQueueName: resultsQueueName
    entraBulkUploadUrl: entraBulkUploadUrl
    entraAuth: entraAuth
    graphAppClientId: graphAppClientId
    azureClientSecretUri: azureClientSecretUri
    entraRateLimit: effectiveRateLimit
    entraLogRateLimit: entraLogRateLimit
    hrUpnDomain: hrUpnDomain
    entraUploadConcurrency: entraUploadConcurrency
    entraMaxAttempts: entraMaxAttempts
    entraBatchSize: entraBatchSize
    entraLogWaitSeconds: entraLogWaitSeconds
    entraLogFirstPollSeconds: entraLogFirstPollSeconds
    entraIgnoreJobStatus: entraIgnoreJobStatus
    hrDefaultProfile: hrDefaultProfile
    hrProfileRoutes: hrProfileRoutes
    safetyMaxDisableShare: safetyMaxDisableShare
    safetyMaxShrinkShare: safetyMaxShrinkShare
    safetyApprovedRuns: safetyApprovedRuns
    deltaFullSync: deltaFullSync
    httpMaxBodyBytes: httpMaxBodyBytes
    hrCoordinateSeconds: hrCoordinateSeconds
    hrmsSyncSchedule: hrmsSyncSchedule
    hrmsFullSyncEvery: hrmsFullSyncEvery
    hrSweepSchedule: hrSweepSchedule
    hrStuckMinutes: hrStuckMinutes
    connectorsAllowPrivateNetworks: connectorsAllowPrivateNetworks
  }
  // Key Vault references resolve with the identity's Key Vault Secrets User role: granted before the app starts.
  dependsOn: [
    keyVault
  ]
}

module pageSignIn 'app/page-sign-in.bicep' = if (!empty(pageSignInClientId)) {
  name: 'page-sign-in'
  params: {
    functionAppName: functionApp.outputs.name
    clientId: pageSignInClientId
  }
}

module eventGrid 'app/event-grid.bicep' = {
  name: 'event-grid'
  params: {
    name: '${abbrs.eventGridSystemTopic}${envName}-${resourceToken}'
    location: location
    tags: tags
    storageAccountId: storage.outputs.id
    identityId: identity.outputs.id
  }
}

module alerts 'app/alerts.bicep' = if (deployAlerts) {
  name: 'alerts'
  params: {
    namePrefix: '${abbrs.alert}${envName}-${resourceToken}'
    actionGroupName: '${abbrs.actionGroup}${envName}-${resourceToken}'
    location: location
    tags: tags
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsWorkspaceId
    functionAppName: functionApp.outputs.name
    alertEmailAddress: alertEmailAddress
  }
}

// ---------------------------------------------------------------------------------------------------------
// Outputs (no secrets). azd stores them in the environment (.azure/<env>/.env), where the hooks read them.
// https://learn.microsoft.com/azure/developer/azure-developer-cli/manage-environment-variables
// ---------------------------------------------------------------------------------------------------------

output AZURE_RESOURCE_GROUP string = resourceGroup().name
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_FUNCTION_APP_HOST_NAME string = functionApp.outputs.defaultHostName
output AZURE_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output AZURE_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output AZURE_IDENTITY_RESOURCE_ID string = identity.outputs.id
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_STORAGE_ACCOUNT_ID string = storage.outputs.id
output AZURE_KEY_VAULT_NAME string = deployKeyVault ? keyVaultName : ''
output AZURE_LOG_ANALYTICS_WORKSPACE_ID string = monitoring.outputs.logAnalyticsWorkspaceId
output HR_INBOUND_CONTAINER string = inboundContainerName
output HR_CONFIG_CONTAINER string = configContainerName
output EVENT_GRID_SYSTEM_TOPIC_NAME string = eventGrid.outputs.name
output EVENT_GRID_DEAD_LETTER_CONTAINER string = deadLetterContainerName
output BLOB_TRIGGER_FUNCTION_NAME string = blobTriggerFunctionName
output ENTRA_RATE_LIMIT string = effectiveRateLimit
