// The role assignment itself, on the resource the role applies to. Exactly one of the four
// assignments below is deployed: the one whose resource kind matches the role.
metadata description = 'One role assignment on a registry, Event Hubs namespace, storage account or key vault.'

@description('Object ID of the principal that gets the role.')
param principalId string

@description('GUID of the built-in role definition.')
@allowed([
  '7f951dda-4ed3-4680-a7ca-43fe172d538d'
  '2b629674-e913-4c01-ae53-ef4638d8f975'
  'a638d3c7-ab3a-418d-83e6-5f17a39d4fde'
  'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  '4633458b-17de-408a-b874-0445c86b69e6'
])
param roleDefinitionId string

@description('Name of the resource the role is granted on.')
param scopeResourceName string

@description('Kind of principal.')
param principalType string = 'ServicePrincipal'

// What each role is granted on.
var scopeKinds = {
  '7f951dda-4ed3-4680-a7ca-43fe172d538d': 'registry'
  '2b629674-e913-4c01-ae53-ef4638d8f975': 'eventHubNamespace'
  'a638d3c7-ab3a-418d-83e6-5f17a39d4fde': 'eventHubNamespace'
  'ba92f5b4-2d11-453d-a403-e96b0029c9fe': 'storageAccount'
  '4633458b-17de-408a-b874-0445c86b69e6': 'keyVault'
}
var scopeKind = scopeKinds[roleDefinitionId]
var fullRoleDefinitionId = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionId)

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' existing = {
  name: scopeResourceName
}

resource eventHubNamespace 'Microsoft.EventHub/namespaces@2024-01-01' existing = {
  name: scopeResourceName
}

resource storageAccount 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: scopeResourceName
}

resource keyVault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: scopeResourceName
}

resource registryAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (scopeKind == 'registry') {
  name: guid(registry.id, principalId, roleDefinitionId)
  scope: registry
  properties: {
    principalId: principalId
    principalType: principalType
    roleDefinitionId: fullRoleDefinitionId
  }
}

resource eventHubNamespaceAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (scopeKind == 'eventHubNamespace') {
  name: guid(eventHubNamespace.id, principalId, roleDefinitionId)
  scope: eventHubNamespace
  properties: {
    principalId: principalId
    principalType: principalType
    roleDefinitionId: fullRoleDefinitionId
  }
}

resource storageAccountAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (scopeKind == 'storageAccount') {
  name: guid(storageAccount.id, principalId, roleDefinitionId)
  scope: storageAccount
  properties: {
    principalId: principalId
    principalType: principalType
    roleDefinitionId: fullRoleDefinitionId
  }
}

resource keyVaultAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (scopeKind == 'keyVault') {
  name: guid(keyVault.id, principalId, roleDefinitionId)
  scope: keyVault
  properties: {
    principalId: principalId
    principalType: principalType
    roleDefinitionId: fullRoleDefinitionId
  }
}

output roleAssignmentId string = scopeKind == 'registry' ? registryAssignment.id : scopeKind == 'eventHubNamespace' ? eventHubNamespaceAssignment.id : scopeKind == 'storageAccount' ? storageAccountAssignment.id : keyVaultAssignment.id
