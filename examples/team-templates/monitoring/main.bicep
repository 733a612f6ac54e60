metadata description = '''
Log Analytics and alerts, written the way current Bicep is written:
user-defined types with decorators, unions of literals, registry modules.
'''

@export()
type retentionType = 30 | 60 | 90

type alertType = {
  @minLength(3)
  name: string

  @minValue(0)
  @maxValue(4)
  severity: int

  email: string?
}

@description('Days the logs are kept.')
param retentionDays retentionType = 90

@description('Alerts to create.')
param alerts alertType[] = []

param tags resourceInput<'Microsoft.OperationalInsights/workspaces@2023-09-01'>.tags?

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: 'log-${uniqueString(resourceGroup().id)}'
  location: resourceGroup().location
  tags: tags
  properties: {
    retentionInDays: retentionDays
    sku: { name: 'PerGB2018' }
  }
}

module actionGroup 'br/public:avm/res/insights/action-group:0.4.0' = [for alert in filter(alerts, a => a.?email != null): {
  name: 'ag-${alert.name}'
  params: {
    name: 'ag-${alert.name}'
    groupShortName: take(alert.name, 12)
    emailReceivers: [{ name: alert.name, emailAddress: alert.email! }]
  }
}]

output workspaceId string = workspace.id
