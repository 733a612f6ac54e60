// Grants one of the platform's built-in roles to a principal on one shared resource: how the portal
// puts back a role assignment the AKS kubelet identity is missing. The role decides the kind of
// resource it is granted on (AcrPull: the registry, Event Hubs roles: the namespace, ...).
metadata description = 'One role assignment on a shared resource, to restore missing RBAC for the AKS identity.'

targetScope = 'subscription'

@description('Object ID of the principal (e.g. the AKS kubelet identity) that gets the role.')
@minLength(36)
@maxLength(36)
param principalId string

@description('Built-in role to grant: AcrPull, Azure Event Hubs Data Sender, Azure Event Hubs Data Receiver, Storage Blob Data Contributor or Key Vault Secrets User.')
@allowed([
  '7f951dda-4ed3-4680-a7ca-43fe172d538d'
  '2b629674-e913-4c01-ae53-ef4638d8f975'
  'a638d3c7-ab3a-418d-83e6-5f17a39d4fde'
  'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  '4633458b-17de-408a-b874-0445c86b69e6'
])
param roleDefinitionId string

@description('Name of the resource the role is granted on: the registry, Event Hubs namespace, storage account or key vault, matching the role.')
@minLength(3)
@maxLength(63)
param scopeResourceName string

@description('Resource group the resource is in.')
param resourceGroupName string

@description('Kind of principal; ServicePrincipal for managed identities.')
@allowed([
  'ServicePrincipal'
  'User'
  'Group'
])
param principalType string = 'ServicePrincipal'

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' existing = {
  name: resourceGroupName
}

module assignment 'role-assignment.bicep' = {
  name: 'role-${take(roleDefinitionId, 8)}-${take(principalId, 8)}-${take(scopeResourceName, 30)}'
  scope: rg
  params: {
    principalId: principalId
    roleDefinitionId: roleDefinitionId
    scopeResourceName: scopeResourceName
    principalType: principalType
  }
}

output roleAssignmentId string = assignment.outputs.roleAssignmentId
