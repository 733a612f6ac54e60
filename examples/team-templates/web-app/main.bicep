// A web app on App Service, kept in the platform team's own repository.
targetScope = 'resourceGroup'

@description('Name of the app (letters, digits and hyphens).')
@minLength(3)
@maxLength(40)
param appName string

@description('App Service plan size.')
@allowed([
  'B1'
  'P1v3'
  'P2v3'
])
param sku string = 'B1'

@minValue(1)
@maxValue(10)
param instances int = 1

param location string = resourceGroup().location

resource plan 'Microsoft.Web/serverfarms@2023-12-01' = {
  name: 'plan-${appName}'
  location: location
  sku: {
    name: sku
    capacity: instances
  }
  kind: 'linux'
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2023-12-01' = {
  name: appName
  location: location
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
  }
}

output url string = 'https://${site.properties.defaultHostName}'
