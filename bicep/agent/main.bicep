// One agent service's own resources, in the environment's existing resource group (deploy
// shared-infrastructure first): its warm-memory Cosmos DB container, its cold-memory blob
// container and, when it needs them, its own AI Search service and Azure OpenAI deployment.
// Its hot memory is a database number on the shared Redis cache.
metadata description = 'Agent memory and AI resources for one agent service: warm Cosmos DB container, cold blob container, optional AI Search and Azure OpenAI.'

targetScope = 'subscription'

@description('Agent service slug, e.g. ecommerce-catalog-search (lowercase letters, digits and hyphens).')
@minLength(3)
@maxLength(50)
param agentName string

@description('Environment the agent is deployed to.')
@allowed([
  'dev'
  'staging'
  'prod'
])
param environment string = 'dev'

@description('Azure region of the agent\'s new resources.')
param location string = deployment().location

@description('Resource group of the environment\'s shared infrastructure.')
param resourceGroupName string = 'holidaypeakhub-${environment}-rg'

@description('Shared Cosmos DB account the warm-memory container is created in.')
param cosmosAccountName string = 'holidaypeakhub-${environment}-cosmos'

@description('Database of the shared Cosmos DB account.')
param cosmosDatabaseName string = 'holidaypeakhub'

@description('Shared storage account the cold-memory blob container is created in.')
param storageAccountName string = 'holidaypeakhub${environment}st'

@description('Shared Key Vault that keeps the agent\'s secrets.')
param keyVaultName string = 'holidaypeakhub${environment}kv'

@description('Cosmos DB container for the agent\'s warm (session) memory.')
@minLength(1)
@maxLength(255)
param warmContainerName string = 'warm-${agentName}-chat-memory'

@description('Blob container for the agent\'s cold (archived) memory: 3 to 63 lowercase letters, digits and hyphens.')
@minLength(3)
@maxLength(63)
param coldContainerName string = 'cold-${agentName}-chat-memory'

@description('Create the warm-memory Cosmos DB container (the agent uses warm memory).')
param createWarmContainer bool = true

@description('Create the cold-memory blob container (the agent uses cold memory).')
param createColdContainer bool = true

@description('Database number on the shared Redis cache for the agent\'s hot memory (0 is the CRUD service\'s).')
@minValue(0)
@maxValue(63)
param redisDatabase int

@description('Seconds a warm-memory item lives before Cosmos DB expires it.')
@minValue(60)
@maxValue(31536000)
param warmMemoryTtlSeconds int = 2592000

@description('Create an Azure AI Search service for the agent.')
param enableAiSearch bool = false

@description('Pricing tier of the AI Search service.')
@allowed([
  'basic'
  'standard'
])
param aiSearchSku string = 'basic'

@description('Create an Azure OpenAI account and model deployment for the agent.')
param enableOpenAi bool = false

@description('Model the Azure OpenAI deployment serves.')
param openAiModelName string = 'gpt-4o-mini'

@description('Version of that model.')
param openAiModelVersion string = '2024-07-18'

@description('Capacity of the model deployment, in thousands of tokens per minute.')
@minValue(1)
@maxValue(1000)
param openAiCapacity int = 10

@secure()
@description('API key of an OpenAI endpoint the agent uses instead of its own deployment; stored in Key Vault. Leave empty to use none.')
param openAiApiKeyOverride string = ''

@description('Tags added to the agent\'s resources.')
param tags object = {}

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' existing = {
  name: resourceGroupName
}

module agent 'agent.bicep' = {
  name: 'agent-${agentName}-${environment}'
  scope: rg
  params: {
    agentName: agentName
    environment: environment
    location: location
    cosmosAccountName: cosmosAccountName
    cosmosDatabaseName: cosmosDatabaseName
    storageAccountName: storageAccountName
    keyVaultName: keyVaultName
    warmContainerName: warmContainerName
    coldContainerName: coldContainerName
    createWarmContainer: createWarmContainer
    createColdContainer: createColdContainer
    redisDatabase: redisDatabase
    warmMemoryTtlSeconds: warmMemoryTtlSeconds
    enableAiSearch: enableAiSearch
    aiSearchSku: aiSearchSku
    enableOpenAi: enableOpenAi
    openAiModelName: openAiModelName
    openAiModelVersion: openAiModelVersion
    openAiCapacity: openAiCapacity
    openAiApiKeyOverride: openAiApiKeyOverride
    tags: union(tags, {
      environment: environment
      agent: agentName
      managedBy: 'peak-portal'
    })
  }
}

output warmContainerName string = agent.outputs.warmContainerName
output coldContainerName string = agent.outputs.coldContainerName
output redisDatabase int = redisDatabase
output aiSearchEndpoint string = agent.outputs.aiSearchEndpoint
output openAiEndpoint string = agent.outputs.openAiEndpoint
