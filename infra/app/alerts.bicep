// An alert on runs that end failed or held, from the app's own logs. Every run ends in Workflow._end
// (provisioning/engine/workflow.py), which logs `run <runId>: <status> <message>`; the Functions host sends it to
// Application Insights, whose workspace-based table is AppTraces. tests/test_infra.py checks the query against
// that log line. Logs reach the workspace a few minutes late, so an alert comes 5-15 minutes after the run ends.
// https://learn.microsoft.com/azure/azure-monitor/alerts/alerts-create-log-alert-rule
// https://learn.microsoft.com/azure/templates/microsoft.insights/scheduledqueryrules

param namePrefix string
param actionGroupName string
param location string
param tags object
param logAnalyticsWorkspaceId string
param functionAppName string
@description('Empty: no action group, the alerts show in Azure Monitor only.')
param alertEmailAddress string

var runEndQuery = '''
AppTraces
| where Message matches regex @"^run \S+: (failed|held) "
| extend RunId = extract(@"^run (\S+): ", 1, Message), Status = extract(@"^run \S+: (failed|held) ", 1, Message)
| summarize Runs = dcount(RunId) by Status
'''

// https://learn.microsoft.com/azure/templates/microsoft.insights/actiongroups
resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = if (!empty(alertEmailAddress)) {
  name: actionGroupName
  location: 'Global'
  tags: tags
  properties: {
    enabled: true
    groupShortName: 'hrprov'
    emailReceivers: [
      {
        name: 'operator'
        emailAddress: alertEmailAddress
        useCommonAlertSchema: true
      }
    ]
  }
}

resource runsFailedOrHeld 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${namePrefix}-runs-failed-or-held'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'HR provisioning runs failed or held (${functionAppName})'
    description: 'A run of ${functionAppName} ended failed or held (a safety stop or a job that is not running). Read the run: GET /api/runs/{runId}, or the page at /api/ui.'
    severity: 2
    enabled: true
    scopes: [
      logAnalyticsWorkspaceId
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          query: runEndQuery
          timeAggregation: 'Total'
          metricMeasureColumn: 'Runs'
          operator: 'GreaterThan'
          threshold: 0
          dimensions: [
            {
              name: 'Status'
              operator: 'Include'
              values: [
                '*'
              ]
            }
          ]
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: false
    actions: {
      actionGroups: empty(alertEmailAddress) ? [] : [
        actionGroup.id
      ]
    }
  }
}
