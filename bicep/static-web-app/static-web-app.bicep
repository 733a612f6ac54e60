// The Static Web App itself, with the frontend's app settings and, in prod, its custom domain.
metadata description = 'Azure Static Web App for the Next.js frontend.'

@description('Environment the site serves.')
@allowed([
  'dev'
  'staging'
  'prod'
])
param environment string

@description('Region of the Static Web App.')
param location string

@description('Base URL of the platform API the site calls; empty to set none.')
param apiBaseUrl string = ''

@description('Custom domain, prod only; empty for none.')
param customDomain string = ''

@description('Tags for the Static Web App.')
param tags object = {}

var isProd = environment == 'prod'
var tier = isProd ? 'Standard' : 'Free'

resource site 'Microsoft.Web/staticSites@2023-12-01' = {
  name: 'holidaypeakhub-${environment}-web'
  location: location
  tags: tags
  sku: {
    name: tier
    tier: tier
  }
  properties: {
    stagingEnvironmentPolicy: isProd ? 'Disabled' : 'Enabled'
    allowConfigFileUpdates: true
    buildProperties: {
      appLocation: 'apps/ui'
      outputLocation: 'out'
      skipGithubActionWorkflowGeneration: true
    }
  }
}

resource appSettings 'Microsoft.Web/staticSites/config@2023-12-01' = if (!empty(apiBaseUrl)) {
  parent: site
  name: 'appsettings'
  properties: {
    NEXT_PUBLIC_API_BASE_URL: apiBaseUrl
  }
}

resource domain 'Microsoft.Web/staticSites/customDomains@2023-12-01' = if (isProd && !empty(customDomain)) {
  parent: site
  name: empty(customDomain) ? 'none' : customDomain
  properties: {}
}

output name string = site.name
output defaultHostname string = site.properties.defaultHostname
