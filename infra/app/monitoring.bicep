// Log Analytics + workspace-based Application Insights, both with local (key-based) auth disabled: telemetry is
// ingested with the identity (APPLICATIONINSIGHTS_AUTHENTICATION_STRING) and queries need Entra sign-in.
// https://learn.microsoft.com/azure/azure-monitor/app/azure-ad-authentication
// https://learn.microsoft.com/azure/azure-monitor/logs/azure-ad-authentication-logs

param logAnalyticsName string
param applicationInsightsName string
param location string
param tags object
@description('Resource id of the app\'s identity: part of the role assignment\'s guid() name.')
param identityId string
param identityPrincipalId string

var roleIds = {
  // Monitoring Metrics Publisher: what Entra-authenticated ingestion into Application Insights requires.
  // https://learn.microsoft.com/azure/azure-monitor/app/azure-ad-authentication#configure-and-enable-microsoft-entra-id-based-authentication
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

resource logAnalytics 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: 30
    features: {
      disableLocalAuth: true
    }
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: applicationInsightsName
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
  name: guid(appInsights.id, identityId, roleIds.monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.monitoringMetricsPublisher)
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

output logAnalyticsWorkspaceId string = logAnalytics.id
output applicationInsightsName string = appInsights.name
// Not a secret: with local auth disabled, the instrumentation key in it cannot ingest anything without an Entra token.
output applicationInsightsConnectionString string = appInsights.properties.ConnectionString
