// An agent service's resources inside the shared resource group. The Cosmos DB account, the
// storage account and the Key Vault belong to the shared infrastructure and are only referenced.
metadata description = 'Agent memory containers and optional AI Search and Azure OpenAI, inside the shared resource group.'

@description('Agent service slug.')
@minLength(3)
@maxLength(50)
param agentName string

@description('Environment the agent is deployed to.')
@allowed([
  'dev'
  'staging'
  'prod'
])
param environment string

@description('Azure region of the new resources.')
param location string = resourceGroup().location

@description('Shared Cosmos DB account.')
param cosmosAccountName string

@description('Database of the shared Cosmos DB account.')
param cosmosDatabaseName string

@description('Shared storage account.')
param storageAccountName string

@description('Shared Key Vault.')
param keyVaultName string

@description('Cosmos DB container for warm memory.')
@minLength(1)
@maxLength(255)
param warmContainerName string

@description('Blob container for cold memory.')
@minLength(3)
@maxLength(63)
param coldContainerName string

@description('Create the warm-memory container.')
param createWarmContainer bool = true

@description('Create the cold-memory container.')
param createColdContainer bool = true

@description('Database number on the shared Redis cache (recorded as a tag; Redis databases need no deployment).')
@minValue(0)
@maxValue(63)
param redisDatabase int

@description('Seconds a warm-memory item lives.')
@minValue(60)
@maxValue(31536000)
param warmMemoryTtlSeconds int = 2592000

@description('Create an Azure AI Search service.')
param enableAiSearch bool = false

@description('Pricing tier of the AI Search service.')
@allowed([
  'basic'
  'standard'
])
param aiSearchSku string = 'basic'

@description('Create an Azure OpenAI account and model deployment.')
param enableOpenAi bool = false

@description('Model of the Azure OpenAI deployment.')
param openAiModelName string = 'gpt-4o-mini'

@description('Version of the model.')
param openAiModelVersion string = '2024-07-18'

@description('Capacity of the model deployment, in thousands of tokens per minute.')
@minValue(1)
@maxValue(1000)
param openAiCapacity int = 10

@secure()
@description('API key of an external OpenAI endpoint, stored in Key Vault when given.')
param openAiApiKeyOverride string = ''

@description('Tags for the new resources.')
param tags object = {}

// Short environment codes keep the agent's service names within Azure's limits (Search: 60).
var environmentCode = {
  dev: 'dev'
  staging: 'stg'
  prod: 'prd'
}[environment]
var agentTags = union(tags, {
  redisDatabase: string(redisDatabase)
})

resource cosmos 'Microsoft.DocumentDB/databaseAccounts@2024-11-15' existing = {
  name: cosmosAccountName

  resource database 'sqlDatabases' existing = {
    name: cosmosDatabaseName
  }
}

resource warmContainer 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2024-11-15' = if (createWarmContainer) {
  parent: cosmos::database
  name: warmContainerName
  properties: {
    resource: {
      id: warmContainerName
      partitionKey: {
        paths: [
          '/sessionId'
        ]
        kind: 'Hash'
        version: 2
      }
      defaultTtl: warmMemoryTtlSeconds
    }
  }
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName

  resource blobService 'blobServices' existing = {
    name: 'default'
  }
}

resource coldContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = if (createColdContainer) {
  parent: storage::blobService
  name: coldContainerName
  properties: {
    publicAccess: 'None'
    metadata: {
      agent: agentName
    }
  }
}

resource search 'Microsoft.Search/searchServices@2023-11-01' = if (enableAiSearch) {
  name: '${agentName}-${environmentCode}-search'
  location: location
  tags: agentTags
  sku: {
    name: aiSearchSku
  }
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    replicaCount: environment == 'prod' ? 2 : 1
    partitionCount: 1
    hostingMode: 'default'
    publicNetworkAccess: 'disabled'
    disableLocalAuth: true
  }
}

resource openAi 'Microsoft.CognitiveServices/accounts@2024-10-01' = if (enableOpenAi) {
  name: '${agentName}-${environmentCode}-openai'
  location: location
  tags: agentTags
  kind: 'OpenAI'
  sku: {
    name: 'S0'
  }
  properties: {
    customSubDomainName: '${agentName}-${environmentCode}-openai'
    publicNetworkAccess: 'Disabled'
    disableLocalAuth: true
  }

  resource deployment 'deployments' = {
    name: openAiModelName
    sku: {
      name: 'Standard'
      capacity: openAiCapacity
    }
    properties: {
      model: {
        format: 'OpenAI'
        name: openAiModelName
        version: openAiModelVersion
      }
    }
  }
}

resource keyVault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource openAiKeySecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(openAiApiKeyOverride)) {
  parent: keyVault
  name: '${agentName}-openai-api-key'
  properties: {
    value: openAiApiKeyOverride
    contentType: 'text/plain'
  }
}

output warmContainerName string = createWarmContainer ? warmContainer.name : ''
output coldContainerName string = createColdContainer ? coldContainer.name : ''
output aiSearchEndpoint string = enableAiSearch ? 'https://${search.name}.search.windows.net' : ''
output openAiEndpoint string = enableOpenAi ? openAi.properties.endpoint : ''
