// Holiday Peak Hub shared infrastructure: the environment's resource group and everything the
// 21 agent services and the CRUD service share in it. Deploy at subscription scope:
//   az deployment sub create --location eastus --template-file main.bicep --parameters environment=dev
metadata description = 'Shared infrastructure for one environment: the resource group, AKS (system, agents and crud pools), ACR, Cosmos DB, Event Hubs, Redis, Storage, Key Vault, API Management, networking, observability and the AKS identity role assignments.'

targetScope = 'subscription'

@description('Environment to deploy: names, SKUs and sizes follow from it.')
@allowed([
  'dev'
  'staging'
  'prod'
])
param environment string = 'dev'

@description('Azure region of the resource group and of every resource in it.')
param location string = deployment().location

@description('Lowercase letters only: the start of every resource name (e.g. holidaypeakhub-dev-aks).')
@minLength(3)
@maxLength(14)
param projectName string = 'holidaypeakhub'

@description('Kubernetes version of the AKS cluster; empty for the region default.')
param kubernetesVersion string = ''

@description('Email address API Management sends its notifications to.')
param apimPublisherEmail string = 'platform@holidaypeakhub.example'

@description('Publisher name API Management shows in its developer portal.')
param apimPublisherName string = 'Holiday Peak Hub'

@description('Days Log Analytics keeps logs.')
@minValue(30)
@maxValue(730)
param logRetentionDays int = 90

@description('Region the container registry is replicated to in prod.')
param acrReplicaLocation string = 'westus3'

@description('Tags added to every resource, on top of environment and project.')
param tags object = {}

var allTags = union(tags, {
  environment: environment
  project: projectName
  managedBy: 'peak-portal'
})

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: '${projectName}-${environment}-rg'
  location: location
  tags: allTags
}

module shared 'shared-infrastructure.bicep' = {
  name: 'shared-infrastructure-${environment}'
  scope: rg
  params: {
    environment: environment
    location: location
    projectName: projectName
    kubernetesVersion: kubernetesVersion
    apimPublisherEmail: apimPublisherEmail
    apimPublisherName: apimPublisherName
    logRetentionDays: logRetentionDays
    acrReplicaLocation: acrReplicaLocation
    tags: allTags
  }
}

output resourceGroupName string = rg.name
output aksClusterName string = shared.outputs.aksClusterName
output acrLoginServer string = shared.outputs.acrLoginServer
output cosmosAccountName string = shared.outputs.cosmosAccountName
output storageAccountName string = shared.outputs.storageAccountName
output keyVaultName string = shared.outputs.keyVaultName
output aksKubeletPrincipalId string = shared.outputs.aksKubeletPrincipalId
