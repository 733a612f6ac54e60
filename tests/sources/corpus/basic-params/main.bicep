// Basic parameters of every type, with the decorators a form uses.
@description('Name of the app.')
@minLength(3)
@maxLength(24)
param appName string

@allowed([
  'dev'
  'prod'
])
param environment string = 'dev'

@minValue(1)
@maxValue(10)
param replicas int = 2

param enabled bool = true
param tags object = {
  team: 'platform'
}
param zones array = [
  '1'
  '2'
]

resource sa 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: toLower(appName)
  location: resourceGroup().location
  kind: 'StorageV2'
  sku: { name: 'Standard_LRS' }
  tags: tags
}
