// The Next.js storefront on Azure Static Web Apps, in the environment's existing resource group.
// Free in dev and staging, Standard (custom domain, SLA) in prod. GitHub Actions deploys the site
// with the app's deployment token, so no repository is linked here.
metadata description = 'Static Web App for the Next.js frontend: Free in dev and staging, Standard in prod.'

targetScope = 'subscription'

@description('Environment the site serves.')
@allowed([
  'dev'
  'staging'
  'prod'
])
param environment string = 'dev'

@description('Region of the Static Web App; the service runs in a few regions only.')
@allowed([
  'westus2'
  'centralus'
  'eastus2'
  'westeurope'
  'eastasia'
])
param location string = 'eastus2'

@description('Resource group of the environment\'s shared infrastructure; empty for holidaypeakhub-{environment}-rg.')
param resourceGroupName string = ''

@description('Base URL of the platform API (API Management) the site calls.')
param apiBaseUrl string = ''

@description('Custom domain for the site, prod only (e.g. shop.holidaypeakhub.com); empty for none.')
param customDomain string = ''

@description('Tags added to the Static Web App.')
param tags object = {}

var targetResourceGroup = empty(resourceGroupName) ? 'holidaypeakhub-${environment}-rg' : resourceGroupName

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' existing = {
  name: targetResourceGroup
}

module site 'static-web-app.bicep' = {
  name: 'static-web-app-${environment}'
  scope: rg
  params: {
    environment: environment
    location: location
    apiBaseUrl: apiBaseUrl
    customDomain: customDomain
    tags: union(tags, {
      environment: environment
      managedBy: 'peak-portal'
    })
  }
}

output staticWebAppName string = site.outputs.name
output defaultHostname string = site.outputs.defaultHostname
